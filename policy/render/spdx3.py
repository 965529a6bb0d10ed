"""SPDX 3.0.1 JSON-LD (`spdx3`) with the AI and Dataset profiles: one document for the whole batch, built from
the shared lineage graph (`policy.render.bom_graph`).

Elements: one `CreationInfo` (`_:creationinfo`: specVersion 3.0.1, created = the report date at 00:00:00Z,
createdBy a `SoftwareAgent` "policycheck", createdUsing a `Tool` "policycheck <version>"); one `SpdxDocument`
(profileConformance core, software, ai, dataset, simpleLicensing; dataLicense CC0-1.0) whose rootElement is one
`software_Sbom` (sbomType analyzed; rootElement = the subjects, element = every other element), the root NTIA
checkers start from; an `ai_AIPackage` per model and API teacher, a `dataset_DatasetPackage` per dataset. A package has
name = the id, `software_packageVersion` = the commit sha evaluated, `software_primaryPurpose` model or data,
`software_packageUrl` (`pkg:huggingface/...`) for models on the Hub and `software_downloadLocation` for models
and datasets on the Hub (the same rule as CycloneDX and SPDX 2.3: `BomNode.on_hub`), `releaseTime` = the Hub's
last modification, `ai_typeOfModel` = the card's model_type and architectures, `ai_metric` = its model-index
results as declared; `dataset_datasetType` (required) is `noAssertion`: card summaries do not say the modality.
A subject read from the Hub `contains` a `software_File` per weight file, `verifiedUsing` the SHA-256 the Hub
lists for it.

Lineage (child → parent in policycheck, the other way round where SPDX says so):
    finetune, adapter, merge, quantized → parent `ancestorOf` child (one relationship per parent: a merge
                                           has one per merged model, each comment names all of them)
    trained_on                          → model `trainedOn` dataset
    distillation, child a model         → teacher `generates` an intermediate `dataset_DatasetPackage`
                                           "outputs of <teacher> used to train <student>" (datasetType
                                           noAssertion) and student `trainedOn` it
    distillation, child a dataset       → teacher `generates` the dataset itself (its card's teacher_model)
and each of them doubled by the child `dependsOn` the parent (the student `dependsOn` the outputs, which
`dependsOn` the teacher): the composition relationship NTIA checkers follow, so no ancestor floats.
Each relationship's comment names the policycheck relation and where the edge was declared (the card, the Hub,
a policycheck curation with its citation and source URL, or the user's policy).

Licenses: each package has one `hasDeclaredLicense` and one `hasConcludedLicense` relationship to a
`simplelicensing_LicenseExpression` (one element per distinct expression; `LicenseRef-` ids of the catalog are
mapped to the catalog's URL in `simplelicensing_customIdToUri`). A declaration the catalog does not know is
`LicenseRef-policycheck-declared-<sha256>` with the text as written in the element's comment (as SPDX 2.3
does); an unresolved license is the `expandedlicensing_NoAssertionLicense` individual, a card that declares
nothing `expandedlicensing_NoneLicense` (a card that was not read: NoAssertion).

Metadata: `Annotation`s (annotationType review, subject the document) whose statements are
`policycheck:verdict: <worst of the batch>`, `policycheck:evaluated_at`, `policycheck:catalog_sha256`,
`policycheck:pack:<id>: <version> sha256:<digest>`, `policycheck:not_evaluated: <target>: <reason>` for every
target that could not be read, `policycheck:disclaimer`; each subject has its own verdict annotation. The
document comment repeats them. spdxIds are IRIs under `https://policycheck.invalid/spdx3/<uuid5 of the subjects
and the date>/`, node ids percent-encoded: the same batch gives the same bytes. The renderer does not validate
(`tests.support.spdx3_validate` does, offline; the tests use it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from policy import __version__
from policy.model.facts import WEIGHT_RELATIONS
from policy.model.inventory import Inventory
from policy.model.report import DISCLAIMER, Report, TargetError
from policy.render.bom_graph import BomEdge, BomGraph, BomNode, Key, build_graph, edge_origin
from policy.render.inventory_bom import by_id, location_text
from policy.render.purl import supplier
from policy.render.spdx import HUB, purl
from policy.textsafe import encodable, key_bytes

CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
NAMESPACE_BASE = "https://policycheck.invalid/spdx3/"
DOC_NAMESPACE = uuid.UUID("0f6b1d0e-3c1b-5a7e-9f0e-5d2c3b7a9e31")
CREATION = "_:creationinfo"
NO_ASSERTION = "expandedlicensing_NoAssertionLicense"
NONE_LICENSE = "expandedlicensing_NoneLicense"
MAX_SEGMENT = 200  # a percent-encoded id longer than this is cut and given a hash
PROFILES = ["core", "software", "ai", "dataset", "simpleLicensing"]


def _segment(text: str) -> str:
    encoded = quote(text, safe="", errors="surrogatepass")
    if len(encoded) <= MAX_SEGMENT:
        return encoded
    return encoded[:MAX_SEGMENT].rstrip("%0123456789ABCDEF") + "-" + hashlib.sha256(key_bytes(text)).hexdigest()[:16]


def _stamp(value: str | dt.date | None) -> str | None:
    """xsd:dateTimeStamp as the SPDX schema wants it: UTC, whole seconds, `Z`."""
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    elif isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Doc:
    """The elements of one document, in the order they are added."""

    def __init__(self, graph: BomGraph) -> None:
        self.graph = graph
        subjects = [f"{r.subject.id}@{r.subject.revision or ''}" for r in graph.reports]
        seed = "\n".join([*subjects, *(e.target for e in graph.errors), graph.day.isoformat()])
        self.ns = f"{NAMESPACE_BASE}{uuid.uuid5(DOC_NAMESPACE, encodable(seed))}/"
        self.elements: list[dict[str, Any]] = []
        self.ids: dict[Key, str] = {key: f"{self.ns}{node.kind}/{_segment(graph.refs[key])}"
                                    for key, node in graph.nodes.items()}
        self.licenses: dict[str, str] = {}
        self.orgs: set[str] = set()
        self.relationships = 0
        self.by_spdx = {e.spdx: e for e in graph.licenses.values() if e.spdx}

    def add(self, kind: str, spdx_id: str, **props: Any) -> str:
        element = {"type": kind, "spdxId": spdx_id, "creationInfo": CREATION}
        element.update({k: v for k, v in props.items() if v not in (None, [], "")})
        self.elements.append(element)
        return spdx_id

    def organization(self, name: str) -> str:
        """The spdxId of the Organization named `name`, added the first time it is asked for."""
        oid = f"{self.ns}organization/{_segment(name)}"
        if oid not in self.orgs:
            self.orgs.add(oid)
            self.add("Organization", oid, name=name)
        return oid

    def relate(self, source: str, relation: str, targets: list[str], comment: str | None = None) -> str:
        self.relationships += 1
        rid = f"{self.ns}relationship/{self.relationships}"
        return self.add("Relationship", rid, **{"from": source, "relationshipType": relation, "to": targets,
                                                "comment": comment})

    def license(self, expression: str | None, note: str | None = None) -> str:
        if expression is None:
            return NO_ASSERTION
        if expression in self.licenses:
            return self.licenses[expression]
        lid = f"{self.ns}license/{hashlib.sha256(key_bytes(expression)).hexdigest()[:16]}"
        custom = [{"type": "DictionaryEntry", "key": token, "value": self.by_spdx[token].url}
                  for token in dict.fromkeys(expression.replace("(", " ").replace(")", " ").split())
                  if token.startswith("LicenseRef-") and token in self.by_spdx and self.by_spdx[token].url]
        self.licenses[expression] = self.add("simplelicensing_LicenseExpression", lid, comment=note,
                                             simplelicensing_licenseExpression=expression,
                                             simplelicensing_customIdToUri=custom)
        return lid


def _declared(doc: _Doc, node: BomNode) -> str:
    if node.declared:
        return doc.license(node.declared)
    if node.declared_raw:
        ref = "LicenseRef-policycheck-declared-" + hashlib.sha256(key_bytes(node.declared_raw)).hexdigest()[:12]
        return doc.license(ref, f"As declared, not in the policycheck catalog: {node.declared_raw}")
    return NONE_LICENSE if node.status == "ok" and node.kind != "api" else NO_ASSERTION


def _ai_fields(node: BomNode) -> dict[str, Any]:
    card = node.card
    types = [t for t in [card.get("model_type"), *(card.get("architectures") or ())] if t]
    metrics = []
    for e in card.get("evaluations") or ():
        where = " ".join(str(x) for x in (e.get("name") or e.get("dataset"), e.get("split")) if x)
        key = f"{e.get('metric') or 'score'}" + (f" ({where})" if where else "")
        metrics.append({"type": "DictionaryEntry", "key": key, "value": f"{e.get('value'):g}"
                        if isinstance(e.get("value"), int | float) else str(e.get("value"))})
    return {"ai_typeOfModel": [str(t) for t in dict.fromkeys(types)], "ai_metric": metrics}


def _package(doc: _Doc, key: Key, node: BomNode) -> None:
    dataset = node.kind == "dataset"
    props: dict[str, Any] = {
        "name": node.id, "software_packageVersion": node.revision or None,
        "software_primaryPurpose": "data" if dataset else "model", "releaseTime": _stamp(node.last_modified),
        "comment": "an API model: its weights are not distributed" if node.kind == "api" else None}
    if node.on_hub:
        path = quote(node.id, safe="/")
        props["software_downloadLocation"] = f"{HUB}/datasets/{path}" if dataset else f"{HUB}/{path}"
        if node.kind == "model":
            props["software_packageUrl"] = purl(node.id, node.revision)
    org = supplier(node.id, node.on_hub)
    if org is not None:  # NTIA's supplier: the Hub organisation (one Organization element per name)
        props["suppliedBy"] = doc.organization(org)
    if dataset:
        props["dataset_datasetType"] = ["noAssertion"]
    else:
        props.update(_ai_fields(node))
    doc.add("dataset_DatasetPackage" if dataset else "ai_AIPackage", doc.ids[key], **props)
    files = [doc.add("software_File", f"{doc.ids[key]}/file/{_segment(path)}", name=path,
                     software_primaryPurpose="model",
                     verifiedUsing=[{"type": "Hash", "algorithm": "sha256", "hashValue": sha}])
             for path, sha in node.weights]
    if files:
        doc.relate(doc.ids[key], "contains", files, "the weight files, with the SHA-256 the Hub lists for them")


def _origin(node: BomNode, edge: BomEdge) -> str:
    return f"policycheck relation {edge.relation}: {edge_origin(node, edge)[1]}"


def _lineage(doc: _Doc, key: Key, node: BomNode) -> None:
    """The lineage relationship each edge is, doubled by the child `dependsOn` the parent: the composition
    relationship NTIA checkers follow from the SBOM's root, so every ancestor is reachable from its subject."""
    graph, child = doc.graph, doc.ids[key]
    merged = [graph.nodes[p].id for p in node.parents(("merge",))]
    for edge in node.edges:
        parent = doc.ids[edge.parent]
        note = _origin(node, edge)
        if edge.relation == "distillation" and node.kind != "dataset":
            _distillation(doc, key, node, edge, note)
            continue
        if edge.relation in WEIGHT_RELATIONS:
            if edge.relation == "merge" and len(merged) > 1:
                note += f"; {node.id} merges {', '.join(merged)}"
            doc.relate(parent, "ancestorOf", [child], note)
        elif edge.relation == "trained_on":
            doc.relate(child, "trainedOn" if node.kind != "dataset" else "other", [parent], note)
        elif edge.relation == "distillation":
            doc.relate(parent, "generates", [child], note)
        else:
            doc.relate(child, "other", [parent], note)
        doc.relate(child, "dependsOn", [parent], note)


