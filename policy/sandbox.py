"""The Jinja sandbox every template runs in: immutable, and on a budget.

Templates come from the user (`--templates DIR`, clause files, rule packs' messages), so they are code we did not
write, and run over data from cards. Jinja's `ImmutableSandboxedEnvironment` keeps them away from Python's
internals and from changing the values they are given (a message template calling `model.update(...)` would change
the facts every later message of the run sees). What the sandbox does not bound is work: `range()` goes up to
100,000, two nested loops run 10^10 times, a macro calling itself ends in Python's RecursionError. Here:

- `range()` is capped at `MAX_RANGE` items;
- every loop iteration and every call made from a template is a step; a render has `STEPS` of them, plus
  `STEPS_PER_ITEM` for each item of the data it is given (a template that goes over its data once needs about one
  step an item: a batch of any size renders, a loop nest over it does not), and `SECONDS` of wall-clock time
  (checked every `_CLOCK_EVERY` steps), so the deepest loop nest ends within its budget;
- calls nest at most `MAX_DEPTH` deep (a macro that calls itself stops there, not at the interpreter's limit);
- `*` and `**` refuse results larger than `MAX_ITEMS` items (`'x' * 10**9`, `10 ** 100000000`: also kept from
  Jinja's constant folding, which would otherwise compute them while compiling);
- padding to a width (`center`, `indent`, `"%99999d" % x`, `|format`, `"{:>99999}".format(x)`) refuses widths
  of `MAX_WIDTH` or more and widths computed at run time.

Over a limit, rendering raises `TemplateLimitError` (a Jinja `TemplateRuntimeError`), which `policy.templating`
reports as a configuration error at the template's file and line.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Template
from jinja2.exceptions import TemplateRuntimeError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RANGE = 10_000
MAX_DEPTH = 64  # nested calls: macros, `caller()`, recursive loops
MAX_ITEMS = 1_000_000  # characters of a string, items of a list, digits of a number built by `*` or `**`
MAX_WIDTH = 10_000  # a width to pad to (`center`, `indent`, `"%*d"|format`)
STEPS = 2_000_000  # loop iterations and calls per render (POLICYCHECK_TEMPLATE_STEPS)
STEPS_PER_ITEM = 10  # and per item (a mapping's entry, a list's element) of the data the render is given
_COUNT_AT_MOST = 10_000_000  # items counted at most
SECONDS = 10.0  # wall-clock time per render (POLICYCHECK_TEMPLATE_SECONDS)
_CLOCK_EVERY = 1024  # steps between two looks at the clock


class TemplateLimitError(TemplateRuntimeError):
    """A template went over one of the sandbox's limits. Its message is ours (no value from the data)."""


