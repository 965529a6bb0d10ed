"""Card lint: metadata problems at `file:line:col`, rule findings at the card key that caused them, and the safe
fixes (DESIGN §10).

The core is pure over text: the card reader (policy.scan.cards) gives the fields and, from the YAML parser's
marks, where every top-level key, scalar value and list item of the front matter is in the file as written
(BOM, CRLF and all; a line inside a quoted string or a flow collection is never taken for a key);
`lint_text` turns a card's text into `Problem`s and `Fix`es, `apply_fixes` applies fixes as text edits that
leave every other byte alone (comments, order, quoting, line ends), and `locate_findings` places a rule
engine `Report`'s findings on the card. `run_lint` drives it for files: it reads them, evaluates each with the
engine (offline unless asked otherwise) and hands fixed text to a writer the caller supplies (the CLI writes
files).

Exit codes, per file and for a run (the worst), follow what is printed: 0 no error (warnings pass), 1 a lint
error or a violation at or above the policy's `fail_on` (or an ancestor that cannot be resolved, under
`unresolved="fail"`), 2 a card that cannot be read. With `fail_on="warning"` a warning fails too: 3 for a review
finding about the card (a licensee figure the policy file does not give is shown, and is not one), 1 for any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy.diagnostics import Diagnostic, code_frame
from policy.errors import EXIT_ERROR, EXIT_FAIL, EXIT_PASS, EXIT_REVIEW, InputError
from policy.model.facts import HUB_RELATIONS, LICENSE_KEYS, RELATION_KEYS, WEIGHT_RELATIONS
from policy.records import record
from policy.scan.cards import (
    MISSPELLED_KEYS,
    FrontMatter,
    KeySpan,
    Span,
    as_id_list,
    declared_license,
    decode_card,
    normalise,
    parse_card,
)
from policy.scan.ids import repo_id_problem

if TYPE_CHECKING:
    from policy.engine.rules import Rule
    from policy.lint.naming import ModelName
    from policy.model.catalog import Catalog
    from policy.model.report import Finding, Report

SCHEMA = "policycheck/lint/v1"

# The spellings seen for the Hub's four relations (hub-api.md §1) that are safe to correct.
RELATION_SPELLINGS = {
    "fine-tune": "finetune", "fine_tune": "finetune", "fine tune": "finetune", "finetuned": "finetune",
    "fine-tuned": "finetune", "fine_tuned": "finetune", "finetuning": "finetune", "fine-tuning": "finetune",
    "fine-tune-full": "finetune", "finetune": "finetune",
    "quantization": "quantized", "quantisation": "quantized", "quantised": "quantized", "quantize": "quantized",
    "quantise": "quantized", "quant": "quantized", "quantized": "quantized",
    "adapters": "adapter", "adaptor": "adapter", "adapter": "adapter",
    "merged": "merge", "merging": "merge", "merges": "merge", "merge": "merge",
}
DISTILL_WORDS = frozenset({"distill", "distilled", "distillation", "distilation", "distil", "distillation-from"})

# Top-level metadata keys the Hub reads (hub-docs modelcard.md / datasetcard.md), plus policycheck's
# `teacher_model` convention (DESIGN §3). Keys outside this list are allowed; they are only checked against it
# for spelling and case.
HUB_KEYS = frozenset({
    "license", "license_name", "license_link", "license_details", "base_model", "base_model_relation",
    "teacher_model", "datasets", "new_version", "tags", "library_name", "pipeline_tag", "model-index",
    "model_name", "language", "metrics", "thumbnail", "widget", "inference", "co2_eq_emissions", "gated",
    "extra_gated_prompt", "extra_gated_fields", "extra_gated_heading", "extra_gated_description",
    "extra_gated_button_content", "extra_gated_eu_disallowed", "language_bcp47", "pretty_name",
    "task_categories", "task_ids", "size_categories", "annotations_creators", "language_creators",
    "multilinguality", "source_datasets", "paperswithcode_id", "configs", "dataset_info", "train-eval-index",
    "viewer", "language_details", "arxiv", "private", "duplicated_from", "emoji", "title", "sdk",
})
# Keys whose near-misses (difflib) are reported: the ones that carry licensing and lineage.
LINEAGE_KEYS = ("license", "license_name", "license_link", "base_model", "base_model_relation",
                "teacher_model", "datasets")
ID_KEYS = ("base_model", "teacher_model", "datasets")
MAX_REPORTED = 50  # problems of one kind reported per key (a 10,000-entry list gives 50 and a count)
HUB_LICENSES_URL = "https://huggingface.co/docs/hub/repositories-licenses"

# Rule findings that lint reports more precisely itself (at the key, with a fix): not repeated.
_REDUNDANT = {"card-metadata-irregular": (), "license-metadata-contradictory": ("license-conflict",),
              "license-unknown": ("unknown-license", "license-other-unnamed", "license-not-hub-id",
                                  "license-placeholder")}
_UNAVAILABLE = frozenset({"unavailable"})
# License values that stand for "a license goes here": TRL's generated cards write `licence: license`. The value is
# left to a person (no fix), and the license the lineage implies is suggested.
PLACEHOLDERS = frozenset({"license", "licence", "licenses", "licence_name", "license_name", "license-name",
                          "tbd", "tba", "todo", "fixme", "xxx", "placeholder", "changeme", "your-license",
                          "your_license", "yourlicense", "insert-license", "insert_license", "license-id",
                          "license_id", "spdx-id", "spdx_id"})


def is_placeholder(value: Any) -> bool:
    """`value` is a license placeholder (`license`, `<license>`, `{{ license }}`, `TODO`, ...)."""
    if not isinstance(value, str) or len(value) > 40:
        return False
    return value.strip().strip("<>[]{}() ").strip().lower().replace(" ", "-") in PLACEHOLDERS
PLACEHOLDER_HELP = "write the model's license id (a Hub id, or `license: other` with `license_name` and `license_link`)"
NAME_HELP = ("If that is not the model's name: set the clone's `origin` remote to the model's Hub repo, give the "
             "name in the card's `model-index`, or pass `--id org/name`.")


# --- positions in the front matter ---------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return text.split("\n")  # each line keeps its "\r" under CRLF


def scan_front_matter(text: str) -> FrontMatter | None:
    """Where the front matter and its top-level keys, values and list items are in `text` (a BOM already
    removed), from the card reader; None when there is no front matter or it cannot be read."""
    try:
        return parse_card(text, "").layout
    except InputError:
        return None


# --- problems and fixes --------------------------------------------------------------------------------

@record(slots=True)
class Fix:
    """Replace `old` at `line`:`col` (1-based, in the text without BOM) by `new`."""

    line: int
    col: int
    old: str
    new: str
    round: int = 1  # with --fix: the round that applied it (its line:col are in the text as that round found it)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"line": self.line, "col": self.col, "old": self.old, "new": self.new}
        if self.round > 1:
            d["round"] = self.round
        return d


@record(slots=True)
class Problem:
    """One lint problem or rule finding at a card position, with its safe fix if any."""
    diag: Diagnostic
    source: str = "lint"  # lint | rule
    fix: Fix | None = None
    kind: str | None = None  # a rule finding's kind (violation | review | ...)
    unresolved: bool = False  # a review finding caused by an ancestor that could not be read offline
    ancestor: str | None = None
    policy_fact: bool = False  # a review finding that asks the policy file, not the card, for a fact

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {**self.diag.to_dict(), "source": self.source, "fixable": self.fix is not None}
        if self.source == "rule":
            d.update(kind=self.kind, ancestor=self.ancestor, unresolved=self.unresolved, policy_fact=self.policy_fact)
        return d


def _problem(code: str, span: Span | None, message: str, help: str = "", severity: str = "error",
             file: str = "", fix: Fix | None = None, length: int | None = None) -> Problem:
    line, col = (span.line, span.col) if span else (1, 1)
    n = length if length is not None else (span.width if span and span.text else 1)
    return Problem(Diagnostic(file, line, col, code, message, help, severity, max(n, 1)), fix=fix)


def _suggest(value: str, catalog: Catalog) -> list[str]:
    """Close Hub ids and catalog aliases for an unknown license id (the catalog ids they stand for)."""
    candidates: dict[str, str] = {}
    for e in catalog.entries.values():
        for text in (e.id, *e.aliases):
            if text and len(text) <= 80:
                candidates.setdefault(text.lower(), e.id)
    import difflib  # imported when a suggestion is due: most runs never need one

    out: list[str] = []
    for match in difflib.get_close_matches(value.lower(), list(candidates), n=8, cutoff=0.6):
        lid = candidates[match]
        if lid not in out and lid not in ("other", "unknown"):
            out.append(lid)
    return out[:3]


def _right_key(key: str) -> str | None:
    """The Hub key a misspelled or miscased key stands for, or None when it is fine or unrelated."""
    if key in HUB_KEYS:
        return None
    if key in MISSPELLED_KEYS:
        return MISSPELLED_KEYS[key]
    low = key.lower()
    if low in MISSPELLED_KEYS:
        return MISSPELLED_KEYS[low]
    norm = re.sub(r"[\s-]+", "_", low)
    for known in HUB_KEYS:
        if norm == re.sub(r"[\s-]+", "_", known):
            return known
    import difflib

    close = difflib.get_close_matches(norm, LINEAGE_KEYS, n=1, cutoff=0.85)
    return close[0] if close else None


def lint_text(text: str, filename: str, catalog: Catalog,
              exists: Callable[[str], bool] | None = None, repo_id: str | None = None) -> list[Problem]:
    """The metadata problems of a card's text, each with its fix when one is safe. `exists(relpath)` tells
    whether a file is in the card's repo (None: not checked). Raises `InputError` for unreadable front
    matter."""
    return _lint(text, filename, catalog, exists, repo_id)[0]


def _lint(text: str, filename: str, catalog: Catalog, exists: Callable[[str], bool] | None,
          repo_id: str | None) -> tuple[list[Problem], FrontMatter | None, Mapping[str, Any]]:
    """`lint_text`, where the card's keys are (for `locate_findings`: the card is read once) and its fields."""
    bom = text.startswith("\ufeff")
    body = text[1:] if bom else text
    card = parse_card(body, filename)  # raises InputError (YAML syntax) with a positioned diagnostic
    fm = card.layout
    out: list[Problem] = []
    lines = _lines(body)

    def add(p: Problem) -> None:
        out.append(replace(p, diag=replace(p.diag, file=filename)))

    if bom:
        add(_problem("bom", Span(1, 1, ""), "the card starts with a byte-order mark",
                     "save the card as UTF-8 without BOM", "warning"))
    if fm is None:
        if any(n.code == "no-front-matter" for n in card.notes):
            add(_problem("no-front-matter", Span(1, 1, ""), "the card has no YAML front matter, so it declares "
                         "no license and no lineage", "start the file with a '---' block holding `license:` "
                         "(and `base_model:` for a derivative)", "warning"))
        return out, fm, card.fields
    if fm.open_line > 1:
        add(_problem("front-matter-not-at-top", Span(1, 1, ""),
                     f"{fm.open_line - 1} blank line(s) before the front matter's opening '---' (line "
                     f"{fm.open_line}); the Hub accepts them, most YAML front-matter tools do not",
                     "delete the blank lines so that '---' is the first line", "warning"))
    crlf = next((i for i, s in enumerate(lines[:fm.close_line]) if s.endswith("\r")), None)
    if crlf is not None:
        add(_problem("crlf", Span(crlf + 1, len(lines[crlf]), ""), "the card uses CRLF (Windows) line ends",
                     "save it with LF line ends (git: `* text=auto eol=lf` in .gitattributes)", "warning"))
    read = normalise(body).split("\n", fm.close_line) if "\r" in body else lines  # lines as the reader counts them
    tab_lines = [i + 1 for i in range(fm.open_line, fm.close_line - 1) if "\t" in read[i]]
    if tab_lines:
        first = read[tab_lines[0] - 1]
        more = f" (and {len(tab_lines) - 1} more line(s), up to line {tab_lines[-1]})" if len(tab_lines) > 1 else ""
        add(_problem("tabs", Span(tab_lines[0], first.index("\t") + 1, "\t"),
                     f"a tab character in the YAML front matter{more}; YAML forbids tabs for indentation and "
                     "strict parsers (huggingface_hub's) reject the card", "indent with spaces", "warning"))

    first_at: dict[str, Span] = {}
    for entry in fm.keys:
        earlier = first_at.setdefault(entry.key.text, entry.key)
        if earlier is not entry.key:
            add(_problem("duplicate-key", entry.key, f"key '{entry.key.text}' appears again (first at line "
                         f"{earlier.line}); YAML readers disagree on which one counts",
                         "keep one of them", "warning"))
    present = {k.key.text for k in fm.keys}
    renamed: set[str] = set()
    source_of: dict[str, KeySpan] = {}
    for entry in fm.keys:
        if entry.key.text in HUB_KEYS:
            source_of.setdefault(entry.key.text, entry)
    for entry in fm.keys:
        key = entry.key.text
        right = _right_key(key)
        if right is None:
            continue
        if right in present:
            other = fm.get(right)
            where = f" (line {other.key.line})" if other else ""
            add(_problem("misspelled-key", entry.key, f"key '{key}' is not read by the Hub; did you mean "
                         f"'{right}'? '{right}' is also present{where}",
                         f"merge its value into '{right}' and delete '{key}'", "warning"))
            continue
        fix = None
        placeholder = right in LICENSE_KEYS and is_placeholder(card.fields.get(key))
        if placeholder:  # renaming would declare the placeholder: the value is a person's to write
            add(_problem("misspelled-key", entry.key, f"key '{key}' is not read by the Hub; did you mean "
                         f"'{right}'? Its value is a placeholder, not a license", f"write `{right}: <the "
                         "model's license id>` in its place (see the license-placeholder finding)", "error"))
            source_of.setdefault(right, entry)
            continue
        if right not in renamed and not entry.key.quote:
            fix = Fix(entry.key.line, entry.key.col, key, right)
            renamed.add(right)
        source_of.setdefault(right, entry)
        add(_problem("misspelled-key", entry.key, f"key '{key}' is not read by the Hub; did you mean '{right}'?",
                     f"rename it to '{right}'", "error", fix=fix))

    fields = dict(card.fields)  # read a misspelled or miscased key as the key it stands for
    for right, entry in source_of.items():
        if right not in fields and entry.key.text in fields:
            fields[right] = fields[entry.key.text]
    _lint_license(fields, source_of, catalog, exists, repo_id, add)
    _lint_ids(fields, source_of, add)
    _lint_relation(fields, source_of, add)
    for note in card.notes:
        if note.code in ("non-string-value", "too-many-parents"):
            span = Span(note.line or 1, 1, "")
            add(_problem("not-a-string" if note.code == "non-string-value" else note.code, span, note.message,
                         "write a single text value" if note.code == "non-string-value" else "",
                         "error" if note.code == "non-string-value" else "warning"))
    out.sort(key=lambda p: (p.diag.line, p.diag.col, p.diag.code))
    return out, fm, card.fields


