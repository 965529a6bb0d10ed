"""The vocabulary every stage shares: verdicts, finding kinds, severities and lineage relations, each defined
once with one rank, and the one rule for which finding decides a verdict.

They are plain strings on the wire (JSON, SARIF, the state file) and in rule data, so they are `Literal` types
with their values listed here; everything that orders them uses the ranks below (0 is the most serious).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar

Verdict = Literal["fail", "review", "pass"]
VERDICTS: tuple[Verdict, ...] = ("fail", "review", "pass")
# An outcome of a target is a verdict or `error` (the target could not be evaluated): worst first.
OUTCOME_RANK = {"error": 0, "fail": 1, "review": 2, "pass": 3}

# What a finding does to the verdict (DESIGN §7): violation fails at or above --fail-on; review and evidence make
# a verdict review at least; obligation and note have no effect.
Kind = Literal["violation", "review", "evidence", "obligation", "note"]
KINDS: tuple[Kind, ...] = ("violation", "review", "evidence", "obligation", "note")
KIND_RANK = {kind: i for i, kind in enumerate(KINDS)}
NEEDS_PERSON: frozenset[str] = frozenset({"review", "evidence"})

Severity = Literal["error", "warning", "note"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "note")  # most severe first
SEVERITY_RANK = {severity: i for i, severity in enumerate(SEVERITIES)}

# Lineage relations: the Hub's four (how weights derive), plus distillation (a teacher whose outputs trained
# the model) and trained_on (a dataset).
Relation = Literal["finetune", "adapter", "merge", "quantized", "distillation", "trained_on"]
FINETUNE, ADAPTER, MERGE, QUANTIZED = "finetune", "adapter", "merge", "quantized"
DISTILLATION, TRAINED_ON = "distillation", "trained_on"
HUB_RELATIONS: tuple[str, ...] = (FINETUNE, ADAPTER, MERGE, QUANTIZED)  # the Hub's four, in the order it lists them
WEIGHT_RELATIONS: frozenset[str] = frozenset(HUB_RELATIONS)
RELATIONS: frozenset[str] = WEIGHT_RELATIONS | {DISTILLATION, TRAINED_ON}


# How strongly a finding's citation is sourced, strongest first: the primary text (V), a verbatim copy (C), the
# user's own contract (policy), a curated fact, a secondary source (S), a clause nobody read (UNVERIFIED); a
# finding of policycheck's own rules carries no grade and comes last.
GRADES: tuple[str, ...] = ("V", "C", "policy", "curation", "S", "UNVERIFIED")
GRADE_RANK = {grade: i for i, grade in enumerate(GRADES)}
# What each grade says about how the clause was read (every format explains the letters it shows with these).
GRADE_MEANINGS: dict[str, str] = {
    "V": "read against the licensor's own text",
    "C": "read against a verbatim copy of the text",
    "policy": "the user's own contract or policy file",
    "curation": "a policycheck curation, with its own citation",
    "S": "from a secondary source, not read against the text: a person must confirm it",
    "UNVERIFIED": "not read against any text: a person must confirm it",
}
# The `basis` of a citation that names one of policycheck's own rules (its design, the policy file, the Hub's
# conventions) rather than a clause of a license or contract: it has no grade.
OWN_RULE = "policycheck-rule"
# The `declared_in` of a lineage edge read from a card's text (a dataset's card saying which model generated it),
# not from its metadata: what rests on it is review at most.
CARD_TEXT = "card-text"


def grade_rank(citation: Any) -> int:
    """0 for a citation graded V, ... len(GRADES) for none."""
    grade = citation.get("grade") if isinstance(citation, Mapping) else None
    return GRADE_RANK.get(grade, len(GRADES)) if isinstance(grade, str) else len(GRADES)


def severity_rank(severity: str) -> int:
    """0 for error, 1 for warning, 2 for note; anything else after them."""
    return SEVERITY_RANK.get(severity, len(SEVERITIES))


def at_or_above(severity: str, threshold: str) -> bool:
    """Is `severity` at least as severe as `threshold` (`--fail-on`)?"""
    return severity_rank(severity) <= severity_rank(threshold)


def verdict_of(kinds_and_severities: Iterable[tuple[str, str]], fail_on: str = "error") -> Verdict:
    """The verdict of a target's open findings, given as (kind, severity): fail on a violation at or above
    `fail_on`, review when a finding needs a person, else pass."""
    review = False
    for kind, severity in kinds_and_severities:
        if kind == "violation" and at_or_above(severity, fail_on):
            return "fail"
        review = review or kind in NEEDS_PERSON
    return "review" if review else "pass"


F = TypeVar("F")


def _field(finding: Any, name: str) -> Any:
    return finding.get(name) if isinstance(finding, Mapping) else getattr(finding, name, None)


def decisive(findings: Iterable[F], verdict: str) -> F | None:
    """The finding that decides `verdict`, among a target's findings (objects or mappings with `kind`,
    `severity` and `status`; waived ones are skipped): for fail, the most severe open violation; for review, the
    most severe open finding that needs a person, else (a violation below --fail-on) the most severe violation;
    none for pass. Among equally severe findings the best-sourced citation decides (a clause read in the primary
    text before one from a copy or a secondary source, and any license clause before policycheck's own rule: a
    reader checks the finding the verdict rests on first), then the nearer ancestor (a parent's clause before a
    grandparent's); remaining ties keep the engine's order."""
    if verdict not in ("fail", "review"):
        return None
    open_ = [f for f in findings if _field(f, "status") in (None, "open")]
    violations = [f for f in open_ if _field(f, "kind") == "violation"]
    chosen = violations if verdict == "fail" else [f for f in open_ if _field(f, "kind") in NEEDS_PERSON]
    if not chosen and verdict == "review":
        chosen = violations
    if not chosen:
        return None
    # most severe; then a clause of a license text before policycheck's own rule, by grade; then the clause an
    # ancestor breaks directly (a parent's) before one broken further up
    return min(chosen, key=lambda f: (severity_rank(str(_field(f, "severity"))), grade_rank(_field(f, "citation")),
                                      len(_field(f, "via") or ())))
