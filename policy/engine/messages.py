"""Rule messages and remediations, rendered without the template engine.

Rule templates print facts (`{{ model.id }}`, `{{ ancestor.via | via }}`, `{{ clause.accepts | join(', ') }}`,
`{{ clause.obligation | trim('.') }}`), compare them (`{% if ancestor.channel == 'data' %}`, `not in ['hub']`,
`{% if model.card.datasets is not defined %}`, `clause.params.get('scope')`), choose (`'a' if x else 'b'`) and list
(`{% for t in test.all %}...{{ '; ' if not loop.last else '' }}{% endfor %}`). `render` gives such a template
exactly the text the sandboxed Jinja environment of `policy.templating` gives it, by the same rules (Jinja's
precedence, Python's semantics for `==`, `in`, `and`, `or`, `not` and truth, a dict's keys, `str()` of each
value), without importing jinja2 and compiling the template: ~25 ms and a compile per message in every process
that reports a finding, the pre-commit hook's included. Every shipped rule message is in this subset (a test
holds it), and each is compared with Jinja's output on every context the rule tests and fixture cards produce.

Anything else (other syntax, filters or tests, a value that is not a plain dict or list on the way, a name that
is also a dict method, a fact that is missing) goes to `policy.templating.render` as it is, which then also
produces any error. Nothing here ever evaluates text from a card: card values are data, printed with `str()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

# A part of a template: text, `{{ ... }}`, `{% ... %}`, or the start of a comment (never plain).
_PART = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#", re.S)
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|('[^'\\\r]*'|\"[^\"\\\r]*\")|(==|!=|\S))")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FOR_TAG = re.compile(r"\s*for\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\s(.*)", re.S)  # the items' text as written
# The attributes of Jinja's `loop` the plain renderer gives (a dict of them); any other use of `loop` is Jinja's.
_LOOP_KEYS = ("index", "index0", "revindex", "revindex0", "first", "last", "length")
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


MAX_PLAIN_STEPS = 10_000  # steps (texts, values, tests, loop bodies) of one message rendered without the sandbox

# A program is a tuple of steps: a text, a value to print (a function of the context), an `_If` or a `_For`.
Program = tuple[Any, ...]
Getter = Callable[[Mapping[str, Any]], Any]
Tokens = list[tuple[str, str]]


def render(source: str, context: Mapping[str, Any]) -> str:
    """`policy.templating.render(source, context)`: the same text, without the template engine when it can."""
    program = _compile(source)
    if program is not None:
        out: list[str] = []
        try:
            _run(program, context, out, [MAX_PLAIN_STEPS])
        except Exception:  # _NotPlain, or a value whose str() fails: Jinja does what it does with it
            pass
        else:
            return " ".join("".join(out).split())
    from policy.templating import render as render_template  # (and markupsafe) only when a template needs it

    return render_template(source, context)


def _run(program: Program, ctx: Mapping[str, Any], out: list[str], budget: list[int]) -> None:
    """Write the program's text to `out`. `budget`: the steps left; a template that runs over it (a nest of loops
    over long lists) is not plain, and goes to the sandbox, whose own budget then stops it with its error."""
    for step in program:
        budget[0] -= 1
        if budget[0] < 0:
            raise _NotPlain
        if type(step) is str:
            out.append(step)
        elif type(step) is _If:
            _run(step.then if step.test(ctx) else step.otherwise, ctx, out, budget)
        elif type(step) is _For:
            items = step.items(ctx)
            if type(items) not in (list, tuple):
                raise _NotPlain  # Jinja iterates anything iterable, in its own way: let it
            if not items:
                _run(step.otherwise, ctx, out, budget)
            n = len(items)
            for i, item in enumerate(items):
                budget[0] -= 1
                if budget[0] < 0:
                    raise _NotPlain
                loop = {"index": i + 1, "index0": i, "revindex": n - i, "revindex0": n - i - 1, "first": i == 0,
                        "last": i == n - 1, "length": n}
                _run(step.body, {**ctx, step.name: item, "loop": loop}, out, budget)
        else:
            out.append(str(step(ctx)))


class _If:
    """`{% if test %}then{% else %}otherwise{% endif %}` (an `elif` is an `if` in the else part)."""

    __slots__ = ("otherwise", "test", "then")

    def __init__(self, test: Getter, then: Program, otherwise: Program) -> None:
        self.test, self.then, self.otherwise = test, then, otherwise


class _For:
    """`{% for name in items %}body{% else %}otherwise{% endfor %}`."""

    __slots__ = ("body", "items", "name", "otherwise")

    def __init__(self, name: str, items: Getter, body: Program, otherwise: Program) -> None:
        self.name, self.items, self.body, self.otherwise = name, items, body, otherwise


@lru_cache(maxsize=1024)
def _compile(source: str) -> Program | None:
    """The template as a program writing its text, or None when it is not plain."""
    try:
        body, end = _block(source, 0, ())
    except _NotPlain:
        return None
    return body if end is None else None


def _block(source: str, pos: int, stops: tuple[str, ...]) -> tuple[Program, tuple[str, int, str] | None]:
    """Parts from `pos` up to a `{% stop %}` tag (returned as (stop, the position after it, the rest of the
    tag)) or the end."""
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
        tag = m.group(2)
        words = tag.split()
        if not words or tag[:1] in "-+" or tag[-1:] in "-+":
            raise _NotPlain  # whitespace control, or an empty tag
        head, rest = words[0], tag.strip()[len(words[0]):]
        if head in stops and (len(words) == 1 or head == "elif"):
            return tuple(steps), (head, pos, rest)
        if head == "if":
            step, pos = _if_block(source, pos, rest)
        elif head == "for":
            step, pos = _for_block(source, pos, tag)
        else:
            raise _NotPlain
        steps.append(step)


def _if_block(source: str, pos: int, test_text: str) -> tuple[_If, int]:
    """`{% if test %}...[{% elif test %}...]*[{% else %}...]{% endif %}`, from after the `if` tag."""
    test = _expression(test_text, tag=True)
    then, end = _block(source, pos, ("elif", "else", "endif"))
    if end is None:
        raise _NotPlain
    otherwise: Program = ()
    if end[0] == "elif":  # the rest of the chain, as an if in the else part
        nested, after = _if_block(source, end[1], end[2])
        return _If(test, then, (nested,)), after
    if end[0] == "else":
        otherwise, end = _block(source, end[1], ("endif",))
        if end is None:
            raise _NotPlain
    return _If(test, then, otherwise), end[1]


def _for_block(source: str, pos: int, tag: str) -> tuple[_For, int]:
    """`{% for name in items %}...[{% else %}...]{% endfor %}`, from after the `for` tag: one loop variable, no
    filter, not recursive."""
    m = _FOR_TAG.fullmatch(tag)
    if m is None or m.group(1) in _RESERVED or m.group(1) == "loop":
        raise _NotPlain
    items = _expression(m.group(2), tag=True)
    body, end = _block(source, pos, ("else", "endfor"))
    if end is None:
        raise _NotPlain
    otherwise: Program = ()
    if end[0] == "else":
        otherwise, end = _block(source, end[1], ("endfor",))
        if end is None:
            raise _NotPlain
    return _For(m.group(1), items, body, otherwise), end[1]


def _expression(text: str, tag: bool = False) -> Getter:
    """An expression of the plain subset, as a function of the context, with Jinja's precedence:

        expr     := or ['if' or 'else' expr]
        or       := and ('or' and)*          and := not ('and' not)*          not := 'not' not | compare
        compare  := filtered [('==' | '!=' | 'in' | 'not' 'in') filtered]
        filtered := primary ('|' filter | 'is' ['not'] 'defined')*
        primary  := string | '[' string (',' string)* ']' | name('.'name)* ['.get(' string ')']
        filter   := via | first | join('...') | trim['(...)']

    Python's semantics throughout, as Jinja compiles them. In a tag (`if`, `for`) an expression starts at `or`:
    Jinja allows no conditional expression there. Anything else is not plain."""
    tokens = _tokens(text)
    getter, i = (_or if tag else _conditional)(tokens, 0)
    if i != len(tokens):
        raise _NotPlain
    return getter


def _conditional(tokens: Tokens, i: int) -> tuple[Getter, int]:
    value, i = _or(tokens, i)
    if tokens[i:i + 1] != [("name", "if")]:
        return value, i
    test, i = _or(tokens, i + 1)
    if tokens[i:i + 1] != [("name", "else")]:
        raise _NotPlain  # `a if b` alone yields an undefined value
    otherwise, i = _conditional(tokens, i + 1)
    return (lambda ctx: value(ctx) if test(ctx) else otherwise(ctx)), i


def _or(tokens: Tokens, i: int) -> tuple[Getter, int]:
    return _logical(tokens, i, "or", _and)


def _and(tokens: Tokens, i: int) -> tuple[Getter, int]:
    return _logical(tokens, i, "and", _not)


def _logical(tokens: Tokens, i: int, word: str,
             operand: Callable[[Tokens, int], tuple[Getter, int]]) -> tuple[Getter, int]:
    """`operand (word operand)*` with Python's `or` (the first true value, else the last) or `and` (the first
    false value, else the last), as Jinja compiles them."""
    terms = []
    while True:
        term, i = operand(tokens, i)
        terms.append(term)
        if tokens[i:i + 1] != [("name", word)]:
            break
        i += 1
    if len(terms) == 1:
        return terms[0], i
    stop = word == "or"  # `or` stops at a true value, `and` at a false one

    def logical(ctx: Mapping[str, Any]) -> Any:
        value = None
        for term in terms:
            value = term(ctx)
            if bool(value) is stop:
                return value
        return value
    return logical, i


def _not(tokens: Tokens, i: int) -> tuple[Getter, int]:
    if tokens[i:i + 1] == [("name", "not")]:
        inner, i = _not(tokens, i + 1)
        return (lambda ctx: not inner(ctx)), i
    return _compare(tokens, i)


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b}


_COMPARISON_TOKENS = frozenset({("op", "=="), ("op", "!="), ("op", "<"), ("op", ">"), ("name", "in"),
                                ("name", "not")})


def _compare(tokens: Tokens, i: int) -> tuple[Getter, int]:
    left, i = _filtered(tokens, i)
    token = tokens[i] if i < len(tokens) else None
    if token in (("op", "=="), ("op", "!=")):
        op, i = token[1], i + 1
    elif token == ("name", "in"):
        op, i = "in", i + 1
    elif token == ("name", "not") and tokens[i + 1:i + 2] == [("name", "in")]:
        op, i = "not in", i + 2
    else:
        return left, i
    right, i = _filtered(tokens, i)
    if tokens[i:i + 1] and tokens[i] in _COMPARISON_TOKENS:
        raise _NotPlain  # a chain of comparisons
    compare = _COMPARISONS[op]
    return (lambda ctx: compare(left(ctx), right(ctx))), i


_AFTER_TEST = frozenset({("name", "and"), ("name", "or"), ("name", "else"), ("op", ")"), ("op", "==")})


def _filtered(tokens: Tokens, i: int) -> tuple[Getter, int]:
    value, i, parts = _primary(tokens, i)
    while i < len(tokens):
        if tokens[i] == ("op", "|"):
            value, i = _filter(value, tokens, i + 1)
        elif tokens[i] == ("name", "is"):
            negated = tokens[i + 1:i + 2] == [("name", "not")]
            j = i + 2 if negated else i + 1
            if tokens[j:j + 1] != [("name", "defined")] or parts is None or value is not parts[1]:
                raise _NotPlain  # other tests, or a test of anything but a bare name path
            if j + 1 < len(tokens) and tokens[j + 1] not in _AFTER_TEST:
                raise _NotPlain  # Jinja reads a following word or value as the test's argument
            value, i = _defined(parts[0], negated), j + 1
        else:
            break
        parts = None
    return value, i


def _filter(value: Getter, tokens: Tokens, i: int) -> tuple[Getter, int]:
    name = tokens[i] if i < len(tokens) else None
    call = tokens[i + 1:i + 4]
    argument = call[1][1] if len(call) == 3 and call[0] == ("op", "(") and call[1][0] == "string" \
        and call[2] == ("op", ")") else None
    if name == ("name", "via"):
        return (lambda ctx: _via(value(ctx))), i + 1
    if name == ("name", "first") and tokens[i + 1:i + 2] != [("op", "(")]:
        return (lambda ctx: _first(value(ctx))), i + 1
    if name == ("name", "join") and argument is not None:
        return (lambda ctx: _join(value(ctx), argument)), i + 4
    if name == ("name", "trim") and argument is not None:
        return (lambda ctx: str(value(ctx)).strip(argument)), i + 4
    if name == ("name", "trim") and tokens[i + 1:i + 2] != [("op", "(")]:
        return (lambda ctx: str(value(ctx)).strip()), i + 1
    raise _NotPlain


def _first(value: Any) -> Any:
    """Jinja's `first` of a list that has one (an empty one is undefined, which Jinja reports)."""
    if type(value) not in (list, tuple) or not value:
        raise _NotPlain
    return value[0]