def _span_of(entry: KeySpan | None, value: str) -> Span | None:
    """Where `value` is written under `entry` (its first occurrence), else the key."""
    return entry.where(value) if entry is not None else None


def _lint_license(fields: Mapping[str, Any], source_of: Mapping[str, KeySpan], catalog: Catalog,
                  exists: Callable[[str], bool] | None, repo_id: str | None,
                  add: Callable[[Problem], None]) -> None:
    from policy.model.facts import DeclaredLicense

    entry = source_of.get("license")
    raw = fields.get("license")
    if isinstance(raw, list) and entry is not None:
        one = len(raw) == 1 and isinstance(raw[0], str)
        add(_problem("license-list", entry.key, "'license' is a list; the Hub reads one license id for a "
                     "model", f"write `license: {raw[0]}`" if one else "write one id, or `license: other` with "
                     "`license_name`, for a combination", "warning"))
    declared = declared_license(fields)
    for value in declared.values[:MAX_REPORTED]:
        span = _span_of(entry, value)
        low = value.lower()
        if low in ("other", "unknown"):
            continue
        if is_placeholder(value):
            add(_problem("license-placeholder", span, f"'{value}' is a placeholder, not a license id (a card "
                         "template's, e.g. the one TRL generates)", PLACEHOLDER_HELP))
            continue
        lid = catalog.lookup(value)
        e = catalog.get(lid) if lid else None
        if e is not None and e.hub_id:
            if value == lid:
                continue
            if low == lid and span is not None and span.text.strip() == value and span is not entry.key:
                add(_problem("license-case", span, f"license id '{value}' is written '{lid}' on the Hub",
                             f"write `license: {lid}`", fix=Fix(span.line, span.col, span.text, lid)))
            else:
                add(_problem("license-not-hub-id", span, f"'{value}' is not a Hub license id; it names {e.name}",
                             f"write `license: {lid}`"))
            continue
        if e is not None:
            add(_problem("license-not-hub-id", span, f"'{value}' is not a Hub license id; it names {e.name}, "
                         "which the Hub has no id for", f"write `license: other` with `license_name: {lid}` and "
                         "`license_link` to its text"))
            continue
        if catalog.resolve(DeclaredLicense(values=(value,))).known:
            continue  # an expression of known ids
        close = _suggest(value, catalog)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        add(_problem("unknown-license", span, f"unknown license id '{value}'",
                     f"{hint}use a Hub id ({HUB_LICENSES_URL}), or `license: other` with `license_name` and "
                     "`license_link`"))
    if declared.values and all(v.lower() == "other" for v in declared.values) and not declared.name \
            and not declared.link:
        add(_problem("license-other-unnamed", _span_of(entry, declared.values[0]), "`license: other` without "
                     "`license_name` or `license_link`: nobody can tell which license this is",
                     "add `license_name: <short-id>` and `license_link: LICENSE` (a file in the repo)"))
    link_entry = source_of.get("license_link")
    link = declared.link
    if link and exists is not None:
        rel = _repo_path(link, repo_id)
        if rel is not None and rel and not exists(rel):
            add(_problem("license-link-missing", _span_of(link_entry, link), f"license_link '{link}' points to "
                         f"'{rel}', which is not in the repo", f"add the license text as '{rel}' next to the "
                         "card, or link to where the text is"))
    if declared.values:
        resolved = catalog.resolve(declared)
        if resolved.conflict:
            name_entry = source_of.get("license_name") if declared.name else link_entry
            add(_problem("license-conflict", _span_of(name_entry, declared.name or link or "") or
                         (entry.key if entry else None), f"contradictory license keys: {resolved.conflict}",
                         "make `license`, `license_name` and `license_link` name the same license (for a "
                         "license the Hub has no id for: `license: other`)"))


