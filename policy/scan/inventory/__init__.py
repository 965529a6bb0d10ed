"""The inventory of a code repository: every model it references, found without executing or importing any of it.

`take_inventory(root)` walks the tree (policy.scan.inventory.walk), gives each file to the reader of its type
(Python: `python`; YAML, JSON, TOML: `configs`; shell scripts, Dockerfiles, Modelfiles: `commands`; Markdown
and notebooks: `docs`; GGUF and safetensors headers and model configurations: `weights`), resolves the
constants one module imports from another once every module of the tree is known, and gathers what was found
into one `Inventory` (policy.model.inventory): each model once, with every location.

A repository is untrusted input: nothing in it is run or imported, files are read bounded and without following
symbolic links, binary files are not read (but for the bounded headers of weight files), and every bound that
stops the walk makes the inventory say it is incomplete. A file a reader cannot read (a syntax error, broken
YAML, a file too large) is listed with the reason, and the walk goes on.
"""

from __future__ import annotations

import os
import posixpath
import time
from pathlib import Path

from policy.errors import UsageError
from policy.model.inventory import SCOPE_RANK, Inventory, Location, ModelUse, Skipped, WalkStats, order
from policy.scan.inventory import commands, configs, docs, python, weights
from policy.scan.inventory.common import FileResult, Found, Limits, decode, read_bounded
from policy.scan.inventory.walk import WalkState, scope_of, walk

__all__ = ["Limits", "take_inventory"]

MAX_IMPORT_DEPTH = 3  # `from a import X` where a has `from b import X`: followed this many modules deep
MAX_MODULES_PARSED = 2000  # modules parsed to resolve imported constants


