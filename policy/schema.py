"""JSON Schema validation of every YAML format, with errors at `file:line:col`.

jsonschema is imported lazily: a run whose rules come from the validated cache never pays for it, and a caller
may ask that a document which validated clean once (the same data against the same schemas, by digest) is not
validated again (`remember=True`), so that a user's parameters file does not cost a jsonschema import (~0.1 s,
seconds where its optional format checkers are installed) on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from policy.diagnostics import Diagnostic
from policy.resources import schema_path
from policy.yamlload import MarkedYaml


@cache
def _registry() -> Any:
    from referencing import Registry, Resource

    resources = []
    for path in sorted(schema_path("license").parent.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        resources.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources)


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry())


def validate(doc: MarkedYaml, schema: str, filename: str,
             paths: list[tuple[Any, ...]] | None = None, *, remember: bool = False) -> list[Diagnostic]:
    """All schema errors of `doc.data` (not just the first), each placed at its YAML node. `paths`, when
    given, receives the JSON path of every error (so later passes can skip just the invalid parts).
    `remember`: a clean result is remembered in the cache folder, and the same document is not checked again."""
    marker = _clean_marker(doc.data, schema) if remember else None
    if marker is not None and marker.is_file():
        return []
    out = _validate(doc, schema, filename, paths)
    if marker is not None and not out:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # an unwritable cache only costs time
    return out


def _clean_marker(data: Any, schema: str) -> Path | None:
    """The cache file whose presence says `data` validated clean against `schema` (and the schemas it refers
    to) in this version; None when the data is not exactly what JSON can hold (then it is validated each time).
    The cache folder is the rule data's (`POLICYCHECK_CACHE`, else `$XDG_CACHE_HOME/policycheck`)."""
    from policy import __version__

    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
        if json.loads(text) != data:  # e.g. integer keys, tuples: not the document jsonschema would see
            return None
    except (TypeError, ValueError, RecursionError):
        return None
    h = hashlib.sha256(f"{__version__}\0{schema}\0".encode())
    for path in sorted(schema_path(schema).parent.glob("*.json")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(text.encode())
    base = os.environ.get("POLICYCHECK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "policycheck")
    return Path(base) / f"valid-{h.hexdigest()[:32]}"


def _validate(doc: MarkedYaml, schema: str, filename: str, paths: list[tuple[Any, ...]] | None) -> list[Diagnostic]:
    from jsonschema.exceptions import relevance

    out: list[Diagnostic] = []
    errors = sorted(_validator(schema).iter_errors(doc.data), key=relevance)
    seen: set[tuple[tuple[Any, ...], str]] = set()
    for err in errors:
        # Report the most specific sub-error of an anyOf/oneOf rather than the wall of alternatives.
        leaf = err
        while leaf.context:
            leaf = min(leaf.context, key=relevance)
        path = tuple(leaf.absolute_path)
        if paths is not None:
            paths.extend(_error_paths(err, leaf))
        key = (path, leaf.message)
        if key in seen:
            continue
        seen.add(key)
        is_key_error = leaf.validator in ("additionalProperties", "propertyNames")
        line, col = doc.mark(path)
        if is_key_error:
            extra = _extra_key(leaf)
            if extra is not None:
                line, col = doc.mark((*path, extra), key=True)
        where = "/".join(str(p) for p in path) or "(top level)"
        out.append(Diagnostic(filename, line, col, "schema", f"{where}: {_short(_clipped_value(leaf))}",
                              help=_help(leaf)))
    return out


def _error_paths(err: Any, leaf: Any) -> list[tuple[Any, ...]]:
    """The parts of the document an error makes invalid: a missing or extra key invalidates that key only
    (not its siblings); any other error the whole node it is at."""
    at = tuple(leaf.absolute_path)
    if leaf is err and leaf.validator == "required" and isinstance(leaf.instance, dict):
        return [(*at, k) for k in leaf.validator_value if k not in leaf.instance] or [at]
    if leaf is err and leaf.validator == "additionalProperties":
        extra = _extra_key(leaf)
        return [(*at, extra)] if extra is not None else [at]
    return [tuple(err.absolute_path)]


def _extra_key(err: Any) -> str | None:
    if isinstance(err.instance, dict) and err.validator == "additionalProperties":
        allowed = set(err.schema.get("properties", {}))
        for k in err.instance:
            if k not in allowed:
                return str(k)
    return None


SHOWN_VALUE = 80  # characters of the offending value a message quotes


def _clipped_value(err: Any) -> str:
    """jsonschema's message with the value it quotes (`'AAAA…' is too long`) cut to SHOWN_VALUE characters, so
    that what the message says about the value still shows."""
    quoted = repr(err.instance)
    if len(quoted) <= SHOWN_VALUE or quoted not in err.message:
        return str(err.message)
    return str(err.message).replace(quoted, quoted[:SHOWN_VALUE - 1] + "…", 1)


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:197] + "..."


def _help(err: Any) -> str:
    if err.validator == "enum":
        return "allowed values: " + ", ".join(str(v) for v in err.validator_value)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        return "allowed keys: " + ", ".join(allowed) if allowed else ""
    if err.validator == "required":
        return ""
    description = err.schema.get("description") if isinstance(err.schema, dict) else None
    return str(description or "")
