"""The Report: pure data built by the engine, read by every renderer (`policycheck/report/v1`).

Every part is a frozen dataclass whose `to_dict()` is its piece of the JSON v1 contract, key order and optional
keys included; `Report.to_dict()` is the contract. Card-derived free-form content (the card summary of an
evaluated node, the intended use, citations, waivers, explanations, evidence data) stays a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from policy import __version__
from policy.model.evidence import Evidence
from policy.model.facts import CardNote
from policy.model.vocab import GRADE_MEANINGS, decisive
from policy.records import record

SCHEMA = "policycheck/report/v1"
DISCLAIMER = ("policycheck reports what licenses and declared lineage say and where; it is not legal advice. "
              "Findings marked review need a person to decide.")


# -- plain words for documents ----------------------------------------------------------------------------------

_RELATION_WORDS = {"finetune": "a fine-tune", "adapter": "an adapter", "merge": "a merge",
                   "quantized": "a quantisation", "distillation": "distilled from the outputs",
                   "trained_on": "trained on data"}
_STATUS_WORDS = {
    "missing": "not on the Hub, or private",
    "unavailable": "could not be read",
    "invalid": "not a valid id, or its card could not be read",
}


def status_words(status: str, license_known: bool) -> str:
    """A lineage node's read status for a document: what was and was not read ("" for a node read in full).
    A gated repo's license is often read from the Hub API though its card is not."""
    if status in ("ok", ""):
        return ""
    if status == "gated":
        return ("license read from the Hub API; card not readable (gated)" if license_known
                else "gated: neither its card nor its license could be read without access")
    return _STATUS_WORDS.get(status, f"not examined ({status})")


def intended_use_words(use: Mapping[str, bool]) -> str:
    """`{"commercial": True, "distributed": True, "hosted": False}` -> "commercial and distributed"."""
    names = [k for k, v in use.items() if v]
    if not names:
        return "none"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _use_noun(use: Mapping[str, bool]) -> str:
    if use.get("distributed"):
        return "distribution"
    if use.get("hosted"):
        return "hosting"
    if use.get("commercial"):
        return "commercial use"
    return "the intended use"


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return (head + ".") if dot else text


def _lower_first(text: str) -> str:
    """A sentence's first word in lower case, unless it is written in capitals (an acronym: "MIT", "GPL-3.0")."""
    word = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if len(word) == 1 or any(c.islower() for c in word[1:]) else text


def inherited_defect(report: Report) -> str:
    """When the decisive finding's ancestor reaches the subject through a model that already carries the subject's
    label (a community fine-tune of Llama labelled MIT, fine-tuned again and still labelled MIT), a sentence that
    says so: the label was likely inherited, which mitigates and is a question for the provider. "" otherwise."""
    f = report.decisive()
    own = report.subject.license
    label = own.id or own.declared
    if f is None or not f.ancestor or not label or report.verdict == "pass":
        return ""
    licenses = {e.parent: e.parent_license for e in report.lineage}
    for e in report.lineage:
        if e.parent == f.ancestor and e.child != report.subject.id and licenses.get(e.child) == label:
            return (f"The same label is upstream: {e.child}, through which {report.subject.id} derives from "
                    f"{f.ancestor}, is itself labelled {own.resolved or label}; the label was likely inherited, "
                    "which mitigates the finding and is a question for the provider.")
    return ""


def plain_verdict(report: Report) -> str:
    """The verdict in one sentence a reader outside compliance follows, built from the decisive finding:
    "Labelled MIT, but a fine-tune of meta-llama/Llama-3.1-8B-Instruct under the Llama 3.1 Community License
    Agreement: not cleared for distribution until the model is licensed as that agreement requires." Never
    says a model is compliant: a pass is "no open violation and no missing fact" on what was read."""
    use = _use_noun(report.policy.use)
    f = report.decisive()
    if report.verdict == "pass" or f is None:
        if report.verdict == "pass":
            return f"No open violation and no missing fact in what was read: nothing here stands in the way of {use}."
        return ("Not cleared: a finding needs a person's decision." if report.verdict == "review"
                else f"Not cleared for {use}.")
    label = report.subject.license
    declared = label.resolved or label.declared
    fix = _lower_first(_first_sentence(f.remediation).rstrip(".")) if f.remediation else ""
    if report.verdict == "fail":
        if f.ancestor and f.license:
            info = report.licenses.get(f.license)
            name = info.name if info is not None and info.name else f.license
            relation = _RELATION_WORDS.get(f.via[-1] if f.via else "", "a derivative")
            lead = (f"Labelled {declared}, but {relation} of {f.ancestor} under the {name}" if declared
                    else f"{relation[:1].upper()}{relation[1:]} of {f.ancestor} under the {name}")
            sentence = f"{lead}: not cleared for {use}" + (f" until you {fix}." if fix else ".")
            inherited = inherited_defect(report)
            return f"{sentence} {inherited}" if inherited else sentence
        return f"Not cleared for {use}: {_lower_first(f.title)}" + (f"; to clear it, {fix}." if fix else ".")
    return f"Not yet cleared for {use}: {_lower_first(f.title)}, which a person must decide" + (
        f"; to settle it, {fix}." if fix else ".")


