"""YAML loading: a fast path for trusted, cached data and a positioned path that keeps line marks.

The positioned loader composes the node tree (libyaml when available), records the `(line, col)` of every
value under its JSON path, and reports duplicate keys, which PyYAML would otherwise silently overwrite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from policy.diagnostics import Diagnostic

Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]

JsonPath = tuple[str | int, ...]


@dataclass
class MarkedYaml:
    data: Any
    marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)  # 1-based (line, col)
    key_marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def mark(self, path: JsonPath, *, key: bool = False) -> tuple[int, int]:
        """The nearest known position for `path` (walks up to the closest parent that has one)."""
        table = self.key_marks if key else self.marks
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if not key and p in self.key_marks:
                return self.key_marks[p]
            p = p[:-1]
        return self.marks.get((), (1, 1))


def load_fast(text: str) -> Any:
    return yaml.load(text, Loader=Loader)  # Loader is a SafeLoader


def syntax_diagnostic(exc: yaml.YAMLError, filename: str, line_offset: int = 0) -> Diagnostic:
    """Place a YAML syntax error where it starts: the construct being parsed (`context_mark`) when PyYAML
    names one, else where the parser gave up (`problem_mark`, often the line after the real mistake)."""
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
    if "\\t" in message or "'\\t'" in message or "tab" in message.lower():
        hint = "YAML does not allow tab characters for indentation; use spaces"
    return Diagnostic(filename, mark.line + 1 + line_offset, mark.column + 1, "yaml-syntax",
                      f"invalid YAML: {message}", help=hint)


def load_marked(text: str, filename: str, line_offset: int = 0) -> MarkedYaml:
    """Parse `text`, keeping positions. Raises `yaml.YAMLError` on syntax errors."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        result = MarkedYaml(data=None)
        if node is None:
            return result
        result.data = _construct(loader, node, (), result, filename, line_offset)
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
