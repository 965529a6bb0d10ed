"""The judged lineage of a batch of reports as one graph, for the bill-of-materials formats (CycloneDX, SPDX 3).

Pure over finished reports. A node shared by several reports (a base two subjects fine-tune) is one node; the
first report's facts win. Each node has a stable reference (its id, prefixed with its kind only when a node of
another kind already took the id). Edges keep their relation and where they were declared (card, hub-api,
curation, policy) with the curation's citation, so a format can say where each fact came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.model.report import LicenseInfo, LineageEdge, Report, TargetError
from policy.model.vocab import OUTCOME_RANK
from policy.records import record
from policy.render.spdx import map_catalog_expression

BATCH_REF = "policycheck-batch"

Key = tuple[str, str]  # (kind, id)


@record
class BomEdge:
    relation: str
    parent: Key
    declared_in: str  # card | hub-api | curation | policy
    inferred: bool = False
    citation: Mapping[str, Any] | None = None  # section, quote, source (curations and policy facts)


@dataclass
class BomNode:
    id: str
    kind: str  # model | dataset | api
    source: str
    status: str
    revision: str | None
    declared_raw: str | None  # as the card (or curation) says
    declared: str | None  # the same as an SPDX expression, when the catalog knows every term
    concluded: str | None  # resolved by policycheck (SPDX expression)
    card: Mapping[str, Any] = field(default_factory=dict)  # the report's card summary (task, languages, ...)
    last_modified: str | None = None
    weights: list[tuple[str, str]] = field(default_factory=list)  # (path, sha256) of LFS weight files (subjects)
    subject: bool = False
    verdict: str | None = None
    edges: list[BomEdge] = field(default_factory=list)  # to its parents, in the order the lineage lists them

    @property
    def on_hub(self) -> bool:
        """A Hub repo: an ancestor named by a Hub id (wherever its card was read), or a subject read from the
        Hub; never an API model or a local path."""
        if self.kind == "api" or not self.id or self.id.startswith(("/", ".")):
            return False
        return self.source in ("hub", "cache") if self.subject else self.status != "invalid"

    def parents(self, relations: Collection[str] | None = None) -> list[Key]:
        return list(dict.fromkeys(e.parent for e in self.edges if relations is None or e.relation in relations))


@dataclass
class BomGraph:
    nodes: dict[Key, BomNode]
    refs: dict[Key, str]
    subjects: list[Key]
    reports: list[Report]
    errors: list[TargetError]
    day: dt.date
    licenses: dict[str, LicenseInfo]  # catalog id -> spdx, name, url (every report's)

    @property
    def worst(self) -> str:
        """The batch's verdict: error > fail > review > pass (a target that could not be read is an error)."""
        verdicts = [*(r.verdict for r in self.reports), *("error" for _ in self.errors)]
        return min(verdicts or ["error"], key=lambda v: OUTCOME_RANK.get(v, 0))

    @property
    def catalog_digests(self) -> list[str]:
        return list(dict.fromkeys(r.catalog_digest for r in self.reports if r.catalog_digest))

    @property
    def packs(self) -> dict[str, tuple[str, str]]:
        """pack id -> (version, sha256), first report's."""
        out: dict[str, tuple[str, str]] = {}
        for r in self.reports:
            for p in r.packs:
                out.setdefault(p.id, (p.version, p.sha256))
        return out


def edge_origin(node: BomNode, edge: BomEdge) -> tuple[str, str]:
    """Who supplied an edge of `node` (`self`: the node's own card or Hub entry; `tool`: policycheck's curation
    or the user's policy file) and a note saying where it came from, with a curation's section, quote and
    address."""
    how = "inferred as the Hub infers it" if edge.inferred else "declared"
    if edge.declared_in == "card":
        return "self", f"{how} in the card of {node.id}"
    if edge.declared_in == "hub-api":
        return "self", f"the Hub's model tree for {node.id}"
    cite = edge.citation or {}
    where = "a policycheck curation" if edge.declared_in == "curation" else "the user's policy file"
    if cite.get("source"):
        quote = f' "{cite["quote"]}"' if cite.get("quote") else ""
        return "tool", f"{where}, citing {cite.get('section') or 'its source'}:{quote} ({cite['source']})"
    return "tool", where


def _nodes(report: Report, table: Mapping[str, LicenseInfo]) -> list[BomNode]:
    subject = report.subject
    slic = subject.license
    evaluated = {e.id: e for e in report.evaluated}
    parent_facts: dict[str, LineageEdge] = {}
    for entry in report.lineage:
        parent_facts.setdefault(entry.parent, entry)
    sid = subject.id
    s_eval = evaluated.get(sid)
    raw = slic.declared
    concluded = slic.resolved if slic.known and slic.resolved else None
    declared = map_catalog_expression(slic.id, table) if slic.id else None
    out = [BomNode(sid, (s_eval.kind if s_eval else "") or "model",
                   (s_eval.source if s_eval else "") or subject.source or "",
                   (s_eval.status if s_eval else "") or subject.status or "ok", subject.revision,
                   raw or None, declared or concluded, concluded, card=dict(s_eval.card) if s_eval else {},
                   last_modified=subject.last_modified, subject=True, verdict=report.verdict,
                   weights=[(w.path, w.sha256) for w in subject.weights or () if w.path and w.sha256])]
    for nid, e in evaluated.items():
        if nid == sid:
            continue
        facts = parent_facts.get(nid)
        raw = facts.parent_license if facts else None
        spdx = facts.parent_spdx if facts else None
        concluded = spdx if facts and facts.resolved and spdx else None
        out.append(BomNode(nid, e.kind or (facts.parent_kind if facts else "") or "model", e.source or "",
                           e.status or "", e.revision, raw or None,
                           map_catalog_expression(raw, table) if raw else None, concluded,
                           card=dict(e.card), last_modified=e.last_modified))
    return out


def build_graph(results: Sequence[Report | TargetError], taken: Sequence[str] = (BATCH_REF,),
                day: dt.date | None = None) -> BomGraph:
    """`day`: the document's date when no report gives one (every target failed); reports' own date wins."""
    reports = [r for r in results if isinstance(r, Report)]
    errors = [r for r in results if isinstance(r, TargetError)]
    day = dt.date.fromisoformat(reports[0].date) if reports else day or dt.date(1970, 1, 1)
    table = {lid: info for r in reports for lid, info in r.licenses.items()}

    nodes: dict[Key, BomNode] = {}
    refs: dict[Key, str] = {}
    used: set[str] = set(taken)
    subjects: list[Key] = []
    for report in reports:
        local: dict[str, Key] = {}
        for node in _nodes(report, table):
            key = (node.kind, node.id)
            local[node.id] = key
            if key in nodes:
                if node.subject:
                    nodes[key].subject, nodes[key].verdict = True, node.verdict
                continue
            nodes[key] = node
            ref = node.id if node.id not in used else f"{node.kind}:{node.id}"
            while ref in used:
                ref += "+"
            used.add(ref)
            refs[key] = ref
        sub = local[report.subject.id]
        if sub not in subjects:
            subjects.append(sub)
        for e in report.lineage:
            child, parent = local.get(e.child), local.get(e.parent)
            if child is None or parent is None:
                continue
            edge = BomEdge(e.relation, parent, e.declared_in or "", e.inferred, e.citation)
            if all((x.relation, x.parent) != (edge.relation, edge.parent) for x in nodes[child].edges):
                nodes[child].edges.append(edge)
    return BomGraph(nodes, refs, subjects, reports, errors, day, table)
