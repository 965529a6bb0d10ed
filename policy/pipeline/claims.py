"""`policycheck claims`: a model's evaluation claims, each classified, and the evidence about them."""

from __future__ import annotations

from typing import Any

from policy.evidence.collect import claims_view
from policy.pipeline.session import CheckOptions, Session

QUESTIONABLE = frozenset({"claim-verified-without-token", "claim-inconsistent", "claim-exceeds-independent",
                          "claim-unmatched"})


def claims_of(target: str, options: CheckOptions) -> dict[str, Any]:
    """`policycheck claims`: the subject's evaluation claims, each classified, and the evidence about them
    (`policycheck/claims/v1`). Verdict review when an item needs a person (the rules' evidence kinds)."""
    from policy import __version__
    from policy.model.report import DISCLAIMER

    with Session(options) as session:
        facts = session.subject(target)
        policy = session.policy_for(target)
        view = claims_view(facts, session.independent,
                           require_independent="independent_evaluation" in policy.requirements)
    evidence = [e.to_dict() for e in view.evidence]
    counts: dict[str, int] = {}
    for k in view.classes:
        counts[k] = counts.get(k, 0) + 1
    questionable = [e for e in evidence if e["code"] in QUESTIONABLE]
    return {"schema": "policycheck/claims/v1", "tool": {"name": "policycheck", "version": __version__},
            "model": facts.id, "revision": facts.revision, "source": facts.source,
            "verdict": "review" if questionable else "pass", "counts": counts,
            "independent_values": view.independent, "claims": view.rows(), "evidence": evidence,
            "notes": list(view.notes), "disclaimer": DISCLAIMER}


