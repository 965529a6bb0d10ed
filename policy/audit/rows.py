"""What a row of a tree audit says, read one way by the audit (its summary) and by every output format: the rule
its verdict is reported under, every rule it breaks, the organisation that publishes it, and its link on the Hub
the audit read (`HF_ENDPOINT`, else huggingface.co).

A row is a mapping as the audit writes it (`policy/audit/tree.py`, `_row`) and the state file gives it back; rows
written by an older policycheck lack `rules`, which is then read from their (capped) findings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from policy.model.vocab import KIND_RANK, severity_rank
from policy.model.vocab import decisive as decisive_finding
from policy.textsafe import safe_url

HUB = "https://huggingface.co"
UNREADABLE_RULE = "tree-descendant-unreadable"
FALLBACK_RULES = {"fail": "tree-descendant-fails", "review": "tree-descendant-needs-review"}
ISSUE_KINDS = ("violation", "review", "evidence")  # the findings a row keeps: what a person has to act on
NO_ORG = "(no organisation)"  # a repo id without a namespace (the Hub's oldest models)


def findings_of(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [f for f in row.get("findings") or () if isinstance(f, Mapping)]


def decisive(row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The finding that decides the row's verdict (policy.model.vocab.decisive); None when the row has none."""
    return decisive_finding(findings_of(row), str(row.get("verdict")))


def rule_of(row: Mapping[str, Any]) -> str:
    """The rule id a fail/review row is reported under: its decisive finding's, else why it has none."""
    if row.get("source") == "error":
        return UNREADABLE_RULE
    f = decisive(row)
    if f is not None and f.get("rule"):
        return str(f["rule"])
    return FALLBACK_RULES.get(str(row.get("verdict")), FALLBACK_RULES["review"])


def open_rules(findings: Iterable[Mapping[str, Any]], verdict: str) -> list[str]:
    """Every rule id of the open findings a person acts on, each once, in a stable order: the decisive finding's
    first (the one the reason gives), then the rest by severity, kind and id."""
    issues = [f for f in findings if f.get("status") in (None, "open") and f.get("kind") in ISSUE_KINDS
              and f.get("rule")]
    top = decisive_finding(issues, verdict)
    ordered = sorted(issues, key=lambda f: (f is not top, severity_rank(str(f.get("severity"))),
                                            KIND_RANK.get(str(f.get("kind")), len(KIND_RANK)), str(f.get("rule"))))
    return list(dict.fromkeys(str(f["rule"]) for f in ordered))


def rules_of(row: Mapping[str, Any]) -> list[str]:
    """Every rule a row breaks or needs a person for, the one it is reported under first (`rule_of`)."""
    stored = row.get("rules")
    if isinstance(stored, list) and all(isinstance(r, str) for r in stored):
        found = list(stored)
    else:
        found = open_rules(findings_of(row), str(row.get("verdict")))
    lead = [rule_of(row)] if row.get("verdict") in ("fail", "review") or row.get("source") == "error" else []
    return list(dict.fromkeys([*lead, *found]))


def org_of(repo_id: object) -> str:
    """The Hub namespace (user or organisation) of a repo id: what comes before its `/`."""
    text = str(repo_id or "")
    return text.split("/", 1)[0] if "/" in text else NO_ORG


def hub_link(endpoint: object, repo_id: object) -> str:
    """The page of `repo_id` on the Hub at `endpoint` (the one the audit read), as a link `safe_url` allows; ""
    when there is none (no id, or an endpoint that cannot be a link)."""
    if not isinstance(repo_id, str) or not repo_id:
        return ""
    base = str(endpoint).rstrip("/") if isinstance(endpoint, str) and endpoint else HUB
    return safe_url(f"{base}/{quote(repo_id, safe='/')}")


class Tally:
    """Counts of the rows by rule and by organisation, added one row at a time (the rows are streamed: only the
    counts are kept)."""

    def __init__(self) -> None:
        self.rules: dict[str, Counter[str]] = {}
        self.orgs: dict[str, Counter[str]] = {}

    def add(self, row: Mapping[str, Any]) -> None:
        verdict = str(row.get("verdict") or "review")
        for rule in rules_of(row):
            c = self.rules.setdefault(rule, Counter())
            c["descendants"] += 1
            c[verdict] += 1
        c = self.orgs.setdefault(org_of(row.get("id")), Counter())
        c["descendants"] += 1
        c[verdict] += 1

    def by_rule(self) -> list[dict[str, Any]]:
        """One entry per rule: the descendants it was found in, and how many of them fail or need review; most
        descendants first."""
        items = [{"rule": rule, "descendants": c["descendants"], "fail": c["fail"], "review": c["review"]}
                 for rule, c in self.rules.items()]
        return sorted(items, key=lambda x: (-x["descendants"], x["rule"]))

    def by_org(self) -> list[dict[str, Any]]:
        """One entry per organisation: its descendants and their verdicts; most failing first, then most to
        review, then most descendants."""
        items = [{"org": org, "descendants": c["descendants"], "fail": c["fail"], "review": c["review"],
                  "pass": c["pass"]} for org, c in self.orgs.items()]
        return sorted(items, key=lambda x: (-x["fail"], -x["review"], -x["descendants"], x["org"]))


def tally(rows: Iterable[Mapping[str, Any]]) -> Tally:
    t = Tally()
    for row in rows:
        t.add(row)
    return t