def _primary(tokens: Tokens, i: int) -> tuple[Getter, int, tuple[tuple[str, ...], Getter] | None]:
    """A value, and for a bare name path, (its parts, its getter): the only thing `is defined` may test."""
    if i >= len(tokens):
        raise _NotPlain
    kind, value = tokens[i]
    if kind == "string":
        return (lambda ctx: value), i + 1, None
    if (kind, value) == ("op", "["):
        items: list[str] = []
        i += 1
        while True:
            if i >= len(tokens) or tokens[i][0] != "string":
                raise _NotPlain
            items.append(tokens[i][1])
            i += 1
            if tokens[i:i + 1] == [("op", "]")]:
                break
            if tokens[i:i + 1] != [("op", ",")]:
                raise _NotPlain
            i += 1
        listed = tuple(items)
        return (lambda ctx: list(listed)), i + 1, None
    if kind != "name" or value in _RESERVED:
        raise _NotPlain
    parts = [value]
    i += 1
    while i + 1 < len(tokens) and tokens[i] == ("op", ".") and tokens[i + 1][0] == "name":
        if tokens[i + 1][1] == "get" and tokens[i + 2:i + 3] == [("op", "(")]:
            break
        parts.append(tokens[i + 1][1])
        i += 2
    getter = _lookup(tuple(parts))
    if tokens[i:i + 2] == [("op", "."), ("name", "get")]:  # `params.get('key')`: the dict's value, or None
        call = tokens[i + 2:i + 5]
        if len(call) != 3 or call[0] != ("op", "(") or call[1][0] != "string" or call[2] != ("op", ")"):
            raise _NotPlain
        key, inner = call[1][1], getter

        def get(ctx: Mapping[str, Any]) -> Any:
            mapping = inner(ctx)
            if type(mapping) is not dict:
                raise _NotPlain
            return mapping.get(key)
        return get, i + 5, None
    if i < len(tokens) and tokens[i] == ("op", "."):
        raise _NotPlain
    return getter, i, (tuple(parts), getter)


