"""The view model of the document reports: a finished Report (or TargetError) as plain dicts, lists and strings.

The Markdown and HTML templates (`templates/report/`) read only this: every decision about order and grouping is
made here, once, so the templates format and never compute policy. `templates/README.md` documents the keys.

Values that came from a card stay what they are (text): escaping is the template environment's job (HTML
autoescapes, Markdown escapes every value). Here they only pass through `clean` (`policy/textsafe.py`): control
and invisible format characters become visible escapes (`\\x1b`, `\\u202e`), so no card can reorder or hide text
in a document either; a link is made only of what `safe_url` accepts. Paths are shown relative to the
working directory (or as given), so a document names no machine-specific folder that the user did not type.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policy import __version__
from policy.model.citations import describe_source, grade_meaning, grades_used, is_own_rule
from policy.model.report import (
    DISCLAIMER,
    Finding,
    LineageEdge,
    Obligation,
    Report,
    TargetError,
    plain_verdict,
    status_words,
)
from policy.model.vocab import SEVERITIES, grade_rank, severity_rank
from policy.textsafe import clean, safe_url

TREE_INDENT_CAP = 8  # lineage levels shown as indentation; deeper nodes say their depth instead
VERDICT_LABEL = {"pass": "PASS", "fail": "FAIL", "review": "REVIEW", "error": "ERROR"}
VERDICT_TEXT = {
    "pass": "No open violation and no missing fact.",
    "fail": "An open violation at or above the fail-on severity.",
    "review": "No violation, but a fact needed for a decision is missing: a person must decide.",
    "error": "The target could not be evaluated.",
}
_KIND_ORDER = {"violation": 0, "review": 1, "evidence": 2}
_KIND_TITLE = {0: "Violations", 1: "Needs review", 2: "Evidence (needs review)", 3: "Other findings"}

# The obligations checklist, grouped by what the distributor has to do (by clause type).
OBLIGATION_GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("include", "Include or copy", frozenset({"license-copy", "notice-file", "retain-notices", "state-changes",
                                              "corresponding-source", "network-source-offer"})),
    ("display", "Display", frozenset({"attribution-display"})),
    ("name", "Name", frozenset({"name-prefix"})),
    ("pass-on", "Pass on to recipients", frozenset({"use-restrictions-passthrough", "use-policy", "copyleft",
                                                    "share-alike", "no-conflicting-terms"})),
    ("other", "Other duties and conditions", frozenset()),
)


def show_path(path: Any, base: str | None = None) -> str:
    """A path relative to `base` (the working directory) when it lies inside it; else as given."""
    if not path:
        return ""
    text = str(path)
    base = base if base is not None else os.getcwd()
    prefix = base.rstrip(os.sep) + os.sep
    if text.startswith(prefix):
        text = text[len(prefix):]
    return clean(text)


def _strip_base(text: Any, base: str) -> str:
    """Free text (an error message) with the working directory's prefix removed from paths in it."""
    prefix = base.rstrip(os.sep) + os.sep
    return clean(str(text or "").replace(prefix, ""))


