"""The one sandboxed Jinja environment: rule messages now, reports and annexes later."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment


@cache
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["via"] = lambda via: " > ".join(via or ()) or "(direct)"
    return env


@cache
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def check_template(source: str, allowed: Iterable[str]) -> str | None:
    """None when `source` compiles and uses only `allowed` top-level names; else the problem."""
    env = environment()
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message} (template line {exc.lineno})"
    internal = _internal_access(ast)
    if internal:
        return (f"template reaches into Python internals ({internal}); attributes and keys starting with '_' "
                "and object internals such as mro are not available to templates")
    unknown = sorted(meta.find_undeclared_variables(ast) - set(allowed))
    if unknown:
        return f"unknown template variable(s): {', '.join(unknown)} (available: {', '.join(sorted(allowed))})"
    return None


# Attribute names that lead from any object to Python's internals without a leading underscore.
_INTERNAL_NAMES = frozenset({"mro", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals",
                             "f_locals", "f_builtins", "f_back", "tb_frame", "tb_next", "func_globals",
                             "im_func", "im_self", "im_class"})


def _internal_access(ast: nodes.Template) -> str | None:
    """The first `x._name` / `x['_name']` / `x.mro` / `x|attr('_name')` in the template, or None."""
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        name: Any = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const):
                name = node.arg.value
            elif not isinstance(node.arg, nodes.Name | nodes.Getattr | nodes.Getitem):
                return "a key computed from an expression"  # `x['_' ~ '_class__']`
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            if not (node.args and isinstance(node.args[0], nodes.Const)):
                return "|attr() with a computed name"
            name = node.args[0].value
        if isinstance(name, str) and (name.startswith("_") or name in _INTERNAL_NAMES):
            return f".{name}" if not isinstance(node, nodes.Getitem) else f"[{name!r}]"
    return None


def render(source: str, context: Mapping[str, Any]) -> str:
    return " ".join(_compiled(source).render(**context).split())
