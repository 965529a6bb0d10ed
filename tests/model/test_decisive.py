"""Which finding decides a verdict (policy.model.vocab.decisive): the most severe, then the best-sourced one."""

from __future__ import annotations

from typing import Any

from policy.model.vocab import GRADES, decisive, grade_rank


def finding(rule: str, severity: str = "error", kind: str = "violation", grade: str | None = None) -> dict[str, Any]:
    citation = {"section": "§1", "source": "x", "grade": grade} if grade else {"source": "policycheck DESIGN"}
    return {"rule": rule, "severity": severity, "kind": kind, "status": "open", "citation": citation}


def test_among_equally_severe_violations_the_primary_text_decides() -> None:
    copy, primary = finding("from-a-copy", grade="C"), finding("from-the-text", grade="V")
    assert decisive([copy, primary], "fail") is primary
    assert decisive([primary, copy], "fail") is primary  # not the engine's order


def test_severity_still_comes_first_and_equal_grades_keep_the_engine_order() -> None:
    warning = finding("warning-from-the-text", severity="warning", grade="V")
    error = finding("error-from-a-copy", grade="C")
    assert decisive([warning, error], "fail") is error
    first, second = finding("first", grade="V"), finding("second", grade="V")
    assert decisive([first, second], "fail") is first


def test_a_graded_licence_clause_outranks_policycheck_s_own_rule_under_review() -> None:
    own = finding("ancestor-unresolved", severity="warning", kind="review")
    clause = finding("teacher-scope-unknown", severity="warning", kind="review", grade="V")
    assert decisive([own, clause], "review") is clause
    assert grade_rank(clause["citation"]) == 0 and grade_rank(own["citation"]) == grade_rank(None) == len(GRADES)


def test_at_equal_severity_and_grade_the_clause_a_parent_breaks_comes_before_a_grandparents() -> None:
    far = {**finding("far", grade="V"), "via": ("finetune", "finetune")}
    near = {**finding("near", grade="V"), "via": ("finetune",)}
    assert decisive([far, near], "fail") is near
    weaker_near = {**finding("weaker-near", grade="C"), "via": ("finetune",)}
    assert decisive([weaker_near, far], "fail") is far  # the grade first, the distance after