@record
class Finding:
    """One rule's finding on a node of the lineage, with its citation."""
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


@record
class Obligation:
    """A duty a license places on whoever distributes the subject."""
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


@record
class SubjectLicense:
    """The subject's license: as declared on the card, and as the catalog resolved it."""

    declared: str | None = None  # as written (`mit`, `other [license_name=...]`), None when nothing is declared
    resolved: str | None = None  # the SPDX expression, when known
    id: str | None = None  # the catalog id (or expression over catalog ids), when known
    known: bool = False
    reason: str = ""  # why it is unknown, or how it was recognised (alias, link)
    categories: tuple[str, ...] = ()  # catalog categories of every license named

    def to_dict(self) -> dict[str, Any]:
        return {"declared": self.declared, "resolved": self.resolved, "id": self.id, "known": self.known,
                "reason": self.reason, "categories": list(self.categories)}


@record
class WeightFile:
    """A weight file of the subject with the sha256 the Hub lists for it (an LFS digest of the file)."""

    path: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "sha256": self.sha256}


@record
class Subject:
    """The model the report is about."""

    id: str
    source: str = "file"  # hub | file | cache | curation | policy | none
    revision: str | None = None  # the commit sha evaluated
    path: str | None = None  # the local card file, when read from one
    last_modified: str | None = None
    name: str = ""
    license: SubjectLicense = field(default_factory=SubjectLicense)
    card_notes: tuple[CardNote, ...] = ()
    card_lines: Mapping[str, int] = field(default_factory=dict)  # line of license/base_model/... in the card
    # Listed only when asked for (the bill-of-materials formats): None leaves `weights` out of the JSON.
    weights: tuple[WeightFile, ...] | None = None
    # What the scanner found when it read the subject (ok, gated, unavailable, ...), when the caller says; None
    # leaves `status` and `status_detail` out of the JSON.
    status: str | None = None
    status_detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id, "source": self.source, "revision": self.revision, "path": self.path,
            "last_modified": self.last_modified, "name": self.name, "license": self.license.to_dict(),
            "card_notes": [n.to_dict() for n in self.card_notes], "card_lines": dict(self.card_lines)}
        if self.weights is not None:
            d["weights"] = [w.to_dict() for w in self.weights]
        if self.status is not None:
            d["status"] = self.status
            d["status_detail"] = self.status_detail
        return d


@record
class LineageEdge:
    """An edge of the subject's lineage, with what the report knows of its parent."""

    child: str
    parent: str
    relation: str
    declared_in: str = "card"  # card | hub-api | curation | policy
    inferred: bool = False
    parent_kind: str = "model"  # model | dataset | api
    parent_license: str | None = None  # the resolved expression, else the declaration as written
    parent_spdx: str | None = None
    resolved: bool = False  # the parent was read (ok or gated) and its license is known
    parent_status: str = "unavailable"
    parent_source: str | None = None
    parent_revision: str | None = None
    citation: Mapping[str, Any] | None = None  # a curation's or the policy file's source
    note: str = ""
    relicensed_by: str | None = None  # the licensor whose later license replaces the parent's
    elected: str = ""  # for a choice of licenses: which alternative binds, and from which expression

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "child": self.child, "parent": self.parent, "relation": self.relation, "declared_in": self.declared_in,
            "inferred": self.inferred, "parent_kind": self.parent_kind, "parent_license": self.parent_license,
            "parent_spdx": self.parent_spdx, "resolved": self.resolved, "parent_status": self.parent_status,
            "parent_source": self.parent_source, "parent_revision": self.parent_revision}
        if self.citation is not None:
            d["citation"] = self.citation
        if self.note:
            d["note"] = self.note
        if self.relicensed_by:
            d["relicensed_by"] = self.relicensed_by
        if self.elected:
            d["elected"] = self.elected
        return d


