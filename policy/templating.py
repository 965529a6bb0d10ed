"""Sandboxed Jinja, the only way templates run: rule messages, and the documents (reports, annexes) rendered
from finished reports. Nothing here ever compiles text that came from a card: card values are data.

Every template runs in `policy.sandbox.Sandbox` (immutable, with a step, time, range and size budget). A template
that fails, or goes over its budget, is a configuration error at its file and line (`template_error`): the message
names the kind of failure, never the exception's text, which can quote the data the template was given."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from policy.diagnostics import Diagnostic
from policy.errors import ConfigError

if TYPE_CHECKING:  # jinja2 costs ~30 ms to import: a check whose card has no finding never needs it
    from jinja2 import nodes

    from policy.sandbox import Sandbox


@cache
def environment() -> Sandbox:
    from jinja2 import StrictUndefined

    from policy.sandbox import Sandbox

    env = Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
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
def document_environment(template_dirs: Sequence[str] = (), kind: str = "text") -> Sandbox:
    """The sandboxed environment for document templates: the user's folders first, then the shipped
    `templates/`. `kind` is `html` (autoescape everything), `markdown` (escape every value for Markdown) or
    `text` (values as they are, for formats that escape in code). With the user's folders, renders run on the
    sandbox's step and time budget; policycheck's own templates stream audits of any size without one."""
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined

    from policy.resources import templates_dir
    from policy.sandbox import Sandbox

    loader = ChoiceLoader([FileSystemLoader(str(Path(d))) for d in template_dirs]
                         + [FileSystemLoader(str(templates_dir()))])
    env = Sandbox(
        loader=loader, undefined=StrictUndefined, autoescape=kind == "html", trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True, budgeted=bool(template_dirs),
        finalize=_finalize_markdown if kind == "markdown" else None)
    env.filters["via"] = lambda via: " > ".join(via or ()) or "(direct)"
    env.filters["md"] = md_escape
    return env


def template_folders(folders: Iterable[str | Path] | None) -> tuple[Path, ...]:
    """The `--templates` folders, each checked to be a folder (a name the system refuses, e.g. too long, is
    not one either): a usage error names the first that is not."""
    from policy.errors import UsageError
    from policy.textsafe import printable

    out = tuple(Path(f) for f in folders or ())
    for folder in out:
        try:
            ok = folder.is_dir()
        except OSError:
            ok = False
        if not ok:
            name = printable(folder)
            raise UsageError(f"--templates {name if len(name) <= 80 else name[:79] + '…'}: no such folder")
    return out


def render_document_template(name: str, context: Mapping[str, Any], template_dirs: Sequence[str | Path] = (),
                             kind: str = "text") -> str:
    """Template `name` rendered with `context`. With the user's folders, any failure is the templates' (a
    configuration error at the template's line); policycheck's own templates failing is a bug (exit 4)."""
    env = document_environment(tuple(str(d) for d in template_dirs), kind)
    try:
        return env.get_template(name).render(**context)
    except Exception as exc:
        if not template_dirs:
            raise
        raise template_error(exc, name) from None


# --- template errors -----------------------------------------------------------------------------------------

def template_fault(exc: BaseException) -> str | None:
    """What is wrong with a template whatever data it is given (over a budget, against the sandbox, syntax,
    recursion), in our words; None for a failure that may depend on the data (a missing fact, a type)."""
    from jinja2.exceptions import SecurityError, TemplateNotFound, TemplateSyntaxError

    from policy.sandbox import TemplateLimitError

    if isinstance(exc, TemplateLimitError):
        return str(exc)  # our own text: no value from the data
    if isinstance(exc, SecurityError):
        return ("the template uses something the sandbox forbids (Python internals, or a change to a value it was "
                "given: templates read their data, they cannot modify it)")
    if isinstance(exc, TemplateSyntaxError):
        return f"template syntax error: {exc.message}"  # about the template's own text
    if isinstance(exc, TemplateNotFound):
        return "a template it includes, imports or extends is not found"
    if isinstance(exc, RecursionError):
        return "templates include, import or extend each other too deeply"
    return None


def _explain(exc: BaseException) -> str:
    from jinja2 import UndefinedError

    fault = template_fault(exc)
    if fault is not None:
        return fault
    if isinstance(exc, UndefinedError):
        return "the template uses a name, attribute or key that is not defined (UndefinedError)"
    return f"the template failed while rendering ({type(exc).__name__})"


def _position(exc: BaseException) -> tuple[str | None, int]:
    """The template file and line where `exc` was raised: a syntax error's own, else the innermost frame that
    Jinja's traceback rewriting made for template code (its globals hold `__jinja_exception__`)."""
    from jinja2 import TemplateSyntaxError

    if isinstance(exc, TemplateSyntaxError):
        return exc.filename or exc.name, exc.lineno or 0
    where: tuple[str | None, int] = (None, 0)
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return where


def template_error(exc: BaseException, file: str, first_line: int | None = 1, what: str = "",
                   help: str = "") -> ConfigError:
    """`exc`, raised while compiling or rendering a template, as a configuration error at the template's file
    and line. `file` names the template when Jinja does not (a string template, e.g. a clause's body, which
    starts at `first_line` of that file; None when its lines are no lines of the file, as in a Word document);
    `what` says which template it is (`clause 'audit'`)."""
    from policy.textsafe import printable

    filename, line = _position(exc)
    if not filename or filename.startswith("<"):  # a string template: its lines are lines of `file`
        filename, line = file, (first_line - 1 + line if line and first_line is not None else 0)
    message = (f"{what}: " if what else "") + _explain(exc)
    diag = Diagnostic(printable(filename), line, 1 if line else 0, "template", printable(message), help=help)
    return ConfigError(f"{diag.location}: {diag.message}", [diag])