def _repo_path(link: str, repo_id: str | None) -> str | None:
    """The path inside the card's repo a license_link points to, or None for a link elsewhere."""
    link = link.strip()
    if re.match(r"^[a-z][a-z0-9+.-]*:", link, re.IGNORECASE) or link.startswith("//"):
        if repo_id and "/" in repo_id:
            m = re.match(rf"^https?://(?:www\.)?huggingface\.co/{re.escape(repo_id)}/(?:blob|resolve|raw)/"
                         r"[^/]+/(.+?)(?:[?#].*)?$", link, re.IGNORECASE)
            if m:
                return m.group(1)
        return None
    path = link.split("#", 1)[0].split("?", 1)[0]
    while path.startswith("./"):
        path = path[2:]
    if path.startswith("/") or ".." in path.split("/"):
        return None
    return path


def _lint_ids(fields: Mapping[str, Any], source_of: Mapping[str, KeySpan], add: Callable[[Problem], None]) -> None:
    for key in ID_KEYS:
        entry = source_of.get(key)
        if entry is None:
            continue
        value = fields.get(key)
        items = value if isinstance(value, list | tuple) else [value]
        if value is None or value == "" or value == [] or all(i is None or i == "" for i in items):
            add(_problem("empty-list", entry.key, f"'{entry.key.text}' is empty", f"name the {key} ids, or "
                         f"delete the '{entry.key.text}' key", "warning"))
            continue
        if any(i is None or i == "" for i in items):
            add(_problem("empty-list", entry.key, f"'{entry.key.text}' has an empty entry",
                         "delete the empty '-' line", "warning"))
        bad = [(item, problem) for item in as_id_list(value, limit=None)
               if (problem := repo_id_problem(item)) is not None]
        for item, problem in bad[:MAX_REPORTED]:
            add(_problem("invalid-repo-id", _span_of(entry, item), f"{key}: {problem}",
                         "write the Hub id as org/name (e.g. meta-llama/Llama-3.1-8B)"))
        if len(bad) > MAX_REPORTED:
            add(_problem("invalid-repo-id", entry.key, f"{key}: {len(bad) - MAX_REPORTED} more entries are not "
                         "valid Hub repo ids", "write each Hub id as org/name"))