@record
class EvaluatedNode:
    """A node of the lineage as it was evaluated: where it was read, at which commit, with which status."""

    id: str
    kind: str = "model"  # model | dataset | api
    source: str = "file"
    revision: str | None = None
    requested_revision: str | None = None
    last_modified: str | None = None
    retrieved_at: str | None = None
    status: str = "ok"
    detail: str = ""
    path: str | None = None
    card: Mapping[str, Any] = field(default_factory=dict)  # the card summary (engine.evaluation.card_summary)
    technical: str = ""  # why a read failed, technically: the JSON report's alone (documents show `detail`)

    def to_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "kind": self.kind, "source": self.source, "revision": self.revision,
             "requested_revision": self.requested_revision, "last_modified": self.last_modified,
             "retrieved_at": self.retrieved_at, "status": self.status, "detail": self.detail, "path": self.path,
             "card": dict(self.card)}
        if self.technical:
            d["technical"] = self.technical
        return d


@record
class PolicySummary:
    """The policy the subject was judged by. The empty summary is a report that records none."""

    file: str | None = None
    use: Mapping[str, bool] = field(default_factory=dict)  # commercial, distributed, hosted, ...
    use_declared: bool = False
    fail_on: str = ""
    licensee_region: str | None = None
    allow: tuple[str, ...] | None = None  # None: every license not denied
    deny: tuple[str, ...] = ()
    licensee_monthly_active_users: int | None = None  # the licensee's figures the license tests were judged by
    licensee_annual_revenue_usd: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "use": dict(self.use), "use_declared": self.use_declared, "fail_on": self.fail_on,
                "licensee": {"region": self.licensee_region,
                             "monthly_active_users": self.licensee_monthly_active_users,
                             "annual_revenue_usd": self.licensee_annual_revenue_usd},
                "allow": list(self.allow) if self.allow is not None else None, "deny": list(self.deny)}


@record
class PackRef:
    """A rule pack the report was evaluated with."""

    id: str
    version: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


@record
class LicenseInfo:
    """The catalog facts of a license the report names."""

    spdx: str
    name: str
    url: str
    categories: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"spdx": self.spdx, "name": self.name, "url": self.url, "categories": list(self.categories)}


@record
class Report:
    """The evaluation of one subject: verdict, lineage, findings, obligations."""
    subject: Subject
    verdict: str  # pass | fail | review
    lineage: tuple[LineageEdge, ...]
    findings: tuple[Finding, ...]
    obligations: tuple[Obligation, ...]
    packs: tuple[PackRef, ...]
    evaluated: tuple[EvaluatedNode, ...]
    date: str
    policy: PolicySummary
    notes: tuple[str, ...] = ()
    catalog_digest: str = ""
    # Why the verdict rests on less than the subject's own card (Hub unreachable, read from the cache or only
    # from curations): shown first in every format.
    notices: tuple[str, ...] = ()
    # The catalog facts of every license the report names (catalog id -> spdx, name, url), so that renderers
    # never need the catalog itself.
    licenses: Mapping[str, LicenseInfo] = field(default_factory=dict)
    # Facts the card does not declare (evaluation claims judged, lineage stated in prose), each with its method,
    # confidence and source; the findings about them are in `findings` (kind evidence).
    evidence: tuple[Evidence, ...] = ()

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
            "subject": self.subject.to_dict(),
            "verdict": self.verdict,
            "notices": list(self.notices),
            "lineage": [e.to_dict() for e in self.lineage],
            "findings": [f.to_dict() for f in self.findings],
            "obligations": [o.to_dict() for o in self.obligations],
            "packs": [p.to_dict() for p in self.packs],
            "catalog": {"sha256": self.catalog_digest},
            "evaluated": [e.to_dict() for e in self.evaluated],
            "policy": self.policy.to_dict(),
            "notes": list(self.notes),
            "licenses": {lid: info.to_dict() for lid, info in self.licenses.items()},
            "evidence": [e.to_dict() for e in self.evidence],
            "grades": self.grades(),
        }

    def grades(self) -> dict[str, str]:
        """The grade letters the citations of this report use, strongest first, with what each means (a
        citation of policycheck's own rule has none)."""
        used = {str(c.get("grade")) for c in (*(f.citation for f in self.findings),
                                              *(o.citation for o in self.obligations)) if c and c.get("grade")}
        return {g: meaning for g, meaning in GRADE_MEANINGS.items() if g in used}


@record
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