@dataclass
class _Budget:
    steps: int
    deadline: float
    depth: int = 0
    total: int = 0
    data: list[Any] | None = None  # what the render was given: its items extend the budget once it runs out

    def charge(self) -> None:
        self.steps -= 1
        if self.steps < 0 and self.data is not None:
            # The allowance per item of data is counted only when the base budget is spent: walking the data
            # of every rule message up front cost more than the messages themselves.
            extra, self.data = STEPS_PER_ITEM * _items(self.data), None
            self.steps += extra
            self.total += extra
        if self.steps < 0:
            raise TemplateLimitError(f"the template ran over its budget of {self.total:,} steps (loop iterations "
                                     "and calls): a loop nest too deep for its data, or a loop that does not end")
        if not self.steps % _CLOCK_EVERY and time.monotonic() > self.deadline:
            raise TemplateLimitError(f"the template ran over its time budget of {_limit('SECONDS', SECONDS):g} s")


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _limit(name: str, default: float) -> Any:
    """A budget from the environment (tests and unusual batches set them), else the default."""
    raw = os.environ.get(f"POLICYCHECK_TEMPLATE_{name}", "")
    try:
        value = type(default)(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


def _new_budget(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Budget:
    steps = _limit("STEPS", STEPS)
    return _Budget(steps=steps, deadline=time.monotonic() + _limit("SECONDS", SECONDS), total=steps,
                   data=[*args, *kwargs.values()])


def _items(values: list[Any]) -> int:
    """The entries of the mappings and the elements of the lists and tuples in `values` (each object once)."""
    count = 0
    seen: set[int] = set()
    stack = values
    while stack and count < _COUNT_AT_MOST:
        value = stack.pop()
        if isinstance(value, dict | list | tuple) and id(value) not in seen:
            seen.add(id(value))
            count += len(value)
            stack.extend(value.values() if isinstance(value, dict) else value)
    return min(count, _COUNT_AT_MOST)


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every item a template's loop takes is a step."""
    budget = _budget.get()
    for item in iterable:
        if budget is not None:
            budget.charge()
        yield item


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateLimitError(f"range() of more than {MAX_RANGE:,} items")
    return numbers


def _width(value: Any) -> None:
    if isinstance(value, int) and value >= MAX_WIDTH:
        raise TemplateLimitError(f"a width of {MAX_WIDTH:,} or more")


# A width or precision that is computed (`*`, a nested `{}`) or has as many digits as MAX_WIDTH: in a `%` conversion
# (`%*d`, `%(x)99999s`, `%.99999f`) and in a str.format field (`{:>99999}`, `{:{}}`).
_WIDE = r"\d{" + str(len(str(MAX_WIDTH))) + ",}"
_WIDE_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|" + _WIDE + r"|\d*\.(?:\*|" + _WIDE + "))")
_WIDE_FIELD = re.compile(r"\{[^{}]*:(?:[^{}]*\{|[^{}]*?" + _WIDE + ")")


def _check_format(text: str, pattern: re.Pattern[str]) -> None:
    if pattern.search(text.replace("%%", "").replace("{{", "")):
        raise TemplateLimitError(f"a format with a computed width or a width of {MAX_WIDTH:,} or more")


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, with every `for` loop's iterable passed through `environment.counted` (Jinja allows
    no custom node: the loop's iterable becomes a call of that environment attribute)."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        it = node.iter
        if not (isinstance(it, nodes.Call) and isinstance(it.node, nodes.EnvironmentAttribute)
                and it.node.name == "counted"):
            node.iter = nodes.Call(nodes.EnvironmentAttribute("counted", lineno=it.lineno), [it], [], None, None,
                                   lineno=it.lineno)
        super().visit_For(node, frame)


class BudgetedTemplate(Template):
    """A template whose every render (and every generate, across its chunks) runs on one budget; includes, imports
    and macros share the budget of the render they are part of."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        if not getattr(self.environment, "budgeted", True) or _budget.get() is not None:
            return super().render(*args, **kwargs)
        token = _budget.set(_new_budget(args, kwargs))
        try:
            return super().render(*args, **kwargs)
        finally:
            _budget.reset(token)

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        chunks = super().generate(*args, **kwargs)
        if not getattr(self.environment, "budgeted", True):
            yield from chunks
            return
        budget = _new_budget(args, kwargs)
        while True:  # the budget is current only while the template's code runs, not while the reader works
            token = _budget.set(budget)
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            finally:
                _budget.reset(token)
            yield chunk


class Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the limits above. `budgeted=False` lifts the step and time budget (not the
    caps) for policycheck's own templates, which stream audits of any size."""

    code_generator_class = _CodeGenerator
    template_class = BudgetedTemplate
    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args: Any, budgeted: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budgeted = budgeted
        self.globals["range"] = _range
        for name in ("center", "indent"):
            self.filters[name] = _checked_width(self.filters[name])
        self.filters["format"] = _checked_format(self.filters["format"])

    @staticmethod
    def counted(iterable: Iterable[Any]) -> Iterator[Any]:
        return _counted(iterable)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget.get()
        if budget is None:  # outside a render (never from a template): no depth to keep
            return super().call(__context, __obj, *args, **kwargs)
        budget.charge()
        budget.depth += 1
        try:
            if budget.depth > MAX_DEPTH:
                raise TemplateLimitError(f"calls nested more than {MAX_DEPTH} deep (a macro that calls itself?)")
            return super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_ITEMS:
                    raise TemplateLimitError(f"a repetition of more than {MAX_ITEMS:,} items")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right * max(left.bit_length(), 1) > MAX_ITEMS * 3:  # ~ 3.3 bits a decimal digit
                raise TemplateLimitError(f"a power of more than {MAX_ITEMS:,} digits")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, _WIDE_PERCENT)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:  # `"...".format` or `.format_map`: the string is the format
            _check_format(value.__self__, _WIDE_FIELD)
        return wrapped


def _checked_width(fn: Any) -> Any:
    """`center(width)`, `indent(width)`: the filter, refusing a width of MAX_WIDTH or more."""
    @functools.wraps(fn)
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        _width(args[0] if args else kwargs.get("width"))
        return fn(value, *args, **kwargs)

    return checked


def _checked_format(fn: Any) -> Any:
    """`"%5d"|format(x)`: the filter, refusing a computed width or one of MAX_WIDTH or more."""
    @functools.wraps(fn)
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_format(str(value), _WIDE_PERCENT)
        return fn(value, *args, **kwargs)

    return checked
