"""The Report: pure data built by the engine, read by every renderer (`policycheck/report/v1`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policy import __version__
from policy.model.vocab import decisive

SCHEMA = "policycheck/report/v1"
DISCLAIMER = ("policycheck reports what licenses and declared lineage say and where; it is not legal advice. "
              "Findings marked review need a person to decide.")


@dataclass(frozen=True)
class Finding:
    rule: str
    title: str
    severity: str
    kind: str  # violation | review | obligation | note | evidence (DESIGN §7)
    model: str
    ancestor: str | None
    via: tuple[str, ...]
    message: str
    remediation: str
    citation: dict[str, Any] | None
    pack: str
    status: str = "open"  # open | waived
    waiver: dict[str, Any] | None = None
    explanation: tuple[dict[str, Any], ...] = ()
    clause: str | None = None
    license: str | None = None
    line: int = 0  # the card line the finding is about, when the rule's binding knows it (evidence)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "rule": self.rule, "title": self.title, "severity": self.severity, "kind": self.kind,
            "model": self.model, "ancestor": self.ancestor, "via": list(self.via), "message": self.message,
            "remediation": self.remediation, "citation": self.citation, "status": self.status,
            "pack": self.pack, "clause": self.clause, "license": self.license,
            "explanation": list(self.explanation)}
        if self.waiver is not None:
            d["waiver"] = self.waiver
        if self.line:
            d["line"] = self.line
        return d


@dataclass(frozen=True)
class Obligation:
    clause: str
    source: str  # the model the duty comes from
    license: str
    text: str
    citation: dict[str, Any]
    via: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    elected: str = ""  # for a choice of licenses (`mit OR gpl-3.0`): which alternative the duty comes from

    def to_dict(self) -> dict[str, Any]:
        d = {"clause": self.clause, "from": self.source, "license": self.license, "text": self.text,
             "via": list(self.via), "params": self.params, "citation": self.citation}
        if self.elected:
            d["elected"] = self.elected
        return d


@dataclass(frozen=True)
class Report:
    subject: dict[str, Any]
    verdict: str  # pass | fail | review
    lineage: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]
    obligations: tuple[Obligation, ...]
    packs: tuple[dict[str, str], ...]
    evaluated: tuple[dict[str, Any], ...]
    date: str
    policy: dict[str, Any]
    notes: tuple[str, ...] = ()
    catalog_digest: str = ""
    # Why the verdict rests on less than the subject's own card (Hub unreachable, read from the cache or only
    # from curations): shown first in every format.
    notices: tuple[str, ...] = ()
    # The catalog facts of every license the report names (catalog id -> spdx, name, url), so that renderers
    # never need the catalog itself.
    licenses: dict[str, dict[str, str]] = field(default_factory=dict)
    # Facts the card does not declare (evaluation claims judged, lineage stated in prose), each with its method,
    # confidence and source; the findings about them are in `findings` (kind evidence).
    evidence: tuple[dict[str, Any], ...] = ()

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "open")

    def decisive(self) -> Finding | None:
        """The finding that decides the verdict (policy.model.vocab.decisive)."""
        return decisive(self.findings, self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "tool": {"name": "policycheck", "version": __version__},
            "date": self.date,
            "disclaimer": DISCLAIMER,
            "subject": self.subject,
            "verdict": self.verdict,
            "notices": list(self.notices),
            "lineage": list(self.lineage),
            "findings": [f.to_dict() for f in self.findings],
            "obligations": [o.to_dict() for o in self.obligations],
            "packs": list(self.packs),
            "catalog": {"sha256": self.catalog_digest},
            "evaluated": list(self.evaluated),
            "policy": self.policy,
            "notes": list(self.notes),
            "licenses": self.licenses,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class TargetError:
    """A target that could not be evaluated (unreadable card, invalid id): exit 2 for it, the batch goes on."""

    target: str
    message: str
    diagnostics: tuple[dict[str, Any], ...] = ()
    frames: tuple[str, ...] = ()  # diagnostics formatted with their code frames, for text output
    internal: bool = False  # a bug in policycheck, not in the input (exit 4)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "tool": {"name": "policycheck", "version": __version__},
                "target": self.target, "verdict": "error", "error": {"message": self.message,
                                                                     "diagnostics": list(self.diagnostics)}}