def _distillation(doc: _Doc, key: Key, node: BomNode, edge: BomEdge, note: str) -> None:
    """A student model: the teacher `generates` its outputs (a dataset element standing for them), which the
    student is `trainedOn` and `dependsOn`."""
    graph, child, parent = doc.graph, doc.ids[key], doc.ids[edge.parent]
    teacher = graph.nodes[edge.parent].id
    outputs = doc.add("dataset_DatasetPackage",
                      f"{doc.ns}generated/{_segment(graph.refs[edge.parent])}/{_segment(graph.refs[key])}",
                      name=f"outputs of {teacher} used to train {node.id}", software_primaryPurpose="data",
                      dataset_datasetType=["noAssertion"],
                      # whoever trained the student made and used the outputs: its organisation
                      suppliedBy=(doc.organization(org) if (org := supplier(node.id, node.on_hub)) else None),
                      comment="stands for the teacher's outputs the student was trained on (distillation)")
    doc.relate(outputs, "hasDeclaredLicense", [NO_ASSERTION])
    doc.relate(outputs, "hasConcludedLicense", [NO_ASSERTION])
    doc.relate(parent, "generates", [outputs], note)
    doc.relate(child, "trainedOn", [outputs], note)
    doc.relate(child, "dependsOn", [outputs], note)
    doc.relate(outputs, "dependsOn", [parent], note)


