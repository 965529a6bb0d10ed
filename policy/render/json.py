"""`--format json`: exactly the `policycheck/report/v1` contract; several targets give a JSON array."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from policy import __version__
from policy.model.report import SCHEMA, Report, TargetError

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
    parts: list[str] = []
    write_json(results, parts.append)
    return "".join(parts)


def write_json(results: Iterable[Report | TargetError], write: Callable[[str], None],
               on_result: Callable[[Report | TargetError, bool], None] | None = None) -> None:
    """Stream the output: a single target prints one object; several print a JSON array written one report at
    a time (`[`, each report as it is done, `]`), byte-identical to `json.dumps(list, indent=2)`, so memory
    stays flat however large the batch. `on_result(result, failed)` is told about each one."""
    it = iter(results)
    first = next(it, None)
    if first is None:
        write("[]\n")
        return
    first_doc = _one(first, on_result)
    second = next(it, None)
    if second is None:
        write(first_doc + "\n")
        return
    write("[\n" + _indent(first_doc))
    del first, first_doc
    try:
        for result in _chain(second, it):
            write(",\n" + _indent(_one(result, on_result)))
    finally:  # a configuration error that stops the run still leaves a valid array of the reports written
        write("\n]\n")


def _one(result: Report | TargetError, on_result: Callable[[Report | TargetError, bool], None] | None) -> str:
    try:
        doc, failed = dumps(result.to_dict()), False
    except Exception:
        doc, failed = render_one(result), True
    if on_result is not None:
        on_result(result, failed)
    return doc


def _chain(head: Report | TargetError, rest: Iterable[Report | TargetError]) -> Iterable[Report | TargetError]:
    yield head
    yield from rest


def _indent(doc: str) -> str:
    # JSON strings never hold a raw line break, so indenting line by line is exact.
    return "\n".join("  " + line for line in doc.split("\n"))


def _subject_id(result: Any) -> str:
    subject = getattr(result, "subject", None)
    if isinstance(subject, Mapping):
        return str(subject.get("id", "?"))
    return "?"


def _internal_error(target: str, message: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "tool": {"name": "policycheck", "version": __version__}, "target": target,
            "verdict": "error", "error": {"message": message, "diagnostics": [], "internal": True}}