class _Models:
    """The models found so far, each once (Hub and API ids without regard to case), with their locations."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.models: dict[tuple[str, str], dict[str, object]] = {}
        self.dropped = 0  # models found beyond limits.max_models

    def add(self, found: Found, rel: str, scope: str) -> None:
        key = (found.kind, found.id if found.kind == "local-weights" else found.id.lower())
        model = self.models.get(key)
        if model is None:
            if len(self.models) >= self.limits.max_models:
                self.dropped += 1
                return
            model = self.models[key] = {"id": found.id, "kind": found.kind, "locations": {}, "license": None,
                                        "bases": {}, "files": {}, "notes": {}, "more": 0}
        locations: dict[tuple[object, ...], Location] = model["locations"]  # type: ignore[assignment]
        where = (rel, found.line, found.cell, found.use)
        if where not in locations:
            if len(locations) >= self.limits.max_locations:
                model["more"] = int(model["more"]) + 1  # type: ignore[call-overload]
            else:
                locations[where] = Location(rel, found.line, found.use, scope, found.detail, found.setting,
                                            found.column, found.cell)
        if found.license and not model["license"]:
            model["license"] = found.license
        model["bases"].update(dict.fromkeys(found.base_models))  # type: ignore[attr-defined]
        if found.weight_file and found.use == "weights":
            model["files"][found.weight_file] = None  # type: ignore[index]
        if found.note:
            model["notes"][found.note] = None  # type: ignore[index]

    def result(self) -> tuple[ModelUse, ...]:
        out = []
        for model in self.models.values():
            locations = sorted(model["locations"].values(),  # type: ignore[attr-defined]
                               key=lambda loc: (SCOPE_RANK[loc.scope], loc.file, loc.cell, loc.line, loc.use))
            notes = list(model["notes"])  # type: ignore[call-overload]
            if model["more"]:
                notes.append(f"{model['more']} more location(s) not listed")
            out.append(ModelUse(id=str(model["id"]), kind=str(model["kind"]), locations=tuple(locations),
                                license=model["license"],  # type: ignore[arg-type]
                                base_models=tuple(model["bases"]),  # type: ignore[call-overload]
                                files=tuple(sorted(model["files"])),  # type: ignore[call-overload]
                                notes=tuple(notes)))
        out.sort(key=order)
        return tuple(out)


def _read_text(path: str, rel: str, limits: Limits, state: WalkState) -> tuple[str | None, int]:
    read = read_bounded(path, limits.max_file_bytes)
    if read.problem:
        state.problem(rel, read.problem, limits.max_skipped_listed)
        return None, 0
    text = decode(read.data)
    if text is None:
        state.problem(rel, "binary or not UTF-8 text, not read", limits.max_skipped_listed)
    return text, len(read.data)


def _read_file(ftype: str, path: str, rel: str, limits: Limits, state: WalkState) -> tuple[FileResult, int]:
    """What the reader of `ftype` finds in one file, and the bytes read."""
    if ftype == "gguf":
        return weights.read_gguf(path, rel, limits)
    if ftype == "safetensors":
        return weights.read_safetensors(path, rel, limits)
    if ftype == "toml" and not configs.TOML_AVAILABLE:
        return FileResult(), 0  # said once in the inventory's notes
    name = posixpath.basename(rel)
    if ftype == "json" and name in weights.FOLDER_FILES:
        return FileResult(), 0
    if ftype == "python":
        read = read_bounded(path, limits.max_file_bytes)
        if read.problem:
            state.problem(rel, read.problem, limits.max_skipped_listed)
            return FileResult(), 0
        if not python.triggered(read.data):
            return FileResult(), len(read.data)
        text = decode(read.data)
        if text is None:
            state.problem(rel, "not UTF-8 text, not read", limits.max_skipped_listed)
            return FileResult(), len(read.data)
        return python.file_result(python.analyse(text)), len(read.data)
    text, size = _read_text(path, rel, limits, state)
    if text is None:
        return FileResult(), size
    if ftype == "json":
        if name in weights.MODEL_CONFIGS:
            found = weights.model_config(text, rel)
            if found is not None:
                return found, size
        return configs.scan_json(text), size
    readers = {
        "yaml": lambda: configs.scan_yaml(text),
        "toml": lambda: configs.scan_toml(text),
        "shell": lambda: commands.scan_shell(text),
        "dockerfile": lambda: commands.scan_dockerfile(text),
        "modelfile": lambda: commands.scan_modelfile(text, posixpath.dirname(rel)),
        "markdown": lambda: docs.scan_markdown(text),
        "rst": lambda: docs.scan_links(text),
        "notebook": lambda: docs.scan_notebook(text),
    }
    return readers[ftype](), size


class _Imports:
    """Constants one module imports from another of the tree, resolved once every module is known."""

    def __init__(self, root: str, modules: set[str], limits: Limits, state: WalkState) -> None:
        self.root = root
        self.modules = modules  # every .py file of the tree (relative paths)
        self.limits = limits
        self.state = state
        self.parsed: dict[str, python.ModuleIndex | None] = {}

    def module_file(self, importer: str, module: str, level: int) -> str | None:
        parts = [p for p in module.split(".") if p] if module else []
        if level:
            base = posixpath.dirname(importer)
            for _ in range(level - 1):
                base = posixpath.dirname(base)
            candidates = [posixpath.join(base, *parts)] if parts else [base]
        else:
            if not parts:
                return None
            candidates = [posixpath.join(*parts), posixpath.join("src", *parts)]
            # the importer's own top folder (a project kept under `backend/` imports `app.config`)
            top = importer.split("/", 1)[0] if "/" in importer else ""
            if top and top != parts[0]:
                candidates.append(posixpath.join(top, *parts))
        for candidate in candidates:
            candidate = candidate.lstrip("/") if candidate not in ("", ".") else ""
            for path in (f"{candidate}.py", posixpath.join(candidate, "__init__.py") if candidate else "__init__.py"):
                if path in self.modules:
                    return path
        return None

    def index(self, rel: str) -> python.ModuleIndex | None:
        if rel in self.parsed:
            return self.parsed[rel]
        index: python.ModuleIndex | None = None
        if len(self.parsed) < MAX_MODULES_PARSED:
            read = read_bounded(os.path.join(self.root, *rel.split("/")), self.limits.max_file_bytes)
            text = decode(read.data) if not read.problem else None
            if text is not None:
                try:
                    index = python.ModuleIndex(text)
                except (SyntaxError, RecursionError, MemoryError, ValueError):
                    index = None
        self.parsed[rel] = index
        return index

    def resolve(self, importer: str, pending: python.Pending) -> list[Found]:
        out: list[Found] = []
        todo: list[tuple[str, python.Ref, int]] = [(importer, pending.ref, 0)]
        while todo:
            where, ref, depth = todo.pop()
            target = self.module_file(where, ref.module, ref.level)
            index = self.index(target) if target else None
            if index is None or target is None:
                continue
            for value in index.constant(ref.name):
                if isinstance(value, python.Ref):
                    if depth + 1 < MAX_IMPORT_DEPTH:
                        todo.append((target, python.Ref(value.module, value.level, value.name,
                                                        value.setting or ref.setting), depth + 1))
                    continue
                setting = value.setting or ref.setting
                how = "" if value.how == ref.name else value.how  # the name itself is said by `via`
                found = python.make_found(python.Value(value.text, setting, how), pending.spec, pending.line,
                                          pending.column, pending.cell, via=f"{ref.name} from {target}")
                if found is not None:
                    out.append(found)
        return out


def _application(root: Path) -> tuple[str, str]:
    """The application's name and version: its pyproject.toml's `[project]`, else its package.json, else the
    folder's name."""
    read = read_bounded(str(root / "pyproject.toml"), 1024 * 1024)
    text = decode(read.data) if not read.problem else None
    if text:
        try:
            data = configs.load_toml(text) or {}
        except ValueError:
            data = {}
        project = data.get("project") if isinstance(data.get("project"), dict) else \
            (data.get("tool", {}).get("poetry") if isinstance(data.get("tool"), dict) else None)
        if isinstance(project, dict) and isinstance(project.get("name"), str):
            version = project.get("version")
            return project["name"][:200], version[:100] if isinstance(version, str) else ""
    read = read_bounded(str(root / "package.json"), 1024 * 1024)
    text = decode(read.data) if not read.problem else None
    if text:
        import json

        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            version = data.get("version")
            return data["name"][:200], version[:100] if isinstance(version, str) else ""
    return root.resolve().name or str(root), ""


