"""What the distribution ships and declares: the license text it names, and every library it imports."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_apache_license_it_declares_is_shipped() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'(?m)^license = "Apache-2.0"$', pyproject)
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # the installed distribution's metadata names the file (hatchling puts it in the wheel's dist-info/licenses)
    assert "LICENSE" in (md.metadata("policycheck").get_all("License-File") or [])


def _third_party_imports() -> set[str]:
    """Top-level names of the modules policy/ imports that are neither the standard library nor policy."""
    found: set[str] = set()
    for path in (ROOT / "policy").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            found.update(n.split(".")[0] for n in names)
    return {n for n in found if n != "policy" and n not in sys.stdlib_module_names}


def _requirement_name(spec: str) -> str:
    return re.split(r"[\s;\[<>=!~]", spec, maxsplit=1)[0].lower().replace("_", "-")


# The extras (pyproject's optional-dependencies): the output formats' libraries, imported only when their format
# is written, and DuckDB, imported only to read a Hub metadata snapshot (tree --snapshot, hub-audit).
FORMAT_EXTRAS = ("spdx", "cyclonedx", "docx", "snapshot")


def test_every_imported_library_is_a_declared_runtime_dependency() -> None:
    requires = md.requires("policycheck") or []
    runtime = {_requirement_name(r) for r in requires if "extra ==" not in r}
    runtime |= {_requirement_name(r) for r in requires
                if any(re.search(rf"""extra == ["']{extra}["']""", r) for extra in FORMAT_EXTRAS)}
    providers = md.packages_distributions()
    undeclared = {}
    for module in sorted(_third_party_imports()):
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        assert dists, f"policy/ imports {module}, which no installed distribution provides"
        if not dists & runtime:
            undeclared[module] = sorted(dists)
    assert not undeclared, f"imported but not declared in [project] dependencies: {undeclared}"


def test_the_hook_path_imports_no_optional_format_library() -> None:
    """The pre-commit hook's environment holds the core dependencies only: neither the command line nor `lint`
    imports an output format's extra (SPDX, CycloneDX, Word)."""
    import subprocess

    code = ("import sys; from policy.cli import entry; from policy.lint import checks, naming, output; "
            "from policy.pipeline import session; "
            "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
            "('spdx_tools', 'cyclonedx', 'docxtpl', 'docx', 'lxml', 'rdflib', 'duckdb')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                         cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
