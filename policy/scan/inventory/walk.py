"""The walk of a repository: which files are read, by which reader, in which scope.

`os.scandir`, sorted, depth-first, bounded in depth and in entries. Symbolic links are never followed (a link
that points into the tree names a file the walk reaches at its own place; one that points outside is not the
repository's). Not walked: version-control folders, `node_modules`, caches of tools (`__pycache__`, `.tox`,
`.mypy_cache`, ...), notebook checkpoints and virtual environments (a folder holding `pyvenv.cfg`, or named
`.venv` / `venv`): they are not what the application's authors wrote. The root itself is always walked, so a
`site-packages` folder given as the root is read whole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from policy.scan.inventory.common import Limits

SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "node_modules", "__pycache__", ".tox", ".nox", ".mypy_cache",
                       ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints", ".venv", "venv", ".eggs",
                       ".cache", ".gradle", ".idea", ".vscode", ".terraform", "bower_components"})
TEST_DIRS = frozenset({"tests", "test", "testing", "__tests__", "spec", "specs", "unittests", "unit_tests",
                       "integration_tests", "e2e"})
DOCS_DIRS = frozenset({"docs", "doc", "documentation", "examples", "example", "notebooks", "tutorials",
                       "tutorial", "cookbook", "samples", "sample"})
_TEST_FILE = re.compile(r"(test_.*|.*_tests?|conftest)\.py", re.IGNORECASE)

# file type by name: the reader that reads it
_BY_SUFFIX = {".py": "python", ".ipynb": "notebook", ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown",
              ".rst": "rst", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".sh": "shell",
              ".bash": "shell", ".zsh": "shell", ".env": "shell", ".gguf": "gguf", ".safetensors": "safetensors",
              ".dockerfile": "dockerfile", ".modelfile": "modelfile"}
_SHELL_NAMES = frozenset({"Makefile", "makefile", "GNUmakefile", "justfile", "Justfile", "Procfile", ".env"})
DOC_TYPES = frozenset({"markdown", "rst", "notebook"})


def file_type(name: str) -> str | None:
    """The reader of a file by its name, or None (not read)."""
    if name in ("Dockerfile", "Containerfile") or name.startswith(("Dockerfile.", "Containerfile.")):
        return "dockerfile"
    if name == "Modelfile" or name.startswith("Modelfile."):
        return "modelfile"
    if name in _SHELL_NAMES or name.startswith(".env."):
        return "shell"
    dot = name.rfind(".")
    return _BY_SUFFIX.get(name[dot:].lower()) if dot > 0 or name.startswith(".env") else None


def scope_of(rel: str, ftype: str) -> str:
    """runtime, test or docs, by the file's place and type: a test file (`test_*.py`, `conftest.py`) or a file
    under a tests folder is test; Markdown, notebooks and what is under a docs or examples folder is docs;
    everything else is the application."""
    parts = rel.split("/")
    name = parts[-1]
    folders = [p.lower() for p in parts[:-1]]
    if ftype == "python" and _TEST_FILE.fullmatch(name):
        return "test"
    if ftype in DOC_TYPES:
        return "test" if any(f in TEST_DIRS for f in folders) else "docs"
    if any(f in TEST_DIRS for f in folders):
        return "test"
    if any(f in DOCS_DIRS for f in folders):
        return "docs"
    return "runtime"


@dataclass
class WalkState:
    """What the walk counted, and why it stopped early ("" when it did not)."""

    entries: int = 0
    not_read: int = 0
    skipped_dirs: int = 0
    stopped: str = ""
    problems: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    problem_count: int = 0

    def problem(self, rel: str, reason: str, limit: int) -> None:
        self.problem_count += 1
        if len(self.problems) < limit:
            self.problems.append((rel, reason))


def walk(root: str, limits: Limits, state: WalkState) -> Iterator[tuple[str, str, str]]:
    """(file type, path, path relative to the root with `/`) of every file a reader reads, in sorted order."""
    stack: list[tuple[str, str, int]] = [(root, "", 0)]
    while stack:
        folder, prefix, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = []
                for entry in it:
                    state.entries += 1
                    if state.entries > limits.max_entries:
                        state.stopped = f"more than {limits.max_entries:,} entries in the tree"
                        return
                    entries.append(entry)
        except OSError as exc:
            state.problem(prefix.rstrip("/") or ".", f"folder cannot be listed ({exc.strerror or exc})",
                          limits.max_skipped_listed)
            continue
        entries.sort(key=lambda e: e.name)
        folders: list[tuple[str, str, int]] = []
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    state.problem(rel, "symbolic link, not followed", limits.max_skipped_listed)
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file(follow_symlinks=False)
            except OSError:
                state.problem(rel, "cannot be examined", limits.max_skipped_listed)
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    state.skipped_dirs += 1
                    continue
                if depth + 1 > limits.max_depth:
                    state.problem(rel, f"deeper than {limits.max_depth} folders, not walked",
                                  limits.max_skipped_listed)
                    continue
                folders.append((entry.path, rel + "/", depth + 1))
            elif is_file:
                ftype = file_type(entry.name)
                if ftype is None:
                    state.not_read += 1
                    continue
                yield ftype, entry.path, rel
            else:
                state.not_read += 1  # a FIFO, a socket, a device: never opened
        stack.extend(reversed(folders))
