"""`@record` behaves as `@dataclass(frozen=True)`: each test makes the same class both ways and compares."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import pkgutil
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, ClassVar

import pytest

import policy
from policy.records import record


def _twins(slots: bool = False) -> tuple[type, type]:
    """The same class twice: a frozen dataclass, and a record."""
    made: list[type] = []
    for as_record in (False, True):

        class Sample:
            """A sample."""
            kind: ClassVar[str] = "sample"
            name: str
            count: int = 3
            items: list[str] = field(default_factory=list)
            table: dict[str, Any] = field(default_factory=dict, init=False, compare=False)
            fixed: str = field(default="set", init=False)
            hidden: str = field(default="h", repr=False)
            checked: bool = field(default=False, init=False)

            def __post_init__(self) -> None:
                object.__setattr__(self, "checked", self.count >= 0)

        made.append(record(slots=slots)(Sample) if as_record else dataclass(frozen=True, slots=slots)(Sample))
    return made[0], made[1]


def _values(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


CALLS = [(("a",), {}), (("a", 5), {}), (("a",), {"items": ["x"]}), ((), {"name": "b", "count": -1}),
         (("a", 1, ["y", "z"], "k"), {})]


@pytest.mark.parametrize("slots", [False, True])
@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_the_same_instance_as_the_frozen_dataclass(slots: bool, args: tuple[Any, ...],
                                                   kwargs: dict[str, Any]) -> None:
    plain, fast = _twins(slots)
    a, b = plain(*args, **kwargs), fast(*args, **kwargs)
    assert _values(a) == _values(b)
    assert repr(a) == repr(b)  # the same repr (hidden left out), the same qualified name
    assert list(inspect.signature(fast.__init__).parameters) == list(inspect.signature(plain.__init__).parameters)
    assert fast.__match_args__ == plain.__match_args__
    assert [f.name for f in dataclasses.fields(fast)] == [f.name for f in dataclasses.fields(plain)]


@pytest.mark.parametrize("slots", [False, True])
def test_equality_and_hash_follow_the_compared_fields(slots: bool) -> None:
    plain, fast = _twins(slots)
    one, two = fast("a", items=()), fast("a", items=())  # type: ignore[arg-type]
    object.__setattr__(two, "table", {"x": 1}) if not slots else None
    assert one == two and hash(one) == hash(two)  # `table` is not compared
    assert one != fast("b", items=()) and one != fast("a", 4, items=())  # type: ignore[arg-type]
    assert (one == plain("a", items=())) is False  # another class: never equal, as dataclasses say
    assert one.__eq__(object()) is NotImplemented
    with pytest.raises(TypeError):
        hash(fast("a"))  # a list field: unhashable, as the frozen dataclass is
    with pytest.raises(TypeError):
        hash(plain("a"))


@pytest.mark.parametrize("slots", [False, True])
def test_defaults_factories_and_post_init(slots: bool) -> None:
    _, fast = _twins(slots)
    one, two = fast("a"), fast("a")
    assert one.items == [] and one.items is not two.items  # a new value of the factory each time
    assert one.table == {} and one.table is not two.table  # init=False with a factory
    assert (one.fixed, one.count, one.hidden, fast.kind) == ("set", 3, "h", "sample")
    assert one.checked is True and fast("a", -1).checked is False  # __post_init__ ran


@pytest.mark.parametrize("slots", [False, True])
def test_frozen_and_still_a_dataclass(slots: bool) -> None:
    _, fast = _twins(slots)
    obj = fast("a")
    with pytest.raises(FrozenInstanceError):
        obj.name = "b"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        obj.other = 1  # type: ignore[attr-defined]
    with pytest.raises(FrozenInstanceError):
        del obj.name  # type: ignore[misc]
    assert dataclasses.is_dataclass(fast)
    assert dataclasses.replace(obj, count=9).count == 9 and obj.count == 3
    assert dataclasses.asdict(obj)["name"] == "a"
    assert copy.copy(obj) == obj and copy.deepcopy(obj) == obj


def test_slotted_records_have_no_dict_and_pickle() -> None:
    from policy.model.facts import Edge

    obj = Edge("a/child", "b/parent", "finetune", "card", note="line 3")
    assert not hasattr(obj, "__dict__")
    assert pickle.loads(pickle.dumps(obj)) == obj  # our own object, made in this test


@pytest.mark.parametrize(("args", "kwargs"), [((), {}), (("a",), {"nope": 1}), (("a", 1, [], "k", 2), {}),
                                              (("a",), {"fixed": "x"})])
def test_wrong_arguments_are_refused_as_before(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, fast = _twins()
    with pytest.raises(TypeError):
        plain(*args, **kwargs)
    with pytest.raises(TypeError):
        fast(*args, **kwargs)


def test_own_methods_and_subclasses() -> None:
    @record
    class Base:
        a: int

        def __repr__(self) -> str:
            return "mine"

    @record
    class Child(Base):
        b: str = ""

    assert repr(Base(1)) == "mine" and Child(1, "x").b == "x" and Child(1) != Base(1)
    assert Child(1, "x") == Child(1, "x") and hash(Child(1, "x")) == hash(Child(1, "x"))


def test_refuses_what_it_cannot_make() -> None:
    class Plain:
        a: int

    class WithInitVar:
        a: int
        b: dataclasses.InitVar[int] = 0

    class SetsAttributes:
        a: int

        def __setattr__(self, name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

    @dataclass(frozen=True)
    class FrozenParent:
        a: int

    class FromADataclass(FrozenParent):
        b: int = 0

    class DefaultFirst:
        a: int = 0
        b: int

    record(Plain)  # fine
    for cls in (WithInitVar, SetsAttributes, FromADataclass, DefaultFirst):
        with pytest.raises(TypeError):
            record(cls)


def test_every_frozen_class_of_the_package_is_a_record() -> None:
    """The package's frozen classes are records (a `@dataclass(frozen=True)` is six compiled functions)."""
    frozen_dataclasses, records = [], 0
    for info in pkgutil.walk_packages(policy.__path__, "policy."):
        if info.name.endswith(".__main__"):
            continue  # runs the command line
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, type) and obj.__module__ == module.__name__ and dataclasses.is_dataclass(obj):
                if obj.__dict__.get("__record__"):
                    records += 1
                elif obj.__dataclass_params__.frozen:
                    frozen_dataclasses.append(f"{module.__name__}.{obj.__qualname__}")
    assert frozen_dataclasses == []
    assert records >= 60


def test_an_undocumented_record_is_documented_by_its_fields() -> None:
    class Point:
        x: int
        y: int = 0
        z: int = field(default=0, init=False)

    assert record(Point).__doc__ == "Point(x, y)"
