"""The product's AI-BOM from an inventory: CycloneDX 1.6 (`cyclonedx`, built with cyclonedx-python-lib) and SPDX
3.0.1 JSON-LD (`spdx3`). Pure: an `Inventory` in, the document out; nothing is judged here (`check --inventory
--format cyclonedx` writes the judged BOM, with the same application at its root: policy/render/cyclonedx.py).

CycloneDX: the application (its project file's name and version, else its folder's name) is the BOM's
`metadata.component` (type `application`); each model is a `machine-learning-model` component: its id as name,
`pkg:huggingface/org/name` for a Hub model, the Hub organisation or API provider as supplier, `scope`
`required` for a model that is judged (runtime, or `--include`d) and `excluded` for one only the tests or the
documentation name (the CycloneDX word for "not part of what ships"), the license local weights declare in
their header as a declared license, the bases they name as `pedigree.ancestors`, and as properties its kind
(`policycheck:inventory:kind`), scope, the settings that override it and every location
(`policycheck:inventory:location` = `file:line (use) how`, the first MAX_LOCATIONS). The application depends
on every model judged.

SPDX 3: one `software_Package` for the application (primary purpose `application`, the `software_Sbom`'s root)
and one `ai_AIPackage` per model (purl and download location for Hub models, supplier), the application
`dependsOn` each model through a `LifecycleScopedRelationship` whose scope is `runtime`, `test` (a model only
the tests use) or `other` (only named in the documentation), its comment saying where the model is used. Local
weights `hasDeclaredLicense` what their header declares (NoAssertion when nothing), and each base they name
is an `ancestorOf` them. Identifiers derive from the application's name and version and the document's date:
the same inventory gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from policy import __version__
from policy.model.inventory import Inventory, ModelUse
from policy.render.purl import package_url, purl, supplier
from policy.textsafe import encodable, key_bytes

NS = "policycheck"
APP_REF = "policycheck-application"
TOOL_REF = "policycheck-tool"
MAX_LOCATIONS = 100  # location properties per component (the JSON inventory lists them all, up to its bound)
SERIAL_NAMESPACE = uuid.UUID("2b7f0c3e-6a1d-5e4b-8c9f-1d2e3f4a5b6c")
HUB = "https://huggingface.co"


def location_text(model: ModelUse) -> list[str]:
    """`file:line (use) how` for each location of a model."""
    return [f"{loc.where} ({loc.use})" + (f" {loc.detail}" if loc.detail else "") for loc in model.locations]


def inventory_properties(model: ModelUse, judged: bool) -> list[tuple[str, str]]:
    """What the inventory knows of a model, as `policycheck:inventory:*` properties (name, value)."""
    props = [(f"{NS}:inventory:kind", model.kind), (f"{NS}:inventory:scope", model.scope),
             (f"{NS}:inventory:judged", "true" if judged else "false")]
    props += [(f"{NS}:inventory:setting", s) for s in model.settings]
    locations = location_text(model)
    props += [(f"{NS}:inventory:location", text) for text in locations[:MAX_LOCATIONS]]
    if len(locations) > MAX_LOCATIONS:
        props.append((f"{NS}:inventory:locations_not_listed", str(len(locations) - MAX_LOCATIONS)))
    props += [(f"{NS}:inventory:note", note) for note in model.notes]
    return props


def on_hub(model: ModelUse) -> bool:
    return model.kind == "hub"


def model_refs(models: Iterable[ModelUse], taken: Iterable[str]) -> dict[tuple[str, str], str]:
    """A stable, unique bom-ref per model: its id, prefixed with its kind when another model took the id."""
    used = set(taken)
    out: dict[tuple[str, str], str] = {}
    for model in models:
        ref = model.id if model.id not in used else f"{model.kind}:{model.id}"
        while ref in used:
            ref += "+"
        used.add(ref)
        out[(model.kind, model.id)] = ref
    return out


def application_component(inventory: Inventory) -> Any:
    """The application as a CycloneDX `application` component (the BOM's root)."""
    from cyclonedx.model.component import Component, ComponentType

    return Component(type=ComponentType.APPLICATION, name=inventory.name, version=inventory.version or None,
                     bom_ref=APP_REF, description="the application whose repository policycheck inventoried: "
                                                  "the models it loads, downloads, calls and ships")


def _declared(license_: str) -> Any:
    from cyclonedx.model.license import DisjunctiveLicense, LicenseAcknowledgement
    from cyclonedx.spdx import fixup_id

    spdx = fixup_id(license_)
    if spdx:
        return DisjunctiveLicense(id=spdx, acknowledgement=LicenseAcknowledgement.DECLARED)
    return DisjunctiveLicense(name=license_[:200], acknowledgement=LicenseAcknowledgement.DECLARED)


def _component(model: ModelUse, ref: str, judged: bool) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentScope, ComponentType, Pedigree
    from cyclonedx.model.contact import OrganizationalEntity

    props = inventory_properties(model, judged)
    if model.kind == "api":
        props.append((f"{NS}:api_model", "true"))
    org = supplier(model.id, on_hub(model)) if model.kind in ("hub", "api") else None
    component = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL, name=model.id, bom_ref=ref,
        supplier=OrganizationalEntity(name=org) if org else None,
        purl=package_url(model.id, None) if on_hub(model) else None,
        scope=ComponentScope.REQUIRED if judged else ComponentScope.EXCLUDED,
        licenses=[_declared(model.license)] if model.license else None,
        properties=[Property(name=k, value=v) for k, v in props])
    if model.base_models:
        component.pedigree = Pedigree(ancestors=[
            Component(type=ComponentType.MACHINE_LEARNING_MODEL, name=base, purl=package_url(base, None))
            for base in model.base_models])
    return component


