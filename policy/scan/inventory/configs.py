"""Configuration and deployment files: YAML (compose files and Kubernetes manifests among them), JSON and TOML.

What names a model:
- a key that holds one (`model`, `model_name_or_path`, `base_model`, `repo_id`, `*_model`, ...: `shapes.
  MODEL_SETTINGS`) whose value, or each of whose list items, has a Hub id's shape (`org/name`; a path, a media
  type or a one-word value is not taken);
- `environment:` (compose: a mapping or `NAME=value` items) and `env:` (Kubernetes: `name:` / `value:` items)
  entries that hold a model: configuration, overridden by that variable;
- `command:`, `args:` and `entrypoint:` (a string or a list of words): read as command lines
  (policy.scan.inventory.commands: TGI's `--model-id`, vLLM's `--model` and `serve`, downloads).

YAML is composed with the project's guarded loader (bounded nesting and aliases, several documents per file) and
never constructed: values stay text, with their line. JSON and TOML are parsed as data (TOML with `tomllib`, on
Python 3.11 and later); their lines are found by looking the value up in the text after its key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from policy.scan.inventory.commands import commands, scan_command, words
from policy.scan.inventory.common import FileResult, Found
from policy.scan.inventory.shapes import hub_id, is_model_setting

try:  # the standard library's TOML parser is 3.11+; on 3.10 TOML files are not read (the inventory says so)
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    _toml = None  # type: ignore[assignment]

TOML_AVAILABLE = _toml is not None
MAX_FOUND = 2000
MAX_NODES = 200_000  # values walked per file
ENV_KEYS = frozenset({"environment", "env"})
COMMAND_KEYS = frozenset({"command", "args", "entrypoint", "cmd"})


# -- YAML: composed nodes, with their marks ----------------------------------------------------------------------
def scan_yaml(text: str) -> FileResult:
    import yaml

    from policy.yamlload import compose_documents

    found: list[Found] = []
    try:
        for root in compose_documents(text):
            _walk_nodes(root, found)
            if len(found) > MAX_FOUND:
                break
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())[:160]
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        return FileResult(tuple(found[:MAX_FOUND]), ((f"not valid YAML: {problem}", line, column),))
    return FileResult(tuple(found[:MAX_FOUND]))


def _scalar(node: Any) -> str | None:
    import yaml

    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":str"):
        return str(node.value)
    return None


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def _walk_nodes(root: Any, found: list[Found]) -> None:
    import yaml

    stack = [root]
    seen = 0
    while stack and seen < MAX_NODES:
        node = stack.pop()
        seen += 1
        if isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
            continue
        if not isinstance(node, yaml.MappingNode):
            continue
        for key_node, value in node.value:
            key = _scalar(key_node)
            if key is not None:
                low = key.lower()
                if low in ENV_KEYS:
                    _yaml_env(value, found)
                elif low in COMMAND_KEYS:
                    _yaml_command(value, found, key)
                elif is_model_setting(key):
                    items = value.value if isinstance(value, yaml.SequenceNode) else [value]
                    for item in items[:100]:
                        text = _scalar(item)
                        if text is not None and hub_id(text):
                            found.append(Found(text, "hub", _line(item), "config", f"{key}:",
                                               column=int(item.start_mark.column) + 1))
            if isinstance(value, yaml.MappingNode | yaml.SequenceNode):
                stack.append(value)


def _yaml_env(node: Any, found: list[Found]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):  # compose: {NAME: value}
        for key_node, value in node.value:
            name, text = _scalar(key_node), _scalar(value)
            if name and text is not None:
                found.extend(_env(name, text, _line(value), "environment"))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            text = _scalar(item)
            if text is not None and "=" in text:  # compose: ["NAME=value"]
                name, _, value = text.partition("=")
                found.extend(_env(name.strip(), value.strip(), _line(item), "environment"))
            elif isinstance(item, yaml.MappingNode):  # Kubernetes: [{name: NAME, value: value}]
                fields = {_scalar(k): v for k, v in item.value}
                name, value_node = _scalar(fields.get("name")), fields.get("value")
                text = _scalar(value_node) if value_node is not None else None
                if name and text is not None:
                    found.extend(_env(name, text, _line(value_node), "env"))


def _env(name: str, value: str, line: int, where: str) -> list[Found]:
    from policy.scan.inventory.commands import env_assignment

    return env_assignment(name, value, line, detail=f"{where} {name}")


def _yaml_command(node: Any, found: list[Found], key: str) -> None:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        tokens = [t for t in (_scalar(item) for item in node.value[:1000]) if t is not None]
        line = _line(node)
        # a list may hold a shell line (`["sh", "-c", "vllm serve org/name"]`): its words are read too
        tokens = [w for t in tokens for w in (words(t) if " " in t else [t])]
    else:
        text = _scalar(node)
        if text is None:
            return
        tokens, line = words(text), _line(node)
    for command in commands(tokens):
        found.extend(scan_command(command, line, detail_prefix=f"{key}: "))


# -- JSON and TOML: data, lines looked up in the text -----------------------------------------------------------------
class _Lines:
    """The line of a value in a text, found after its key (a cursor keeps later keys after earlier ones)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cursor = 0

    def line_of(self, key: str, value: str) -> int:
        at = self.text.find(key, self.cursor)
        if at < 0:
            at = self.text.find(key)
        where = self.text.find(value, max(at, 0))
        if where < 0:
            where = self.text.find(value)
        if where < 0:
            return 0
        self.cursor = where
        return self.text.count("\n", 0, where) + 1