def citation(c: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A citation as the documents show it: its source named as pinned (`owner/repo@commit path`, linked to
    that commit), a web page, or a moving branch said to be one; its grade with the grade's meaning; and, for
    one of policycheck's own rules, the rule instead of a license (`own_rule`, no grade)."""
    if not c:
        return None
    source = describe_source(c.get("source"))
    grade = clean(c.get("grade"))
    return {"section": clean(c.get("section")), "quote": clean(c.get("quote")), "source": clean(source.label),
            "url": safe_url(source.url), "source_kind": source.kind, "grade": grade,
            "grade_meaning": grade_meaning(grade), "license": clean(c.get("license")),
            "note": clean(c.get("note")), "own_rule": is_own_rule(c), "rule": clean(c.get("rule")),
            "pack": clean(c.get("pack"))}


def grades(report: Report) -> list[dict[str, str]]:
    """The legend of the grade letters the report shows, strongest first."""
    cites = [f.citation for f in report.findings] + [o.citation for o in report.obligations]
    return [{"grade": g, "meaning": m} for g, m in grades_used(cites).items()]


def _finding(f: Finding) -> dict[str, Any]:
    waiver = None
    if f.waiver is not None:
        w = f.waiver
        waiver = {"approved_by": clean(w.get("approved_by")), "reason": clean(w.get("reason")),
                  "justification": clean(w.get("justification")), "expires": clean(w.get("expires")),
                  "ticket": clean(w.get("ticket"))}
    return {"rule": clean(f.rule), "title": clean(f.title), "severity": clean(f.severity), "kind": clean(f.kind),
            "model": clean(f.model), "ancestor": clean(f.ancestor), "via": " > ".join(clean(v) for v in f.via),
            "message": clean(f.message), "remediation": clean(f.remediation), "citation": citation(f.citation),
            "status": clean(f.status), "pack": clean(f.pack), "clause": clean(f.clause),
            "license": clean(f.license), "waiver": waiver}


def _rank(f: Finding) -> tuple[int, int]:
    sev = severity_rank(f.severity)
    return _KIND_ORDER.get(f.kind, 3), sev


def finding_groups(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Open findings grouped by kind and severity: violations first (errors, warnings, notes), then what needs
    review, then the rest; within a group the best-sourced citation first (the decisive finding leads, as
    vocab.decisive picks it), else the engine's order."""
    groups: dict[tuple[int, int], list[Finding]] = {}
    for f in sorted(findings, key=lambda f: grade_rank(f.citation)):
        if f.status == "open":
            groups.setdefault(_rank(f), []).append(f)
    out = []
    for key in sorted(groups):
        kind, sev = key
        severity = SEVERITIES[sev] if sev < len(SEVERITIES) else "other"
        items = groups[key]
        out.append({"key": f"{_KIND_TITLE[kind].lower().replace(' ', '-')}-{severity}",
                    "title": f"{_KIND_TITLE[kind]}: {severity}", "kind": _KIND_TITLE[kind], "severity": severity,
                    "count": len(items), "findings": [_finding(f) for f in items]})
    return out


def decisive(report: Report) -> dict[str, Any] | None:
    """The finding that decides the verdict (the first of the first group), when the verdict is not a pass."""
    f = report.decisive()
    return _finding(f) if f is not None else None


def obligation_groups(obligations: Iterable[Obligation]) -> list[dict[str, Any]]:
    by_key: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in OBLIGATION_GROUPS}
    for o in obligations:
        key = next((k for k, _, clauses in OBLIGATION_GROUPS if o.clause in clauses), "other")
        by_key[key].append({"clause": clean(o.clause), "from": clean(o.source), "license": clean(o.license),
                            "text": clean(o.text), "via": " > ".join(clean(v) for v in o.via),
                            "elected": clean(o.elected), "citation": citation(o.citation)})
    return [{"key": key, "title": title, "count": len(by_key[key]), "obligations": by_key[key]}
            for key, title, _ in OBLIGATION_GROUPS if by_key[key]]


def lineage(report: Report) -> dict[str, Any]:
    """The lineage as a depth-first list of tree rows (the subject first) and as nodes and edges for a picture.

    A row: id, license, relation (of the edge to its parent row), declared_in, inferred, revision (commit sha),
    status, note, depth (the true depth) and indent (capped at TREE_INDENT_CAP), failing (an open violation
    names this node as its ancestor), repeat (the node was shown above; its ancestors are not repeated)."""
    subject = report.subject
    revisions = {e.id: e.revision for e in report.evaluated}
    failing = {f.ancestor for f in report.open_findings if f.kind == "violation" and f.ancestor}
    children: dict[str, list[LineageEdge]] = {}
    for edge in report.lineage:
        children.setdefault(edge.child, []).append(edge)
    root = subject.id
    lic = subject.license
    rows: list[dict[str, Any]] = [{
        "id": clean(root), "license": clean(lic.declared or lic.resolved or "unknown"),
        "license_known": lic.known, "relation": "", "declared_in": "", "inferred": False,
        "revision": clean(revisions.get(root) or subject.revision), "status": clean(subject.status),
        "note": "", "depth": 0, "indent": 0, "failing": False, "repeat": False}]
    seen = {root}
    # Iterative depth-first walk: a lineage of any depth renders without recursion in Python or in Jinja.
    stack: list[tuple[LineageEdge, int]] = [(e, 1) for e in reversed(children.get(root, []))]
    while stack:
        edge, depth = stack.pop()
        parent = edge.parent
        repeat = parent in seen
        seen.add(parent)
        note = edge.note
        if edge.parent_status != "ok":
            note = note or status_words(edge.parent_status, bool(edge.parent_license) and edge.resolved)
        rows.append({
            "id": clean(parent), "license": clean(edge.parent_license or "unknown"),
            "license_known": edge.resolved and bool(edge.parent_license),
            "relation": clean(edge.relation), "declared_in": clean(edge.declared_in),
            "inferred": edge.inferred,
            "revision": clean(revisions.get(parent) or edge.parent_revision),
            "status": clean(edge.parent_status), "note": clean(note), "depth": depth,
            "indent": min(depth, TREE_INDENT_CAP), "failing": parent in failing, "repeat": repeat})
        if not repeat:
            stack.extend((e, depth + 1) for e in reversed(children.get(parent, [])))
    # For the picture: each node once, in the layer of its shortest path from the subject.
    layer: dict[str, int] = {}
    for row_id, depth in ((r["id"], r["depth"]) for r in rows):
        layer[row_id] = min(depth, layer.get(row_id, depth))
    nodes = [{"id": r["id"], "license": r["license"], "layer": layer[r["id"]], "failing": r["failing"],
              "license_known": r["license_known"]} for r in rows if not r["repeat"]]
    edges = [{"child": clean(e.child), "parent": clean(e.parent), "relation": clean(e.relation),
              "failing": e.parent in failing} for e in report.lineage]
    return {"rows": rows, "nodes": nodes, "edges": edges, "indent_cap": TREE_INDENT_CAP}


def evidence(report: Report, base: str) -> dict[str, Any]:
    pol = report.policy
    return {
        "tool": f"policycheck {__version__}",
        "packs": [{"id": clean(p.id), "version": clean(p.version), "sha256": clean(p.sha256)} for p in report.packs],
        "catalog_sha256": clean(report.catalog_digest),
        "evaluated": [{"id": clean(e.id), "kind": clean(e.kind), "source": clean(e.source),
                       "revision": clean(e.revision), "status": clean(e.status),
                       "path": show_path(e.path, base)} for e in report.evaluated],
        "date": clean(report.date),
        "policy_file": show_path(pol.file, base),
        "use": ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in pol.use.items()),
        "use_declared": pol.use_declared,
        "fail_on": clean(pol.fail_on),
        "licensee_region": clean(pol.licensee_region),
        "allow": ", ".join(clean(x) for x in pol.allow or ()),
        "deny": ", ".join(clean(x) for x in pol.deny),
        "disclaimer": DISCLAIMER,
    }


