"""Load the rule data (catalog, packs, curations) and the policy file, validated, with all errors at once.

Validation (YAML positions, JSON Schema, semantic checks, template checks) runs when the data changes; the
validated data is then cached by content digest, so a check of one card does not re-validate ~100 files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policy import __version__
from policy.diagnostics import Diagnostic
from policy.engine.rules import Pack, PackSource, compile_pack, digest, lint_tests
from policy.errors import ConfigError
from policy.model.catalog import Catalog, LicenseEntry
from policy.model.citations import describe_source
from policy.model.overlays import ModelOverlay, merge_overlays, overlay_from_dict
from policy.model.policyfile import Policy, policy_from_dict
from policy.resources import rules_dir
from policy.yamlload import MarkedYaml, load_marked, syntax_diagnostic

KINDS = {"policycheck/license/v1": "license", "policycheck/pack/v1": "pack",
         "policycheck/curations/v1": "curations"}
SCHEMAS = {"license": "license", "pack": "pack", "curations": "curations"}


@dataclass
class Bundle:
    """The rule data of a run: catalog, packs and curations, validated."""
    catalog: Catalog
    packs: tuple[Pack, ...]
    curations: Mapping[str, ModelOverlay]
    warnings: list[Diagnostic] = field(default_factory=list)
    files: tuple[str, ...] = ()
    catalog_digest: str = ""  # sha256 over the catalog files' digests: which license facts judged a report


@dataclass
class _Doc:
    """One validated rule-data file as the cache holds it."""
    path: str
    kind: str
    data: Any
    sha256: str
    rule_lines: list[int] = field(default_factory=list)  # a pack's rules' lines: a cached run still places them


def rule_files(extra: Sequence[Path] = ()) -> list[Path]:
    files: list[Path] = []
    for root in (rules_dir(), *extra):
        if root.is_file():
            files.append(root)
            continue
        if not root.is_dir():
            raise ConfigError(f"{root}: --rules must name a folder or a YAML file",
                              [Diagnostic(str(root), 0, 0, "rules-path", "no such folder or file")])
        # rules/evidence/ and rules/aiact/ hold reference data (benchmarks, model names, the AI Act's items) for
        # the modules that read them, not rules
        files.extend(sorted(p for p in root.rglob("*.y*ml") if "schema" not in p.parts
                            and not REFERENCE_DIRS.intersection(p.relative_to(root).parts)))
    return files


REFERENCE_DIRS = frozenset({"evidence", "aiact"})


def _cache_dir() -> Path:
    base = os.environ.get("POLICYCHECK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "policycheck")
    return Path(base)


def _cache_key(files: Iterable[Path]) -> str:
    h = hashlib.sha256(__version__.encode())
    for f in files:
        st = f.stat()
        # the absolute path names the file (Path.resolve would cost a system call per path component per file)
        h.update(f"{os.path.abspath(f)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def load_bundle(extra: Sequence[Path] = (), *, use_cache: bool = True, lint: bool = False) -> Bundle:
    files = rule_files(extra)
    key = _cache_key(files)
    cache_file = _cache_dir() / f"rules-{key}.json"
    docs: list[_Doc] | None = None
    if use_cache and not lint:
        docs = _read_cache(cache_file, key, files)
    warnings: list[Diagnostic] = []
    if docs is None:
        docs, marked, errors, warnings = _read_and_validate(files)
        bundle, more_errors, more_warnings = _build(docs, marked, check=True, lint=lint)
        errors += more_errors
        warnings += more_warnings
        if errors:
            raise ConfigError(f"{len(errors)} problem(s) in the rule data", errors + warnings)
        if use_cache:
            _write_cache(cache_file, docs)
        bundle.warnings = warnings
        return bundle
    lines = {d.path: MarkedYaml(d.data, {("rules", i): (line, 1) for i, line in enumerate(d.rule_lines)})
             for d in docs if d.rule_lines}
    bundle, _, _ = _build(docs, lines, check=False, lint=False)
    return bundle


# The cache of validated rule data is plain JSON (it can hold data only, never code) and is trusted only when
# it is exactly what this version wrote for these files: format, policycheck version, cache key, the set of
# files, each document's shape, and a sha256 over the documents. Anything else: ignored, and rebuilt.
CACHE_FORMAT = "policycheck/rules-cache/v2"
MAX_CACHE_BYTES = 64 * 1024 * 1024


def _docs_digest(docs: Sequence[Mapping[str, Any]]) -> str:
    """The sha256 of the documents as the cache file holds them (`json.dumps` with its defaults)."""
    return hashlib.sha256(_docs_text(docs).encode()).hexdigest()


def _docs_text(docs: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(docs, ensure_ascii=True)


_DOCS = b', "docs": '  # the cache file is `{"format": ..., "digest": ..., "docs": [...]}`, the documents last


def _read_cache(cache_file: Path, key: str, files: Sequence[Path]) -> list[_Doc] | None:
    try:
        if cache_file.stat().st_size > MAX_CACHE_BYTES:
            return None
        raw = cache_file.read_bytes()
    except OSError:
        return None
    # The digest is checked on the documents' bytes as written, before they are parsed (re-serialising them to
    # check it cost more than parsing).
    head, found, docs_text = raw.rstrip().partition(_DOCS)
    if not found or not docs_text.endswith(b"}"):
        return None
    docs_text = docs_text[:-1]
    try:
        payload = json.loads((head + b"}").decode("utf-8"))
    except (ValueError, RecursionError):  # not JSON (json errors are ValueErrors), or not UTF-8
        return None
    if not isinstance(payload, dict) or payload.get("format") != CACHE_FORMAT \
            or payload.get("version") != __version__ or payload.get("key") != key \
            or payload.get("digest") != hashlib.sha256(docs_text).hexdigest():
        return None
    try:
        raw_docs = json.loads(docs_text.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    names = {str(f) for f in files}
    if not isinstance(raw_docs, list):
        return None
    docs: list[_Doc] = []
    for d in raw_docs:
        if not (isinstance(d, dict) and set(d) == {"path", "kind", "data", "sha256", "rule_lines"}
                and d["path"] in names and d["kind"] in KINDS.values() and isinstance(d["data"], dict)
                and isinstance(d["sha256"], str) and len(d["sha256"]) == 64 and isinstance(d["rule_lines"], list)
                and all(type(n) is int for n in d["rule_lines"])):
            return None
        docs.append(_Doc(d["path"], d["kind"], d["data"], d["sha256"], d["rule_lines"]))
    return docs


def _write_cache(cache_file: Path, docs: list[_Doc]) -> None:
    raw_docs = [{"path": d.path, "kind": d.kind, "data": d.data, "sha256": d.sha256, "rule_lines": d.rule_lines}
                for d in docs]
    try:
        text = _docs_text(raw_docs)
        if json.loads(text) != raw_docs:  # data JSON cannot hold as it is (e.g. integer keys): do not cache
            return
    except (TypeError, ValueError):
        return
    header = {"format": CACHE_FORMAT, "version": __version__, "key": cache_file.stem.removeprefix("rules-"),
              "digest": hashlib.sha256(text.encode()).hexdigest()}
    import tempfile  # only a run that (re)writes the cache needs it

    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=cache_file.parent, delete=False,
                                         suffix=".tmp") as tmp:
            tmp.write(json.dumps(header, ensure_ascii=True)[:-1] + _DOCS.decode() + text + "}")
        os.replace(tmp.name, cache_file)
    except OSError:
        pass  # a read-only home is fine: we validate every run instead


def _read_and_validate(files: Sequence[Path]) -> tuple[list[_Doc], dict[str, MarkedYaml], list[Diagnostic],
                                                      list[Diagnostic]]:
    from policy.schema import validate

    docs: list[_Doc] = []
    marked_by_path: dict[str, MarkedYaml] = {}
    errors: list[Diagnostic] = []
    for path in files:
        name = str(path)
        raw = path.read_bytes()
        text, problem = decode_utf8(raw, name)
        if problem is not None:
            errors.append(problem)
            continue
        try:
            marked = load_marked(text, name)
        except yaml.YAMLError as exc:
            errors.append(syntax_diagnostic(exc, name, text=text))
            continue
        errors.extend(marked.diagnostics)
        data = jsonable(marked.data)
        long_values = length_problems(data, marked, name)
        if long_values:
            errors.extend(long_values)
            continue
        schema_id = data.get("schema") if isinstance(data, dict) else None
        kind = KINDS.get(schema_id) if isinstance(schema_id, str) else None
        if kind is None:
            line, col = marked.mark(("schema",))
            shown = repr(schema_id) if isinstance(schema_id, str | int | float | None) else "a " + type(
                schema_id).__name__
            errors.append(Diagnostic(name, line, col, "unknown-format",
                                     f"unknown or missing `schema:` {shown[:80]}",
                                     help="one of: " + ", ".join(KINDS)))
            continue
        error_paths: list[tuple[Any, ...]] = []
        schema_errors = validate(MarkedYaml(data, marked.marks, marked.key_marks), SCHEMAS[kind], name,
                                 error_paths)
        errors.extend(schema_errors)
        if schema_errors:
            partial = _valid_rules_only(data, marked, error_paths) if kind == "pack" else None
            if partial is not None:  # still check the valid rules, so all problems come out in one run
                docs.append(_Doc(name, "pack-partial", partial.data, digest(raw)))
                marked_by_path[name] = partial
            continue
        if kind == "license" and path.stem != data["id"]:
            line, col = marked.mark(("id",))
            errors.append(Diagnostic(name, line, col, "license-file-name",
                                     f"catalog file name '{path.name}' does not match id '{data['id']}'",
                                     help=f"rename the file to {data['id']}.yaml"))
        rule_lines = [marked.mark(("rules", i))[0] for i in range(len(data["rules"]))] if kind == "pack" else []
        docs.append(_Doc(name, kind, data, digest(raw), rule_lines))
        marked_by_path[name] = marked
    return docs, marked_by_path, errors, []


def _valid_rules_only(data: Any, marked: MarkedYaml, error_paths: Sequence[tuple[Any, ...]]) -> MarkedYaml | None:
    """A pack whose schema errors all lie inside some of its rules, reduced to the other rules (positions
    re-keyed to the original indices), for the semantic pass; None when the pack itself is invalid."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return None
    bad = set()
    for path in error_paths:
        if len(path) < 2 or path[0] != "rules" or not isinstance(path[1], int):
            return None
        bad.add(path[1])
    keep = [i for i in range(len(data["rules"])) if i not in bad]
    new_index = {old: new for new, old in enumerate(keep)}

    def rekey(table: Mapping[tuple[Any, ...], tuple[int, int]]) -> dict[tuple[Any, ...], tuple[int, int]]:
        out = {}
        for path, mark in table.items():
            if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
                if path[1] not in new_index:
                    continue
                path = ("rules", new_index[path[1]], *path[2:])
            out[path] = mark
        return out

    reduced = {**data, "rules": [data["rules"][i] for i in keep]}
    return MarkedYaml(reduced, rekey(marked.marks), rekey(marked.key_marks))


