"""YAML loading: a fast path (cards) and a positioned path that keeps line marks (rule data, policy files).

Both parse with libyaml when available and compose with one guarded composer, because cards are written by
anyone: nesting is bounded (`MAX_DEPTH`), aliases are counted and so are the nodes they expand to
(`MAX_ALIASES`, `MAX_ALIAS_NODES`; recursive aliases are refused), and a value that cannot be constructed
(`2024-02-30`, a 4,301-digit integer, `!!bool maybe`) is a `yaml.YAMLError` at its position, like a syntax
error, never a bare ValueError. The positioned loader records the `(line, col)` of every value under its
JSON path, and reports duplicate keys, which PyYAML would otherwise silently overwrite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml

from policy.diagnostics import Diagnostic

# Limits on what one YAML document may make us build (cards are written by anyone on the Hub). Aliases are
# legitimate but rare in cards and rule data; a billion-laughs document uses a few dozen aliases whose expansion
# is exponential, so both the number of aliases and the nodes they bring in are capped, and so is the nesting.
MAX_DEPTH = 64  # nested collections in one document
MAX_ALIASES = 100  # `*alias` references in one document
MAX_ALIAS_NODES = 10_000  # nodes that all aliases of one document together stand for, once expanded

T = TypeVar("T")
_VALUE_ERRORS = (ValueError, KeyError, AttributeError, TypeError, OverflowError, IndexError, RecursionError)


class LimitError(yaml.MarkedYAMLError):
    """The document exceeds one of the limits above (depth, aliases), or an alias is recursive."""


class _Guard:
    """Composer and constructor hooks shared by the guarded loaders: bounded composition, positioned values.

    Composition runs in Python over the (C or pure) parser's events, so depth and aliases are counted before
    any node is built; construction errors that PyYAML lets through as ValueError/KeyError/... (an impossible
    date, a 4,301-digit integer, `!!bool maybe`) become `ConstructorError`s at the value's position.
    """

    def _guard_init(self) -> None:
        self._depth = 0
        self._aliases = 0
        self._alias_nodes = 0
        self._expanded = 0  # nodes composed so far, aliases counted at their expanded size
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, yaml.AliasEvent):
            node = self.anchors.get(event.anchor)  # type: ignore[attr-defined]
            if node is not None:
                if event.anchor in self._open_anchors:
                    raise LimitError(None, None, f"alias *{event.anchor} refers to a node that contains it "
                                     "(recursive data is not allowed)", event.start_mark)
                self._aliases += 1
                size = self._sizes.get(id(node), 1)
                self._alias_nodes += size
                self._expanded += size
                if self._aliases > MAX_ALIASES:
                    raise LimitError(None, None, f"more than {MAX_ALIASES} aliases in one document",
                                     event.start_mark)
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise LimitError(None, None, f"aliases expand to more than {MAX_ALIAS_NODES} nodes "
                                     "(an alias bomb?)", event.start_mark)
            return super().compose_node(parent, index)  # type: ignore[misc]
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise LimitError(None, None, f"data nested more than {MAX_DEPTH} levels deep", event.start_mark)
        anchor = getattr(event, "anchor", None)
        before = self._expanded
        self._expanded += 1
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            node = super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)
        if anchor is not None:
            self._sizes[id(node)] = self._expanded - before
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)  # type: ignore[misc]
        except _VALUE_ERRORS as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value: {_why(exc, node)}", node.start_mark) from None


def _why(exc: BaseException, node: yaml.Node | None = None) -> str:
    if node is not None and isinstance(node, yaml.ScalarNode):
        tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        if isinstance(exc, ValueError) and "digits" in str(exc):
            return f"an integer of {len(node.value)} digits is longer than allowed"
        if isinstance(exc, ValueError):
            return f"{value!r} is not a valid {tag} ({' '.join(str(exc).split())[:120]})"
        return f"{value!r} is not a valid {tag}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None) if yaml.__with_libyaml__ else None

if _CParser is not None:
    class _GuardedLoader(_Guard, yaml.composer.Composer, _CParser,  # type: ignore[misc,valid-type]
                         yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml parses; the Python composer (guarded) builds nodes; SafeConstructor builds values."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._guard_init()
else:  # pragma: no cover - PyYAML without libyaml
    class _GuardedLoader(_Guard, yaml.SafeLoader):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.SafeLoader.__init__(self, stream)
            self._guard_init()

Loader: type[Any] = _GuardedLoader

JsonPath = tuple[str | int, ...]


def nearest_mark(marks: dict[JsonPath, tuple[int, int]], key_marks: dict[JsonPath, tuple[int, int]],
                 path: JsonPath, *, key: bool = False, default: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """The nearest known (line, column) of `path`: where its value starts (its key, with `key=True`), else where
    the closest parent's does; `default` (the document's start) when no parent has one."""
    table = key_marks if key else marks
    p = tuple(path)
    while p:
        if p in table:
            return table[p]
        if not key and p in key_marks:
            return key_marks[p]
        p = p[:-1]
    return marks.get((), default)


@dataclass
class MarkedYaml:
    """Parsed YAML with the 1-based (line, col) of each value and key, and its problems."""
    data: Any
    marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)  # 1-based (line, col)
    key_marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def mark(self, path: JsonPath, *, key: bool = False) -> tuple[int, int]:
        """The nearest known position for `path` (walks up to the closest parent that has one)."""
        return nearest_mark(self.marks, self.key_marks, path, key=key)


def load_fast(text: str) -> Any:
    """Load one document (safe tags only, bounded as above). Every problem is a `yaml.YAMLError`: syntax,
    limits and values that cannot be constructed, each with a mark when the node is known."""
    loader = Loader(text)
    try:
        return _guarded(loader.get_single_data)
    finally:
        loader.dispose()


def load_with_nodes(text: str, visit: Callable[[yaml.Node, Callable[[yaml.Node], Any]], T]) -> tuple[Any, T | None]:
    """`load_fast`, and `visit(root node, construct)` of the composed document before its values are built: the
    nodes keep the parser's marks (line, column and character index where each key and value starts and ends
    in `text`); `construct(scalar node)` builds one scalar's value (guarded, as every value is). `visit` must
    not change the nodes; it is not called for an empty document. Errors as `load_fast`."""
    loader = Loader(text)
    try:
        node = _guarded(loader.get_single_node)
        if node is None:
            return None, None
        seen = visit(node, loader.construct_object)
        return _guarded(lambda: loader.construct_document(node)), seen
    finally:
        loader.dispose()


def compose_documents(text: str, limit: int = 64) -> Iterator[yaml.Node]:
    """The root node of each document of a YAML stream (`---` between documents, as compose files and Kubernetes
    manifests have them), composed with the guarded composer and not constructed: the nodes keep their marks
    and their scalars stay text. The bounds count over the whole stream; at most `limit` documents. Errors as
    `load_fast`."""
    loader = Loader(text)
    try:
        for _ in range(limit):
            if not _guarded(loader.check_node):
                return
            node = _guarded(loader.get_node)
            if node is not None:
                yield node
    finally:
        loader.dispose()


def _guarded(fn: Any) -> Any:
    try:
        return fn()
    except yaml.YAMLError:
        raise
    except _VALUE_ERRORS as exc:  # raised outside any one node (e.g. while filling a mapping): no position
        raise yaml.YAMLError(f"cannot read this YAML: {_why(exc)}") from None


def syntax_diagnostic(exc: yaml.YAMLError, filename: str, line_offset: int = 0,
                      text: str | None = None) -> Diagnostic:
    """Place a YAML syntax error where it starts: the construct being parsed (`context_mark`) when PyYAML
    names one, else where the parser gave up (`problem_mark`, often the line after the real mistake).
    Reader errors (control characters, bad encodings) carry only an offset: `text` turns it into line:col."""
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        message = f"invalid YAML: {exc.reason} ({shown})"
        hint = "remove the control character or write it as an escape inside a double-quoted string"
        if text is None:
            return Diagnostic(filename, 0, 0, "yaml-syntax", message, help=hint)
        pos = max(0, min(int(exc.position), len(text)))
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return Diagnostic(filename, line + line_offset, col, "yaml-syntax", message, help=hint)
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    mark = context_mark or problem_mark
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{context}, {problem}" if context else str(problem)
    if mark is None:
        return Diagnostic(filename, 0, 0, "yaml-syntax", f"invalid YAML: {message}")
    if context_mark is not None and problem_mark is not None and problem_mark.line != context_mark.line:
        message += f" (noticed at line {problem_mark.line + 1 + line_offset})"
    hint = ""
    code = "yaml-syntax"
    if isinstance(exc, LimitError):
        code = "yaml-limit"
        hint = (f"policycheck reads YAML nested at most {MAX_DEPTH} levels deep, with at most {MAX_ALIASES} "
                f"aliases that expand to at most {MAX_ALIAS_NODES} nodes, and no recursive aliases")
    elif isinstance(exc, yaml.constructor.ConstructorError) and str(problem).startswith("cannot read this value"):
        code = "yaml-value"
        hint = "quote the value to keep it as text, or write a valid value for its type"
    elif "\\t" in message or "'\\t'" in message or "tab" in message.lower():
        hint = "YAML does not allow tab characters for indentation; use spaces"
    return Diagnostic(filename, mark.line + 1 + line_offset, mark.column + 1, code,
                      f"invalid YAML: {message}", help=hint)


def load_marked(text: str, filename: str, line_offset: int = 0) -> MarkedYaml:
    """Parse `text`, keeping positions. Raises `yaml.YAMLError` on syntax errors."""
    loader = Loader(text)
    try:
        node = _guarded(loader.get_single_node)
        result = MarkedYaml(data=None)
        if node is None:
            return result
        result.data = _guarded(lambda: _construct(loader, node, (), result, filename, line_offset))
        return result
    finally:
        loader.dispose()


def _pos(node: yaml.Node, line_offset: int) -> tuple[int, int]:
    return node.start_mark.line + 1 + line_offset, node.start_mark.column + 1


def _construct(loader: yaml.SafeLoader, node: yaml.Node, path: JsonPath, out: MarkedYaml,
               filename: str, line_offset: int) -> Any:
    out.marks[path] = _pos(node, line_offset)
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in _pairs(loader, node):
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            if key in mapping:
                line, col = _pos(key_node, line_offset)
                out.diagnostics.append(Diagnostic(
                    filename, line, col, "duplicate-key", f"duplicate key {key!r}",
                    help="YAML keeps only the last value of a repeated key; remove one of them",
                    span=len(str(key))))
            child = (*path, key if isinstance(key, str | int) else str(key))
            out.key_marks[child] = _pos(key_node, line_offset)
            mapping[key] = _construct(loader, value_node, child, out, filename, line_offset)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*path, i), out, filename, line_offset)
                for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _pairs(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    # `<<` merge keys are flattened by the loader; keep them simple here.
    loader.flatten_mapping(node)
    yield from node.value
