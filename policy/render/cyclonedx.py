"""CycloneDX 1.6 JSON (`cyclonedx`), built with cyclonedx-python-lib: one BOM for the whole batch.

Components: one per model, dataset and API teacher of each report's lineage (the subject and every evaluated
ancestor; a node shared by several reports is one component). Models and API teachers are
`machine-learning-model` components (API teachers carry `policycheck:api_model` = `true`), datasets `data`.
`bom-ref` is the node id (prefixed with its kind only when a node of another kind already took the id), so it is
stable across runs. `version`: the commit sha evaluated, omitted when there is none. `purl`:
`pkg:huggingface/<org>/<name>[@<sha>]` for models on the Hub (as in `policy.render.spdx`: every ancestor named by
a Hub id, a subject read from the Hub; not a subject given as a local card, not an API model, not a dataset, for
which the purl type has no form).

Licenses (CycloneDX 1.6 `acknowledgement`): `declared` is what the card says (catalog ids mapped to their SPDX
ids, a named license with the text as written when the catalog does not know it), `concluded` is what
policycheck resolved. A single SPDX id is a license `id`, a `LicenseRef-` a named license with the catalog's
name and URL, a compound expression an `expression`. The schema allows one expression and no other entry beside
it: then only the concluded one (or, unresolved, the declared one) is written. The exact values are always also
in the properties `policycheck:license_declared` and `policycheck:license_concluded` (`NOASSERTION` when
unresolved).

Lineage (child → parent): weight relations (finetune, adapter, merge, quantized) are `pedigree.ancestors` of
the child (a copy of the parent without bom-ref, its purl identifies it) and a property
`policycheck:base:<relation>` = parent; CycloneDX has no teacher or training-data field, so distillation is
`policycheck:teacher` = teacher and trained_on `policycheck:trained_on` = dataset. Every edge is also in the
`dependencies` graph (child dependsOn parents).

Metadata: timestamp = the report date at 00:00:00Z; tool policycheck with its version; the component is the
subject for one report, a component "policycheck batch" depending on every subject for several. Properties:
`policycheck:verdict` (the worst of the batch: error > fail > review > pass; each subject also carries its
own), `policycheck:catalog_sha256`, `policycheck:pack:<id>` = `<version> sha256:<digest>`,
`policycheck:evaluated_at`, `policycheck:not_evaluated` per target that could not be read, and the disclaimer.
The serial number is a UUID derived from the subjects and the date: the same batch gives the same bytes.
The renderer does not validate (the tests validate against the CycloneDX 1.6 schema).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from policy import __version__
from policy.render.spdx import map_catalog_expression
from policy.report import DISCLAIMER, Report, TargetError

NS = "policycheck"
BATCH_REF = "policycheck-batch"
WEIGHT_RELATIONS = ("finetune", "adapter", "merge", "quantized")
VERDICT_RANK = {"error": 0, "fail": 1, "review": 2, "pass": 3}
SERIAL_NAMESPACE = uuid.UUID("6f1c6a52-8a43-4f0e-9a55-2f0c1d3c0d00")
MAX_TEXT = 4000  # a declared license written as a license name is cut here (the property keeps it whole)
_OPERATORS = frozenset({"AND", "OR", "WITH"})
_TOKEN = re.compile(r"[^\s()]+")


@dataclass
class _Node:
    id: str
    kind: str  # model | dataset | api
    source: str
    status: str
    revision: str | None
    declared_raw: str | None  # as the card (or curation) says
    declared: str | None  # the same as an SPDX expression, when the catalog knows every term
    concluded: str | None  # resolved by policycheck (SPDX expression)
    subject: bool = False
    verdict: str | None = None
    props: list[tuple[str, str]] = field(default_factory=list)
    bases: list[tuple[str, str]] = field(default_factory=list)  # (kind, id) of the parents through weight relations
    depends: list[tuple[str, str]] = field(default_factory=list)  # (kind, id) of every parent


def _from_catalog(expression: str | None, table: dict[str, dict[str, str]]) -> str | None:
    """An expression over catalog ids as SPDX, or None when a term is not a catalog id."""
    return map_catalog_expression(expression, table)


def _nodes(report: Report, table: dict[str, dict[str, str]]) -> list[_Node]:
    subject = report.subject
    slic = subject.get("license") or {}
    evaluated = {str(e.get("id")): e for e in report.evaluated}
    parent_facts: dict[str, dict[str, Any]] = {}
    for entry in report.lineage:
        parent_facts.setdefault(str(entry.get("parent")), entry)
    sid = str(subject.get("id"))
    s_eval = evaluated.get(sid, {})
    raw = slic.get("declared")
    concluded = str(slic["resolved"]) if slic.get("known") and slic.get("resolved") else None
    declared = _from_catalog(str(slic["id"]), table) if slic.get("id") else None
    out = [_Node(sid, str(s_eval.get("kind") or "model"), str(s_eval.get("source") or subject.get("source") or ""),
                 str(s_eval.get("status") or subject.get("status") or "ok"), subject.get("revision"),
                 str(raw) if raw else None, declared or concluded, concluded, subject=True,
                 verdict=report.verdict)]
    for nid, e in evaluated.items():
        if nid == sid:
            continue
        facts = parent_facts.get(nid, {})
        raw = facts.get("parent_license")
        spdx = facts.get("parent_spdx")
        concluded = str(spdx) if facts.get("resolved") and spdx else None
        out.append(_Node(nid, str(e.get("kind") or facts.get("parent_kind") or "model"), str(e.get("source") or ""),
                         str(e.get("status") or ""), e.get("revision"), str(raw) if raw else None,
                         _from_catalog(str(raw), table) if raw else None, concluded))
    return out


def _on_hub(node: _Node) -> bool:
    """A Hub repo: an ancestor named by a Hub id (wherever its card was read), or a subject read from the Hub."""
    if node.kind == "api" or not node.id or node.id.startswith(("/", ".")):
        return False
    return node.source in ("hub", "cache") if node.subject else node.status != "invalid"


def purl(node_id: str, revision: str | None) -> Any:
    """`pkg:huggingface/<namespace>/<name>[@<revision>]` (packageurl-python does the quoting)."""
    from packageurl import PackageURL

    namespace, _, name = node_id.rpartition("/")
    return PackageURL(type="huggingface", namespace=namespace or None, name=name, version=revision or None)


def _licenses(node: _Node, table: dict[str, dict[str, str]]) -> list[Any]:
    from cyclonedx.model.license import DisjunctiveLicense, LicenseAcknowledgement, LicenseExpression
    from cyclonedx.spdx import is_supported_id

    by_spdx = {e["spdx"]: e for e in table.values() if e.get("spdx")}

    def one(expression: str, ack: LicenseAcknowledgement) -> Any:
        tokens = _TOKEN.findall(expression)
        if len(tokens) != 1:
            return LicenseExpression(expression, acknowledgement=ack)
        token = tokens[0]
        if is_supported_id(token):
            return DisjunctiveLicense(id=token, acknowledgement=ack)
        entry = by_spdx.get(token, {})
        return DisjunctiveLicense(name=entry.get("name") or token, url=_uri(entry.get("url")), acknowledgement=ack)

    declared = None
    if node.declared:
        declared = one(node.declared, LicenseAcknowledgement.DECLARED)
    elif node.declared_raw:
        declared = DisjunctiveLicense(name=node.declared_raw[:MAX_TEXT],
                                      acknowledgement=LicenseAcknowledgement.DECLARED)
    concluded = one(node.concluded, LicenseAcknowledgement.CONCLUDED) if node.concluded else None
    entries = [e for e in (declared, concluded) if e is not None]
    if any(isinstance(e, LicenseExpression) for e in entries) and len(entries) > 1:
        entries = [concluded]  # one expression and nothing beside it (CycloneDX 1.6 licenseChoice)
    return entries


def _uri(url: str | None) -> Any:
    from cyclonedx.model import XsUri

    return XsUri(url) if url else None


def _component(node: _Node, ref: str | None, table: dict[str, dict[str, str]]) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType

    props = [("kind", node.kind), ("source", node.source), ("status", node.status),
             ("license_declared", node.declared_raw or "NONE"), ("license_concluded", node.concluded or "NOASSERTION")]
    if node.kind == "api":
        props.append(("api_model", "true"))
    if node.verdict:
        props.append(("verdict", node.verdict))
    return Component(
        type=ComponentType.DATA if node.kind == "dataset" else ComponentType.MACHINE_LEARNING_MODEL,
        name=node.id, version=node.revision or None, bom_ref=ref,
        purl=purl(node.id, node.revision) if node.kind == "model" and _on_hub(node) else None,
        licenses=_licenses(node, table),
        properties=[Property(name=f"{NS}:{k}", value=v) for k, v in [*props, *node.props]])


def _serial(reports: list[Report], errors: list[TargetError], day: dt.date) -> uuid.UUID:
    subjects = [f"{r.subject.get('id')}@{r.subject.get('revision') or ''}" for r in reports]
    return uuid.uuid5(SERIAL_NAMESPACE, "\n".join([*subjects, *(e.target for e in errors), day.isoformat()]))


def build_bom(results: Sequence[Report | TargetError]) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType, Pedigree

    reports = [r for r in results if isinstance(r, Report)]
    errors = [r for r in results if isinstance(r, TargetError)]
    day = dt.date.fromisoformat(reports[0].date) if reports else dt.date(1970, 1, 1)
    table = {lid: info for r in reports for lid, info in r.licenses.items()}

    nodes: dict[tuple[str, str], _Node] = {}  # (kind, id) -> node, first report's facts win
    refs: dict[tuple[str, str], str] = {}
    taken: set[str] = {BATCH_REF}
    subjects: list[tuple[str, str]] = []
    for report in reports:
        local: dict[str, tuple[str, str]] = {}
        for node in _nodes(report, table):
            key = (node.kind, node.id)
            local[node.id] = key
            if key in nodes:
                if node.subject:
                    nodes[key].subject, nodes[key].verdict = True, node.verdict
                continue
            nodes[key] = node
            ref = node.id if node.id not in taken else f"{node.kind}:{node.id}"
            while ref in taken:
                ref += "+"
            taken.add(ref)
            refs[key] = ref
        sub = local[str(report.subject.get("id"))]
        if sub not in subjects:
            subjects.append(sub)
        for e in report.lineage:
            child, parent, relation = local.get(str(e.get("child"))), local.get(str(e.get("parent"))), e.get("relation")
            if child is None or parent is None:
                continue
            cnode, pid = nodes[child], nodes[parent].id
            if relation in WEIGHT_RELATIONS:
                prop = (f"base:{relation}", pid)
                if parent not in cnode.bases:
                    cnode.bases.append(parent)
            elif relation == "distillation":
                prop = ("teacher", pid)
            elif relation == "trained_on":
                prop = ("trained_on", pid)
            else:
                prop = (f"relation:{relation}", pid)
            if prop not in cnode.props:
                cnode.props.append(prop)
            if parent not in cnode.depends:
                cnode.depends.append(parent)

    components: dict[tuple[str, str], Any] = {}
    for key, node in nodes.items():
        comp = _component(node, refs[key], table)
        ancestors = [_component(nodes[p], None, table) for p in node.bases]
        if ancestors:
            comp.pedigree = Pedigree(ancestors=ancestors)
        components[key] = comp

    worst = min([*(r.verdict for r in reports), *("error" for _ in errors)] or ["error"],
                key=lambda v: VERDICT_RANK.get(v, 0))
    props: list[tuple[str, str]] = [("verdict", worst), ("evaluated_at", day.isoformat())]
    for digest in dict.fromkeys(r.catalog_digest for r in reports if r.catalog_digest):
        props.append(("catalog_sha256", digest))
    packs: dict[str, str] = {}
    for r in reports:
        for p in r.packs:
            packs.setdefault(str(p.get("id")), f"{p.get('version')} sha256:{p.get('sha256')}")
    props += [(f"pack:{pid}", value) for pid, value in packs.items()]
    props += [("not_evaluated", f"{e.target}: {e.message}") for e in errors]
    props.append(("disclaimer", DISCLAIMER))

    if len(subjects) == 1:
        meta_component = components.pop(subjects[0])
    else:
        meta_component = Component(type=ComponentType.APPLICATION, name="policycheck batch", bom_ref=BATCH_REF,
                                   description=f"{len(subjects)} models checked by policycheck")
    tool = Component(type=ComponentType.APPLICATION, name="policycheck", version=__version__)
    metadata = BomMetaData(component=meta_component,
                           timestamp=dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc),
                           properties=[Property(name=f"{NS}:{k}", value=v) for k, v in props])
    metadata.tools.components.add(tool)
    bom = Bom(components=list(components.values()), metadata=metadata, serial_number=_serial(reports, errors, day))
    by_key = {**components, **({subjects[0]: meta_component} if len(subjects) == 1 else {})}
    if len(subjects) != 1:
        bom.register_dependency(meta_component, [by_key[s] for s in subjects])
    for key, node in nodes.items():
        bom.register_dependency(by_key[key], [by_key[p] for p in node.depends])
    return bom


def render(results: Sequence[Report | TargetError], options: object = None, fmt: str = "cyclonedx") -> str:
    """`cyclonedx` is CycloneDX 1.6 JSON; `cyclonedx-1.7` the same BOM as 1.7."""
    from cyclonedx.output.json import JsonV1Dot6, JsonV1Dot7

    writer = JsonV1Dot7 if fmt == "cyclonedx-1.7" else JsonV1Dot6
    text = writer(build_bom(results)).output_as_string(indent=2)
    return text if text.endswith("\n") else text + "\n"