def _build(docs: list[_Doc], marked: Mapping[str, MarkedYaml], *, check: bool,
           lint: bool) -> tuple[Bundle, list[Diagnostic], list[Diagnostic]]:
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    entries: dict[str, LicenseEntry] = {}
    for doc in docs:
        if doc.kind == "license":
            entry = LicenseEntry.from_dict(doc.data, doc.path)
            if check and entry.id in entries:
                line, col = marked[doc.path].mark(("id",))
                errors.append(Diagnostic(doc.path, line, col, "duplicate-license",
                                         f"license id '{entry.id}' is defined in {entries[entry.id].file} too"))
            entries[entry.id] = entry
    catalog = Catalog(entries.values())
    if check:
        errors += _check_catalog(catalog, docs, marked)
    overlays = []
    packs = []
    for doc in docs:
        if doc.kind == "curations":
            for i, m in enumerate(doc.data["models"]):
                overlay = overlay_from_dict(m, "curation", doc.path)
                overlays.append(overlay)
                if check and overlay.license is not None and not catalog.resolve(overlay.license).known:
                    line, col = marked[doc.path].mark(("models", i, "license"))
                    errors.append(Diagnostic(doc.path, line, col, "unknown-license",
                                             f"curation for {overlay.id}: license {overlay.license.display()} "
                                             "is not in the catalog"))
        elif doc.kind == "pack-partial":  # schema errors elsewhere in the file: semantic diagnostics only
            source = PackSource(doc.path, doc.data, doc.sha256)
            errors += compile_pack(source, catalog.lookup, check_templates=check, marked=marked.get(doc.path))[1]
        elif doc.kind == "pack":
            source = PackSource(doc.path, doc.data, doc.sha256)
            pack, diags = compile_pack(source, catalog.lookup, check_templates=check,
                                       marked=marked.get(doc.path))
            errors += diags
            if lint:
                warnings += lint_tests(pack, marked.get(doc.path))
            packs.append(pack)
    digest_input = "".join(f"{Path(d.path).name}:{d.sha256}\n" for d in sorted(docs, key=lambda d: d.path)
                           if d.kind in ("license", "curations"))
    bundle = Bundle(catalog=catalog, packs=tuple(packs), curations=merge_overlays(overlays),
                    files=tuple(d.path for d in docs),
                    catalog_digest=hashlib.sha256(digest_input.encode()).hexdigest())
    return bundle, errors, warnings


