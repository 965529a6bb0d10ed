"""The package's shape, read from its own imports (DESIGN §10): stage folders, nothing imported upward, no
import circle, about a dozen modules at the top of policy/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "policy"
# The order data flows; a module may import its own folder, lower stages and the ground floor (stage 0).
STAGE = {"model": 1, "scan": 2, "evidence": 2, "engine": 3, "pipeline": 4, "render": 5, "documents": 5,
         "lint": 5, "audit": 5, "cli": 6}
MAX_TOP_LEVEL = 12


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        if "_data" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(_resolve(a.name, modules) for a in node.names if a.name.startswith("policy"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{anchor}.{node.module}" if node.module else anchor
            else:
                target = node.module or ""
            if target.startswith("policy"):
                found.update(_resolve(f"{target}.{a.name}", modules) or _resolve(target, modules)
                             for a in node.names)
    return {m for m in found if m is not None and m != name}


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return 0 if len(parts) <= 2 else STAGE.get(parts[1])


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_folder_is_a_known_stage() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(STAGE), f"folders that are no stage of DESIGN §10: {sorted(folders - set(STAGE))}"
    assert {"model", "scan", "engine", "pipeline", "render", "cli"} <= folders


def test_about_a_dozen_modules_at_the_top() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_LEVEL, top


def test_nothing_is_imported_upward() -> None:
    upward = sorted(f"{a} (stage {_stage(a)}) imports {b} (stage {_stage(b)})"
                    for a, targets in _graph().items() for b in targets
                    if _stage(a) is not None and _stage(b) is not None and _stage(b) > _stage(a))  # type: ignore[operator]
    assert not upward, "\n".join(upward)


def test_no_import_circle() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, circles


def test_the_checker_sees_a_planted_upward_import(tmp_path: Path) -> None:
    """The rules above can fail: an import from the ground floor into a stage is found."""
    modules = {"policy.errors": tmp_path / "errors.py", "policy.render.text": tmp_path / "text.py"}
    (tmp_path / "errors.py").write_text("from policy.render.text import printable\n", encoding="utf-8")
    found = _imports("policy.errors", modules["policy.errors"], modules)
    assert found == {"policy.render.text"}
    assert _stage("policy.render.text") > _stage("policy.errors")  # type: ignore[operator]
