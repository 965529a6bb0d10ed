"""`policycheck inventory` as text and JSON: pure renderers of an `Inventory` (policy.model.inventory).

Text: the application and its counts first (and, before anything, that the inventory is incomplete when a bound
stopped the walk), then the models by scope (runtime, then test and documentation, each saying whether
`check --inventory` judges it), each once with its kind, what the header of local weights declares, the
settings that override it (configurable), and every location as `file:line  use  how`; then the files not read
and why. Every value that comes from the repository is written through `printable` (policy/textsafe.py).

JSON: `policycheck/inventory/v1` (Inventory.to_dict), with the same escapes as the report's JSON.
"""

from __future__ import annotations

from collections.abc import Iterator

from policy.model.inventory import SCOPES, Inventory, Location, ModelUse
from policy.render.json import dumps
from policy.render.registry import RenderOptions
from policy.textsafe import printable

KIND_WORDS = {"hub": "Hub", "api": "API", "local-weights": "local weights", "ollama": "Ollama library"}
SCOPE_WORDS = {"runtime": "runtime", "test": "test", "docs": "docs"}
INCLUDE_WORDS = {"test": "tests", "docs": "docs"}
MAX_SKIPPED_SHOWN = 50


def _bold(text: str, options: RenderOptions) -> str:
    return f"\x1b[1m{text}\x1b[0m" if options.color else text


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _model_line(model: ModelUse) -> str:
    parts = [printable(model.id), f"[{KIND_WORDS.get(model.kind, model.kind)}]"]
    if model.kind == "local-weights":
        parts.append(f"license {printable(model.license)}" if model.license else "no license declared")
        if model.base_models:
            parts.append("base " + ", ".join(printable(b) for b in model.base_models))
    if model.configurable:
        parts.append("configurable: " + ", ".join(printable(s) for s in model.settings))
    return "  " + "  ".join(parts)


def _location_line(location: Location, scope: str) -> str:
    text = f"    {printable(location.where)}  {location.use}"
    if location.detail:
        text += f"  {printable(location.detail)}"
    if location.setting and location.setting not in location.detail:
        text += f"  [overridden by {printable(location.setting)}]"
    if location.scope != scope:
        text += f"  ({SCOPE_WORDS.get(location.scope, location.scope)})"
    return text


def render_text(inventory: Inventory, options: RenderOptions) -> Iterator[str]:
    counts = inventory.by_scope()
    name = printable(inventory.name) + (f" {printable(inventory.version)}" if inventory.version else "")
    if inventory.incomplete:
        yield (f"! incomplete: {printable(inventory.incomplete)}; models beyond that bound are not listed, so this "
               "is not the whole inventory\n")
    scopes = ", ".join(f"{counts[s]} {SCOPE_WORDS[s]}" for s in SCOPES if counts[s])
    yield _bold(f"{name}: {_plural(len(inventory.models), 'model')}", options) + \
        (f" ({scopes})" if scopes else "") + f" in {printable(inventory.root)}\n"
    judged = len(inventory.selected())
    extra = " and ".join(INCLUDE_WORDS[s] for s in inventory.include if s in INCLUDE_WORDS)
    yield (f"check --inventory judges {judged}: the runtime models" + (f" and those of the {extra}" if extra else
                                                                       " (--include tests,docs adds the others)")
           + "\n")
    for scope in SCOPES:
        models = [m for m in inventory.models if m.scope == scope]
        if not models:
            continue
        judged_here = scope == "runtime" or scope in inventory.include
        yield "\n" + _bold(f"{SCOPE_WORDS[scope]} ({len(models)})", options) + \
            ("" if judged_here else ", not judged") + "\n"
        for model in models:
            yield _model_line(model) + "\n"
            for location in model.locations:
                yield _location_line(location, model.scope) + "\n"
            for note in model.notes:
                yield f"    note: {printable(note)}\n"
    if inventory.skipped_total:
        yield "\n" + _bold(f"not read ({inventory.skipped_total})", options) + "\n"
        for skipped in inventory.skipped[:MAX_SKIPPED_SHOWN]:
            yield f"  {printable(skipped.where)}  {printable(skipped.reason)}\n"
        more = inventory.skipped_total - min(len(inventory.skipped), MAX_SKIPPED_SHOWN)
        if more > 0:
            yield f"  ... and {more:,} more (all listed in --format json, up to its bound)\n"
    for note in inventory.notes:
        yield f"note: {printable(note)}\n"
    stats = inventory.stats
    yield (f"{_plural(stats.files_read, 'file')} read ({stats.bytes_read:,} bytes) of {stats.entries:,} entries "
           f"in {stats.seconds:.2f} s; nothing in the repository was run or imported\n")


def render_json(inventory: Inventory, options: RenderOptions) -> str:
    return dumps(inventory.to_dict()) + "\n"