def _check_catalog(catalog: Catalog, docs: list[_Doc], marked: Mapping[str, MarkedYaml]) -> list[Diagnostic]:
    errors: list[Diagnostic] = []
    for doc in docs:
        if doc.kind != "license":
            continue
        for ci, clause in enumerate(doc.data.get("clauses", ())):
            params = clause.get("params") or {}
            for key in ("accepts", "except_derivatives_of"):
                for j, lid in enumerate(params.get(key, ())):
                    if lid not in catalog:
                        line, col = marked[doc.path].mark(("clauses", ci, "params", key, j))
                        errors.append(Diagnostic(doc.path, line, col, "unknown-license",
                                                 f"{key} names '{lid}', which is not a catalog id"))
            citation = clause["citation"]
            if citation.get("grade", "V") in ("V", "C") and describe_source(citation.get("source")).kind == "branch":
                line, col = marked[doc.path].mark(("clauses", ci, "citation", "source"))
                errors.append(Diagnostic(
                    doc.path, line, col, "unpinned-source",
                    f"a clause graded {citation.get('grade', 'V')} must cite the text that was read, pinned to a "
                    "commit (owner/repo@commit:path); this source is a branch, whose text can change"))
            quote = citation.get("quote", "")
            if len(quote.split()) > 25:
                line, col = marked[doc.path].mark(("clauses", ci, "citation", "quote"))
                errors.append(Diagnostic(doc.path, line, col, "quote-too-long",
                                         f"quotes are limited to 25 words; this one has {len(quote.split())}"))
    return errors


