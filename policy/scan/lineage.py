"""Build the lineage graph of a subject: card edges, curations and policy facts, walked transitively.

The walk is breadth-first, one level at a time, so a node source can fetch a whole level in parallel; it is
bounded in depth, visits each node once (a DAG stays a DAG), and records cycles instead of looping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from policy.model.catalog import Catalog
from policy.model.facts import (
    DISTILLATION,
    GATED,
    OK,
    TRAINED_ON,
    UNAVAILABLE,
    WEIGHT_RELATIONS,
    DeclaredLicense,
    Edge,
    Lineage,
    LineageProblem,
    ModelFacts,
)
from policy.model.overlays import ModelOverlay
from policy.scan.cards import MAX_PARENTS, as_id_list
from policy.scan.ids import repo_id_problem
from policy.scan.relations import Relation, relation_to

Key = tuple[str, str]  # (id, kind)


class NodeSource(Protocol):
    """Where ancestor facts come from (local cards, the Hub). Must never raise for a missing node."""

    def fetch_many(self, keys: Sequence[Key]) -> Mapping[Key, ModelFacts]: ...


def infer_relation(node: ModelFacts, n_parents: int) -> Relation:
    """The relation of a node to its base models, as declared or as the Hub infers it (marked inferred), from
    the facts the node carries: its card, its files and the relation of the Hub's model tree (policy.scan.relations)."""
    return relation_to(None, card=node.card, name=node.name, parents=n_parents, files=node.files,
                       hub_relation=node.hub_relation)


def card_edges(node: ModelFacts, is_api: Callable[[str], object]) -> list[Edge]:
    """The parents a card declares: base models, datasets, teachers (`is_api` tells API teachers apart)."""
    edges: list[Edge] = []
    if node.kind == "model":
        bases = as_id_list(node.card.get("base_model"))
        if bases:
            relation, inferred = infer_relation(node, len(bases))
            for base in bases:
                if base != node.id:
                    edges.append(Edge(node.id, base, relation, "card", inferred, "model"))
            stated = node.card.get("base_model_relation")
            if isinstance(stated, str) and stated.strip() and stated.strip().lower() not in WEIGHT_RELATIONS:
                edges = [replace(e, note=f"base_model_relation '{stated}' is not one of the Hub's four; inferred")
                         for e in edges]
        for dataset in as_id_list(node.card.get("datasets")):
            edges.append(Edge(node.id, dataset, TRAINED_ON, "card", False, "dataset"))
    if node.kind == "dataset":
        for source in source_datasets(node.card.get("source_datasets")):
            if source != node.id:
                edges.append(Edge(node.id, source, TRAINED_ON, "card", False, "dataset",
                                  note="the dataset's card lists it in source_datasets: built from it"))
    if node.kind in ("model", "dataset"):
        for teacher in as_id_list(node.card.get("teacher_model")):
            kind = "api" if is_api(teacher) else "model"
            edges.append(Edge(node.id, teacher, DISTILLATION, "card", False, kind))
    return edges


def source_datasets(value: object) -> list[str]:
    """The Hub datasets a dataset card's `source_datasets` names (the Hub's dataset-card field, licenses.md
    §O.7): `org/name` entries, with the Hub's `extended|` prefix taken off. `original` (the data is new) and the
    bare names of the Hub's older vocabulary (`extended|other-wikipedia`, `glue`) name no repo and are left out."""
    out = []
    for item in as_id_list(value):
        name = item[len("extended|"):] if item.lower().startswith("extended|") else item
        if "/" in name and not repo_id_problem(name):
            out.append(name)
    return out


def too_many_parents(node: ModelFacts) -> LineageProblem | None:
    """A card listing more than `MAX_PARENTS` distinct base models, teachers or datasets: only the first
    `MAX_PARENTS` of each list are walked (linear de-duplication keeps this cheap), and this says so."""
    over = []
    keys = ("base_model", "teacher_model", "datasets", *(("source_datasets",) if node.kind == "dataset" else ()))
    for key in keys:
        value = node.card.get(key)
        if isinstance(value, list | tuple) and len(value) > MAX_PARENTS:
            n = len(as_id_list(value, limit=None))
            if n > MAX_PARENTS:
                over.append(f"{n} {key} entries")
    if not over:
        return None
    return LineageProblem("too-many-parents",
                          f"{node.id} declares {', '.join(over)}; only the first {MAX_PARENTS} of each were "
                          "examined", (node.id,))


def self_reference(node: ModelFacts) -> LineageProblem | None:
    """A card that names the model itself in `base_model`: a model is not its own parent, so that entry is not
    walked (card_edges leaves it out), and this says so, since the base the card meant is then not declared."""
    if node.kind != "model" or node.id not in as_id_list(node.card.get("base_model")):
        return None
    return LineageProblem("self-reference",
                          f"{node.id} names itself as its base model (base_model); that entry was not followed, "
                          "so the model it derives from is not declared", (node.id,))


def merge_edges(base: list[Edge], overlay: ModelOverlay | None, catalog: Catalog) -> list[Edge]:
    """Add an overlay's edges; an overlay restates an existing edge only to replace an inferred relation."""
    if overlay is None:
        return base
    out = list(base)
    for spec in overlay.lineage:
        kind = "api" if spec.kind == "model" and catalog.api_terms(spec.parent) else spec.kind
        new = Edge(overlay.id, spec.parent, spec.relation, overlay.declared_in, False, kind, spec.citation,
                   spec.note)
        same = [i for i, e in enumerate(out) if e.parent == spec.parent]
        if not same:
            out.append(new)
        elif all(out[i].inferred for i in same) or any(out[i].relation == spec.relation for i in same):
            for i in same:
                if out[i].inferred or out[i].relation == spec.relation:
                    out[i] = new
        else:
            out.append(new)
    return out


