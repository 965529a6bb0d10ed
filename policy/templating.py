"""The one sandboxed Jinja environment: rule messages now, reports and annexes later."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
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
    unknown = sorted(meta.find_undeclared_variables(ast) - set(allowed))
    if unknown:
        return f"unknown template variable(s): {', '.join(unknown)} (available: {', '.join(sorted(allowed))})"
    return None


def render(source: str, context: Mapping[str, Any]) -> str:
    return " ".join(_compiled(source).render(**context).split())
