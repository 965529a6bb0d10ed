"""CycloneDX 1.6 JSON (`cyclonedx`) and 1.7 (`cyclonedx-1.7`), built with cyclonedx-python-lib: one BOM for the
whole batch.

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
subject for one report, a component "policycheck batch" depending on every subject for several, and for
`check --inventory` the application (policy.render.inventory_bom), which depends on every subject: the
product's AI-BOM, each model it uses with its lineage, scope `required` and where the product uses it
(`policycheck:inventory:*` properties). Properties:
`policycheck:verdict` (the worst of the batch: error > fail > review > pass; each subject also carries its
own), `policycheck:catalog_sha256`, `policycheck:pack:<id>` = `<version> sha256:<digest>`,
`policycheck:evaluated_at`, `policycheck:not_evaluated` per target that could not be read, and the disclaimer.
The serial number is a UUID derived from the subjects and the date: the same batch gives the same bytes.

What cyclonedx-python-lib does not model yet is added to its JSON, and the whole document is validated by the
library's strict schema in the tests:
- `modelCard` (1.6 and 1.7), only with what the card supplies: `modelParameters.task` (pipeline_tag),
  `architectureFamily` (config model_type), `modelArchitecture` (config architectures), `datasets` (references
  to the `data` components it was trained on), `quantitativeAnalysis.performanceMetrics` (its model-index
  results as declared, verified or not: the evidence layer judges them), languages as properties.
- `citations` (1.7 only): for every lineage property and every license entry, who supplied it. A model's own
  card or Hub entry is attributed to that model's component; a curation, the user's policy file and every
  concluded license to policycheck (the tool component `policycheck-tool`), with the curation's section, quote
  and address in the note.
Hashes: a subject read from the Hub has a `file` sub-component per weight file with the SHA-256 the Hub lists
for it (its LFS digest; one file listing, read only for the BOM formats). Ancestors carry none: their commit
sha is their version and purl version.
The renderer does not validate (the tests validate against the CycloneDX 1.6 and 1.7 schemas).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from policy import __version__
from policy.model.facts import WEIGHT_RELATIONS
from policy.model.inventory import Inventory
from policy.model.report import DISCLAIMER, LicenseInfo, Report, TargetError
from policy.render.bom_graph import BATCH_REF, BomGraph, BomNode, Key, build_graph, edge_origin
from policy.render.inventory_bom import APP_REF, application_component, by_id, inventory_properties
from policy.render.purl import package_url as purl
from policy.render.purl import supplier
from policy.textsafe import encodable

NS = "policycheck"
TOOL_REF = "policycheck-tool"
SERIAL_NAMESPACE = uuid.UUID("6f1c6a52-8a43-4f0e-9a55-2f0c1d3c0d00")
MAX_TEXT = 4000  # a declared license written as a license name is cut here (the property keeps it whole)
_TOKEN = re.compile(r"[^\s()]+")


def _licenses(node: BomNode, table: Mapping[str, LicenseInfo]) -> list[Any]:
    from cyclonedx.model.license import DisjunctiveLicense, LicenseAcknowledgement, LicenseExpression
    from cyclonedx.spdx import is_supported_id

    by_spdx = {e.spdx: e for e in table.values() if e.spdx}

    def one(expression: str, ack: LicenseAcknowledgement) -> Any:
        tokens = _TOKEN.findall(expression)
        if len(tokens) != 1:
            return LicenseExpression(expression, acknowledgement=ack)
        token = tokens[0]
        if is_supported_id(token):
            return DisjunctiveLicense(id=token, acknowledgement=ack)
        entry = by_spdx.get(token)
        return DisjunctiveLicense(name=(entry.name if entry else "") or token, url=_uri(entry.url if entry else None),
                                  acknowledgement=ack)

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
    """One property per parent edge (without the namespace): `base:<relation>`, `teacher`, `trained_on`."""
    out: list[tuple[str, str]] = []
    for e in node.edges:
        prop = (_edge_property(e.relation).removeprefix(f"{NS}:"), graph.nodes[e.parent].id)
        if prop not in out:
            out.append(prop)
    return out


def _component(graph: BomGraph, node: BomNode, ref: str | None) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalEntity

    props = [("kind", node.kind), ("source", node.source), ("status", node.status),
             ("license_declared", node.declared_raw or "NONE"), ("license_concluded", node.concluded or "NOASSERTION")]
    if node.kind == "api":
        props.append(("api_model", "true"))
    if node.verdict:
        props.append(("verdict", node.verdict))
    org = supplier(node.id, node.on_hub)
    return Component(
        type=ComponentType.DATA if node.kind == "dataset" else ComponentType.MACHINE_LEARNING_MODEL,
        name=node.id, version=node.revision or None, bom_ref=ref,
        supplier=OrganizationalEntity(name=org) if org is not None else None,  # NTIA: the Hub organisation
        purl=purl(node.id, node.revision) if node.kind == "model" and node.on_hub else None,
        licenses=_licenses(node, graph.licenses),
        properties=[Property(name=f"{NS}:{k}", value=v) for k, v in [*props, *_edge_props(graph, node)]],
        components=_weight_files(node, ref) if ref else None)


def _weight_files(node: BomNode, ref: str) -> list[Any]:
    """A `file` component per weight file of the model, with the SHA-256 the Hub lists for it."""
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType

    return [Component(type=ComponentType.FILE, name=path, bom_ref=f"{ref}#{path}",
                      hashes=[HashType(alg=HashAlgorithm.SHA_256, content=sha)]) for path, sha in node.weights]


def _serial(graph: BomGraph) -> uuid.UUID:
    subjects = [f"{r.subject.id}@{r.subject.revision or ''}" for r in graph.reports]
    return uuid.uuid5(SERIAL_NAMESPACE, encodable("\n".join([*subjects, *(e.target for e in graph.errors),
                                                             graph.day.isoformat()])))


def build_bom(results: Sequence[Report | TargetError], graph: BomGraph | None = None,
              application: Inventory | None = None) -> Any:
    """The BOM of a batch. With `application` (`check --inventory`), the application is the root component and
    depends on every subject; a subject the inventory found carries where it is used (its inventory
    properties) and its scope (`required`: judged as part of what runs or ships)."""
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentScope, ComponentType, Pedigree

    graph = graph or build_graph(results, taken=(BATCH_REF, TOOL_REF, APP_REF))
    nodes, subjects, day = graph.nodes, graph.subjects, graph.day
    used = by_id(application.models) if application is not None else {}
    components: dict[Key, Any] = {}
    for key, node in nodes.items():
        comp = _component(graph, node, graph.refs[key])
        ancestors = [_component(graph, nodes[p], None) for p in node.parents(WEIGHT_RELATIONS)]
        if ancestors:
            comp.pedigree = Pedigree(ancestors=ancestors)
        model = used.get(node.id.lower()) if node.subject else None
        if model is not None:
            comp.scope = ComponentScope.REQUIRED
            comp.properties.update(Property(name=k, value=v) for k, v in inventory_properties(model, True))
        components[key] = comp

    props: list[tuple[str, str]] = [("verdict", graph.worst), ("evaluated_at", day.isoformat())]
    props += [("catalog_sha256", digest) for digest in graph.catalog_digests]
    props += [(f"pack:{pid}", f"{version} sha256:{sha}") for pid, (version, sha) in graph.packs.items()]
    props += [("not_evaluated", f"{e.target}: {e.message}") for e in graph.errors]
    props.append(("disclaimer", DISCLAIMER))

    if application is not None:
        meta_component = application_component(application)
    elif len(subjects) == 1:
        meta_component = components.pop(subjects[0])
    else:
        meta_component = Component(type=ComponentType.APPLICATION, name="policycheck batch", bom_ref=BATCH_REF,
                                   description=f"{len(subjects)} models checked by policycheck")
    tool = Component(type=ComponentType.APPLICATION, name="policycheck", version=__version__, bom_ref=TOOL_REF)
    metadata = BomMetaData(component=meta_component,
                           timestamp=dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc),
                           properties=[Property(name=f"{NS}:{k}", value=v) for k, v in props])
    metadata.tools.components.add(tool)
    bom = Bom(components=list(components.values()), metadata=metadata, serial_number=_serial(graph))
    single = application is None and len(subjects) == 1
    by_key = {**components, **({subjects[0]: meta_component} if single else {})}
    if not single:
        bom.register_dependency(meta_component, [by_key[s] for s in subjects])
    for key, node in nodes.items():
        bom.register_dependency(by_key[key], [by_key[p] for p in node.parents()])
    return bom


def render(results: Sequence[Report | TargetError], options: object = None, fmt: str | None = None) -> str:
    """`cyclonedx` is CycloneDX 1.6 JSON; `cyclonedx-1.7` the same BOM as 1.7, with citations."""
    from cyclonedx.output.json import JsonV1Dot6, JsonV1Dot7

    fmt = fmt or getattr(options, "fmt", "") or "cyclonedx"
    v17 = fmt == "cyclonedx-1.7"
    writer = JsonV1Dot7 if v17 else JsonV1Dot6
    graph = build_graph(results, taken=(BATCH_REF, TOOL_REF, APP_REF), day=getattr(options, "day", None))
    application = getattr(options, "application", None)
    document = json.loads(writer(build_bom(results, graph, application)).output_as_string())
    _add_model_cards(document, graph)
    if v17:
        _add_citations(document, graph)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# -- what the library does not model yet: modelCard fields and 1.7 citations, added to its JSON ----------------
def _located(document: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """bom-ref -> (JSON pointer, component object) for every component of the document."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    meta = document.get("metadata", {}).get("component")
    if isinstance(meta, dict) and meta.get("bom-ref"):
        out[meta["bom-ref"]] = ("/metadata/component", meta)
    for i, comp in enumerate(document.get("components", [])):
        if comp.get("bom-ref"):
            out[comp["bom-ref"]] = (f"/components/{i}", comp)
    return out