def _lint_relation(fields: Mapping[str, Any], source_of: Mapping[str, KeySpan],
                   add: Callable[[Problem], None]) -> None:
    entry = source_of.get("base_model_relation")
    value = fields.get("base_model_relation")
    if entry is None or not isinstance(value, str | int | float):
        return
    text = str(value).strip()
    if text in HUB_RELATIONS:
        return
    span = entry.value or entry.key
    low = text.lower()
    right = RELATION_SPELLINGS.get(low) or RELATION_SPELLINGS.get(re.sub(r"[\s_]+", "-", low))
    if right:
        fix = Fix(span.line, span.col, span.text, right) if entry.value and entry.value.text == text else None
        add(_problem("relation-invalid", span, f"base_model_relation '{text}' is not one of the Hub's four "
                     f"({', '.join(HUB_RELATIONS)})", f"write `base_model_relation: {right}`", fix=fix))
    elif low in DISTILL_WORDS or "distil" in low:
        add(_problem("relation-invalid", span, f"base_model_relation '{text}' is not one of the Hub's four "
                     f"({', '.join(HUB_RELATIONS)}); distillation is not a relation to a base model",
                     "list the teacher(s) whose outputs trained the model under `teacher_model:` and keep "
                     "`base_model:` (relation finetune) for the weights it started from"))
    else:
        add(_problem("relation-invalid", span, f"base_model_relation '{text}' is not one of the Hub's four "
                     f"({', '.join(HUB_RELATIONS)})", "use one of them, or delete the key (the Hub infers it)"))