def _policy_digest(raw: bytes) -> str:
    from policy.resources import schema_path

    h = hashlib.sha256(__version__.encode() + b"\0" + schema_path("policy").read_bytes() + b"\0" + raw)
    return h.hexdigest()[:32]


def _touch(marker: Path) -> None:
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # an unwritable cache only costs time


def load_policy(path: Path, catalog: Catalog, packs: Sequence[Pack], *, use_cache: bool = True) -> Policy:
    from policy.schema import validate

    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read the policy file ({exc.strerror})",
                          [Diagnostic(name, 0, 0, "policy-file", f"cannot read: {exc.strerror}")]) from None
    text, problem = decode_utf8(raw, name)
    if problem is not None:
        raise ConfigError(f"{problem.location}: {problem.message}", [problem])
    try:
        marked = load_marked(text, name)
    except yaml.YAMLError as exc:
        diag = syntax_diagnostic(exc, name, text=text)
        raise ConfigError(f"{diag.location}: {diag.message}", [diag]) from None
    data = jsonable(marked.data if marked.data is not None else {})
    errors = list(marked.diagnostics) + length_problems(data, marked, name)
    if not isinstance(data, dict):
        errors.append(Diagnostic(name, 1, 1, "policy-file", "the policy file must be a mapping"))
        raise ConfigError(f"{name}: invalid policy file", errors)
    error_paths: list[tuple[Any, ...]] = []
    # Schema validation costs a jsonschema import (~70 ms) on every commit the hook checks: a policy text that
    # passed once is remembered by its digest (with the version and the schema's), and is not checked again.
    marker = _cache_dir() / f"policy-valid-{_policy_digest(raw)}"
    if not (use_cache and marker.is_file()):
        schema_errors = validate(MarkedYaml(data, marked.marks, marked.key_marks), "policy", name, error_paths)
        errors += schema_errors
        if use_cache and not schema_errors:
            _touch(marker)

    def valid(*prefix: Any) -> bool:  # no schema error at, above or below this entry
        return not any(p[:len(prefix)] == prefix or prefix[:len(p)] == p for p in error_paths)

    # The semantic checks run on the entries the schema accepted, so all problems come out in one run.
    rule_ids = {r.id for p in packs for r in p.rules}
    for section in ("allow", "deny"):
        lic = data.get("licenses")
        for i, lid in enumerate(_list(lic.get(section) if isinstance(lic, dict) else None)):
            if not valid("licenses", section, i):
                continue
            if catalog.lookup(lid) is None:
                line, col = marked.mark(("licenses", section, i))
                errors.append(Diagnostic(name, line, col, "unknown-license", f"unknown license id '{lid}'",
                                         help="list the catalog with `policycheck licenses`"))
    for i, w in enumerate(_list(data.get("waivers"))):
        if not valid("waivers", i):
            continue
        if w["rule"] not in rule_ids:
            line, col = marked.mark(("waivers", i, "rule"))
            errors.append(Diagnostic(name, line, col, "unknown-rule", f"waiver names unknown rule '{w['rule']}'",
                                     help="list the rules with `policycheck rules list`"))
        try:
            dt.date.fromisoformat(str(w["expires"]))
        except ValueError:
            line, col = marked.mark(("waivers", i, "expires"))
            errors.append(Diagnostic(name, line, col, "schema", f"expires: '{w['expires']}' is not a date",
                                     help="write an ISO date such as 2026-12-31"))
    for i, m in enumerate(_list(data.get("models"))):
        if not valid("models", i):
            continue
        overlay = overlay_from_dict(m, "policy", name)
        if overlay.license is not None and not catalog.resolve(overlay.license).known:
            line, col = marked.mark(("models", i, "license"))
            errors.append(Diagnostic(name, line, col, "unknown-license",
                                     f"models[{m['id']}]: license {overlay.license.display()} is not in the catalog"))
    if errors:
        raise ConfigError(f"{name}: invalid policy file", errors)
    waiver_lines = {i: marked.mark(("waivers", i))[0] for i in range(len(data.get("waivers", ())))}
    return policy_from_dict(data, name, catalog.lookup, waiver_lines)