def apply_overlay(node: ModelFacts, overlay: ModelOverlay | None) -> ModelFacts:
    """Fill what the node lacks from curated/policy facts; never overwrite what its card states."""
    if overlay is None:
        return node
    changes: dict[str, object] = {}
    if overlay.license is not None and not node.license.present:
        changes["license"] = overlay.license
        if node.status not in (OK, GATED):
            detail = f"{node.status_detail}; " if node.status_detail else ""
            changes["status"] = OK
            changes["source"] = overlay.declared_in
            changes["status_detail"] = f"{detail}license from {overlay.declared_in}"
    if overlay.clauses:
        changes["extra_clauses"] = tuple(node.extra_clauses) + tuple(c.to_dict() for c in overlay.clauses)
    if overlay.kind != "model" and node.kind == "model":
        changes["kind"] = overlay.kind
    return replace(node, **changes) if changes else node


def api_node(model_id: str, catalog: Catalog) -> ModelFacts:
    terms = catalog.api_terms(model_id)
    license_ = DeclaredLicense(values=(terms,), declared_in="catalog") if terms else DeclaredLicense()
    return ModelFacts(id=model_id, kind="api", source="catalog", status=OK if terms else UNAVAILABLE,
                      status_detail="" if terms else "API model with no provider terms in the catalog",
                      license=license_)


def build_lineage(subject: ModelFacts, source: NodeSource, catalog: Catalog,
                  overlays: Sequence[Mapping[str, ModelOverlay]], max_depth: int = 16,
                  stated: Callable[[ModelFacts], Sequence[Edge]] | None = None) -> Lineage:
    """Walk from `subject` up through every declared parent. `overlays`: curations, then policy models.
    `stated`: the parents an ancestor's card states in its text (the models that generated a dataset, the
    teachers of a model), followed as inferred edges beside the declared and curated ones (a parent already
    declared is not added twice). The subject's own text is evidence about it, not an edge."""

    def overlay_for(node_id: str) -> list[ModelOverlay]:
        return [o[node_id] for o in overlays if node_id in o]

    def decorate(node: ModelFacts) -> ModelFacts:
        for ov in overlay_for(node.id):
            node = apply_overlay(node, ov)
        return node

    nodes: dict[str, ModelFacts] = {subject.id: decorate(subject)}
    edges: list[Edge] = []
    problems: list[LineageProblem] = []
    frontier = [subject.id]
    depth = 0
    while frontier:
        level_edges: list[Edge] = []
        for node_id in frontier:
            node_edges = card_edges(nodes[node_id], catalog.api_terms)
            problems.extend(p for p in (too_many_parents(nodes[node_id]), self_reference(nodes[node_id]))
                            if p is not None)
            for ov in overlay_for(node_id):
                node_edges = merge_edges(node_edges, ov, catalog)
            if stated is not None and node_id != subject.id:
                declared = {e.parent.lower() for e in node_edges}  # Hub ids are case-insensitive
                node_edges.extend(e for e in stated(nodes[node_id]) if e.parent.lower() not in declared)
            level_edges.extend(node_edges)
        edges.extend(level_edges)
        wanted: dict[str, str] = {}
        for e in level_edges:
            if e.parent not in nodes and e.parent not in wanted:
                wanted[e.parent] = e.parent_kind
        if not wanted:
            break
        depth += 1
        if depth > max_depth:
            for pid, kind in wanted.items():
                nodes[pid] = ModelFacts(id=pid, kind=kind, source="none", status=UNAVAILABLE,
                                        status_detail=f"not walked: the lineage is deeper than {max_depth} levels")
            problems.append(LineageProblem("depth-exceeded",
                                           f"lineage walk stopped at depth {max_depth}; "
                                           f"{len(wanted)} ancestor(s) not examined", tuple(wanted)))
            break
        to_fetch = [(pid, kind) for pid, kind in wanted.items() if kind != "api"]
        fetched = source.fetch_many(to_fetch) if to_fetch else {}
        for pid, kind in wanted.items():
            node = api_node(pid, catalog) if kind == "api" else fetched.get(
                (pid, kind), ModelFacts(id=pid, kind=kind, source="none", status=UNAVAILABLE,
                                        status_detail="not fetched"))
            nodes[pid] = decorate(node)
        frontier = [pid for pid, kind in wanted.items() if nodes[pid].status in (OK, GATED)]
    problems.extend(find_cycles(subject.id, edges))
    return Lineage(subject=subject.id, nodes=nodes, edges=tuple(edges), problems=tuple(problems))


def find_cycles(root: str, edges: Sequence[Edge]) -> list[LineageProblem]:
    parents: dict[str, list[str]] = {}
    for e in edges:
        parents.setdefault(e.child, []).append(e.parent)
    problems: list[LineageProblem] = []
    seen_cycles: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for parent in parents.get(node, ()):
            if state.get(parent) == 1:
                cycle = (*stack[stack.index(parent):], parent)
                key = frozenset(cycle)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    problems.append(LineageProblem(
                        "cycle", "lineage cycle: " + " -> ".join(cycle) + "; the walk did not follow it twice",
                        cycle))
            elif parent not in state:
                visit(parent)
        stack.pop()
        state[node] = 2

    visit(root)
    return problems