def build_inventory_bom(inventory: Inventory, day: dt.date | None = None) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType

    application = application_component(inventory)
    selected = {(m.kind, m.id) for m in inventory.selected()}
    refs = model_refs(inventory.models, (APP_REF, TOOL_REF))
    components = {key: _component(m, refs[key], key in selected) for m in inventory.models
                  if (key := (m.kind, m.id))}
    counts = inventory.by_scope()
    props = [("inventory:complete", "false" if inventory.incomplete else "true")]
    if inventory.incomplete:
        props.append(("inventory:incomplete_reason", inventory.incomplete))
    props += [(f"inventory:models:{scope}", str(n)) for scope, n in counts.items()]
    props += [("inventory:include", scope) for scope in inventory.include]
    props.append(("inventory:files_read", str(inventory.stats.files_read)))
    props += [("inventory:note", note) for note in inventory.notes]
    metadata = BomMetaData(component=application, properties=[Property(name=f"{NS}:{k}", value=v) for k, v in props],
                           timestamp=dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc) if day
                           else None)
    metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="policycheck", version=__version__,
                                            bom_ref=TOOL_REF))
    bom = Bom(components=list(components.values()), metadata=metadata, serial_number=_serial(inventory, day))
    bom.register_dependency(application, [components[k] for k in components if k in selected])
    for component in components.values():
        bom.register_dependency(component, [])
    return bom


def _serial(inventory: Inventory, day: dt.date | None) -> uuid.UUID:
    seed = "\n".join([inventory.name, inventory.version, *(f"{m.kind}:{m.id}" for m in inventory.models),
                      day.isoformat() if day else ""])
    return uuid.uuid5(SERIAL_NAMESPACE, encodable(seed))


def render_cyclonedx(inventory: Inventory, options: object = None) -> str:
    from cyclonedx.output.json import JsonV1Dot6

    day = getattr(options, "day", None)
    document = json.loads(JsonV1Dot6(build_inventory_bom(inventory, day)).output_as_string())
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# -- SPDX 3 -----------------------------------------------------------------------------------------------------------
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
DOC_NAMESPACE = uuid.UUID("7d3e2a1b-4c5d-5e6f-8a9b-0c1d2e3f4a5b")
CREATION = "_:creationinfo"
NO_ASSERTION = "expandedlicensing_NoAssertionLicense"
LIFECYCLE = {"runtime": "runtime", "test": "test", "docs": "other"}


def _segment(text: str) -> str:
    encoded = quote(text, safe="", errors="surrogatepass")
    return encoded if len(encoded) <= 200 else encoded[:180] + "-" + hashlib.sha256(key_bytes(text)).hexdigest()[:16]


