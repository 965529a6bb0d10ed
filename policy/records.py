"""Frozen records: `@record` is `@dataclass(frozen=True)`, made at a fraction of the cost.

policycheck keeps its facts, rules and reports in frozen dataclasses, about seventy of them, and the pre-commit
hook imports most of them on every run. On CPython 3.11 `@dataclass(frozen=True)` compiles six functions from
generated source per class (`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`): about
0.6 ms a class, a sixth of the hook's whole run. A record compiles only its `__init__`; the other five are the
same few functions for every record, which read the class's field names (kept on the class when it is made).
The instance's fields are set in one `__dict__` update (or one slot each), not one `object.__setattr__` call
each, which makes the records an evaluation creates (findings, obligations, lineage entries, the report) cheaper
too.

What a record keeps of a frozen dataclass: `dataclasses.fields`, `replace`, `asdict`, `is_dataclass`, defaults
and default factories, `field(init=False, repr=False, compare=False, hash=...)`, `__post_init__`,
`__match_args__`, slots (`@record(slots=True)`), pickling and copying of slotted records, equality between
instances of the same class only, a hash over the compared fields, a repr that names every field, and an
exception on every assignment or deletion (`dataclasses.FrozenInstanceError`). Methods the class defines itself
(`__repr__`, `__eq__`, `__hash__`) are kept, as dataclasses keep them. Not supported (refused with TypeError):
keyword-only fields, `InitVar`, a class that defines `__setattr__` or `__delattr__`, inheriting from a dataclass
that is not a record.

`__init__` is generated from the class's own field names, as `dataclasses` itself generates it; nothing read
from input reaches it.
"""

from __future__ import annotations

import dataclasses
import keyword
import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")

_FACTORY = object()  # an argument left out whose field has a default factory


def _key_function(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function from an instance to the tuple of those fields' values (C speed: operator.attrgetter)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    cls = type(self)
    return f"{cls.__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in cls.__record_repr__)})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        key = self.__class__.__record_compare__
        return key(self) == key(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(type(self).__record_hash__(self))


def _setattr(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:  # slotted records: no __dict__ for pickle and copy to carry
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, f.name, value)


@overload
def record(cls: type[T], /) -> type[T]: ...
@overload
def record(*, slots: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[T] | None = None, /, *, slots: bool = False) -> Any:
    """`@record` or `@record(slots=True)`: the class as a frozen dataclass (see the module's docstring)."""
    if cls is None:
        return lambda c: _make(c, slots)
    return _make(cls, slots)


def _make(cls: type[T], slots: bool) -> type[T]:
    own = dict(cls.__dict__)  # what the class defines itself (before dataclasses rebuilds a slotted class)
    if "__setattr__" in own or "__delattr__" in own:
        raise TypeError(f"{cls.__name__}: a record cannot define __setattr__ or __delattr__")
    for base in cls.__mro__[1:]:
        if dataclasses.is_dataclass(base) and not base.__dict__.get("__record__"):
            raise TypeError(f"{cls.__name__}: a record can inherit only from records")
    undocumented = not cls.__doc__
    if undocumented:  # else dataclasses reads the signature of object.__init__ for one (tokenize, ~3 ms)
        cls.__doc__ = cls.__name__
    made = dataclasses.dataclass(init=False, repr=False, eq=False, frozen=False, slots=slots)(cls)
    fields = dataclasses.fields(made)
    pseudo = [f for name, f in made.__dataclass_fields__.items() if name not in {g.name for g in fields}
              and (isinstance(f.type, dataclasses.InitVar) or "InitVar" in str(f.type))]  # ClassVars are not
    if pseudo or any(f.kw_only for f in fields):
        raise TypeError(f"{cls.__name__}: keyword-only and InitVar fields are not supported")
    made.__record__ = True
    if undocumented:  # as dataclasses word it: the class and its arguments
        made.__doc__ = f"{cls.__name__}({', '.join(f.name for f in fields if f.init)})"
    made.__init__ = _init(made, fields, slots)
    made.__record_repr__ = tuple(f.name for f in fields if f.repr)
    made.__record_compare__ = _key_function(tuple(f.name for f in fields if f.compare))
    made.__record_hash__ = _key_function(tuple(
        f.name for f in fields if (f.compare if f.hash is None else f.hash)))
    if "__repr__" not in own:
        made.__repr__ = _repr
    if "__eq__" not in own:
        made.__eq__ = _eq
    # a class that defines __eq__ alone gets __hash__ = None from Python itself: that is not its own hash
    if "__hash__" not in own or (own["__hash__"] is None and "__eq__" in own):
        made.__hash__ = _hash
    made.__setattr__ = _setattr
    made.__delattr__ = _delattr
    if slots:
        made.__getstate__ = _getstate
        made.__setstate__ = _setstate
    return made


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...], slots: bool) -> Callable[..., None]:
    """The record's `__init__`: the signature dataclasses would give it, its fields set in one step."""
    names = [f.name for f in fields]
    if any(not n.isidentifier() or keyword.iskeyword(n) or n.startswith("_rec_") or n == "self" for n in names):
        raise TypeError(f"{cls.__name__}: a field name a record cannot use")
    namespace: dict[str, Any] = {"_rec_factory": _FACTORY, "_rec_set": object.__setattr__}
    args, lines, values = [], [], []
    for f in fields:
        has_factory = f.default_factory is not dataclasses.MISSING
        if has_factory:
            namespace[f"_rec_make_{f.name}"] = f.default_factory
        if f.default is not dataclasses.MISSING:
            namespace[f"_rec_default_{f.name}"] = f.default
        if not f.init:  # not an argument: its default, or a new value of its factory
            if has_factory:
                values.append((f.name, f"_rec_make_{f.name}()"))
            elif f.default is not dataclasses.MISSING:
                values.append((f.name, f"_rec_default_{f.name}"))
            continue
        if has_factory:
            args.append(f"{f.name}=_rec_factory")
            lines.append(f"    if {f.name} is _rec_factory:\n        {f.name} = _rec_make_{f.name}()\n")
        elif f.default is not dataclasses.MISSING:
            args.append(f"{f.name}=_rec_default_{f.name}")
        elif any(a.partition("=")[2] for a in args):
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            args.append(f.name)
        values.append((f.name, f.name))
    if slots:
        body = "".join(f"    _rec_set(self, {n!r}, {v})\n" for n, v in values)
    else:
        body = f"    self.__dict__.update({', '.join(f'{n}={v}' for n, v in values)})\n"
    if hasattr(cls, "__post_init__"):
        body += "    self.__post_init__()\n"
    source = f"def __init__(self, {', '.join(args)}) -> None:\n{''.join(lines)}{body or '    pass'}\n"
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), namespace)  # field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init