def apply_fixes(text: str, fixes: Sequence[Fix]) -> str:
    """`text` with each fix applied; every other byte kept. A fix whose `old` text is not where it says is
    skipped."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = _lines(text[len(bom):])
    for f in sorted(set(fixes), key=lambda f: (f.line, f.col), reverse=True):
        if not 1 <= f.line <= len(lines):
            continue
        s = lines[f.line - 1]
        start = f.col - 1
        if s[start:start + len(f.old)] != f.old:
            continue
        lines[f.line - 1] = s[:start] + f.new + s[start + len(f.old):]
    return bom + "\n".join(lines)


# --- rule findings on the card -------------------------------------------------------------------------

def finding_key(f: Finding, rule: Rule | None) -> tuple[str, ...]:
    """The card keys, best first, a finding is about: the license for findings the model's own license must
    answer (the rule requires something of `model.license`), else the key naming the ancestor by the first
    relation from the subject (as SARIF locates them), then the license."""
    if rule is not None and rule.require is not None and any(
            p == "model.license" or p.startswith("model.license.") for p in rule.require.paths()):
        return LICENSE_KEYS
    if f.ancestor is not None and f.via:
        first = f.via[0]
        if first in WEIGHT_RELATIONS:
            return ("base_model", *LICENSE_KEYS)
        if first in RELATION_KEYS:
            return (*RELATION_KEYS[first], *LICENSE_KEYS)
    return LICENSE_KEYS


def locate_findings(report: Report, text: str, filename: str, rules: Mapping[str, Rule],
                    lint_codes: frozenset[str] = frozenset(), layout: FrontMatter | None = None,
                    name: ModelName | None = None) -> list[Problem]:
    """The report's open findings as problems at the card key that caused them. `layout`: where the card's keys
    are, when the card was already read (else it is read from `text`). `name`: the model's name and where it came
    from, said in the findings about the name."""
    body = text[1:] if text.startswith("\ufeff") else text
    fm = layout if layout is not None else scan_front_matter(body)
    entries: dict[str, KeySpan] = {}
    for entry in fm.keys if fm else ():
        if entry.key.text in HUB_KEYS:
            entries.setdefault(entry.key.text, entry)
    for entry in fm.keys if fm else ():  # a misspelled key stands in where the right one is absent
        right = _right_key(entry.key.text)
        if right and right not in entries:
            entries[right] = entry
    status = {e.id: e.status for e in report.evaluated}
    card_lines = body.splitlines()
    out: list[Problem] = []
    for f in report.open_findings:
        if f.rule in _REDUNDANT and (not _REDUNDANT[f.rule] or lint_codes & set(_REDUNDANT[f.rule])):
            continue
        rule = rules.get(f.rule)
        span: Span | None = None
        for key in finding_key(f, rule):
            entry = entries.get(key)
            if entry is None:
                continue
            span = entry.key
            if f.ancestor and key in ID_KEYS:
                span = _span_of(entry, f.ancestor)
            elif key == "license":
                values = entry.spans()
                span = values[0] if values else entry.key
            break
        # An ancestor that could not be read (offline, not cached, no local card): not a fact about the card.
        # A malformed id is (lint reports it as invalid-repo-id).
        unresolved = f.kind == "review" and f.ancestor is not None and (
            status.get(f.ancestor) in _UNAVAILABLE
            or (f.rule == "ancestor-unresolved" and status.get(f.ancestor) not in ("invalid",)))
        # A figure of the licensee's the policy file does not give (its monthly active users): the card cannot say
        # it, so it is shown without holding up the card; the full check stays review until the policy says it.
        policy_fact = f.kind == "review" and rule is not None and rule.for_each == "licensee-tests"
        severity = "note" if f.kind in ("obligation", "note") else (
            f.severity if f.kind == "violation" else "warning")
        message, remediation = f.message or f.title, f.remediation
        if name is not None and rule is not None and rule.require is not None and any(
                p == "model.name" or p.startswith("model.name.") for p in rule.require.paths()):
            message = f"{message} {name.said()}"
            remediation = (f"{remediation} " if remediation else "") + NAME_HELP
        line, col, width = (span.line, span.col, span.width) if span else (1, 1, 1)
        if f.line and 0 < f.line <= len(card_lines):  # evidence: the line of the card's text it quotes
            row = card_lines[f.line - 1]
            line, col, width = f.line, len(row) - len(row.lstrip()) + 1, max(len(row.strip()), 1)
        diag = Diagnostic(filename, line, col, f.rule, message, remediation, severity, width)
        out.append(Problem(diag, "rule", None, f.kind, unresolved, f.ancestor, policy_fact))
    return out


# --- files ---------------------------------------------------------------------------------------------

@dataclass
class LintOptions:
    """What `lint` resolves against: local cards, policy, rule data, network."""
    cards: Sequence[Path] = ()
    policy_file: Path | None = None
    rules: Sequence[Path] = ()
    online: bool = False
    unresolved: str = "warn"  # warn | fail
    model_id: str | None = None  # --id: the model's name when neither the Hub remote nor model-index gives it
    fail_on: str = "error"  # error | warning: the least severe problem that fails the run


@dataclass
class FileLint:
    """The lint result of one card file: its problems and the fixes applied."""
    file: str
    text: str | None = None
    problems: list[Problem] = field(default_factory=list)
    fixed: list[Fix] = field(default_factory=list)  # fixes applied (with --fix)
    verdict: str | None = None  # the engine's verdict
    model: ModelName | None = None  # the name the card was checked under, and where it came from
    error: str | None = None  # the card could not be read
    error_diagnostics: tuple[Diagnostic, ...] = ()
    exit_code: int = EXIT_PASS

    @property
    def fixes(self) -> list[Fix]:
        return [p.fix for p in self.problems if p.fix is not None]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"file": self.file, "exit_code": self.exit_code, "verdict": self.verdict,
                             "problems": [p.to_dict() for p in self.problems],
                             "fixes": [{**f.to_dict(), "applied": True} for f in self.fixed]
                             + [{**f.to_dict(), "applied": False} for f in self.fixes]}
        if self.model is not None:
            d["model"] = {"id": self.model.id, "name_from": self.model.origin}
        if self.error is not None:
            d["error"] = {"message": self.error, "diagnostics": [x.to_dict() for x in self.error_diagnostics]}
        return d


def exit_code_of(problems: Sequence[Problem], verdict: str | None, unresolved: str, fail_on: str = "error") -> int:
    """The exit code follows what is printed: an error fails (1); a warning passes (0) unless `fail_on` is
    "warning", when a review finding exits 3 and any other warning 1; an unresolved ancestor (a warning) fails
    under `unresolved="fail"`."""
    if verdict == "fail" or any(p.source == "lint" and p.diag.severity == "error" for p in problems):
        return EXIT_FAIL
    rule = [p for p in problems if p.source == "rule"]
    if unresolved == "fail" and any(p.unresolved for p in rule):
        return EXIT_FAIL
    if fail_on != "warning":
        return EXIT_PASS
    if any(p.diag.severity == "warning" and p.source == "lint" for p in problems):
        return EXIT_FAIL
    if any(p.kind in ("review", "evidence") and not p.unresolved and not p.policy_fact for p in rule):
        return EXIT_REVIEW
    return EXIT_PASS


FIX_ROUNDS = 4  # rounds of --fix on one card (each fix only renames or recases: two rounds are the most seen)


def run_lint(paths: Sequence[str], options: LintOptions,
             write: Callable[[str, bytes], None] | None = None) -> Iterator[FileLint]:
    """Lint each card file and evaluate it with the engine; with `write`, apply the safe fixes through it first
    (then what is reported is what is left)."""
    from policy.pipeline.session import CheckOptions, Session

    class Named(Session):
        """The session, checking each card as the model `lint` names (not as its folder)."""
        names: dict[str, str]

        def subject(self, target: str) -> Any:
            facts = super().subject(target)
            name = self.names.get(target)
            return replace(facts, id=name) if name and name != facts.id else facts

    checker = Named(CheckOptions(policy_file=options.policy_file, rules=tuple(options.rules),
                                   cards=tuple(options.cards), offline=not options.online))
    checker.names = {}
    rules = {r.id: r for p in checker.bundle.packs for r in p.rules}
    try:
        for path in paths:
            yield _lint_file(path, checker, rules, options, write)
    finally:
        checker.close()


def _lint_file(path: str, checker: Any, rules: Mapping[str, Rule], options: LintOptions,
               write: Callable[[str, bytes], None] | None) -> FileLint:
    from policy.model.report import TargetError
    from policy.scan.local import CARD_FILE_NAMES, card_id_from_path

    result = FileLint(path)
    p = Path(path)
    if p.is_dir():  # a model folder: its card
        p = next((p / n for n in ("README.md", "readme.md", "Readme.md") if (p / n).is_file()), p / "README.md")
        path = result.file = str(p)
    try:
        if not p.is_file():
            raise InputError(f"{path}: no such file" if not p.exists() else f"{path}: not a file")
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})") from None
        text = decode_card(raw, path)
        result.text = text  # for the code frame of a syntax error
        folder = p.parent
        # Only a repo's own card (README.md, MODEL_CARD.md) sits beside the repo's files; a card in a folder of
        # cards (org__name.md) does not, so its links to repo files cannot be checked.
        exists = (lambda rel: (folder / rel).exists()) if p.name.lower() in CARD_FILE_NAMES else None
        repo_id = card_id_from_path(p)
        problems, layout, fields = _lint(text, path, checker.bundle.catalog, exists, repo_id)
        fixes = [x.fix for x in problems if x.fix is not None]
        if write is not None and fixes:
            # One fix can make another possible (a key renamed to `license:`, then its value's case): fix in
            # rounds until none is left, so that --fix is idempotent; each round's fixes say which it was.
            original, applied = text, []
            for n in range(1, FIX_ROUNDS + 1):
                fixed = apply_fixes(text, fixes)
                if fixed == text:
                    break
                applied += [replace(f, round=n) for f in fixes]
                text = fixed
                problems, layout, fields = _lint(text, path, checker.bundle.catalog, exists, repo_id)
                fixes = [x.fix for x in problems if x.fix is not None]
                if not fixes:
                    break
            if text != original:
                write(path, text.encode("utf-8"))
                result.fixed = applied
    except InputError as exc:
        result.error, result.error_diagnostics, result.exit_code = exc.message, exc.diagnostics, EXIT_ERROR
        return result
    result.text = text
    from policy.lint.naming import name_model

    result.model = name_model(p, fields, options.model_id, repo_id)
    checker.names[path] = result.model.id
    report = checker.check(path)
    if isinstance(report, TargetError):
        from policy.errors import EXIT_INTERNAL

        result.error = report.message
        result.exit_code = EXIT_INTERNAL if report.internal else EXIT_ERROR
        return result
    codes = frozenset(x.diag.code for x in problems)
    if "license-placeholder" in codes:
        problems = _suggest_lineage_license(problems, report)
    located = locate_findings(report, text, path, rules, codes, layout, result.model)
    result.problems = sorted([*problems, *located], key=lambda x: (x.diag.line, x.diag.col, x.source))
    result.verdict = report.verdict
    result.exit_code = exit_code_of(result.problems, report.verdict, options.unresolved, options.fail_on)
    return result


def lineage_licenses(report: Report) -> list[tuple[str, str]]:
    """(parent, license) of the subject's resolved weight parents (what it was trained from, adapted or merged)."""
    out: list[tuple[str, str]] = []
    for e in report.lineage:
        if e.child == report.subject.id and e.relation in WEIGHT_RELATIONS and e.resolved and e.parent_license:
            out.append((e.parent, e.parent_license))
    return out


