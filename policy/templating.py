"""Sandboxed Jinja, the only way templates run: rule messages, and the documents (reports, annexes) rendered
from finished reports. Nothing here ever compiles text that came from a card: card values are data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:  # jinja2 costs ~30 ms to import: a check whose card has no finding never needs it
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment


@cache
def environment() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["via"] = lambda via: " > ".join(via or ()) or "(direct)"
    return env


@cache
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def check_template(source: str, allowed: Iterable[str]) -> str | None:
    """None when `source` compiles and uses only `allowed` top-level names; else the problem."""
    from jinja2 import TemplateSyntaxError, meta

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
    from jinja2 import nodes

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


# --- documents (reports, annexes) ----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_escape(value: Any) -> str:
    """A value for Markdown: its markup characters escaped, so that text from a card (`<script>`, `[x](y)`,
    `|`) renders as the text it is. Line breaks become spaces (a table cell or a list item stays one line)."""
    if isinstance(value, Markup):
        return str(value)
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def _finalize_markdown(value: Any) -> Any:
    """Every `{{ ... }}` of a Markdown template is escaped unless the template marks it safe (`|safe`)."""
    if value is None or isinstance(value, bool | int | float | Markup):
        return value
    return md_escape(value)


@cache
def document_environment(template_dirs: Sequence[str] = (), kind: str = "text") -> SandboxedEnvironment:
    """The sandboxed environment for document templates: the user's folders first, then the shipped
    `templates/`. `kind` is `html` (autoescape everything), `markdown` (escape every value for Markdown) or
    `text` (values as they are, for formats that escape in code)."""
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from policy.resources import templates_dir

    loader = ChoiceLoader([FileSystemLoader(str(Path(d))) for d in template_dirs]
                         + [FileSystemLoader(str(templates_dir()))])
    env = SandboxedEnvironment(
        loader=loader, undefined=StrictUndefined, autoescape=kind == "html", trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True,
        finalize=_finalize_markdown if kind == "markdown" else None)
    env.filters["via"] = lambda via: " > ".join(via or ()) or "(direct)"
    env.filters["md"] = md_escape
    return env


def render_document_template(name: str, context: Mapping[str, Any], template_dirs: Sequence[str | Path] = (),
                             kind: str = "text") -> str:
    env = document_environment(tuple(str(d) for d in template_dirs), kind)
    return env.get_template(name).render(**context)

