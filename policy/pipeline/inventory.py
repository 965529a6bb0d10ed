"""`policycheck inventory PATH` and `policycheck check --inventory PATH`: the models a code repository uses, and
each of them judged.

`take(path, options)` scans the repository (policy.scan.inventory) and tells API models apart with the license
catalog: an `org/name` a configuration names that is a provider's model (`openai/gpt-4o`) is an API model, as a
`teacher_model: openai/gpt-4o` is. `judge(session, inventory)` checks every model the inventory selects (the
runtime ones, and those of the scopes `--include` adds), one by one in the session of the batch, with the policy
file found from the repository (or `--policy`):
- a Hub model as `check org/name` does (local cards first, then the Hub, or offline the cache); one the Hub
  does not serve is *review* with the reason (the repository names it: a person must say what it is);
- an API model as the lineage walk judges an API teacher: by its provider's terms in the catalog, and *review*
  when the catalog has none for it (terms are never made up);
- weights in the repository by what their own header declares (a GGUF file's `general.license` and base
  models, a safetensors file's metadata, the `_name_or_path` of a model folder's config.json): the bases are
  walked as a card's `base_model` is, and weights that declare no license are *review*;
- a model of the Ollama library (not a Hub repo) as *review*: policycheck reads no license for it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from policy.errors import InputError
from policy.model.facts import MISSING, UNAVAILABLE, CardNote, DeclaredLicense, ModelFacts
from policy.model.inventory import Inventory, ModelUse, order
from policy.model.report import Report, TargetError
from policy.pipeline.session import Session
from policy.scan.inventory import Limits, take_inventory
from policy.scan.lineage import api_node

__all__ = ["InventoryOptions", "classify", "judge", "take"]


@dataclass
class InventoryOptions:
    rules: Sequence[Path] = ()  # extra rule data: the catalog's provider terms tell API models apart
    use_cache: bool = True
    include: Sequence[str] = ()  # scopes judged beside runtime: test, docs
    limits: Limits | None = None


def take(path: str | Path, options: InventoryOptions | None = None) -> Inventory:
    """The inventory of the repository at `path`, its API models told apart by the catalog."""
    from policy.engine.loader import load_bundle

    options = options or InventoryOptions()
    inventory = take_inventory(path, options.limits or Limits.from_env())
    catalog = load_bundle(options.rules, use_cache=options.use_cache).catalog
    return replace(classify(inventory, catalog.api_terms), include=tuple(options.include))


def classify(inventory: Inventory, is_api: Callable[[str], object]) -> Inventory:
    """The Hub ids that name a provider's API model (`openai/gpt-4o` in a configuration file) become API models,
    merged with the same model found at an API call."""
    merged: dict[tuple[str, str], ModelUse] = {}
    for model in inventory.models:
        if model.kind == "hub" and is_api(model.id):
            model = replace(model, kind="api")
        key = (model.kind, model.id.lower() if model.kind != "local-weights" else model.id)
        if key in merged:
            old = merged[key]
            locations = tuple(dict.fromkeys((*old.locations, *model.locations)))
            model = replace(old, locations=tuple(sorted(locations, key=lambda loc: (loc.file, loc.cell, loc.line))))
        merged[key] = model
    return replace(inventory, models=tuple(sorted(merged.values(), key=order)))


def judge(session: Session, inventory: Inventory) -> Iterator[Report | TargetError]:
    """Each model the inventory selects, checked in `session`, in the inventory's order."""
    root = Path(inventory.root)
    for model in inventory.selected():
        yield session.judge(model.subject_id, _reader(session, root, model), policy_from=str(root),
                            folder=_weights_folder(root, model))


def _reader(session: Session, root: Path, model: ModelUse) -> Callable[[], ModelFacts]:
    if model.kind == "hub":
        return lambda: _hub(session, model.id)
    if model.kind == "api":
        return lambda: api_node(model.id, session.catalog)
    if model.kind == "local-weights":
        return lambda: local_weights(root, model)
    return lambda: ModelFacts(id=model.id, kind="model", source="none", status=UNAVAILABLE,
                              status_detail="a model of the Ollama library, not a Hub repo: policycheck reads no "
                                            "license for it (see its page in the Ollama library)")


def _hub(session: Session, model_id: str) -> ModelFacts:
    """A Hub model of the inventory. One the Hub does not serve (a private repo, a typo, an id of another registry
    in the Hub's shape) is review with the reason, not an input error: the repository names it, and a person
    must say what it is."""
    try:
        return session.hub_subject(model_id)
    except InputError as exc:
        return ModelFacts(id=model_id, kind="model", source="none", status=MISSING,
                          status_detail=f"{exc.message.removeprefix(f'{model_id}: ')} (the repository names it; "
                                        "the Hub does not serve it)")


def _weights_folder(root: Path, model: ModelUse) -> Path | None:
    """The folder whose LICENSE file goes with local weights (a model folder; not the folder of a lone GGUF file
    kept among others)."""
    if model.kind != "local-weights" or model.id.lower().endswith(".gguf"):
        return None
    folder = root.joinpath(*model.id.split("/"))
    return folder if folder.is_dir() else None


def local_weights(root: Path, model: ModelUse) -> ModelFacts:
    """Weights in the repository as a model to check: the license their header declares, the bases it names
    (walked as a card's `base_model`), their files (which tell the relation: a GGUF file is a quantization)."""
    license_ = DeclaredLicense(values=(model.license,), declared_in="card") if model.license else DeclaredLicense()
    where = ", ".join(sorted({loc.detail for loc in model.locations if loc.use == "weights"})) or "its files"
    notes = [CardNote("inventory-weights", f"local weights: license and base models read from {where}")]
    if not model.license:
        notes.append(CardNote("inventory-weights-no-license",
                              "the weights declare no license in their header or metadata"))
    notes += [CardNote("inventory-weights-partial", note) for note in model.notes]
    card: dict[str, object] = {"base_model": list(model.base_models)} if model.base_models else {}
    files = tuple(posixpath.basename(f) for f in model.files) or (posixpath.basename(model.id),)
    return ModelFacts(id=model.subject_id, kind="model", source="file", license=license_, card=card, files=files,
                      notes=tuple(notes), path=str(root.joinpath(*model.id.split("/"))))
