"""Load the rule data (catalog, packs, curations) and the policy file, validated, with all errors at once.

Validation (YAML positions, JSON Schema, semantic checks, template checks) runs when the data changes; the
validated data is then cached by content digest, so a check of one card does not re-validate ~100 files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policy import __version__
from policy.diagnostics import Diagnostic
from policy.errors import ConfigError
from policy.licenses import Catalog, LicenseEntry
from policy.overlays import ModelOverlay, merge_overlays, overlay_from_dict
from policy.policyfile import Policy, policy_from_dict
from policy.resources import rules_dir
from policy.rules import Pack, PackSource, compile_pack, digest, lint_tests
from policy.yamlload import MarkedYaml, load_marked, syntax_diagnostic

KINDS = {"policycheck/license/v1": "license", "policycheck/pack/v1": "pack",
         "policycheck/curations/v1": "curations"}
SCHEMAS = {"license": "license", "pack": "pack", "curations": "curations"}


@dataclass
class Bundle:
    catalog: Catalog
    packs: tuple[Pack, ...]
    curations: Mapping[str, ModelOverlay]
    warnings: list[Diagnostic] = field(default_factory=list)
    files: tuple[str, ...] = ()
    catalog_digest: str = ""  # sha256 over the catalog files' digests: which license facts judged a report


@dataclass
class _Doc:
    path: str
    kind: str
    data: Any
    sha256: str


def rule_files(extra: Sequence[Path] = ()) -> list[Path]:
    files: list[Path] = []
    for root in (rules_dir(), *extra):
        if root.is_file():
            files.append(root)
            continue
        if not root.is_dir():
            raise ConfigError(f"{root}: --rules must name a folder or a YAML file",
                              [Diagnostic(str(root), 0, 0, "rules-path", "no such folder or file")])
        files.extend(sorted(p for p in root.rglob("*.y*ml") if "schema" not in p.parts))
    return files


def _cache_dir() -> Path:
    base = os.environ.get("POLICYCHECK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "policycheck")
    return Path(base)


def _cache_key(files: Iterable[Path]) -> str:
    h = hashlib.sha256(__version__.encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def load_bundle(extra: Sequence[Path] = (), *, use_cache: bool = True, lint: bool = False) -> Bundle:
    files = rule_files(extra)
    key = _cache_key(files)
    cache_file = _cache_dir() / f"rules-{key}.pickle"
    docs: list[_Doc] | None = None
    if use_cache and not lint:
        try:
            with cache_file.open("rb") as fh:
                docs = pickle.load(fh)  # our own cache file, written below
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            docs = None
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
    bundle, _, _ = _build(docs, {}, check=False, lint=False)
    return bundle


def _write_cache(cache_file: Path, docs: list[_Doc]) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=cache_file.parent, delete=False) as tmp:
            pickle.dump(docs, tmp, protocol=pickle.HIGHEST_PROTOCOL)
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
        text = raw.decode("utf-8-sig", errors="replace")
        try:
            marked = load_marked(text, name)
        except yaml.YAMLError as exc:
            errors.append(syntax_diagnostic(exc, name))
            continue
        errors.extend(marked.diagnostics)
        data = _jsonable(marked.data)
        schema_id = data.get("schema") if isinstance(data, dict) else None
        kind = KINDS.get(str(schema_id))
        if kind is None:
            line, col = marked.mark(("schema",))
            errors.append(Diagnostic(name, line, col, "unknown-format",
                                     f"unknown or missing `schema:` {schema_id!r}",
                                     help="one of: " + ", ".join(KINDS)))
            continue
        schema_errors = validate(MarkedYaml(data, marked.marks, marked.key_marks), SCHEMAS[kind], name)
        errors.extend(schema_errors)
        if schema_errors:
            continue
        if kind == "license" and path.stem != data["id"]:
            line, col = marked.mark(("id",))
            errors.append(Diagnostic(name, line, col, "license-file-name",
                                     f"catalog file name '{path.name}' does not match id '{data['id']}'",
                                     help=f"rename the file to {data['id']}.yaml"))
        docs.append(_Doc(name, kind, data, digest(raw)))
        marked_by_path[name] = marked
    return docs, marked_by_path, errors, []


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
            quote = clause["citation"].get("quote", "")
            if len(quote.split()) > 25:
                line, col = marked[doc.path].mark(("clauses", ci, "citation", "quote"))
                errors.append(Diagnostic(doc.path, line, col, "quote-too-long",
                                         f"quotes are limited to 25 words; this one has {len(quote.split())}"))
    return errors


def load_policy(path: Path, catalog: Catalog, packs: Sequence[Pack]) -> Policy:
    from policy.schema import validate

    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read the policy file ({exc.strerror})",
                          [Diagnostic(name, 0, 0, "policy-file", f"cannot read: {exc.strerror}")]) from None
    try:
        marked = load_marked(text, name)
    except yaml.YAMLError as exc:
        diag = syntax_diagnostic(exc, name)
        raise ConfigError(f"{diag.location}: {diag.message}", [diag]) from None
    data = _jsonable(marked.data if marked.data is not None else {})
    errors = list(marked.diagnostics)
    if not isinstance(data, dict):
        errors.append(Diagnostic(name, 1, 1, "policy-file", "the policy file must be a mapping"))
    else:
        errors += validate(MarkedYaml(data, marked.marks, marked.key_marks), "policy", name)
    if errors:
        raise ConfigError(f"{name}: invalid policy file", errors)
    rule_ids = {r.id for p in packs for r in p.rules}
    for section in ("allow", "deny"):
        for i, lid in enumerate((data.get("licenses") or {}).get(section, ())):
            if catalog.lookup(lid) is None:
                line, col = marked.mark(("licenses", section, i))
                errors.append(Diagnostic(name, line, col, "unknown-license", f"unknown license id '{lid}'",
                                         help="list the catalog with `policycheck licenses`"))
    for i, w in enumerate(data.get("waivers", ())):
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
    for i, m in enumerate(data.get("models", ())):
        overlay = overlay_from_dict(m, "policy", name)
        if overlay.license is not None and not catalog.resolve(overlay.license).known:
            line, col = marked.mark(("models", i, "license"))
            errors.append(Diagnostic(name, line, col, "unknown-license",
                                     f"models[{m['id']}]: license {overlay.license.display()} is not in the catalog"))
    if errors:
        raise ConfigError(f"{name}: invalid policy file", errors)
    waiver_lines = {i: marked.mark(("waivers", i))[0] for i in range(len(data.get("waivers", ())))}
    return policy_from_dict(data, name, catalog.lookup, waiver_lines)


def _jsonable(value: Any) -> Any:
    """YAML dates become ISO strings so that JSON Schema sees what the user wrote."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
