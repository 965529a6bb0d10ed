"""`--format json`: exactly the `policycheck/report/v1` contract; several targets give a JSON array."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from policy import __version__
from policy.model.report import SCHEMA, Report, Subject, TargetError
from policy.render.registry import RenderOptions

# Valid in JSON strings but control characters to a terminal (C1: U+009B is CSI), or line breaks to JavaScript
# and many log viewers: always written as \u escapes. (ensure_ascii=False leaves them raw.)
_RAW = re.compile("[\u0080-\u009f\u2028\u2029]")


def _default(value: Any) -> Any:
    """Whatever a card or a rule put in the report, serialisable: dates as ISO strings, sets and tuples as
    lists, anything else as its string."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(str(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "to_dict"):
        try:
            return value.to_dict()
        except Exception:
            pass
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


def dumps(payload: Any) -> str:
    """`payload` as indented JSON (no trailing newline), every value serialisable, C1 and U+2028/2029
    escaped."""
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=_default)
    return _RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def render_one(result: Report | TargetError) -> str:
    """One target's document. A report that cannot be written becomes that target's internal error."""
    try:
        return dumps(result.to_dict())
    except Exception as exc:  # one target's problem never empties the batch
        target = getattr(result, "target", None) or _subject_id(result)
        return dumps(_internal_error(target, f"internal error while writing the report of {target}: "
                                             f"{type(exc).__name__}: {exc} (please report it)"))


def render_json(results: Sequence[Report | TargetError]) -> str:
    return "".join(render(results, RenderOptions()))


def render(results: Iterable[Report | TargetError], options: RenderOptions) -> Iterator[str]:
    """The renderer contract (policy/render/registry.py), streamed: a single target prints one object; several
    print a JSON array written one report at a time (`[`, each report as it is done, `]`), byte-identical to
    `json.dumps(list, indent=2)`, so memory stays flat however large the batch. A report that cannot be written
    becomes that target's internal error, and `options.on_unwritable` is told."""
    it = iter(results)
    first = next(it, None)
    if first is None:
        yield "[]\n"
        return
    first_doc = _one(first, options.on_unwritable)
    second = next(it, None)
    if second is None:
        yield first_doc + "\n"
        return
    yield "[\n" + _indent(first_doc)
    del first, first_doc
    try:
        for result in _chain(second, it):
            yield ",\n" + _indent(_one(result, options.on_unwritable))
    except (Exception, KeyboardInterrupt):  # a configuration error that stops the run still leaves a valid
        yield "\n]\n"  # array of the reports written
        raise
    yield "\n]\n"


def _one(result: Report | TargetError, on_unwritable: Callable[[Report | TargetError], None] | None) -> str:
    try:
        return dumps(result.to_dict())
    except Exception:
        if on_unwritable is not None:
            on_unwritable(result)
        return render_one(result)


def _chain(head: Report | TargetError, rest: Iterable[Report | TargetError]) -> Iterable[Report | TargetError]:
    yield head
    yield from rest


def _indent(doc: str) -> str:
    # JSON strings never hold a raw line break, so indenting line by line is exact.
    return "\n".join("  " + line for line in doc.split("\n"))


def _subject_id(result: Any) -> str:
    subject = getattr(result, "subject", None)
    if isinstance(subject, Subject):
        return str(subject.id)
    return "?"


def _internal_error(target: str, message: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "tool": {"name": "policycheck", "version": __version__}, "target": target,
            "verdict": "error", "error": {"message": message, "diagnostics": [], "internal": True}}
