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
from typing import Any

from policy import __version__
from policy.render.bom_graph import BATCH_REF, WEIGHT_RELATIONS, BomGraph, BomNode, Key, build_graph
from policy.report import DISCLAIMER, Report, TargetError

NS = "policycheck"
SERIAL_NAMESPACE = uuid.UUID("6f1c6a52-8a43-4f0e-9a55-2f0c1d3c0d00")
MAX_TEXT = 4000  # a declared license written as a license name is cut here (the property keeps it whole)
_TOKEN = re.compile(r"[^\s()]+")


def purl(node_id: str, revision: str | None) -> Any:
    """`pkg:huggingface/<namespace>/<name>[@<revision>]` (packageurl-python does the quoting)."""
    from packageurl import PackageURL

    namespace, _, name = node_id.rpartition("/")
    return PackageURL(type="huggingface", namespace=namespace or None, name=name, version=revision or None)


def _licenses(node: BomNode, table: dict[str, dict[str, str]]) -> list[Any]:
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


def _edge_props(graph: BomGraph, node: BomNode) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for e in node.edges:
        pid = graph.nodes[e.parent].id
        if e.relation in WEIGHT_RELATIONS:
            prop = (f"base:{e.relation}", pid)
        elif e.relation == "distillation":
            prop = ("teacher", pid)
        elif e.relation == "trained_on":
            prop = ("trained_on", pid)
        else:
            prop = (f"relation:{e.relation}", pid)
        if prop not in out:
            out.append(prop)
    return out


def _component(graph: BomGraph, node: BomNode, ref: str | None) -> Any:
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
        purl=purl(node.id, node.revision) if node.kind == "model" and node.on_hub else None,
        licenses=_licenses(node, graph.licenses),
        properties=[Property(name=f"{NS}:{k}", value=v) for k, v in [*props, *_edge_props(graph, node)]])


def _serial(graph: BomGraph) -> uuid.UUID:
    subjects = [f"{r.subject.get('id')}@{r.subject.get('revision') or ''}" for r in graph.reports]
    return uuid.uuid5(SERIAL_NAMESPACE, "\n".join([*subjects, *(e.target for e in graph.errors),
                                                   graph.day.isoformat()]))


def build_bom(results: Sequence[Report | TargetError]) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType, Pedigree

    graph = build_graph(results)
    nodes, subjects, day = graph.nodes, graph.subjects, graph.day
    components: dict[Key, Any] = {}
    for key, node in nodes.items():
        comp = _component(graph, node, graph.refs[key])
        ancestors = [_component(graph, nodes[p], None) for p in node.parents(WEIGHT_RELATIONS)]
        if ancestors:
            comp.pedigree = Pedigree(ancestors=ancestors)
        components[key] = comp

    props: list[tuple[str, str]] = [("verdict", graph.worst), ("evaluated_at", day.isoformat())]
    props += [("catalog_sha256", digest) for digest in graph.catalog_digests]
    props += [(f"pack:{pid}", f"{version} sha256:{sha}") for pid, (version, sha) in graph.packs.items()]
    props += [("not_evaluated", f"{e.target}: {e.message}") for e in graph.errors]
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
    bom = Bom(components=list(components.values()), metadata=metadata, serial_number=_serial(graph))
    by_key = {**components, **({subjects[0]: meta_component} if len(subjects) == 1 else {})}
    if len(subjects) != 1:
        bom.register_dependency(meta_component, [by_key[s] for s in subjects])
    for key, node in nodes.items():
        bom.register_dependency(by_key[key], [by_key[p] for p in node.parents()])
    return bom


def render(results: Sequence[Report | TargetError], options: object = None, fmt: str = "cyclonedx") -> str:
    """`cyclonedx` is CycloneDX 1.6 JSON; `cyclonedx-1.7` the same BOM as 1.7."""
    from cyclonedx.output.json import JsonV1Dot6, JsonV1Dot7

    writer = JsonV1Dot7 if fmt == "cyclonedx-1.7" else JsonV1Dot6
    text = writer(build_bom(results)).output_as_string(indent=2)
    return text if text.endswith("\n") else text + "\n"
