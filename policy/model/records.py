"""A faster `__init__` for the frozen dataclasses the engine makes for every evaluation.

A frozen dataclass's generated `__init__` sets each field with `object.__setattr__`, one call per field (its
`__setattr__` refuses). An evaluation makes a few dozen of them (findings, obligations, lineage entries, the
report itself), and those calls are about a tenth of an evaluation's time. `quick_init` replaces the generated
`__init__` with one of the same signature that fills the instance's `__dict__` in one step: same defaults,
same default factories, same `__post_init__`; the class stays the dataclass it was (fields, frozen
`__setattr__`, equality, hash, `replace`, `asdict`).

The function is generated from the class's own field names, as `dataclasses` itself generates `__init__`;
nothing read from input reaches it. Classes with `__slots__` (no `__dict__`), `InitVar` or keyword-only fields
are refused: their `__init__` is left to `dataclasses`.
"""

from __future__ import annotations

import dataclasses
import inspect
import keyword
from typing import Any, TypeVar

T = TypeVar("T")

_FACTORY = object()  # an argument left out whose field has a default factory


def quick_init(cls: type[T]) -> type[T]:
    """Give the frozen dataclass `cls` an `__init__` that sets its fields in one `__dict__` update."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__}: quick_init is for frozen dataclasses")
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: a class with __slots__ has no __dict__ to fill")
    fields = dataclasses.fields(cls)
    generated = list(inspect.signature(cls.__init__).parameters)[1:]  # InitVars are arguments, not fields
    if any(f.kw_only for f in fields) or generated != [f.name for f in fields if f.init]:
        raise TypeError(f"{cls.__name__}: keyword-only and InitVar fields are not supported")
    names = [f.name for f in fields]
    if any(not n.isidentifier() or keyword.iskeyword(n) or n.startswith("_qi_") for n in names):
        raise TypeError(f"{cls.__name__}: a field name quick_init cannot use")
    namespace: dict[str, Any] = {"_qi_factory": _FACTORY}
    args, lines, values = [], [], []
    for f in fields:
        has_factory = f.default_factory is not dataclasses.MISSING
        if has_factory:
            namespace[f"_qi_make_{f.name}"] = f.default_factory
        if f.default is not dataclasses.MISSING:
            namespace[f"_qi_default_{f.name}"] = f.default
        if not f.init:  # not an argument: its default, or a new value of its factory
            if has_factory:
                values.append(f"{f.name}=_qi_make_{f.name}()")
            elif f.default is not dataclasses.MISSING:
                values.append(f"{f.name}=_qi_default_{f.name}")
            continue
        if has_factory:
            args.append(f"{f.name}=_qi_factory")
            lines.append(f"    if {f.name} is _qi_factory:\n        {f.name} = _qi_make_{f.name}()\n")
        elif f.default is not dataclasses.MISSING:
            args.append(f"{f.name}=_qi_default_{f.name}")
        else:
            args.append(f.name)
        values.append(f"{f.name}={f.name}")
    body = "".join(lines) + f"    self.__dict__.update({', '.join(values)})\n"
    if hasattr(cls, "__post_init__"):
        body += "    self.__post_init__()\n"
    source = f"def __init__(self, {', '.join(args)}) -> None:\n{body}"
    exec(compile(source, f"<quick_init {cls.__qualname__}>", "exec"), namespace)  # field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[misc]
    return cls