def _defined(parts: tuple[str, ...], negated: bool) -> Getter:
    """`path is [not] defined`: whether the last key is in the dict the rest of the path leads to (a path that
    breaks before it, or a name Jinja may know as a global, is not plain)."""
    if parts[0] == "loop":
        raise _NotPlain  # what Jinja's loop defines (previtem, nextitem...) is Jinja's
    parent = _lookup(parts[:-1]) if len(parts) > 1 else None
    last = parts[-1]

    def defined(ctx: Mapping[str, Any]) -> bool:
        mapping = parent(ctx) if parent is not None else ctx
        if type(mapping) is not dict:
            raise _NotPlain
        if last not in mapping:
            if parent is None:
                raise _NotPlain  # perhaps one of Jinja's globals
            return negated
        return not negated
    return defined


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


def _lookup(parts: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Any]:
    """A name path as the sandbox resolves it, for plain dicts only: a missing name is not plain (Jinja
    raises for it, or resolves a global)."""
    if any(p in _DICT_ATTRIBUTES for p in parts[1:]):
        raise _NotPlain
    if parts[0] == "loop" and (len(parts) != 2 or parts[1] not in _LOOP_KEYS):
        raise _NotPlain  # Jinja's LoopContext has more (previtem, cycle, depth...) and is no dict

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
