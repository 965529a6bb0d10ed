"""Conditions: operators, missing-fact semantics, refs, explanations and compile-time errors."""

from __future__ import annotations

from typing import Any

import pytest

from policy.engine.conditions import Compiler, ConditionError


def compile_(node: Any, roots: tuple[str, ...] = ("model", "ancestor", "clause", "policy")) -> Any:
    errors: list[ConditionError] = []
    cond = Compiler(frozenset(roots), lambda x: x if x in ("mit", "agpl-3.0") else None, errors).compile(node, ())
    return cond, errors


def ok(node: Any, ctx: dict[str, Any]) -> bool:
    cond, errors = compile_(node)
    assert not errors, [e.message for e in errors]
    return cond.test(ctx)


CTX = {"model": {"id": "acme/x", "name": "Llama-x", "files": ["README.md", "LICENSE"],
                 "license": {"categories": ["permissive"]}},
       "ancestor": {"depth": 2},
       "clause": {"params": {"prefix": "Llama", "ids": ["mit"]}}}


@pytest.mark.parametrize(("node", "expected"), [
    ({"model.id": "acme/x"}, True),
    ({"model.id": {"ne": "acme/x"}}, False),
    ({"model.id": {"in": ["acme/x", "b"]}}, True),
    ({"model.files": {"contains": "LICENSE"}}, True),
    ({"model.id": {"contains": "acme"}}, True),
    ({"model.id": {"starts_with": "acme/"}}, True),
    ({"model.id": {"matches": "acme/.*"}}, True),
    ({"model.files": {"any_in": ["NOTICE", "LICENSE"]}}, True),
    ({"model.files": {"all_in": ["README.md"]}}, False),
    ({"model.files": {"none_in": ["NOTICE"]}}, True),
    ({"ancestor.depth": {"gt": 1}}, True),
    ({"model.files": {"empty": False}}, True),
    ({"model.name": {"name_starts_with": {"ref": "clause.params.prefix"}}}, True),
    ({"all": [{"model.id": "acme/x"}, {"not": {"ancestor.depth": {"lt": 2}}}]}, True),
    ({"any": [{"model.id": "nope"}, {"ancestor.depth": 2}]}, True),
])
def test_operators(node: Any, expected: bool) -> None:
    assert ok(node, CTX) is expected


def test_missing_facts_are_false_except_exists_false() -> None:
    assert ok({"model.card.license": {"eq": "mit"}}, CTX) is False
    assert ok({"model.card.license": {"ne": "mit"}}, CTX) is False  # missing never satisfies a comparison
    assert ok({"model.card.license": {"exists": False}}, CTX) is True
    assert ok({"model.card.license": {"exists": True}}, CTX) is False
    assert ok({"model.name": {"starts_with": {"ref": "clause.params.nope"}}}, CTX) is False


def test_explain_lists_the_leaves_that_decided() -> None:
    cond, _ = compile_({"all": [{"model.id": "acme/x"}, {"ancestor.depth": {"gt": 5}}]})
    (leaf,) = cond.explain(CTX)
    assert leaf == {"path": "ancestor.depth", "op": "gt", "expected": 5, "actual": 2, "negated": False}


@pytest.mark.parametrize(("node", "message"), [
    ({"model.licence": "mit"}, "did you mean 'model.license'"),
    ({"model.id": {"equals": "x"}}, "unknown operator 'equals'"),
    ({"waiver.rule": "x"}, "'waiver' is not bound here"),
    ({"model.id": {"matches": "("}}, "invalid regular expression"),
    ({"model.license": {"license_avoids": ["not-a-license"]}}, "unknown license id"),
    ({"model.id": {"in": "x"}}, "takes a list"),
    ({"model.license.categorys": {"contains": "x"}}, "did you mean 'categories'"),
    ({"model.id": "a", "model.name": "b"}, "exactly one key"),
])
def test_compile_errors(node: Any, message: str) -> None:
    _, errors = compile_(node)
    assert any(message in (e.message + " " + e.help) for e in errors), [e.message for e in errors]