def build_inventory_spdx3(inventory: Inventory, day: dt.date | None = None) -> dict[str, Any]:
    day = day or dt.date(1970, 1, 1)
    seed = "\n".join([inventory.name, inventory.version, *(f"{m.kind}:{m.id}" for m in inventory.models),
                      day.isoformat()])
    ns = f"https://policycheck.invalid/spdx3/inventory/{uuid.uuid5(DOC_NAMESPACE, encodable(seed))}/"
    elements: list[dict[str, Any]] = []
    orgs: dict[str, str] = {}
    counter = [0]

    def add(kind: str, spdx_id: str, **props: Any) -> str:
        element = {"type": kind, "spdxId": spdx_id, "creationInfo": CREATION}
        element.update({k: v for k, v in props.items() if v not in (None, [], "")})
        elements.append(element)
        return spdx_id

    def organization(name: str) -> str:
        if name not in orgs:
            orgs[name] = add("Organization", f"{ns}organization/{_segment(name)}", name=name)
        return orgs[name]

    def relate(source: str, relation: str, targets: list[str], comment: str | None = None,
               scope: str | None = None) -> None:
        counter[0] += 1
        kind = "LifecycleScopedRelationship" if scope else "Relationship"
        add(kind, f"{ns}relationship/{counter[0]}", **{"from": source, "relationshipType": relation, "to": targets,
                                                       "comment": comment, "scope": scope})

    agent = add("SoftwareAgent", f"{ns}agent/policycheck", name="policycheck")
    tool = add("Tool", f"{ns}tool/policycheck", name=f"policycheck {__version__}")
    app = add("software_Package", f"{ns}application/{_segment(inventory.name)}", name=inventory.name,
              software_packageVersion=inventory.version or None, software_primaryPurpose="application",
              comment="the application whose repository policycheck inventoried")
    licenses: dict[str, str] = {}

    def license_element(text: str) -> str:
        if text not in licenses:
            token = _spdx_id(text) or \
                "LicenseRef-policycheck-declared-" + hashlib.sha256(key_bytes(text)).hexdigest()[:12]
            licenses[text] = add("simplelicensing_LicenseExpression",
                                 f"{ns}license/{hashlib.sha256(key_bytes(text)).hexdigest()[:16]}",
                                 simplelicensing_licenseExpression=token,
                                 comment=None if token == text else f"As declared in the weights' header: {text}")
        return licenses[text]

    ids: dict[tuple[str, str], str] = {}
    for model in inventory.models:
        props: dict[str, Any] = {"name": model.id, "software_primaryPurpose": "model",
                                 "comment": _comment(model)}
        if on_hub(model):
            props["software_packageUrl"] = purl(model.id, None)
            props["software_downloadLocation"] = f"{HUB}/{quote(model.id, safe='/')}"
        org = supplier(model.id, on_hub(model)) if model.kind in ("hub", "api") else None
        if org:
            props["suppliedBy"] = organization(org)
        ids[(model.kind, model.id)] = add("ai_AIPackage", f"{ns}{model.kind}/{_segment(model.id)}", **props)
    bases: dict[str, str] = {}
    for model in inventory.models:
        mid = ids[(model.kind, model.id)]
        relate(app, "dependsOn", [mid], f"{model.scope}: " + "; ".join(location_text(model)[:20]),
               scope=LIFECYCLE.get(model.scope, "other"))
        if model.kind == "local-weights":
            relate(mid, "hasDeclaredLicense", [license_element(model.license) if model.license else NO_ASSERTION])
        for base in model.base_models:
            if base not in bases:
                bases[base] = add("ai_AIPackage", f"{ns}base/{_segment(base)}", name=base,
                                  software_primaryPurpose="model", software_packageUrl=purl(base, None),
                                  software_downloadLocation=f"{HUB}/{quote(base, safe='/')}",
                                  suppliedBy=organization(org) if (org := supplier(base, True)) else None)
            relate(bases[base], "ancestorOf", [mid], "a base the weights' header or configuration names")
            relate(mid, "dependsOn", [bases[base]], "a base the weights' header or configuration names")
    document_id = f"{ns}document"
    title = f"policycheck inventory of {inventory.name}"
    creation = {"type": "CreationInfo", "@id": CREATION, "specVersion": "3.0.1",
                "created": f"{day.isoformat()}T00:00:00Z", "createdBy": [agent], "createdUsing": [tool]}
    sbom = add("software_Sbom", f"{ns}sbom", name=title, software_sbomType=["source"], rootElement=[app],
               element=[e["spdxId"] for e in elements])
    data_license = add("simplelicensing_LicenseExpression", f"{ns}license/data", simplelicensing_licenseExpression=
                       "CC0-1.0")
    counts = inventory.by_scope()
    comment = [f"policycheck:inventory:models:{k}: {v}" for k, v in counts.items()]
    comment.append(f"policycheck:inventory:complete: {'false' if inventory.incomplete else 'true'}")
    document = {"type": "SpdxDocument", "spdxId": document_id, "creationInfo": CREATION, "name": title,
                "comment": "\n".join(comment), "dataLicense": data_license,
                "profileConformance": ["core", "software", "ai", "simpleLicensing"], "rootElement": [sbom],
                "element": [e["spdxId"] for e in elements]}
    return {"@context": CONTEXT, "@graph": [creation, document, *elements]}


def _spdx_id(text: str) -> str | None:
    """The SPDX expression a declared license is (`apache-2.0` -> `Apache-2.0`), or None (`llama3.1`)."""
    from license_expression import get_spdx_licensing

    try:
        parsed = get_spdx_licensing().parse(text, validate=True, strict=True)
    except Exception:  # any parse or validation error: not an SPDX expression
        return None
    return str(parsed) if parsed is not None else None


def _comment(model: ModelUse) -> str:
    lines = [f"{model.kind} model, {model.scope} scope"]
    if model.settings:
        lines.append("configurable: " + ", ".join(model.settings))
    lines += location_text(model)[:MAX_LOCATIONS]
    return "\n".join(lines)


def render_spdx3(inventory: Inventory, options: object = None) -> str:
    document = build_inventory_spdx3(inventory, getattr(options, "day", None))
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def by_id(models: Iterable[ModelUse]) -> Mapping[str, ModelUse]:
    """Models by the id their report carries, without regard to case (how a report's subject finds its model of
    the inventory)."""
    return {m.subject_id.lower(): m for m in models}