# Lengths of strings in rule data and policy files: ids (license, rule, model ids and the lists of them) are
# short; no string needs more than MAX_TEXT_LENGTH characters.
MAX_ID_LENGTH = 256
MAX_TEXT_LENGTH = 100_000
_ID_KEYS = frozenset({"id", "model", "ancestor", "rule", "parent", "license", "spdx", "schema", "relation"})
_ID_LIST_KEYS = frozenset({"allow", "deny", "accepts", "except_derivatives_of", "categories", "applies_to"})


def length_problems(data: Any, marked: MarkedYaml, name: str) -> list[Diagnostic]:
    """Over-long ids and texts, each at its position (the data is depth-bounded by the YAML loader)."""
    out: list[Diagnostic] = []

    def walk(value: Any, path: tuple[Any, ...], id_like: bool) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*path, k), k in _ID_KEYS)
                if len(out) >= 20:
                    return
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*path, i), bool(path) and path[-1] in _ID_LIST_KEYS)
        elif isinstance(value, str):
            limit = MAX_ID_LENGTH if id_like else MAX_TEXT_LENGTH
            if len(value) > limit:
                line, col = marked.mark(path)
                where = "/".join(str(p) for p in path) or "(top level)"
                out.append(Diagnostic(name, line, col, "too-long",
                                      f"{where}: {len(value)} characters; at most {limit} are allowed here"))

    walk(data, (), False)
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def decode_utf8(raw: bytes, name: str) -> tuple[str, Diagnostic | None]:
    """The text of a YAML file (UTF-8, optional BOM), or a diagnostic at the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        start = exc.start
        before = raw[:start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1:].decode("utf-8-sig", errors="replace")) + 1
        return "", Diagnostic(name, line, col, "encoding",
                              f"the file is not UTF-8 text (byte 0x{raw[start]:02x} at offset {start})",
                              help="save the file as UTF-8")


def jsonable(value: Any) -> Any:
    """YAML dates become ISO strings so that JSON Schema sees what the user wrote."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