def _walk_data(data: Any, lines: _Lines, found: list[Found]) -> None:
    stack: list[Any] = [data]
    seen = 0
    while stack and seen < MAX_NODES and len(found) <= MAX_FOUND:
        node = stack.pop()
        seen += 1
        if isinstance(node, list):
            stack.extend(reversed(node[:10_000]))
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if not isinstance(key, str):
                continue
            low = key.lower()
            if low in ENV_KEYS and isinstance(value, dict | list):
                for name, text in _data_env(value):
                    found.extend(_env(name, text, lines.line_of(name, text), "environment"))
            elif low in COMMAND_KEYS and isinstance(value, str | list):
                tokens = words(value) if isinstance(value, str) else [str(v) for v in value[:1000]]
                line = lines.line_of(key, tokens[0]) if tokens else 0
                for command in commands(tokens):
                    found.extend(scan_command(command, line, detail_prefix=f"{key}: "))
            elif is_model_setting(key):
                for item in (value[:100] if isinstance(value, list) else [value]):
                    if isinstance(item, str) and hub_id(item):
                        found.append(Found(item, "hub", lines.line_of(key, item), "config", f"{key}:"))
            if isinstance(value, dict | list):
                stack.append(value)


def _data_env(value: dict[str, Any] | list[Any]) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for name, text in value.items():
            if isinstance(name, str) and isinstance(text, str):
                yield name, text
        return
    for item in value[:1000]:
        if isinstance(item, str) and "=" in item:
            name, _, text = item.partition("=")
            yield name.strip(), text.strip()
        elif isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str):
            yield item["name"], item["value"]


def scan_json(text: str) -> FileResult:
    try:
        data = json.loads(text)
    except RecursionError:
        return FileResult(problems=(("nested too deeply to parse", 0, 0),))
    except ValueError as exc:
        line, column = getattr(exc, "lineno", 0), getattr(exc, "colno", 0)
        return FileResult(problems=((f"not valid JSON: {getattr(exc, 'msg', exc)}", line, column),))
    found: list[Found] = []
    _walk_data(data, _Lines(text), found)
    return FileResult(tuple(found[:MAX_FOUND]))


def load_toml(text: str) -> dict[str, Any] | None:
    """TOML as data, or None where the running Python has no TOML parser."""
    if _toml is None:
        return None
    return _toml.loads(text)


def scan_toml(text: str) -> FileResult:
    if _toml is None:
        return FileResult(problems=(("TOML is read on Python 3.11 and later", 0, 0),))
    try:
        data = _toml.loads(text)
    except RecursionError:
        return FileResult(problems=(("nested too deeply to parse", 0, 0),))
    except ValueError as exc:  # tomllib.TOMLDecodeError
        message = str(exc)
        return FileResult(problems=((f"not valid TOML: {message[:160]}", 0, 0),))
    found: list[Found] = []
    _walk_data(data, _Lines(text), found)
    return FileResult(tuple(found[:MAX_FOUND]))
