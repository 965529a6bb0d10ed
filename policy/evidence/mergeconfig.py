"""The merge configuration a card shows in its body: mergekit's YAML (`merge_method`, `base_model`, `models:`,
`slices: - sources:`), which states the merge's parents exactly. Cards of merged models paste it in a fenced block;
when the front matter does not declare a model it names, that is evidence like a sentence saying so, at high
confidence (it is the recipe that made the weights).

Pure. The blocks are read with the guarded YAML loader (safe tags, bounded aliases and depth), at most
`MAX_BLOCKS` blocks of `MAX_BLOCK` characters; a block that does not parse states nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policy.evidence.prose import BASE_CODE, MAX_QUOTE_WORDS
from policy.model.evidence import Evidence

MAX_BLOCK = 64 * 1024  # characters of one fenced block parsed
MAX_BLOCKS = 20  # fenced blocks parsed per card
MAX_IDS = 64  # parents taken from one configuration
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)[ \t]*([A-Za-z0-9_-]*)[^\n]*$", re.M)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
_MARKERS = ("merge_method", "slices:", "layer_range")


def _blocks(body: str) -> Iterable[tuple[int, str]]:
    """(offset, text) of each fenced code block that looks like a merge configuration."""
    pos = 0
    found = 0
    while found < MAX_BLOCKS:
        start = _FENCE.search(body, pos)
        if start is None:
            return
        fence = start.group(1)
        end = body.find("\n" + fence, start.end())
        if end == -1:
            return
        text = body[start.end() + 1:end]
        pos = end + 1 + len(fence)
        if len(text) <= MAX_BLOCK and any(m in text for m in _MARKERS):
            found += 1
            yield start.end() + 1, text


def _ids(config: Any) -> list[str]:
    """The models a mergekit configuration names: `base_model`, `models: [{model: X}]`, `slices: [{sources:
    [{model: X}]}]` (the first MAX_IDS, in order)."""
    out: dict[str, None] = {}

    def take(value: Any) -> None:
        if isinstance(value, str) and _HUB_ID.fullmatch(value.strip()) and len(out) < MAX_IDS:
            out[value.strip()] = None
        elif isinstance(value, Mapping):
            take(value.get("model"))

    if not isinstance(config, Mapping):
        return []
    take(config.get("base_model"))
    for item in config.get("models") or () if isinstance(config.get("models"), list) else ():
        take(item)
    slices = config.get("slices")
    for sl in slices if isinstance(slices, list) else ():
        sources = sl.get("sources") if isinstance(sl, Mapping) else None
        for src in sources if isinstance(sources, list) else ():
            take(src)
    return list(out)


def merge_config_lineage(subject: str, body: str, body_start_line: int, bases: Sequence[str]) -> list[Evidence]:
    """Models a merge configuration in the card's body names that `bases` (the declared `base_model`s and any
    other declared parent) does not hold, one item per model, with the line of the configuration."""
    import yaml

    from policy.yamlload import load_fast

    declared = {b.lower() for b in bases}
    out: list[Evidence] = []
    seen: set[str] = set()
    for offset, text in _blocks(body):
        try:
            config = load_fast(text)
        except (yaml.YAMLError, ValueError, RecursionError):
            continue
        line = body_start_line + body.count("\n", 0, offset)
        for model_id in _ids(config):
            key = model_id.lower()
            if key in declared or key in seen or key == subject.lower():
                continue
            seen.add(key)
            quote = " ".join(f"model: {model_id}".split()[:MAX_QUOTE_WORDS])
            out.append(Evidence(
                code=BASE_CODE,
                message=f"the merge configuration in the card says the model was merged from {model_id!r}, "
                        "which base_model does not declare",
                method="merge-config", confidence="high", source=f"card line {line}", subject=subject, line=line,
                quote=quote, refers_to=model_id,
                data={"relation": "base", "name": model_id, "id": model_id, "family": model_id.rsplit("/", 1)[-1]
                      .lower(), "kind": "model", "vague": False, "phrase": "merge configuration"}))
    return out