def _suggest_lineage_license(problems: list[Problem], report: Report) -> list[Problem]:
    """The placeholder problems' help naming the license the lineage implies (the value is left to a person)."""
    parents = lineage_licenses(report)
    licenses = list(dict.fromkeys(lic for _, lic in parents))
    if not licenses:
        return problems
    said = "; ".join(f"{parent} is licensed {lic}" for parent, lic in parents[:3])
    if len(licenses) == 1:
        hint = (f"the lineage implies `license: {licenses[0]}` ({said}): write it if the model is released under "
                "its base's license")
    else:
        hint = f"the lineage names {' and '.join(licenses)} ({said}): write the license the model is released under"
    out = []
    for p in problems:
        if p.diag.code == "license-placeholder" or (
                p.diag.code == "misspelled-key" and "placeholder" in p.diag.message):
            p = replace(p, diag=replace(p.diag, help=hint))
        out.append(p)
    return out


# --- output --------------------------------------------------------------------------------------------

def _wrap(text: str, width: int, indent: str, first: str = "") -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False) or [first.rstrip()]


def _headed(head: str, message: str, width: int) -> list[str]:
    """`head message` wrapped to `width`; the head (`file:line:col: severity[code]:`) is never broken, and
    stands alone on its line when the path makes it too long."""
    if len(head) + 1 + len(message.split(" ", 1)[0]) > width:
        return [head, *_wrap(message, width, "    ", "    ")]
    mark = head.replace(" ", "\u00a0")
    return [line.replace("\u00a0", " ") for line in _wrap(f"{mark} {message}", width, "    ")]


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[:width - 1] + "…"