def report_view(report: Report, index: int = 1, base: str | None = None) -> dict[str, Any]:
    base = base if base is not None else os.getcwd()
    subject = report.subject
    lic = subject.license
    waived = [_finding(f) for f in report.findings if f.status == "waived"]
    open_findings = report.open_findings
    return {
        "type": "report", "index": index, "anchor": f"target-{index}",
        "id": clean(subject.id), "name": clean(subject.name),
        "verdict": report.verdict, "verdict_label": VERDICT_LABEL.get(report.verdict, report.verdict.upper()),
        "verdict_text": clean(plain_verdict(report)),  # built from card-derived ids and messages
        "decisive": decisive(report),
        "subject": {"id": clean(subject.id), "source": clean(subject.source),
                    "path": show_path(subject.path, base), "revision": clean(subject.revision),
                    "status": clean(subject.status), "status_detail": clean(subject.status_detail),
                    "license_declared": clean(lic.declared), "license_resolved": clean(lic.resolved),
                    "license_known": lic.known, "license_reason": clean(lic.reason),
                    # each note as the JSON report writes it (its code, message and line)
                    "card_notes": [clean(n.to_dict()) for n in subject.card_notes]},
        "notices": [clean(n) for n in report.notices],
        "notes": [clean(n) for n in report.notes],
        "counts": {"open": len(open_findings),
                   "violations": sum(1 for f in open_findings if f.kind == "violation"),
                   "review": sum(1 for f in open_findings if f.kind in ("review", "evidence")),
                   "waived": len(waived), "obligations": len(report.obligations)},
        "lineage": lineage(report),
        "finding_groups": finding_groups(report.findings),
        # facts the card does not declare, each with how it was found (method), how sure (confidence), where
        "found": [{"code": clean(e.code), "message": clean(e.message), "method": clean(e.method),
                   "confidence": clean(e.confidence), "source": clean(e.source), "quote": clean(e.quote),
                   "refers_to": clean(e.refers_to) if e.refers_to else ""}
                  for e in report.evidence],
        "waived": waived,
        "obligation_groups": obligation_groups(report.obligations),
        "evidence": evidence(report, base),
        "grades": grades(report),
    }


