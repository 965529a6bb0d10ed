"""Model and dataset cards: YAML front matter read the way the Hub reads it, tolerant of real-world cards.

The Hub (and huggingface_hub's `REGEX_YAML_BLOCK`) accepts leading whitespace before the opening `---` and
CRLF line ends; real cards also carry a BOM, tab-indented YAML and misspelled keys. What can be read is read
and noted; what cannot is an `InputError` naming the file and line. This module stays light: the local path
never imports the HTTP stack.

Cards are hostile input: the YAML loader bounds depth and aliases (policy.yamlload); where the Hub expects
text only scalars are read (anything else is a `non-string-value` note, never `str()`-ed), values and ids are
length-capped, and a parent list is followed for its first `MAX_PARENTS` distinct ids (`too-many-parents`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from policy.diagnostics import Diagnostic
from policy.errors import InputError
from policy.model.facts import CardNote, DeclaredLicense
from policy.yamlload import load_fast, syntax_diagnostic

# Where the Hub expects text, a card value must be a scalar (a string, or a number/bool the Hub shows as text),
# or a list of them where the Hub allows lists. Anything else (a mapping, a nested list, a date) is noted and
# ignored, never turned into text: `str()` of a shared YAML structure is how an alias bomb explodes.
STRING_FIELDS = ("license_name", "license_link", "base_model_relation", "library_name", "pipeline_tag")
LIST_FIELDS = ("license", "tags", "language")  # a string or a list of strings
ID_LIST_FIELDS = ("base_model", "teacher_model", "datasets")  # also `{id|repo_id|name: ...}` items
MAX_VALUE_LENGTH = 1024  # characters of one license/license_name/license_link/tag value
MAX_ID_LENGTH = 256  # characters of one lineage id (Hub ids are at most 96 + 1 + 96)
MAX_PARENTS = 256  # parents followed per list (base_model, teacher_model, datasets) of one card
_SCALARS = (str, int, float)  # bool is an int
_STRICT_CHECK_LIMIT = 256 * 1024

# Same shape as huggingface_hub.repocard.REGEX_YAML_BLOCK, applied after newline normalisation.
_FRONT_MATTER = re.compile(r"\A(\s*---[ \t]*\n)(.*?)(\n---[ \t]*(?:\n|\Z))", re.DOTALL)
_EMPTY_FRONT_MATTER = re.compile(r"\A(\s*---[ \t]*\n)(---[ \t]*(?:\n|\Z))")
_LEADING_TABS = re.compile(r"^([ \t]*\t[ \t]*)", re.MULTILINE)
_TOP_KEY = re.compile(r"""(?:"([^"]+)"|'([^']+)'|([^\s:'"]+))[ \t]*:(?:[ \t]|$)""")
LINE_KEYS = ("license", "license_name", "license_link", "base_model", "teacher_model", "datasets")

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
    # 1-based line of each top-level key of LINE_KEYS in the file (after BOM/CRLF normalisation): where a
    # SARIF result about the license or a parent points. A misspelled key (`licence:`) counts for the key read.
    key_lines: Mapping[str, int] = field(default_factory=dict)
    body_line: int = 1  # 1-based line of the body's first line in the file (after BOM/CRLF normalisation)


def decode_card(raw: bytes, filename: str) -> str:
    """A card file's text. Cards are UTF-8 (huggingface_hub reads them so); anything else is an `InputError`
    at the first byte that is not, rather than text silently full of U+FFFD."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1:].decode("utf-8", errors="replace")) + 1
        diag = Diagnostic(filename, line, col, "encoding",
                          f"the card is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                          help="save the card as UTF-8")
        raise InputError(f"{diag.location}: {diag.message}", [diag]) from None


def check_card_fields(fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[CardNote]]:
    """The shape checks of `parse_card` for card data that did not come from front matter (the Hub API's
    `cardData`): text fields that are not text are dropped and noted, never turned into text."""
    notes: list[CardNote] = []
    return _check_shapes({str(k): v for k, v in fields.items()}, "", 0, notes), notes


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
    body_line = text[:m.end()].count("\n") + 1
    if m.re is _EMPTY_FRONT_MATTER:
        return Card({}, text[m.end():], tuple(notes), start_line, body_line=body_line)
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
    fields = _check_shapes(fields, yaml_text, start_line, notes)
    return Card(fields, body, tuple(notes), start_line, _key_lines(yaml_text, start_line), body_line)


def _key_lines(yaml_text: str, start_line: int) -> dict[str, int]:
    """The line of each top-level key of LINE_KEYS (or of its misspelling), first occurrence; one pass over the
    front-matter lines, no second parse."""
    wanted = {key: key for key in LINE_KEYS}
    wanted.update({wrong: right for wrong, right in MISSPELLED_KEYS.items() if right in LINE_KEYS})
    lines: dict[str, int] = {}
    misspelt: dict[str, int] = {}
    for number, line in enumerate(yaml_text.split("\n"), start_line + 1):
        if not line or line[0] in " \t#-":
            continue
        m = _TOP_KEY.match(line)
        if m is None:
            continue
        key = m.group(1) or m.group(2) or m.group(3)
        right = wanted.get(key)
        if right is None:
            continue
        target = lines if key == right else misspelt
        target.setdefault(right, number)
    for key, number in misspelt.items():
        lines.setdefault(key, number)
    return lines


def _load_front_matter(yaml_text: str, filename: str, start_line: int, notes: list[CardNote]) -> Any:
    try:
        data = load_fast(yaml_text)
    except yaml.YAMLError as exc:
        error = exc
    else:
        tab = _LEADING_TABS.search(yaml_text)
        if tab is not None:  # read as it is; say so only when a strict parser would in fact reject it
            line = _strict_tab_problem(yaml_text)
            if line is not None:
                notes.append(CardNote(
                    "tabs-in-yaml",
                    "tab characters indent the YAML front matter; libyaml reads them, but strict YAML "
                    "parsers (including huggingface_hub's) reject this card", start_line + line))
        return data
    # Tab indentation is invalid YAML; libyaml tolerates some of it and PyYAML's pure loader (used by
    # huggingface_hub) none. A card that does not parse as it is but parses with tabs read as spaces is read
    # that way, and noted; a card that parses as it is is never rewritten.
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
    diag = syntax_diagnostic(error, filename, line_offset=start_line, text=yaml_text)
    raise InputError(f"{diag.location}: {diag.message}", [diag]) from None


def _strict_tab_problem(yaml_text: str) -> int | None:
    """The 1-based line where PyYAML's pure-Python parser (huggingface_hub's) rejects a tab, else None.
    Front matter past `_STRICT_CHECK_LIMIT` characters is not checked (the pure parser is slow)."""
    if len(yaml_text) > _STRICT_CHECK_LIMIT:
        return None
    try:
        for _ in yaml.parse(yaml_text, Loader=yaml.SafeLoader):  # events only: nothing is built
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        if mark is not None and "\\t" in str(exc.problem or ""):  # "found character '\\t' ..."
            return mark.line + 1
    except yaml.YAMLError:
        return None
    return None


def _fix_keys(data: dict[Any, Any], notes: list[CardNote]) -> dict[str, Any]:
    fields: dict[str, Any] = {str(k): v for k, v in data.items()}
    for wrong, right in MISSPELLED_KEYS.items():
        if wrong in fields and right not in fields:
            fields[right] = fields[wrong]
            notes.append(CardNote(
                "misspelled-key",
                f"key '{wrong}' read as '{right}'; the Hub ignores '{wrong}', so it shows no {right} for this card"))
    return fields


def _key_line(yaml_text: str, key: str, start_line: int) -> int:
    m = re.search(rf"^{re.escape(key)}[ \t]*:", yaml_text, re.MULTILINE)
    return start_line + 1 + yaml_text.count("\n", 0, m.start()) if m else 0


def _shape(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _check_shapes(fields: dict[str, Any], yaml_text: str, start_line: int,
                  notes: list[CardNote]) -> dict[str, Any]:
    """Drop (and note) values of the Hub's text fields that are not text, and over-long ones; note parent lists
    longer than `MAX_PARENTS` (the lineage walk follows the first `MAX_PARENTS` and reports the rest)."""

    def note(key: str, what: str) -> None:
        notes.append(CardNote("non-string-value", f"'{key}': {what}; ignored",
                              _key_line(yaml_text, key, start_line)))

    for key in STRING_FIELDS:
        value = fields.get(key)
        if value is None or _text(value, MAX_VALUE_LENGTH) is not None:
            continue
        del fields[key]
        note(key, f"expected a string, found {_shape(value)}" if not isinstance(value, _SCALARS) else
             f"longer than {MAX_VALUE_LENGTH} characters")
    for key in (*LIST_FIELDS, *ID_LIST_FIELDS):
        value = fields.get(key)
        if value is None:
            continue
        is_id = key in ID_LIST_FIELDS
        limit = MAX_ID_LENGTH if is_id else MAX_VALUE_LENGTH
        items = value if isinstance(value, list | tuple) else [value]
        kept = [item for item in items if item is None or _item_text(item, limit, is_id) is not None]
        if len(kept) != len(items):
            bad = next(item for item in items if item is not None and _item_text(item, limit, is_id) is None)
            what = (f"longer than {limit} characters" if isinstance(bad, _SCALARS) else
                    f"expected a string, found {_shape(bad)}")
            note(key, f"{len(items) - len(kept)} value(s) {what}")
            if isinstance(value, list | tuple):
                fields[key] = kept
            else:
                del fields[key]
        if is_id and isinstance(value, list | tuple) and len(kept) > MAX_PARENTS:
            n = len(as_id_list(kept, limit=None))
            if n > MAX_PARENTS:
                notes.append(CardNote("too-many-parents",
                                      f"'{key}' lists {n} entries; only the first {MAX_PARENTS} are followed",
                                      _key_line(yaml_text, key, start_line)))
    return fields


def _text(value: Any, limit: int) -> str | None:
    """The text of a scalar card value, or None when it is not a scalar or longer than `limit`."""
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, _SCALARS):
        text = str(value)  # a number or a bool: bounded
    else:
        return None
    return text if len(text) <= limit else None


def _item_text(item: Any, limit: int, mapping_ok: bool) -> str | None:
    if mapping_ok and isinstance(item, Mapping):
        item = item.get("id") or item.get("repo_id") or item.get("name")
        if item is None:
            return None
    return _text(item, limit)


# --- typed access to the fields that matter --------------------------------------------------------------

def as_id_list(value: Any, limit: int | None = MAX_PARENTS) -> list[str]:
    """`base_model`/`teacher_model`/`datasets`: a string, a list, empty, or dicts with an id/name.

    Only scalar ids of at most `MAX_ID_LENGTH` characters count (anything else is never turned into text);
    duplicates are dropped in linear time, and at most `limit` ids are returned (None: all)."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple) else [value]
    out: dict[str, None] = {}
    for item in items:
        text = _item_text(item, MAX_ID_LENGTH, True)
        if text:
            out[text] = None
            if limit is not None and len(out) >= limit:
                break
    return list(out)


def declared_license(fields: Mapping[str, Any], declared_in: str = "card") -> DeclaredLicense:
    raw = fields.get("license")
    items = raw if isinstance(raw, list | tuple) else [raw]
    texts = (_text(v, MAX_VALUE_LENGTH) for v in items if v is not None)
    values = tuple(t for t in texts if t)
    name = _text(fields.get("license_name"), MAX_VALUE_LENGTH)
    link = _text(fields.get("license_link"), MAX_VALUE_LENGTH)
    return DeclaredLicense(values=values, name=name or None, link=link or None, declared_in=declared_in)