def format_problem(p: Problem, text: str | None, width: int = 80) -> str:
    """`file:line:col: severity[code]: message`, the code frame and `help:`, in `width` columns."""
    d = p.diag
    # The `file:line:col: severity[code]:` head is never broken (editors and CI parse it); the message wraps.
    out = _headed(f"{d.location}: {d.severity}[{d.code}]:", d.message, width)
    if text is not None and d.line:
        body = text[1:] if text.startswith("\ufeff") else text
        frame = code_frame(body, d.line, d.col, d.span)
        out.extend(_clip(line, width) for line in frame.split("\n") if frame)
    if d.help:
        out.extend(_wrap(d.help, width, "        ", "  help: "))
    if p.fix is not None:
        out.append(_clip(f"  fix: {p.fix.old} -> {p.fix.new} (run with --fix)", width))
    return "\n".join(out)


def iter_text(results: Iterator[FileLint], width: int = 80, notes: bool = True) -> Iterator[str]:
    """The text report, card by card. Without `notes`, rule findings of kind note (risk notes that ask nothing
    of the card, e.g. a license without a patent grant) are counted in the summary but not shown."""
    errors = warnings = files = fixable = hidden = 0
    for r in results:
        files += 1
        chunks: list[str] = []
        if r.fixed:
            chunks.append("\n".join(f"{r.file}:{f.line}: fixed: {f.old} -> {f.new}"
                                    for f in sorted(r.fixed, key=lambda f: (f.line, f.col))))
        if r.error is not None:
            errors += 1
            if r.error_diagnostics:
                chunks.extend(format_problem(Problem(d), r.text if d.file == r.file else None, width)
                              for d in r.error_diagnostics)
            else:
                message = r.error[len(r.file) + 2:] if r.error.startswith(f"{r.file}: ") else r.error
                chunks.append("\n".join(_headed(f"{r.file}: error[unreadable]:", message, width)))
        for p in r.problems:
            if not notes and p.source == "rule" and p.kind == "note":
                hidden += 1
                continue
            errors += p.diag.severity == "error"
            warnings += p.diag.severity == "warning"
            fixable += p.fix is not None
            chunks.append(format_problem(p, r.text, width))
        if chunks:
            yield "\n\n".join(chunks) + "\n\n"
    tail = f"; {fixable} fixable with --fix" if fixable else ""
    if hidden:
        tail += f"; {hidden} note(s) not shown (--notes)"
    yield f"{errors} error(s), {warnings} warning(s) in {files} card(s){tail}\n"


def json_document(results: Sequence[FileLint], exit_code: int) -> dict[str, Any]:
    from policy import __version__

    return {"schema": SCHEMA, "tool": {"name": "policycheck", "version": __version__}, "exit_code": exit_code,
            "files": [r.to_dict() for r in results]}