def _metadata(graph: BomGraph) -> list[tuple[str, str]]:
    out = [("verdict", graph.worst), ("evaluated_at", graph.day.isoformat())]
    out += [("catalog_sha256", digest) for digest in graph.catalog_digests]
    out += [(f"pack:{pid}", f"{version} sha256:{sha}") for pid, (version, sha) in graph.packs.items()]
    out += [("not_evaluated", f"{e.target}: {e.message}") for e in graph.errors]
    out.append(("disclaimer", DISCLAIMER))
    return out


def build_document(results: Sequence[Report | TargetError], day: dt.date | None = None,
                   application: Inventory | None = None) -> dict[str, Any]:
    """The document of a batch; with `application` (`check --inventory`), the application is the SBOM's root and
    `dependsOn` every subject (a `LifecycleScopedRelationship` with the scope the inventory found it in)."""
    graph = build_graph(results, day=day)
    doc = _Doc(graph)
    agent = doc.add("SoftwareAgent", f"{doc.ns}agent/policycheck", name="policycheck")
    tool = doc.add("Tool", f"{doc.ns}tool/policycheck", name=f"policycheck {__version__}")
    for key, node in graph.nodes.items():
        _package(doc, key, node)
    for key, node in graph.nodes.items():
        doc.relate(doc.ids[key], "hasDeclaredLicense", [_declared(doc, node)])
        doc.relate(doc.ids[key], "hasConcludedLicense", [doc.license(node.concluded)])
    for key, node in graph.nodes.items():
        _lineage(doc, key, node)
    document_id = f"{doc.ns}document"
    meta = _metadata(graph)
    for i, (name, value) in enumerate(meta, 1):
        doc.add("Annotation", f"{doc.ns}annotation/{i}", annotationType="review", subject=document_id,
                statement=f"policycheck:{name}: {value}")
    for key in graph.subjects:
        doc.add("Annotation", f"{doc.ns}annotation/verdict/{_segment(graph.refs[key])}", annotationType="review",
                subject=doc.ids[key], statement=f"policycheck:verdict: {graph.nodes[key].verdict}")
    data_license = doc.license("CC0-1.0")
    names = [graph.nodes[k].id for k in graph.subjects]
    title = "policycheck " + (", ".join(names[:3]) or "report") + (f" and {len(names) - 3} more"
                                                                     if len(names) > 3 else "")
    creation = {"type": "CreationInfo", "@id": CREATION, "specVersion": "3.0.1", "created": _stamp(graph.day),
                "createdBy": [agent], "createdUsing": [tool]}
    roots = [doc.ids[k] for k in graph.subjects] or [agent]
    if application is not None:
        roots = [_application(doc, graph, application)]
    sbom = doc.add("software_Sbom", f"{doc.ns}sbom", name=title, software_sbomType=["analyzed"],
                   rootElement=roots,
                   element=[e["spdxId"] for e in doc.elements])
    document = {"type": "SpdxDocument", "spdxId": document_id, "creationInfo": CREATION, "name": title,
                "comment": "\n".join(f"policycheck:{k}: {v}" for k, v in meta),
                "dataLicense": data_license, "profileConformance": PROFILES,
                "rootElement": [sbom], "element": [e["spdxId"] for e in doc.elements]}
    return {"@context": CONTEXT, "@graph": [creation, document, *doc.elements]}


def _application(doc: _Doc, graph: BomGraph, application: Inventory) -> str:
    """The application whose inventory the batch judged, depending on each subject."""
    app = doc.add("software_Package", f"{doc.ns}application/{_segment(application.name)}", name=application.name,
                  software_packageVersion=application.version or None, software_primaryPurpose="application",
                  comment="the application whose repository policycheck inventoried")
    used = by_id(application.models)
    for key in graph.subjects:
        model = used.get(graph.nodes[key].id.lower())
        doc.relationships += 1
        where = "; ".join(location_text(model)[:20]) if model is not None else "a target of the batch"
        doc.add("LifecycleScopedRelationship", f"{doc.ns}relationship/{doc.relationships}", **{
            "from": app, "relationshipType": "dependsOn", "to": [doc.ids[key]], "comment": where,
            "scope": {"runtime": "runtime", "test": "test"}.get(model.scope, "other") if model is not None
            else "runtime"})
    return app


def render(results: Sequence[Report | TargetError], options: object = None) -> str:
    document = build_document(results, getattr(options, "day", None), getattr(options, "application", None))
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
