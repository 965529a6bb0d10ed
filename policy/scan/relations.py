"""The one relation inference (DESIGN §3): how a model relates to a base model it declares.

`check` (lineage.py, over a card, a model folder or a Hub repo) and `tree` (listing.py, over the Hub's
listing) both ask `relation_to`, each with the facts it has: the listing has the Hub's tags and the card data
but no file list; a Hub repo has its files and the relation of the Hub's model tree; a local card has its
files when it is a model folder. The answer, in order:

1. declared: the Hub's tag `base_model:<relation>:<parent>`, else the card's `base_model_relation` (one of the
   Hub's four, any case);
2. the relation the Hub's model tree states for the repo (`baseModels.relation`): the Hub's own inference,
   so marked inferred;
3. inferred as the Hub does, from the strongest evidence down: several parents → merge; a PEFT adapter
   (`adapter_config.json`, the `peft` library or tag) → adapter; quantized files (GGUF, GPTQ/AWQ configs),
   tags (gguf, gptq, awq, exl2, bnb, mlx, ...) or a quantization in the repo name (`-GGUF`, `-4bit`,
   `q4_k_m`, ...) → quantized; an adapter tag (`lora`, `adapter`) → adapter; else finetune.

Card and listing values are hostile: only strings are read (never `str()` of card data), tags are compared
whole, and the name patterns are linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from policy.model.facts import ADAPTER, FINETUNE, MERGE, QUANTIZED, WEIGHT_RELATIONS

# When tags state two relations for one parent (the Hub never does), the most specific wins.
_TAG_PRECEDENCE = (MERGE, ADAPTER, QUANTIZED, FINETUNE)
QUANT_TAGS = frozenset({"gguf", "gptq", "awq", "exl2", "bnb", "bitsandbytes", "mlx", "4bit", "8bit"})
PEFT_TAGS = frozenset({"peft"})  # the Hub's library tag of a repo with adapter_config.json
ADAPTER_TAGS = frozenset({"lora", "adapter"})
_QUANT_NAME = re.compile(r"(gguf|gptq|awq|exl2|bnb|mlx|[-_.](?:[2-8]bit|int[48]|fp8|nf4|q[2-8](?:_k)?(?:_[msl])?)"
                         r"(?:$|[-_.]))", re.IGNORECASE)
_QUANT_FILE = re.compile(r"\.(gguf|ggml)$|(^|/)(quantize_config|quant_config)\.json$", re.IGNORECASE)
_ADAPTER_FILE = "adapter_config.json"


class Relation(NamedTuple):
    relation: str  # one of WEIGHT_RELATIONS
    inferred: bool  # not declared by the Hub's tag or the card


def declared_relation(card: Mapping[str, Any], tags: Iterable[str] = (), parent: str | None = None) -> str | None:
    """The relation declared for `parent`: the Hub's `base_model:<relation>:<parent>` tag, else the card's
    `base_model_relation` when it is one of the Hub's four. None when neither declares one."""
    if parent is not None:
        tagset = {t for t in tags if isinstance(t, str)}
        for relation in _TAG_PRECEDENCE:
            if f"base_model:{relation}:{parent}" in tagset:
                return relation
    stated = card.get("base_model_relation")
    text = stated.strip().lower() if isinstance(stated, str) else ""  # never str() of card data
    return text if text in WEIGHT_RELATIONS else None


def infer_relation(*, parents: int, name: str = "", files: Iterable[str] = (), tags: Iterable[str] = (),
                   card: Mapping[str, Any] | None = None) -> str:
    """The relation as the Hub infers it when none is declared (see the module docstring for the order).
    `tags`: the Hub's tags of the repo, if known; the card's own `tags` and `library_name` are read too."""
    if parents > 1:
        return MERGE
    card = card or {}
    files = tuple(f for f in files if isinstance(f, str))
    lowered = {t.lower() for t in _all_tags(tags, card)}
    library = card.get("library_name")
    if (any(f.rsplit("/", 1)[-1] == _ADAPTER_FILE for f in files) or lowered & PEFT_TAGS
            or (isinstance(library, str) and library.strip().lower() == "peft")):
        return ADAPTER
    if any(_QUANT_FILE.search(f) for f in files) or lowered & QUANT_TAGS or _QUANT_NAME.search(name):
        return QUANTIZED
    if lowered & ADAPTER_TAGS:
        return ADAPTER
    return FINETUNE


def relation_to(parent: str | None, *, card: Mapping[str, Any], name: str, parents: int,
                tags: Iterable[str] = (), files: Iterable[str] = (), hub_relation: str | None = None) -> Relation:
    """(relation, inferred) of a repo to `parent` (None: to every base model it declares, as one relation).

    `name`: the repo's name (`org/` may be included; only the part after it is read); `parents`: how many base
    models it has; `hub_relation`: the relation the Hub's model tree states for it, if known."""
    tags = tuple(tags)
    declared = declared_relation(card, tags, parent)
    if declared is not None:
        return Relation(declared, False)
    if isinstance(hub_relation, str) and hub_relation in WEIGHT_RELATIONS:
        return Relation(hub_relation, True)  # the Hub's own inference, from its model tree
    return Relation(infer_relation(parents=parents, name=name.rsplit("/", 1)[-1], files=files, tags=tags,
                                   card=card), True)


def _all_tags(tags: Iterable[str], card: Mapping[str, Any]) -> Iterable[str]:
    yield from (t for t in tags if isinstance(t, str))
    raw = card.get("tags")
    yield from (t for t in (raw if isinstance(raw, list | tuple) else [raw]) if isinstance(t, str))
