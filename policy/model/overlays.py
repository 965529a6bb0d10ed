"""Model facts declared outside the card: curations (publisher-documented) and the policy file's `models:`.

Both share one shape: a license, lineage edges and extra clauses for a named model, each with a citation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policy.model.catalog import Clause
from policy.model.facts import Citation, DeclaredLicense
from policy.records import record


@record(slots=True)
class EdgeSpec:
    """A lineage edge stated by a curation or a policy file."""
    parent: str
    relation: str
    kind: str
    citation: Citation | None
    note: str = ""


@record(slots=True)
class ModelOverlay:
    """Facts a curation or a policy file states about a model, over its card."""
    id: str
    declared_in: str  # curation | policy
    kind: str = "model"
    license: DeclaredLicense | None = None
    license_citation: Citation | None = None
    lineage: tuple[EdgeSpec, ...] = ()
    clauses: tuple[Clause, ...] = ()
    file: str = ""


def overlay_from_dict(d: Mapping[str, Any], declared_in: str, file: str = "") -> ModelOverlay:
    lic = None
    if "license" in d or "license_name" in d:
        raw = d.get("license", "other")
        values = tuple(raw) if isinstance(raw, list) else (str(raw),)
        lic = DeclaredLicense(values=values, name=d.get("license_name"), link=d.get("license_link"),
                              declared_in=declared_in)
    edges = []
    for e in d.get("lineage", ()):
        relation = str(e["relation"])
        kind = str(e.get("kind", "dataset" if relation == "trained_on" else "model"))
        cit = Citation.from_dict(e["citation"]) if e.get("citation") else None
        edges.append(EdgeSpec(str(e["parent"]), relation, kind, cit, str(e.get("note", ""))))
    source_id = f"{declared_in}:{d['id']}"
    return ModelOverlay(
        id=str(d["id"]), declared_in=declared_in, kind=str(d.get("kind", "model")), license=lic,
        license_citation=Citation.from_dict(d["license_citation"]) if d.get("license_citation") else None,
        lineage=tuple(edges), clauses=tuple(Clause.from_dict(c, source_id) for c in d.get("clauses", ())),
        file=file)


def merge_overlays(items: Iterable[ModelOverlay]) -> dict[str, ModelOverlay]:
    """Index by id; a later entry for the same id adds edges and clauses, and fills a missing license."""
    out: dict[str, ModelOverlay] = {}
    for item in items:
        prev = out.get(item.id)
        if prev is None:
            out[item.id] = item
            continue
        known = {(e.parent, e.relation) for e in prev.lineage}
        out[item.id] = ModelOverlay(
            id=item.id, declared_in=prev.declared_in, kind=prev.kind,
            license=prev.license or item.license, license_citation=prev.license_citation or item.license_citation,
            lineage=prev.lineage + tuple(e for e in item.lineage if (e.parent, e.relation) not in known),
            clauses=prev.clauses + item.clauses, file=prev.file)
    return out
