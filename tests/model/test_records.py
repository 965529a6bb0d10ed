"""quick_init: the same instances as the frozen dataclass's own `__init__`, made in one `__dict__` update."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from policy.model import report
from policy.model.records import quick_init


def _pair() -> tuple[type, type]:
    """The same class twice: with dataclasses' __init__ and with quick_init's."""
    made: list[type] = []
    for fast in (False, True):

        @dataclass(frozen=True)
        class Sample:
            name: str
            count: int = 3
            items: list[str] = field(default_factory=list)
            table: dict[str, Any] = field(default_factory=dict, init=False)
            fixed: str = field(default="set", init=False)
            checked: bool = field(default=False, init=False)

            def __post_init__(self) -> None:
                object.__setattr__(self, "checked", self.count >= 0)

        made.append(quick_init(Sample) if fast else Sample)
    return made[0], made[1]


def _values(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


@pytest.mark.parametrize(("args", "kwargs"), [
    (("a",), {}), (("a", 5), {}), (("a",), {"items": ["x"]}), ((), {"name": "b", "count": -1}),
    (("a", 1, ["y", "z"]), {}),
])
def test_same_fields_as_the_dataclass_init(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, fast = _pair()
    assert _values(fast(*args, **kwargs)) == _values(plain(*args, **kwargs))
    assert list(inspect.signature(fast.__init__).parameters) == list(inspect.signature(plain.__init__).parameters)


def test_defaults_factories_and_post_init() -> None:
    _, fast = _pair()
    one, two = fast("a"), fast("a")
    assert one.items == [] and one.items is not two.items  # a new value of the factory each time
    assert one.table == {} and one.table is not two.table  # init=False with a factory
    assert one.fixed == "set" and one.count == 3
    assert one.checked is True and fast("a", -1).checked is False  # __post_init__ ran
    assert one == two and one != fast("b")


def test_still_frozen_and_a_dataclass() -> None:
    _, fast = _pair()
    obj = fast("a")
    with pytest.raises(FrozenInstanceError):
        obj.name = "b"  # type: ignore[misc]
    assert dataclasses.replace(obj, count=9).count == 9
    assert dataclasses.asdict(obj)["name"] == "a"


@pytest.mark.parametrize(("args", "kwargs"), [((), {}), (("a",), {"nope": 1}), (("a", 1, [], 2), {}),
                                              (("a",), {"fixed": "x"})])
def test_wrong_arguments_are_refused_as_before(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, fast = _pair()
    with pytest.raises(TypeError):
        plain(*args, **kwargs)
    with pytest.raises(TypeError):
        fast(*args, **kwargs)


def test_refuses_what_it_cannot_make() -> None:
    @dataclass
    class Mutable:
        a: int

    @dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    @dataclass(frozen=True)
    class WithInitVar:
        a: int
        b: dataclasses.InitVar[int] = 0

    @dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        a: int

    for cls in (Mutable, Slotted, WithInitVar, KeywordOnly):
        with pytest.raises(TypeError):
            quick_init(cls)


def test_the_report_classes_keep_their_signatures() -> None:
    """Every record of the report takes exactly its init fields, in order, with their defaults."""
    classes = [c for c in vars(report).values() if isinstance(c, type) and dataclasses.is_dataclass(c)
               and c.__module__ == report.__name__]
    assert len(classes) >= 10
    for cls in classes:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        init_fields = [f for f in dataclasses.fields(cls) if f.init]
        assert [p.name for p in params] == [f.name for f in init_fields], cls.__name__
        for p, f in zip(params, init_fields, strict=True):
            assert (p.default is inspect.Parameter.empty) == (
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING), (cls, f.name)
