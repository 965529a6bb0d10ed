"""Model and dataset cards: YAML front matter read the way the Hub reads it, tolerant of real-world cards.

The Hub (and huggingface_hub's `REGEX_YAML_BLOCK`) accepts leading whitespace before the opening `---` and
CRLF line ends; real cards also carry a BOM, tab-indented YAML and misspelled keys. What can be read is read
and noted; what cannot is an `InputError` naming the file and line. This module stays light: the local path
never imports the HTTP stack.

This is the one reader of front matter (cards, and the clause files of policy.documents.annex): with the
fields it gives where each top-level key, scalar value and list item is written (`Span`: line, column and end
in the file as written), taken from the YAML parser's marks in the same parse, so a line inside a multi-line
string or flow collection is never taken for a key; with `nested=True`, where every key and value starts at
any depth (the positions `policy.yamlload.load_marked` gives), for the evaluation claims' card lines.

Cards are hostile input: the YAML loader bounds depth and aliases (policy.yamlload); where the Hub expects
text only scalars are read (anything else is a `non-string-value` note, never `str()`-ed), values and ids are
length-capped, and a parent list is followed for its first `MAX_PARENTS` distinct ids (`too-many-parents`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from policy.diagnostics import Diagnostic
from policy.errors import InputError
from policy.model.facts import CardNote, DeclaredLicense
from policy.records import record
from policy.yamlload import load_with_nodes, nearest_mark, syntax_diagnostic

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
# Characters of YAML front matter read. Composing YAML costs ~2-4 s a megabyte whatever the loader (PyYAML's
# composer and constructor run in Python even over libyaml), and the largest real front matter (a long
# model-index) is a few hundred kilobytes: a card with more is not read at all (an InputError: a target that is an
# error, an ancestor or Hub card that is invalid, so review), never read in part.
MAX_FRONT_MATTER = 1024 * 1024

# Same shape as huggingface_hub.repocard.REGEX_YAML_BLOCK, applied after newline normalisation.
_FRONT_MATTER = re.compile(r"\A(\s*---[ \t]*\n)(.*?)(\n---[ \t]*(?:\n|\Z))", re.DOTALL)
_EMPTY_FRONT_MATTER = re.compile(r"\A(\s*---[ \t]*\n)(---[ \t]*(?:\n|\Z))")
_LEADING_TABS = re.compile(r"^([ \t]*\t[ \t]*)", re.MULTILINE)
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


JsonPath = tuple[str | int, ...]


@record(slots=True)
class Span:
    """Where a key or a value is written in the card file, from the YAML parser's marks: the 1-based `line` and
    `col`umn of its first character, and `end_line`/`end_col` just past its last one, in the file as written
    (a BOM is not counted; CR LF is one line end). For a quoted scalar the span is the text inside the quotes
    and `quote` the quote character; a block scalar starts at its `|` or `>` indicator (its `quote`); a plain
    scalar has `quote` "". `text` is the source text of the span; `read` a scalar's value as YAML reads it
    (escapes and line folding applied), None for anything else."""

    line: int
    col: int
    text: str = ""
    quote: str = ""
    end_line: int = 0
    end_col: int = 0
    read: str | None = None

    @property
    def width(self) -> int:
        """Characters of the span on its first line (at least 1)."""
        return max(len(self.text.partition("\n")[0]), 1)


@dataclass(slots=True, eq=False)
class KeySpan:
    """A top-level key of the front matter (`key.text`: the key as YAML reads it) and where its value is."""

    key: Span
    value: Span | None = None  # a scalar value (None: an empty value, a collection or an alias)
    items: list[Span] = field(default_factory=list)  # the scalar items of a sequence value, block or flow
    is_list: bool = False  # the value is a sequence
    empty: bool = False  # nothing after the colon: the value is null
    _index: dict[str, Span] | None = None

    def spans(self) -> list[Span]:
        """The spans of the value: the scalar items of a sequence, or the scalar."""
        return self.items if self.is_list else [self.value] if self.value is not None else []

    def where(self, value: str) -> Span:
        """Where `value` is written under this key (its first occurrence, by its text as written, else as
        read), else the key. Linear once per key; each later lookup is a dict access."""
        if self._index is None:
            self._index = {}
            spans = self.spans()
            for span in spans:
                self._index.setdefault(span.text.strip(), span)
            for span in spans:
                if span.read is not None:
                    self._index.setdefault(span.read.strip(), span)
        return self._index.get(value, self.key)


@record(slots=True)
class FrontMatter:
    """Where the front matter and its keys are in the card file. `keys`: every top-level key in the order
    written, repeated keys included. Read with `nested=True` only: `marks` and `key_marks`, the (line, col)
    where each value and each key starts, by JSON path, at every depth (as `policy.yamlload.load_marked`
    records them), and `duplicates`, the repeated keys at every depth as diagnostics."""

    open_line: int  # line of the opening `---`
    close_line: int  # line of the closing `---`
    keys: tuple[KeySpan, ...] = ()
    marks: Mapping[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: Mapping[JsonPath, tuple[int, int]] = field(default_factory=dict)
    duplicates: tuple[Diagnostic, ...] = ()

    def get(self, key: str) -> KeySpan | None:
        """The first top-level `key`."""
        return next((k for k in self.keys if k.key.text == key), None)

    def line_of(self, key: str) -> int:
        """The line of the first top-level `key`; 0 when there is none."""
        entry = self.get(key)
        return entry.key.line if entry is not None else 0

    def mark(self, path: JsonPath, *, key: bool = False) -> tuple[int, int]:
        """The nearest known position of `path` (as `MarkedYaml.mark`): where its value starts (its key, with
        `key=True`), else where the closest parent's does."""
        return nearest_mark(self.marks, self.key_marks, path, key=key, default=(self.open_line + 1, 1))