def take_inventory(root: str | Path, limits: Limits | None = None) -> Inventory:
    """The inventory of the repository at `root` (a folder). UsageError when `root` is not a folder."""
    limits = limits or Limits()
    path = Path(root)
    if not path.is_dir():
        raise UsageError(f"{root}: no such folder" if not path.exists() else f"{root}: not a folder")
    started = time.monotonic()
    state = WalkState()
    models = _Models(limits)
    modules: set[str] = set()
    pending: list[tuple[str, str, python.Pending]] = []
    files_read = bytes_read = 0
    toml_seen = False
    for ftype, file_path, rel in walk(str(path), limits, state):
        if ftype == "python":
            modules.add(rel)
        if files_read >= limits.max_files:
            state.stopped = f"more than {limits.max_files:,} files to read"
            break
        if bytes_read >= limits.max_total_bytes:
            state.stopped = f"more than {limits.max_total_bytes // (1024 * 1024):,} MiB read"
            break
        toml_seen = toml_seen or ftype == "toml"
        files_read += 1
        result, size = _read_file(ftype, file_path, rel, limits, state)
        bytes_read += size
        scope = scope_of(rel, ftype)
        for found in result.found:
            models.add(found, rel, scope)
        for reason, line, column in result.problems:
            state.problem(f"{rel}:{line}:{column}" if line else rel, reason, limits.max_skipped_listed)
        for item in result.pending:
            if isinstance(item, python.Pending) and len(pending) < limits.max_pending:
                pending.append((rel, scope, item))
            elif isinstance(item, python.Pending):
                state.stopped = state.stopped or f"more than {limits.max_pending:,} names imported to resolve"
    imports = _Imports(str(path), modules, limits, state)
    for rel, scope, item in pending:
        for found in imports.resolve(rel, item):
            models.add(found, rel, scope)
    if models.dropped:
        state.stopped = state.stopped or f"more than {limits.max_models:,} models"
    notes = []
    if toml_seen and not configs.TOML_AVAILABLE:
        notes.append("TOML files were not read: Python 3.10 has no TOML parser (3.11 and later read them)")
    if state.skipped_dirs:
        notes.append(f"{state.skipped_dirs} folder(s) not walked: version control, node_modules, tool caches and "
                     "virtual environments")
    name, version = _application(path)
    stats = WalkStats(entries=state.entries, files_read=files_read, bytes_read=bytes_read, not_read=state.not_read,
                      seconds=time.monotonic() - started)
    skipped = tuple(_skipped(rel, reason) for rel, reason in state.problems)
    return Inventory(root=str(root), name=name, version=version, models=models.result(), skipped=skipped,
                     skipped_total=state.problem_count, stats=stats, incomplete=state.stopped, notes=tuple(notes))


def _skipped(where: str, reason: str) -> Skipped:
    file, line, column = where, 0, 0
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        file, line, column = parts[0], int(parts[1]), int(parts[2])
    return Skipped(file, reason, line, column)
