"""Model and dataset cards: YAML front matter read the way the Hub reads it, tolerant of real-world cards.

The Hub (and huggingface_hub's `REGEX_YAML_BLOCK`) accepts leading whitespace before the opening `---` and
CRLF line ends; real cards also carry a BOM, tab-indented YAML and misspelled keys. What can be read is read
and noted; what cannot is an `InputError` naming the file and line. This module stays light: the local path
never imports the HTTP stack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from policy.diagnostics import Diagnostic
from policy.errors import InputError
from policy.facts import CardNote, DeclaredLicense
from policy.yamlload import load_fast, syntax_diagnostic

# Same shape as huggingface_hub.repocard.REGEX_YAML_BLOCK, applied after newline normalisation.
_FRONT_MATTER = re.compile(r"\A(\s*---[ \t]*\n)(.*?)(\n---[ \t]*(?:\n|\Z))", re.DOTALL)
_EMPTY_FRONT_MATTER = re.compile(r"\A(\s*---[ \t]*\n)(---[ \t]*(?:\n|\Z))")
_LEADING_TABS = re.compile(r"^([ \t]*\t[ \t]*)", re.MULTILINE)

# Misspellings seen in the wild -> the key the Hub reads.
MISSPELLED_KEYS = {
    "licence": "license", "licenses": "license", "lisence": "license", "licens": "license",
    "licence_name": "license_name", "license-name": "license_name", "licensename": "license_name",
    "licence_link": "license_link", "license-link": "license_link", "license_url": "license_link",
    "base-model": "base_model", "basemodel": "base_model", "base_models": "base_model",
    "base_model_relationship": "base_model_relation", "base-model-relation": "base_model_relation",
    "teacher-model": "teacher_model", "teacher_models": "teacher_model", "teacher": "teacher_model",
    "dataset": "datasets",
}


@dataclass(frozen=True, slots=True)
class Card:
    fields: Mapping[str, Any]
    body: str
    notes: tuple[CardNote, ...] = ()
    front_matter_line: int = 0  # line of the opening `---`, 0 when there is none


def parse_card(text: str, filename: str) -> Card:
    """Parse a card. Raises `InputError` (with a positioned diagnostic) when the front matter is unreadable."""
    notes: list[CardNote] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    m = _FRONT_MATTER.match(text) or _EMPTY_FRONT_MATTER.match(text)
    if m is None:
        notes.append(CardNote("no-front-matter", "the card has no YAML front matter (no license, no lineage)"))
        return Card({}, text, tuple(notes))
    opening = m.group(1)
    start_line = opening.count("\n")  # line number of the opening '---' (1-based)
    if opening[0] in " \t\n":
        notes.append(CardNote("leading-blank-lines", "blank lines before the opening '---' (the Hub accepts them)",
                              1))
    if m.re is _EMPTY_FRONT_MATTER:
        return Card({}, text[m.end():], tuple(notes), start_line)
    yaml_text = m.group(2)
    body = text[m.end():]
    data = _load_front_matter(yaml_text, filename, start_line, notes)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(
            f"{filename}: the front matter is a {type(data).__name__}, not a mapping of keys",
            [Diagnostic(filename, start_line + 1, 1, "card-front-matter",
                        f"front matter must be a mapping of keys, found a {type(data).__name__}")])
    fields = _fix_keys(data, notes)
    return Card(fields, body, tuple(notes), start_line)


def _load_front_matter(yaml_text: str, filename: str, start_line: int, notes: list[CardNote]) -> Any:
    # Tab indentation is invalid YAML; libyaml tolerates some of it and PyYAML's pure loader (used by
    # huggingface_hub) none. Read such cards the same way whichever loader is installed, and say so.
    tab = _LEADING_TABS.search(yaml_text)
    if tab is not None:
        repaired = _LEADING_TABS.sub(lambda t: t.group(1).replace("\t", "  "), yaml_text)
        try:
            data = load_fast(repaired)
        except yaml.YAMLError:
            pass
        else:
            line = start_line + 1 + yaml_text.count("\n", 0, tab.start())
            notes.append(CardNote(
                "tabs-in-yaml",
                "tab characters indent the YAML front matter; they were read as spaces, but strict YAML "
                "parsers (including huggingface_hub's) reject this card", line))
            return data
    try:
        return load_fast(yaml_text)
    except yaml.YAMLError as exc:
        diag = syntax_diagnostic(exc, filename, line_offset=start_line)
        raise InputError(f"{diag.location}: {diag.message}", [diag]) from None


def _fix_keys(data: dict[Any, Any], notes: list[CardNote]) -> dict[str, Any]:
    fields: dict[str, Any] = {str(k): v for k, v in data.items()}
    for wrong, right in MISSPELLED_KEYS.items():
        if wrong in fields and right not in fields:
            fields[right] = fields[wrong]
            notes.append(CardNote(
                "misspelled-key",
                f"key '{wrong}' read as '{right}'; the Hub ignores '{wrong}', so it shows no {right} for this card"))
    return fields


# --- typed access to the fields that matter --------------------------------------------------------------

def as_id_list(value: Any) -> list[str]:
    """`base_model`/`teacher_model`/`datasets`: a string, a list, empty, or dicts with an id/name."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("id") or item.get("repo_id") or item.get("name")
        if item is None:
            continue
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out


def declared_license(fields: Mapping[str, Any], declared_in: str = "card") -> DeclaredLicense:
    raw = fields.get("license")
    values: tuple[str, ...]
    if raw is None or raw == "" or raw == []:
        values = ()
    elif isinstance(raw, list | tuple):
        values = tuple(str(v).strip() for v in raw if v is not None and str(v).strip())
    else:
        values = (str(raw).strip(),)
    name = fields.get("license_name")
    link = fields.get("license_link")
    return DeclaredLicense(values=values,
                           name=str(name).strip() if name not in (None, "") else None,
                           link=str(link).strip() if link not in (None, "") else None,
                           declared_in=declared_in)