@record(slots=True)
class Block:
    """The front matter as the Hub finds it in a card's text (after a BOM, with line ends read as LF)."""

    open_line: int  # 1-based line of the opening `---`
    close_line: int  # 1-based line of the closing `---`
    yaml: str  # the YAML between the two
    body: str  # the text after the closing `---` line
    body_line: int  # 1-based line of the body's first line
    leading_blank: bool  # blank lines (or spaces) before the opening `---`


@record(slots=True)
class Card:
    """A model card split into its front-matter fields and body, with reading notes."""
    fields: Mapping[str, Any]
    body: str
    notes: tuple[CardNote, ...] = ()
    front_matter_line: int = 0  # line of the opening `---`, 0 when there is none
    # 1-based line of each top-level key of LINE_KEYS in the file (after BOM/CRLF normalisation): where a
    # SARIF result about the license or a parent points. A misspelled key (`licence:`) counts for the key read.
    key_lines: Mapping[str, int] = field(default_factory=dict)
    body_line: int = 1  # 1-based line of the body's first line in the file (after BOM/CRLF normalisation)
    layout: FrontMatter | None = None  # where each key and value is written; None without front matter


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
    return _check_shapes({str(k): v for k, v in fields.items()}, lambda _key: 0, notes), notes


def normalise(text: str) -> str:
    """A card's text as it is read: without a BOM, CR LF (and a lone CR) read as LF. Lines and columns are
    those of the file as written."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def split_front_matter(text: str) -> Block | None:
    """The front matter of `normalise(text)`, found as the Hub finds it (huggingface_hub's
    `REGEX_YAML_BLOCK`: blank lines before the opening `---` allowed); None when there is none."""
    m = _FRONT_MATTER.match(text) or _EMPTY_FRONT_MATTER.match(text)
    if m is None:
        return None
    opening = m.group(1)
    open_line = opening.count("\n")  # line number of the opening '---' (1-based)
    empty = m.re is _EMPTY_FRONT_MATTER
    yaml_text = "" if empty else m.group(2)
    close_line = open_line + 1 if empty else open_line + yaml_text.count("\n") + 2
    return Block(open_line, close_line, yaml_text, text[m.end():], text.count("\n", 0, m.end()) + 1,
                 opening[0] in " \t\n")


def read_front_matter(block: Block, filename: str, *, nested: bool = False, repair_tabs: bool = True,
                      notes: list[CardNote] | None = None) -> tuple[Any, FrontMatter]:
    """The data of a front matter block and where its keys and values are written: the top-level keys, their
    scalar values and list items (`FrontMatter.keys`), and with `nested` the start of every key and value at
    any depth. Read with the guarded loader (policy.yamlload: nesting, aliases and values bounded); positions
    come from the parser's marks. Tab indentation the loader rejects is read as spaces when `repair_tabs`
    (positions still count the tabs as written). Tab problems are noted in `notes` when given. Raises
    `InputError` with a positioned diagnostic when the YAML cannot be read."""
    start_line = block.open_line
    text = block.yaml
    if len(text) > MAX_FRONT_MATTER:
        diag = Diagnostic(filename, start_line, 1, "front-matter-too-large",
                          f"the YAML front matter is {len(text) / 1024 / 1024:.1f} MB, more than the "
                          f"{MAX_FRONT_MATTER // 1024 // 1024} MB policycheck reads: the card's metadata (license, "
                          "lineage) was not read",
                          help="move long data (e.g. a large model-index) out of the card's front matter")
        raise InputError(f"{diag.location}: {diag.message}", [diag])
    try:
        data, layout = _load(text, block, filename, nested, {})
    except yaml.YAMLError as exc:
        error = exc
    else:
        if notes is not None and _LEADING_TABS.search(text) is not None:
            # read as it is; say so only when a strict parser would in fact reject it
            line = _strict_tab_problem(text)
            if line is not None:
                notes.append(CardNote(
                    "tabs-in-yaml",
                    "tab characters indent the YAML front matter; libyaml reads them, but strict YAML "
                    "parsers (including huggingface_hub's) reject this card", start_line + line))
        return data, layout
    # Tab indentation is invalid YAML; libyaml tolerates some of it and PyYAML's pure loader (used by
    # huggingface_hub) none. A card that does not parse as it is but parses with tabs read as spaces is read
    # that way, and noted; a card that parses as it is is never rewritten.
    tab = _LEADING_TABS.search(text) if repair_tabs else None
    if tab is not None:
        shifts: dict[int, tuple[int, int]] = {}

        def spaces(t: re.Match[str]) -> str:
            indent = t.group(1)
            tabs = indent.count("\t")
            shifts[text.count("\n", 0, t.start())] = (tabs, len(indent) + tabs)
            return indent.replace("\t", "  ")

        repaired = _LEADING_TABS.sub(spaces, text)
        try:
            data, layout = _load(repaired, block, filename, nested, shifts)
        except yaml.YAMLError:
            pass
        else:
            if notes is not None:
                notes.append(CardNote(
                    "tabs-in-yaml",
                    "tab characters indent the YAML front matter; they were read as spaces, but strict YAML "
                    "parsers (including huggingface_hub's) reject this card",
                    start_line + 1 + text.count("\n", 0, tab.start())))
            return data, layout
    diag = syntax_diagnostic(error, filename, line_offset=start_line, text=text)
    raise InputError(f"{diag.location}: {diag.message}", [diag]) from None


def parse_card(text: str, filename: str, *, nested: bool = False) -> Card:
    """Parse a card: its fields, body and notes, and where each top-level key, value and list item is written
    (`Card.layout`; with `nested`, where every key and value starts at any depth). Raises `InputError` (with a
    positioned diagnostic) when the front matter is unreadable."""
    notes: list[CardNote] = []
    text = normalise(text)
    block = split_front_matter(text)
    if block is None:
        notes.append(CardNote("no-front-matter", "the card has no YAML front matter (no license, no lineage)"))
        return Card({}, text, tuple(notes))
    start_line = block.open_line
    if block.leading_blank:
        notes.append(CardNote("leading-blank-lines", "blank lines before the opening '---' (the Hub accepts them)",
                              1))
    data, layout = read_front_matter(block, filename, nested=nested, notes=notes)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(
            f"{filename}: the front matter is a {type(data).__name__}, not a mapping of keys",
            [Diagnostic(filename, start_line + 1, 1, "card-front-matter",
                        f"front matter must be a mapping of keys, found a {type(data).__name__}")])
    fields = _fix_keys(data, notes)
    fields = _check_shapes(fields, layout.line_of, notes)
    return Card(fields, block.body, tuple(notes), start_line, _key_lines(layout), block.body_line, layout)


def _key_lines(layout: FrontMatter) -> dict[str, int]:
    """The line of each top-level key of LINE_KEYS (or of its misspelling), first occurrence."""
    wanted = {key: key for key in LINE_KEYS}
    wanted.update({wrong: right for wrong, right in MISSPELLED_KEYS.items() if right in LINE_KEYS})
    lines: dict[str, int] = {}
    misspelt: dict[str, int] = {}
    for entry in layout.keys:
        key = entry.key.text
        right = wanted.get(key)
        if right is None:
            continue
        target = lines if key == right else misspelt
        target.setdefault(right, entry.key.line)
    for key, number in misspelt.items():
        lines.setdefault(key, number)
    return lines


# --- positions, from the parser's marks ------------------------------------------------------------------

# An anchor or a tag before a scalar (`&a`, `!!str`, `!<tag:...>`): the node's mark starts at them.
_PROPERTIES = re.compile(r"(?:[&!][^ \t\n]*[ \t\n]+)+")


def _load(text: str, block: Block, filename: str, nested: bool,
          shifts: Mapping[int, tuple[int, int]]) -> tuple[Any, FrontMatter]:
    walker = _Walker(text, block.open_line, shifts, filename)
    data, _ = load_with_nodes(text, walker.nested if nested else walker.top)
    return data, FrontMatter(block.open_line, block.close_line, tuple(walker.keys), walker.marks,
                             walker.key_marks, tuple(walker.duplicates))


class _Walker:
    """Spans from the composed nodes, before any value is built. In document order every node starts after
    the one walked before it; a node that starts earlier is an alias of an earlier node: it has no position of
    its own and is not walked again (aliases cost nothing here). Depth is bounded by the loader."""

    def __init__(self, text: str, open_line: int, shifts: Mapping[int, tuple[int, int]], filename: str) -> None:
        self.text = text
        self.offset = open_line + 1  # file line of the YAML's first line (marks count from 0)
        self.shifts = shifts  # YAML line -> (tabs read as spaces in its indent, width of the repaired indent)
        self.filename = filename
        self.keys: list[KeySpan] = []
        self.marks: dict[JsonPath, tuple[int, int]] = {}
        self.key_marks: dict[JsonPath, tuple[int, int]] = {}
        self.duplicates: list[Diagnostic] = []

    def _col(self, line: int, column: int) -> int:
        """1-based column in the file of a 0-based column of the YAML read (tabs read as spaces undone)."""
        shift = self.shifts.get(line)
        if shift is not None:
            tabs, width = shift
            column = column - tabs if column >= width else min(column, width - tabs)
        return column + 1

    def _pos(self, mark: Any) -> tuple[int, int]:
        return mark.line + self.offset, self._col(mark.line, mark.column)

    def span(self, node: yaml.Node) -> Span | None:
        """A scalar's text (inside its quotes, after its anchor or tag), or a collection's extent; None for an
        empty (null) scalar."""
        start, end = node.start_mark, node.end_mark
        s, e = start.index, end.index
        if s >= e:
            return None
        end_line, end_col = self._pos(end)
        if not isinstance(node, yaml.ScalarNode):
            return Span(*self._pos(start), "", "", end_line, end_col)
        line, column = start.line, start.column
        raw = self.text[s:e]
        if raw[0] in "&!":
            m = _PROPERTIES.match(raw)
            if m is not None and m.end() < len(raw):
                skipped = raw[:m.end()]
                breaks = skipped.count("\n")
                column = column + len(skipped) if not breaks else len(skipped) - skipped.rfind("\n") - 1
                line += breaks
                raw = raw[m.end():]
        style = node.style or ""
        if style in ("'", '"') and raw[0] == style:
            column += 1
            closed = len(raw) > 1 and raw[-1] == style
            raw = raw[1:-1] if closed else raw[1:]
            end_col -= closed
        elif style not in ("|", ">"):
            style = ""
        return Span(line + self.offset, self._col(line, column), raw, style, end_line, end_col, node.value)

    def _key(self, node: yaml.Node) -> Span:
        span = self.span(node)
        if span is None:  # an empty key (`: value`)
            return Span(*self._pos(node.start_mark), read="")
        if isinstance(node, yaml.ScalarNode):  # its text as YAML reads it (a quoted key's escapes applied)
            return Span(span.line, span.col, node.value, span.quote, span.end_line, span.end_col, node.value)
        return span

    def top(self, root: yaml.Node, _construct: Callable[[yaml.Node], Any]) -> None:
        """The top-level keys, their scalar values and the scalar items of their sequences."""
        if not isinstance(root, yaml.MappingNode):
            return
        floor = root.start_mark.index
        for key_node, value_node in root.value:
            if key_node.start_mark.index < floor:
                continue  # an alias as a key
            entry = KeySpan(self._key(key_node))
            floor = key_node.end_mark.index
            if value_node.start_mark.index >= floor:  # else an alias: no span of its own
                floor = max(floor, value_node.end_mark.index)
                if isinstance(value_node, yaml.ScalarNode):
                    entry.value = self.span(value_node)
                    entry.empty = entry.value is None
                elif isinstance(value_node, yaml.SequenceNode):
                    entry.is_list = True
                    item_floor = value_node.start_mark.index
                    for item in value_node.value:
                        if item.start_mark.index < item_floor:
                            continue  # an alias
                        item_floor = item.end_mark.index
                        if isinstance(item, yaml.ScalarNode):
                            span = self.span(item)
                            if span is not None:
                                entry.items.append(span)
            self.keys.append(entry)

    def nested(self, root: yaml.Node, construct: Callable[[yaml.Node], Any]) -> None:
        """`top`, and where every key and value starts at any depth, by JSON path; repeated keys noted."""
        self.top(root, construct)
        self._walk(root, (), construct)

    def _walk(self, node: yaml.Node, path: JsonPath, construct: Callable[[yaml.Node], Any]) -> None:
        self.marks[path] = self._pos(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            floor = node.start_mark.index
            for key_node, value_node in node.value:
                if key_node.start_mark.index < floor:
                    continue
                floor = key_node.end_mark.index
                if isinstance(key_node, yaml.ScalarNode):  # a scalar: bounded, safe to build
                    key = construct(key_node)
                    if not isinstance(key, str | int | float | bool) and key is not None:
                        key = str(key)
                else:  # never str() of a collection: its text as written
                    key = self.text[key_node.start_mark.index:key_node.end_mark.index]
                line, col = self._pos(key_node.start_mark)
                if key in seen:
                    self.duplicates.append(Diagnostic(
                        self.filename, line, col, "duplicate-key", f"duplicate key {key!r}",
                        help="YAML keeps only the last value of a repeated key; remove one of them",
                        span=len(str(key))))
                seen.add(key)
                child = (*path, key if isinstance(key, str | int) else str(key))
                self.key_marks[child] = (line, col)
                if value_node.start_mark.index >= floor:  # else an alias
                    floor = max(floor, value_node.end_mark.index)
                    self._walk(value_node, child, construct)
        elif isinstance(node, yaml.SequenceNode):
            floor = node.start_mark.index
            for i, item in enumerate(node.value):
                if item.start_mark.index >= floor:
                    floor = item.end_mark.index
                    self._walk(item, (*path, i), construct)


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


def _shape(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _check_shapes(fields: dict[str, Any], line_of: Callable[[str], int],
                  notes: list[CardNote]) -> dict[str, Any]:
    """Drop (and note) values of the Hub's text fields that are not text, and over-long ones; note parent lists
    longer than `MAX_PARENTS` (the lineage walk follows the first `MAX_PARENTS` and reports the rest).
    `line_of(key)`: the line of a top-level key in the file (0: unknown)."""

    def note(key: str, what: str) -> None:
        notes.append(CardNote("non-string-value", f"'{key}': {what}; ignored", line_of(key)))

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
                                      line_of(key)))
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
