"""Rule messages and remediations: the plain ones rendered without the template engine.

Most rule templates only print facts (`{{ model.id }}`, `{{ ancestor.via | via }}`,
`{{ clause.accepts | join(', ') }}`, `{{ ancestor.license.name or clause.license }}`) and show a part when a fact
is set (`{% if waiver.ancestor %}...{% endif %}`). `render` gives such a template exactly the text the sandboxed
Jinja environment of `policy.templating` gives it, by the same rules (a dict's keys, `str()` of each value, the
`via` and `join` filters, Python's `or` and truth), without importing jinja2 and compiling the template: ~25 ms
and a compile per message in every process that reports a finding, the pre-commit hook's included.

Anything else (other syntax, filters or tests, a value that is not a plain dict on the way, a name that is also a
dict method, a fact that is missing) goes to `policy.templating.render` as it is, which then also produces any
error. Nothing here ever evaluates text from a card: card values are data, printed with `str()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

# A part of a template: text, `{{ ... }}`, `{% ... %}`, or the start of a comment (never plain).
_PART = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#", re.S)
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|('[^'\\\r]*'|\"[^\"\\\r]*\")|(\S))")
# Names Jinja reads as literals or operators, and the names of dict attributes (the sandbox's getattr prefers
# an attribute: `x.items` is a method there, not a key): never plain.
_RESERVED = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
                       "else", "elif", "endif", "for", "recursive", "with", "without", "import", "as"})
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _NotPlain(Exception):
    """The template (or a value it meets) is not plain: Jinja renders it."""


def _via(via: Any) -> str:
    """The `via` filter of `policy.templating` (relations joined, or "(direct)")."""
    return " > ".join(via or ()) or "(direct)"


# A program is a tuple of steps: a text, a value to print (a function of the context), or an `if` as
# (test, program when true, program when false).
Program = tuple[Any, ...]


def render(source: str, context: Mapping[str, Any]) -> str:
    """`policy.templating.render(source, context)`: the same text, without the template engine when it can."""
    program = _compile(source)
    if program is not None:
        out: list[str] = []
        try:
            _run(program, context, out)
        except Exception:  # _NotPlain, or a value whose str() fails: Jinja does what it does with it
            pass
        else:
            return " ".join("".join(out).split())
    from policy.templating import render as render_template  # (and markupsafe) only when a template needs it

    return render_template(source, context)


def _run(program: Program, ctx: Mapping[str, Any], out: list[str]) -> None:
    for step in program:
        if type(step) is str:
            out.append(step)
        elif type(step) is tuple:
            test, then, otherwise = step
            _run(then if test(ctx) else otherwise, ctx, out)
        else:
            out.append(str(step(ctx)))


@lru_cache(maxsize=1024)
def _compile(source: str) -> Program | None:
    """The template as a program writing its text, or None when it is not plain."""
    try:
        body, end = _block(source, 0, ())
    except _NotPlain:
        return None
    return body if end is None else None


def _block(source: str, pos: int, stops: tuple[str, ...]) -> tuple[Program, tuple[str, int] | None]:
    """Parts from `pos` up to a `{% stop %}` tag (returned with the position after it) or the end."""
    steps: list[Any] = []
    while True:
        m = _PART.search(source, pos)
        text = source[pos:m.start() if m else len(source)]
        if "{{" in text or "{%" in text or "{#" in text:
            raise _NotPlain  # a tag that is not closed: a syntax error for Jinja
        if text:
            steps.append(text)
        if m is None:
            if stops:
                raise _NotPlain  # an unclosed block
            return tuple(steps), None
        pos = m.end()
        if m.group(1) is not None:
            steps.append(_expression(m.group(1)))
            continue
        if m.group(2) is None:
            raise _NotPlain  # a comment
        words = m.group(2).split()
        if not words or m.group(2)[:1] in "-+" or m.group(2)[-1:] in "-+":
            raise _NotPlain  # whitespace control, or an empty tag
        if words[0] in stops and len(words) == 1:
            return tuple(steps), (words[0], pos)
        if words[0] != "if":
            raise _NotPlain
        test = _expression(m.group(2).strip()[2:], condition=True)
        then, end = _block(source, pos, ("else", "endif"))
        otherwise: Program = ()
        if end is not None and end[0] == "else":
            otherwise, end = _block(source, end[1], ("endif",))
        if end is None:
            raise _NotPlain
        steps.append((test, then, otherwise))
        pos = end[1]


def _expression(text: str, condition: bool = False) -> Callable[[Mapping[str, Any]], Any]:
    """`term (or term)*`, a term being `name(.name)*` or a string, optionally `| via` or `| join('...')`; a
    condition is a single name path. Anything else is not plain."""
    tokens = _tokens(text)
    terms: list[Callable[[Mapping[str, Any]], Any]] = []
    i = 0
    while True:
        term, i = _term(tokens, i)
        terms.append(term)
        if i == len(tokens):
            break
        if tokens[i] != ("name", "or"):
            raise _NotPlain
        i += 1
    if condition and (len(terms) != 1 or tokens[0][0] != "name"):
        raise _NotPlain
    if len(terms) == 1:
        return terms[0]

    def either(ctx: Mapping[str, Any]) -> Any:  # Python's `or`, as Jinja compiles it: stops at a true value
        value = None
        for term in terms:
            value = term(ctx)
            if value:
                return value
        return value
    return either


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _NotPlain
        pos = m.end()
        if m.group(1) is not None:
            out.append(("name", m.group(1)))
        elif m.group(2) is not None:
            out.append(("string", m.group(2)[1:-1]))
        else:
            out.append(("op", m.group(3)))
    return out


def _term(tokens: list[tuple[str, str]], i: int) -> tuple[Callable[[Mapping[str, Any]], Any], int]:
    if i >= len(tokens):
        raise _NotPlain
    kind, value = tokens[i]
    if kind == "string":
        literal = value
        atom: Callable[[Mapping[str, Any]], Any] = lambda ctx: literal  # noqa: E731
        i += 1
    elif kind == "name" and value not in _RESERVED:
        parts = [value]
        i += 1
        while i + 1 < len(tokens) and tokens[i] == ("op", ".") and tokens[i + 1][0] == "name":
            parts.append(tokens[i + 1][1])
            i += 2
        if i < len(tokens) and tokens[i] == ("op", "."):
            raise _NotPlain
        atom = _lookup(tuple(parts))
    else:
        raise _NotPlain
    if i < len(tokens) and tokens[i] == ("op", "|"):
        if tokens[i + 1:i + 2] == [("name", "via")]:
            inner = atom
            return (lambda ctx: _via(inner(ctx))), i + 2
        call = tokens[i + 1:i + 5]
        if len(call) == 4 and call[:2] == [("name", "join"), ("op", "(")] and call[2][0] == "string" \
                and call[3] == ("op", ")"):
            inner, separator = atom, call[2][1]
            return (lambda ctx: _join(inner(ctx), separator)), i + 5
        raise _NotPlain
    return atom, i


def _lookup(parts: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Any]:
    """A name path as the sandbox resolves it, for plain dicts only: a missing name is not plain (Jinja
    raises for it, or resolves a global)."""
    if any(p in _DICT_ATTRIBUTES for p in parts[1:]):
        raise _NotPlain

    first, rest = parts[0], parts[1:]
    if len(rest) == 1:  # the usual `model.id`, unrolled
        (second,) = rest

        def get2(ctx: Mapping[str, Any]) -> Any:
            if type(ctx) is not dict or first not in ctx:
                raise _NotPlain
            value = ctx[first]
            if type(value) is not dict or second not in value:
                raise _NotPlain
            return value[second]
        return get2

    def get(ctx: Mapping[str, Any]) -> Any:
        if type(ctx) is not dict or first not in ctx:
            raise _NotPlain
        value = ctx[first]
        for part in rest:
            if type(value) is not dict or part not in value:
                raise _NotPlain
            value = value[part]
        return value
    return get


def _join(value: Any, separator: str) -> str:
    """Jinja's `join` without autoescape: `separator.join(map(str, value))`."""
    try:
        return separator.join(map(str, value))
    except Exception:  # not iterable: Jinja raises, with its own message
        raise _NotPlain from None
