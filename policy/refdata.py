"""Reference data, read one way: the data files beside the rules that modules look things up in.

`rules/evidence/benchmarks.yaml` (the benchmarks evaluation claims name), `rules/evidence/model_names.yaml` (model
names in card prose), `evidence/fingerprints.yaml` (reference file hashes; shipped, and in `--rules` folders),
`rules/evidence/license_texts.yaml` (the catalog's license texts, sampled, to recognise a LICENSE file),
`rules/aiact/gpai.yaml` (the AI Act pack's items), and the JSON Schemas documents read as data (the annex's
parameters). Every YAML file here is

- read as UTF-8 with the guarded YAML loader, keeping marks (`policy.yamlload.load_marked`);
- validated against its JSON Schema (`rules/schema/<kind>.json`, `policy.schema.validate`), then by the builder
  its reader passes (the function that turns the data into objects: `load_benchmarks`, `load_names`, ...), which
  raises `DataProblem` at a JSON path. Every problem becomes a `Diagnostic` at `file:line:col`, and a bad file a
  `ConfigError` (exit 2), never an internal error;
- cached one way: in the process by file path, size and mtime (`load` costs one `stat` after the first call,
  and returns the very object built the first time), and across processes as validated JSON under the rule
  cache folder, keyed the same way and by the schema, so the pre-commit hook neither parses YAML nor imports
  jsonschema when nothing changed.

Ground floor: imports only other ground-floor modules (`policy.yamlload` and `policy.schema` when a file is read).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from policy import __version__
from policy.diagnostics import Diagnostic
from policy.errors import ConfigError

T = TypeVar("T")


class Kind:
    """One kind of reference data (a plain class: a dataclass costs an `exec` at every start-up)."""

    __slots__ = ("label", "name", "path", "schema")

    def __init__(self, name: str, path: str, schema: str, label: str) -> None:
        self.name = name
        self.path = path  # under rules/ (and under a --rules folder, for the kinds that may be added there)
        self.schema = schema  # rules/schema/<schema>.json
        self.label = label  # what the data is, in messages


KINDS = {k.name: k for k in (
    Kind("benchmarks", "evidence/benchmarks.yaml", "benchmarks", "benchmarks data"),
    Kind("model_names", "evidence/model_names.yaml", "model_names", "model names data"),
    Kind("fingerprints", "evidence/fingerprints.yaml", "fingerprints", "reference fingerprints"),
    Kind("license_texts", "evidence/license_texts.yaml", "license_texts", "license texts"),
    Kind("aiact", "aiact/gpai.yaml", "aiact", "AI Act data"),
)}
CACHE_FORMAT = "policycheck/refdata-cache/v1"


class DataProblem(ValueError):
    """What a builder finds wrong in data that has the right shape (a name listed twice, an unknown source),
    at the JSON path of the value (`("models", 3, "names", 0)`), so that it can be shown at its line."""

    def __init__(self, message: str, path: Sequence[str | int] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = tuple(path)


def shipped(kind: str) -> Path:
    """The shipped file of `kind` (`rules/<path>`)."""
    from policy import resources

    return resources.rules_dir() / KINDS[kind].path


def load(kind: str, path: Path | str | None = None, build: Callable[[Any], T] | None = None) -> Any:
    """The data of a reference file (the shipped one unless `path`), validated, and `build(data)` when a builder
    is given; cached by path, size and mtime (every call returns the same object: never modify it). Raises
    `ConfigError` with `file:line:col` diagnostics."""
    file = Path(path) if path is not None else shipped(kind)
    try:
        st = file.stat()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{file}: cannot read the {KINDS[kind].label} ({reason})",
                          [Diagnostic(str(file), 0, 0, "reference-data", f"cannot read: {reason}")]) from None
    return _load(kind, str(file), st.st_size, st.st_mtime_ns, build)


def clear_cache() -> None:
    """Forget what this process has read (tests)."""
    _load.cache_clear()
    schema_document.cache_clear()


@lru_cache(maxsize=64)
def _load(kind: str, name: str, size: int, mtime_ns: int, build: Callable[[Any], Any] | None) -> Any:
    key = _cache_key(kind, name, size, mtime_ns)
    data = _read_cache(key)
    if data is None:
        data, marked = _read(kind, name)
        result = _built(kind, name, data, marked, build)
        _write_cache(key, data)
        return result
    try:
        return build(data) if build is not None else data
    except ValueError:  # valid when it was cached, refused by this builder: read the file for the positions
        data, marked = _read(kind, name)
        return _built(kind, name, data, marked, build)


def check(kind: str, data: Any, build: Callable[[Any], T] | None = None, name: str | None = None) -> Any:
    """Validate data that was parsed elsewhere (no positions) as `load` validates a file, and build it."""
    from policy.yamlload import MarkedYaml

    name = name or f"rules/{KINDS[kind].path}"
    errors = _validate(kind, name, MarkedYaml(_jsonable(data)))
    if errors:
        _raise(kind, [dataclasses.replace(d, line=0, col=0) for d in errors])
    return _built(kind, name, data, None, build)


def _read(kind: str, name: str) -> tuple[Any, Any]:
    """Parse and validate one file: (data, MarkedYaml). Raises ConfigError with every problem found."""
    import yaml

    from policy.yamlload import MarkedYaml, load_marked, syntax_diagnostic

    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        _raise(kind, [Diagnostic(name, 0, 0, "reference-data", f"cannot read: {reason}")])
    text, problem = _decode(raw, name)
    if problem is not None:
        _raise(kind, [problem])
    try:
        marked = load_marked(text, name)
    except yaml.YAMLError as exc:
        _raise(kind, [syntax_diagnostic(exc, name, text=text)])
    data = _jsonable(marked.data)
    marked = MarkedYaml(data, marked.marks, marked.key_marks, list(marked.diagnostics))
    errors = [*marked.diagnostics, *_validate(kind, name, marked)]
    if errors:
        _raise(kind, errors)
    return data, marked


def _validate(kind: str, name: str, marked: Any) -> list[Diagnostic]:
    from policy.schema import validate

    return validate(marked, KINDS[kind].schema, name)


def _built(kind: str, name: str, data: Any, marked: Any, build: Callable[[Any], T] | None) -> Any:
    if build is None:
        return data
    try:
        return build(data)
    except DataProblem as exc:
        line, col = marked.mark(exc.path) if marked is not None else (0, 0)
        where = "/".join(str(p) for p in exc.path)
        message = f"{where}: {exc.message}" if where and not exc.message.startswith(where) else exc.message
        _raise(kind, [Diagnostic(name, line, col, "reference-data", message)])
    except ValueError as exc:
        _raise(kind, [Diagnostic(name, 1 if marked is not None else 0, 1 if marked is not None else 0,
                                 "reference-data", str(exc))])


def _raise(kind: str, errors: Sequence[Diagnostic]) -> NoReturn:
    first = errors[0]
    raise ConfigError(f"{first.location}: invalid {KINDS[kind].label}: {first.message}", errors)


@lru_cache(maxsize=16)
def schema_document(name: str) -> dict[str, Any]:
    """A JSON Schema of `rules/schema/` read as data (the annex's parameters are listed from theirs)."""
    from policy.resources import schema_path

    return json.loads(schema_path(name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# -- the cache across processes ---------------------------------------------------------------------------------
# Validated data as plain JSON (data only, never code), trusted only when it is exactly what this version wrote for
# this file and schema: format, version, key and a sha256 over the data. Anything else is ignored and rebuilt.
def cache_dir() -> Path:
    base = os.environ.get("POLICYCHECK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "policycheck")
    return Path(base)


def _cache_key(kind: str, name: str, size: int, mtime_ns: int) -> str:
    from policy.resources import schema_path

    h = hashlib.sha256(f"{__version__}\0{kind}\0{Path(name).resolve()}\0{size}\0{mtime_ns}".encode())
    try:
        st = schema_path(KINDS[kind].schema).stat()
        h.update(f"\0{st.st_size}\0{st.st_mtime_ns}".encode())
    except OSError:
        pass
    return h.hexdigest()[:32]


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _read_cache(key: str) -> Any:
    try:
        payload = json.loads((cache_dir() / f"ref-{key}.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(payload, dict) or payload.get("format") != CACHE_FORMAT or payload.get("key") != key \
            or payload.get("version") != __version__ or "data" not in payload:
        return None
    data = payload["data"]
    try:
        return data if payload.get("digest") == _digest(data) else None
    except (TypeError, ValueError, RecursionError):
        return None


def _write_cache(key: str, data: Any) -> None:
    try:
        text = json.dumps(data)
        if json.loads(text) != data:  # data JSON cannot hold as it is (integer keys...): read the file each time
            return
        payload = {"format": CACHE_FORMAT, "version": __version__, "key": key, "digest": _digest(data),
                   "data": data}
        import tempfile

        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, encoding="utf-8", suffix=".tmp") as fh:
            json.dump(payload, fh)
        os.replace(fh.name, folder / f"ref-{key}.json")
    except (OSError, TypeError, ValueError, RecursionError):  # a read-only cache only costs time
        pass


# -- reading ----------------------------------------------------------------------------------------------------
def _decode(raw: bytes, name: str) -> tuple[str, Diagnostic | None]:
    """The text of a YAML file (UTF-8, optional BOM), or a diagnostic at the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1:].decode("utf-8-sig", errors="replace")) + 1
        return "", Diagnostic(name, line, col, "encoding",
                              f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                              help="save the file as UTF-8")


def _jsonable(value: Any) -> Any:
    """YAML dates become ISO strings, so that the schema (and the JSON cache) see what the file says."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
