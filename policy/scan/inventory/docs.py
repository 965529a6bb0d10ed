"""Documentation: Markdown files, Jupyter notebooks, and the links of reStructuredText files.

In prose, a model is named by a link to its Hub page (`https://huggingface.co/org/name`) or by its id in inline
code (`` `org/name` ``, with a Hub id's shape); code blocks are read as what they are (Python by its syntax tree,
shell lines as command lines). A notebook's Markdown cells are prose, its code cells Python (`!` lines are shell
commands, `%` magics are left out). Where they are depends on where the file is (policy.scan.inventory.walk:
documentation is its own scope, never judged unless asked).
"""

from __future__ import annotations

import json
import re
from typing import Any

from policy.records import record
from policy.scan.inventory import python
from policy.scan.inventory.commands import scan_shell
from policy.scan.inventory.common import FileResult, Found
from policy.scan.inventory.shapes import hub_ids_in_text, named_in_prose

PYTHON_FENCES = frozenset({"python", "py", "python3", "ipython", "ipython3", "pycon", "jupyter"})
SHELL_FENCES = frozenset({"bash", "sh", "shell", "console", "zsh", "shell-session", "dockerfile", "terminal"})
_FENCE = re.compile(r"^\s{0,3}(```+|~~~+)\s*([A-Za-z0-9_+-]*)")
_INLINE_CODE = re.compile(r"`([^`\s]{3,200})`")
MAX_CELLS = 5000
MAX_FOUND = 2000


@record
class _Block:
    language: str
    start: int  # the line before the block's first line
    lines: tuple[str, ...]


def scan_markdown(text: str, *, cell: int = 0) -> FileResult:
    found: list[Found] = []
    pending: list[Any] = []
    fence: str | None = None
    language = ""
    start = 0
    block: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, language, start, block = match.group(1), match.group(2).lower(), number, []
                continue
            for hub in hub_ids_in_text(line):
                found.append(Found(hub, "hub", number, "docs", "link to the Hub", cell=cell))
            for code in _INLINE_CODE.findall(line):
                hub = named_in_prose(code)
                if hub:
                    found.append(Found(hub, "hub", number, "docs", "named in the text", cell=cell))
        elif match and match.group(1).startswith(fence[0]) and len(match.group(1)) >= len(fence) \
                and not match.group(2):
            _block(_Block(language, start, tuple(block)), found, pending, cell)
            fence = None
        else:
            block.append(line)
        if len(found) > MAX_FOUND:
            break
    if fence is not None:
        _block(_Block(language, start, tuple(block)), found, pending, cell)
    return FileResult(tuple(found[:MAX_FOUND]), (), tuple(pending))


def scan_links(text: str) -> FileResult:
    """Links to the Hub only (reStructuredText, whose inline literals and code blocks are not read)."""
    found = [Found(hub, "hub", number, "docs", "link to the Hub") for number, line in enumerate(text.splitlines(), 1)
             for hub in hub_ids_in_text(line)]
    return FileResult(tuple(found[:MAX_FOUND]))


def _block(block: _Block, found: list[Found], pending: list[Any], cell: int) -> None:
    if block.language in PYTHON_FENCES:
        lines = [re.sub(r"^(>>>|\.\.\.) ?", "", line) for line in block.lines]
        result = python.analyse(_python_source(lines), cell=cell, line_offset=block.start)
        found.extend(result.found)  # a block that does not parse is left alone: documentation shows fragments
        pending.extend(result.pending)
    elif block.language in SHELL_FENCES or not block.language:
        result_ = scan_shell("\n".join(block.lines), line_offset=block.start, prompt=True)
        found.extend(Found(f.id, f.kind, f.line, f.use, f.detail, f.setting, f.column, cell) for f in result_.found)
    else:  # another language: links only
        for offset, line in enumerate(block.lines, 1):
            for hub in hub_ids_in_text(line):
                found.append(Found(hub, "hub", block.start + offset, "docs", "link to the Hub", cell=cell))


def _python_source(lines: list[str]) -> str:
    """Python lines with IPython's `!command` and `%magic` lines blanked (their line numbers kept)."""
    return "\n".join("" if line.lstrip().startswith(("!", "%")) else line for line in lines)


def scan_notebook(text: str) -> FileResult:
    try:
        data = json.loads(text)
    except RecursionError:
        return FileResult(problems=(("nested too deeply to parse", 0, 0),))
    except ValueError as exc:
        return FileResult(problems=((f"not a notebook (not JSON: {getattr(exc, 'msg', exc)})",
                                     getattr(exc, "lineno", 0), getattr(exc, "colno", 0)),))
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return FileResult(problems=(("not a notebook (no cells)", 0, 0),))
    found: list[Found] = []
    pending: list[Any] = []
    for index, cell in enumerate(cells[:MAX_CELLS], 1):
        if not isinstance(cell, dict):
            continue
        source = cell.get("source")
        text_ = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else \
            source if isinstance(source, str) else ""
        if cell.get("cell_type") == "markdown":
            result = scan_markdown(text_, cell=index)
            found.extend(result.found)
            pending.extend(result.pending)
        elif cell.get("cell_type") == "code":
            lines = text_.splitlines()
            shell = "\n".join(line.lstrip()[1:] if line.lstrip().startswith("!") else "" for line in lines)
            found.extend(Found(f.id, f.kind, f.line, f.use, f.detail, f.setting, f.column, index)
                         for f in scan_shell(shell).found)
            code = python.analyse(_python_source(lines), cell=index)
            found.extend(code.found)
            pending.extend(code.pending)
        if len(found) > MAX_FOUND:
            break
    return FileResult(tuple(found[:MAX_FOUND]), (), tuple(pending))