def error_view(error: TargetError, index: int = 1, base: str | None = None) -> dict[str, Any]:
    base = base if base is not None else os.getcwd()
    return {
        "type": "error", "index": index, "anchor": f"target-{index}", "id": show_path(error.target, base),
        "verdict": "error", "verdict_label": "ERROR", "verdict_text": VERDICT_TEXT["error"],
        "internal": error.internal,
        # a bug's exception text is for the bug report (the JSON report and the text output), not for a document
        "message": (f"The check of {show_path(error.target, base)} stopped on an internal error."
                    if error.internal else _strip_base(error.message, base)),
        "diagnostics": [{"file": show_path(d.get("file"), base), "line": d.get("line"), "col": d.get("col"),
                         "code": clean(d.get("code")), "severity": clean(d.get("severity")),
                         "message": _strip_base(d.get("message"), base), "help": _strip_base(d.get("help"), base)}
                        for d in error.diagnostics],
    }


def document_view(results: Sequence[Report | TargetError], base: str | None = None) -> dict[str, Any]:
    """The whole document: one section per target (in order) and, for a batch, the summary on top."""
    base = base if base is not None else os.getcwd()
    targets = [report_view(r, i, base) if isinstance(r, Report) else error_view(r, i, base)
               for i, r in enumerate(results, 1)]
    counts = {v: sum(1 for t in targets if t["verdict"] == v) for v in ("fail", "review", "pass", "error")}
    dates = sorted({r.date for r in results if isinstance(r, Report)})
    if len(targets) == 1:
        title = f"policycheck report: {targets[0]['id']}"
    else:
        title = f"policycheck report: {len(targets)} targets"
    summary = [{"anchor": t["anchor"], "id": t["id"], "verdict": t["verdict"], "verdict_label": t["verdict_label"],
                "decisive": (t["decisive"]["rule"] + ": " + t["decisive"]["message"]) if t.get("decisive")
                else (t["message"] if t["type"] == "error" else ""),
                "open": t["counts"]["open"] if t["type"] == "report" else 0,
                "obligations": t["counts"]["obligations"] if t["type"] == "report" else 0} for t in targets]
    return {"title": title, "tool": f"policycheck {__version__}", "version": __version__,
            "date": ", ".join(clean(d) for d in dates), "batch": len(targets) != 1, "counts": counts,
            "summary": summary, "targets": targets, "disclaimer": DISCLAIMER}