def _model_card(graph: BomGraph, node: BomNode) -> dict[str, Any]:
    card = node.card
    params: dict[str, Any] = {}
    if card.get("task"):
        params["task"] = card["task"]
    if card.get("model_type"):
        params["architectureFamily"] = card["model_type"]
    if card.get("architectures"):
        params["modelArchitecture"] = ", ".join(card["architectures"])
    datasets = [{"ref": graph.refs[p]} for p in node.parents(("trained_on",)) if p in graph.refs]
    if datasets:
        params["datasets"] = datasets
    out: dict[str, Any] = {"modelParameters": params} if params else {}
    metrics = []
    for e in card.get("evaluations") or ():
        metric = {"type": e.get("metric") or "score", "value": f"{e.get('value'):g}",
                  "slice": " ".join(x for x in (e.get("name") or e.get("dataset"), e.get("split")) if x)}
        metrics.append({k: v for k, v in metric.items() if v})
    if metrics:
        out["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    if out and card.get("languages"):
        out["properties"] = [{"name": f"{NS}:language", "value": lang} for lang in card["languages"]]
    return out


def _add_model_cards(document: dict[str, Any], graph: BomGraph) -> None:
    """modelCard.modelParameters (task, architecture, training datasets) and quantitativeAnalysis (the card's
    model-index results, as declared) for every model whose card supplies any of them."""
    located = _located(document)
    for key, node in graph.nodes.items():
        if node.kind != "model" or graph.refs[key] not in located:
            continue
        model_card = _model_card(graph, node)
        if model_card:
            located[graph.refs[key]][1]["modelCard"] = model_card


def _edge_property(relation: str) -> str:
    """The property that records an edge: CycloneDX has no teacher or training-data field."""
    if relation in WEIGHT_RELATIONS:
        return f"{NS}:base:{relation}"
    named = {"distillation": "teacher", "trained_on": "trained_on"}
    return f"{NS}:{named[relation]}" if relation in named else f"{NS}:relation:{relation}"


def _add_citations(document: dict[str, Any], graph: BomGraph) -> None:
    """CycloneDX 1.7 `citations`: for each lineage property and each license, who supplied it. A model's own
    card (or Hub entry) is attributed to the model; curations, the user's policy and concluded licenses to
    policycheck (the tool component), with the curation's citation in the note."""
    day = graph.day
    stamp = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).isoformat().replace("+00:00", "Z")
    located = _located(document)
    citations: list[dict[str, Any]] = []
    for key, node in graph.nodes.items():
        ref = graph.refs[key]
        if ref not in located:
            continue
        pointer, comp = located[ref]
        props = comp.get("properties", [])
        for edge in node.edges:
            name, value = _edge_property(edge.relation), graph.nodes[edge.parent].id
            index = next((i for i, p in enumerate(props) if p.get("name") == name and p.get("value") == value), None)
            if index is None:
                continue
            who, note = edge_origin(node, edge)
            citations.append({"pointers": [f"{pointer}/properties/{index}"], "timestamp": stamp,
                              "attributedTo": ref if who == "self" else TOOL_REF, "note": note})
        for i, entry in enumerate(comp.get("licenses", [])):
            ack = (entry.get("license") or entry).get("acknowledgement")
            own = ack == "declared" and node.source in ("hub", "cache", "file")
            note = ("the license metadata of the card" if own else
                    f"a policycheck {node.source or 'record'} (the card was not read)" if ack == "declared" else
                    "resolved by policycheck against its license catalog")
            citations.append({"pointers": [f"{pointer}/licenses/{i}"], "timestamp": stamp,
                              "attributedTo": ref if own else TOOL_REF, "note": note})
    if citations:
        document["citations"] = citations
