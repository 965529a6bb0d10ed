"""Rule test cases as data: build facts from a case's short form, evaluate, compare findings strictly.

A case lists the subject (`model:` card fields plus `id`), its lineage (`lineage:` edges, each naming the
parent's license inline; `child` defaults to the subject), an optional `policy:` and `today:`, and the exact
findings of the rule under test it must produce (`expect:`). A missing expected finding is a false negative,
an extra one a false positive; either fails the case. A case may also say which duties the evaluation lists
(`obligations: {listed: [...], not_listed: [...]}`, by clause type), for readings about when a duty is owed.
The subject and each parent may carry what the scanner reads beside the card: `hub: {pipeline_tag, library_name}`
(what the Hub computes) and `config: {architectures: [...]}` (config.json).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from policy.engine.evaluation import evaluate
from policy.engine.rules import Pack, Rule
from policy.model.catalog import Catalog
from policy.model.evidence import Evidence
from policy.model.facts import OK, RELATIONS, CardNote, Edge, Lineage, ModelFacts
from policy.model.overlays import ModelOverlay
from policy.model.policyfile import policy_from_dict
from policy.records import record
from policy.scan.cards import MISSPELLED_KEYS, declared_license
from policy.scan.lineage import api_node, apply_overlay, find_cycles

DEFAULT_TODAY = dt.date(2026, 6, 1)
NODE_KEYS = ("license", "license_name", "license_link", "pipeline_tag", "tags")


@record
class CaseResult:
    pack: str
    rule: str
    case: str
    ok: bool
    missing: tuple[Mapping[str, Any], ...] = ()
    unexpected: tuple[Mapping[str, Any], ...] = ()
    error: str = ""


def lineage_from_case(case: Mapping[str, Any], catalog: Catalog,
                      overlays: Mapping[str, ModelOverlay] | None = None) -> Lineage:
    """Facts from a case's short form; policy `models:` overlays attach to nodes as in a real walk."""
    model = dict(case["model"])
    subject_id = str(model.pop("id"))
    beside = _beside_card(model)
    fields = {str(k): v for k, v in model.items()}
    notes = []
    for wrong, right in MISSPELLED_KEYS.items():
        if wrong in fields and right not in fields:
            fields[right] = fields[wrong]
            notes.append(CardNote("misspelled-key", f"key '{wrong}' read as '{right}'"))
    status = str(fields.pop("status", OK))
    detail = str(fields.pop("status_detail", ""))
    nodes: dict[str, ModelFacts] = {subject_id: ModelFacts(
        id=subject_id, source="file", status=status, status_detail=detail, license=declared_license(fields),
        card=fields, notes=tuple(notes), **beside)}
    edges: list[Edge] = []
    for raw in case.get("lineage", ()):
        parent, relation = str(raw["parent"]), str(raw["relation"])
        if relation not in RELATIONS:
            raise ValueError(f"unknown relation {relation!r}")
        kind = str(raw.get("kind") or ("dataset" if relation == "trained_on" else
                                       "api" if catalog.api_terms(parent) else "model"))
        edges.append(Edge(str(raw.get("child", subject_id)), parent, relation, "card", False, kind))
        if parent in nodes:
            continue
        if kind == "api":
            nodes[parent] = api_node(parent, catalog)
            continue
        pfields = {k: raw[k] for k in NODE_KEYS if k in raw}
        nodes[parent] = ModelFacts(
            id=parent, kind=kind, source="file", status=str(raw.get("status", OK)),
            status_detail=str(raw.get("status_detail", "")), license=declared_license(pfields), card=pfields,
            **_beside_card(dict(raw)))
    nodes = {nid: apply_overlay(node, (overlays or {}).get(nid)) for nid, node in nodes.items()}
    return Lineage(subject=subject_id, nodes=nodes, edges=tuple(edges),
                   problems=tuple(find_cycles(subject_id, edges)))


def _beside_card(fields: dict[str, Any]) -> dict[str, Any]:
    """What a case gives beside a node's card fields (taken out of them): the Hub's computed task and library,
    and the config.json architectures."""
    hub, config = fields.pop("hub", None) or {}, fields.pop("config", None) or {}
    return {"hub_task": hub.get("pipeline_tag"), "hub_library": hub.get("library_name"), "config": dict(config)}


def run_case(rule: Rule, pack: Pack, case: Mapping[str, Any], catalog: Catalog) -> CaseResult:
    name = str(case.get("name", "?"))
    try:
        policy = policy_from_dict({"schema": "policycheck/policy/v1", **(case.get("policy") or {})}, None,
                                  catalog.lookup)
        lineage = lineage_from_case(case, catalog, policy.models)
        today = dt.date.fromisoformat(str(case["today"])) if case.get("today") else DEFAULT_TODAY
        evidence = [Evidence(code=str(e["code"]), message=str(e.get("message", e["code"])),
                             method=str(e.get("method", "prose")), confidence=str(e.get("confidence", "high")),
                             source=str(e.get("source", "card")), subject=lineage.subject,
                             line=int(e.get("line", 0)), quote=str(e.get("quote", "")),
                             refers_to=e.get("refers_to"), data=dict(e.get("data") or {}))
                    for e in case.get("evidence", ())]
        report = evaluate(lineage, [pack], catalog, policy, today, evidence)
    except Exception as exc:  # a broken case is a failed case, reported with its reason
        return CaseResult(pack.id, rule.id, name, False, error=f"{type(exc).__name__}: {exc}")
    got = [f for f in report.findings if f.rule == rule.id]
    expected = [e for e in case.get("expect", ()) if e.get("rule") == rule.id]
    unmatched = list(got)
    missing = []
    for exp in expected:
        hit = next((f for f in unmatched if _matches(exp, f)), None)
        if hit is None:
            missing.append(exp)
        else:
            unmatched.remove(hit)
    unexpected = tuple({"rule": f.rule, "ancestor": f.ancestor, "message": f.message} for f in unmatched)
    duties = case.get("obligations") or {}
    missing += [{"obligation": d} for d in duties.get("listed", ()) if not _listed(d, report.obligations)]
    unexpected += tuple({"obligation": d, "listed": "but not owed"} for d in duties.get("not_listed", ())
                        if _listed(d, report.obligations))
    return CaseResult(pack.id, rule.id, name, not missing and not unexpected, tuple(missing), unexpected)


def _listed(duty: str | Mapping[str, Any], obligations: Sequence[Any]) -> bool:
    """Is the duty (a clause type, or `{type, license}`) among the report's obligations?"""
    kind, lid = (duty, None) if isinstance(duty, str) else (duty["type"], duty["license"])
    return any(o.clause == kind and lid in (None, o.license) for o in obligations)


def _matches(exp: Mapping[str, Any], f: Any) -> bool:
    if "ancestor" in exp and exp["ancestor"] != f.ancestor:
        return False
    for key in ("severity", "kind", "status"):
        if key in exp and exp[key] != getattr(f, key):
            return False
    return not ("message_contains" in exp and exp["message_contains"] not in f.message)


def run_pack_tests(packs: Sequence[Pack], catalog: Catalog, rule_ids: Sequence[str] = ()) -> list[CaseResult]:
    results = []
    for pack in packs:
        for rule in pack.rules:
            if rule_ids and rule.id not in rule_ids:
                continue
            for case in rule.tests:
                results.append(run_case(rule, pack, case, catalog))
    return results
