"""SPDX 3.0.1 JSON-LD output (`spdx3`, AI and Dataset profiles): validated offline against the shipped SPDX
3.0.1 JSON Schema and SHACL shapes (`rules/schema/spdx-3.0.1/`); lineage relationships, licenses, metadata."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policy.model.report import Report, TargetError
from policy.pipeline.check import CheckOptions, iter_check
from policy.render.spdx3 import NO_ASSERTION, render
from tests.render.test_cyclonedx import _hostile_report, write_merge_cards
from tests.support.spdx3_validate import spdx_dir, validate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cards"
R1_LLAMA = EXAMPLES / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"
R1_QWEN = EXAMPLES / "deepseek-ai__DeepSeek-R1-Distill-Qwen-7B.md"
SUBJECT = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
TODAY = dt.date(2026, 12, 1)
SHA = "0123456789abcdef0123456789abcdef01234567"
SHIPPED = {  # rules/schema/spdx-3.0.1/README.md
    "spdx-context.jsonld": "c72b0928f094c83e5c127784edb1ebca2af74a104fcacc007c332b23cbc788bd",
    "spdx-json-schema.json": "59f59713c7d73ff0d833f4f468df974a689fc9dd36dc5510f1875ff85d276c54",
    "spdx-model.ttl": "1e6df676d5a4108de90362170b0933da53f929ae8147453cea0dffadb804fae5",
}


def _check(*targets: Path, cards: Path = EXAMPLES) -> list[Report | TargetError]:
    return list(iter_check([str(t) for t in targets], CheckOptions(cards=(cards,), offline=True, today=TODAY)))


def _valid(text: str) -> None:
    errors = validate(text)
    assert errors == [], "\n".join(errors)


def _by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["spdxId"]: e for e in doc["@graph"] if "spdxId" in e}


def _names(doc: dict[str, Any]) -> dict[str, str]:
    return {e["spdxId"]: e["name"] for e in doc["@graph"] if "name" in e}


def _relations(doc: dict[str, Any], licenses: bool = False, depends: bool = False) -> set[tuple[str, str, str]]:
    """(from name, relationshipType, to name) of every lineage relationship (license ones only with `licenses`,
    the `dependsOn` doubling each lineage edge only with `depends`)."""
    names = _names(doc)
    out = set()
    for e in doc["@graph"]:
        kind = e.get("relationshipType", "")
        if (e["type"] == "Relationship" and licenses == kind.startswith("has")
                and depends == (kind == "dependsOn")):
            for to in e["to"]:
                out.add((names.get(e["from"], e["from"]), e["relationshipType"], names.get(to, to)))
    return out


def _license_of(doc: dict[str, Any], name: str, relation: str) -> str:
    ids = _by_id(doc)
    [rel] = [e for e in doc["@graph"] if e["type"] == "Relationship" and e["relationshipType"] == relation
             and ids[e["from"]].get("name") == name]
    [to] = rel["to"]
    return str(ids[to]["simplelicensing_licenseExpression"]) if to in ids else str(to)


def _statements(doc: dict[str, Any], subject: str) -> list[str]:
    return [e["statement"] for e in doc["@graph"] if e["type"] == "Annotation" and e["subject"] == subject]


@pytest.fixture(scope="module")
def r1_llama() -> list[Report | TargetError]:
    results = _check(R1_LLAMA)
    assert all(isinstance(r, Report) for r in results)
    return results


def test_the_shipped_spdx_files_are_the_recorded_ones() -> None:
    for name, digest in SHIPPED.items():
        assert hashlib.sha256((spdx_dir() / name).read_bytes()).hexdigest() == digest, name
    schema = json.loads((spdx_dir() / "spdx-json-schema.json").read_text())
    assert schema["properties"]["@context"]["const"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    assert "https://spdx.org/rdf/3.0.1/terms/" in (spdx_dir() / "spdx-model.ttl").read_text()
    assert "sha256" in (spdx_dir() / "README.md").read_text()


def test_the_r1_distill_document_validates_with_its_lineage(r1_llama: list[Report | TargetError]) -> None:
    [report] = r1_llama
    assert isinstance(report, Report)
    text = render(r1_llama)
    _valid(text)
    doc = json.loads(text)
    assert doc["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    creation, document = doc["@graph"][:2]
    assert creation == {"type": "CreationInfo", "@id": "_:creationinfo", "specVersion": "3.0.1",
                        "created": "2026-12-01T00:00:00Z", "createdBy": creation["createdBy"],
                        "createdUsing": creation["createdUsing"]}
    ids = _by_id(doc)
    assert ids[creation["createdBy"][0]]["type"] == "SoftwareAgent"
    assert ids[creation["createdUsing"][0]]["type"] == "Tool"
    assert document["type"] == "SpdxDocument"
    assert document["profileConformance"] == ["core", "software", "ai", "dataset", "simpleLicensing"]
    [sbom] = [ids[r] for r in document["rootElement"]]  # the SBOM, whose root is the subject
    assert sbom["type"] == "software_Sbom" and sbom["software_sbomType"] == ["analyzed"]
    assert [ids[r]["name"] for r in sbom["rootElement"]] == [SUBJECT]
    assert set(document["element"]) == set(ids) - {document["spdxId"]}
    assert set(sbom["element"]) == set(ids) - {document["spdxId"], sbom["spdxId"]}
    packages = {e["name"]: e for e in doc["@graph"] if e["type"] == "ai_AIPackage"}
    assert set(packages) == {e.id for e in report.evaluated}
    outputs = "outputs of deepseek-ai/DeepSeek-R1 used to train " + SUBJECT
    assert _relations(doc) == {
        ("meta-llama/Llama-3.1-8B", "ancestorOf", SUBJECT),
        ("deepseek-ai/DeepSeek-V3-Base", "ancestorOf", "deepseek-ai/DeepSeek-R1"),
        ("deepseek-ai/DeepSeek-R1", "generates", outputs),
        (SUBJECT, "trainedOn", outputs),
    }
    assert _relations(doc, depends=True) == {  # each edge doubled, child to parent, for NTIA checkers
        (SUBJECT, "dependsOn", "meta-llama/Llama-3.1-8B"),
        ("deepseek-ai/DeepSeek-R1", "dependsOn", "deepseek-ai/DeepSeek-V3-Base"),
        (SUBJECT, "dependsOn", outputs), (outputs, "dependsOn", "deepseek-ai/DeepSeek-R1"),
    }
    [generated] = [e for e in doc["@graph"] if e["type"] == "dataset_DatasetPackage"]
    assert generated["name"] == outputs and generated["dataset_datasetType"] == ["noAssertion"]
    # every edge says where it came from: here the curation, with its source
    teacher_edge = next(e for e in doc["@graph"] if e["type"] == "Relationship" and e["relationshipType"] ==
                        "generates")
    assert "policycheck curation" in teacher_edge["comment"] and "https://github.com/deepseek-ai" in \
        teacher_edge["comment"]
    # licenses: declared and concluded for every package
    assert _license_of(doc, SUBJECT, "hasDeclaredLicense") == "MIT"
    assert _license_of(doc, SUBJECT, "hasConcludedLicense") == "MIT"
    llama_spdx = report.licenses["llama3.1"].spdx
    assert _license_of(doc, "meta-llama/Llama-3.1-8B", "hasConcludedLicense") == llama_spdx
    llama_lic = next(e for e in doc["@graph"] if e.get("simplelicensing_licenseExpression") == llama_spdx)
    assert llama_lic["simplelicensing_customIdToUri"] == [
        {"type": "DictionaryEntry", "key": llama_spdx, "value": report.licenses["llama3.1"].url}]
    assert _license_of(doc, outputs, "hasConcludedLicense") == NO_ASSERTION
    for name in [*packages, outputs]:
        assert {r for (f, r, _) in _relations(doc, licenses=True) if f == name} == {"hasDeclaredLicense",
                                                                                    "hasConcludedLicense"}
    # purls and download locations: Hub ancestors only (the subject was given as a local card)
    assert "software_packageUrl" not in packages[SUBJECT]
    assert packages["meta-llama/Llama-3.1-8B"]["software_packageUrl"] == "pkg:huggingface/meta-llama/Llama-3.1-8B"
    assert packages["meta-llama/Llama-3.1-8B"]["software_downloadLocation"] == \
        "https://huggingface.co/meta-llama/Llama-3.1-8B"
    # metadata
    meta = _statements(doc, document["spdxId"])
    assert f"policycheck:verdict: {report.verdict}" in meta
    assert f"policycheck:catalog_sha256: {report.catalog_digest}" in meta
    assert "policycheck:evaluated_at: 2026-12-01" in meta
    for pack in report.packs:
        assert f"policycheck:pack:{pack.id}: {pack.version} sha256:{pack.sha256}" in meta
    assert any("not legal advice" in s for s in meta) and "not legal advice" in document["comment"]
    subject_id = next(k for k, v in ids.items() if v.get("name") == SUBJECT and v["type"] == "ai_AIPackage")
    assert _statements(doc, subject_id) == [f"policycheck:verdict: {report.verdict}"]
    assert render(r1_llama) == text  # deterministic: same ids, same bytes


def test_a_merge_trained_on_a_dataset_a_teacher_generated(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    results = _check(write_merge_cards(cards), cards=cards)
    assert all(isinstance(r, Report) for r in results)
    text = render(results)
    _valid(text)
    assert str(tmp_path) not in text
    doc = json.loads(text)
    # the dataset's card names its teacher: the teacher generates that dataset itself (no intermediate one)
    assert _relations(doc) == {
        ("acme/left", "ancestorOf", "acme/merged"),
        ("acme/right", "ancestorOf", "acme/merged"),
        ("acme/merged", "trainedOn", "acme/synthetic-chat"),
        ("acme/teacher-70b", "generates", "acme/synthetic-chat"),
    }
    merges = [e["comment"] for e in doc["@graph"] if e["type"] == "Relationship" and e["relationshipType"] ==
              "ancestorOf"]
    assert all("merge" in c and "acme/left, acme/right" in c for c in merges)
    [dataset] = [e for e in doc["@graph"] if e["type"] == "dataset_DatasetPackage"]
    assert dataset["name"] == "acme/synthetic-chat" and dataset["software_primaryPurpose"] == "data"
    assert _license_of(doc, "acme/synthetic-chat", "hasDeclaredLicense") == "CC-BY-4.0"
    assert _license_of(doc, "acme/right", "hasConcludedLicense") == "MIT"


def test_api_teachers_and_unknown_licenses(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "acme__student.md").write_text("---\nlicense: other\nlicense_name: acme-house-license\n"
                                            "teacher_model: openai/gpt-4o\n---\n")
    results = _check(cards / "acme__student.md", cards=cards)
    text = render(results)
    _valid(text)
    doc = json.loads(text)
    declared = _license_of(doc, "acme/student", "hasDeclaredLicense")
    assert declared.startswith("LicenseRef-policycheck-declared-")
    lic = next(e for e in doc["@graph"] if e.get("simplelicensing_licenseExpression") == declared)
    assert "acme-house-license" in lic["comment"]
    assert _license_of(doc, "acme/student", "hasConcludedLicense") == NO_ASSERTION
    api = next(e for e in doc["@graph"] if e.get("name") == "openai/gpt-4o")
    assert api["type"] == "ai_AIPackage" and "software_packageUrl" not in api and "API" in api["comment"]
    outputs = "outputs of openai/gpt-4o used to train acme/student"
    assert {("openai/gpt-4o", "generates", outputs), ("acme/student", "trainedOn", outputs)} <= _relations(doc)


def _outputs_name() -> str:
    return "outputs of deepseek-ai/DeepSeek-R1 used to train " + SUBJECT


def _mutate(text: str, name: str, change: Any) -> str:
    doc = json.loads(text)
    element = next(e for e in doc["@graph"] if e.get("name") == name)
    change(element)
    return json.dumps(doc)


def test_the_validator_rejects_unknown_fields_wrong_types_and_missing_properties(
        r1_llama: list[Report | TargetError]) -> None:
    text = render(r1_llama)
    unknown = validate(_mutate(text, SUBJECT, lambda e: e.update(ai_notAProperty="x")))
    assert any(m.startswith("schema:") and "'ai_notAProperty' was unexpected" in m for m in unknown), unknown
    wrong = validate(_mutate(text, SUBJECT, lambda e: e.update(software_packageVersion=5)))
    assert any(m.startswith("schema:") and "/software_packageVersion" in m and "not of type" in m for m in wrong)
    assert any(m.startswith("shacl:") and "packageVersion" in m for m in wrong)
    missing = validate(_mutate(text, SUBJECT, lambda e: e.pop("creationInfo")))
    assert any(m.startswith("schema:") and '"creationInfo" is a required property' in m for m in missing)
    assert any(m.startswith("shacl:") and "creationInfo" in m for m in missing)
    no_type = validate(_mutate(text, _outputs_name(), lambda e: e.pop("dataset_datasetType")))
    assert any("dataset_datasetType" in m or "datasetType" in m for m in no_type), no_type
    bad_vocab = validate(_mutate(text, "meta-llama/Llama-3.1-8B", lambda e: e.update(
        software_primaryPurpose="weights")))
    assert bad_vocab
    # the semantic layer on its own: a relationship to an element that is not in the document
    doc = json.loads(text)
    rel = next(e for e in doc["@graph"] if e["type"] == "Relationship")
    rel["to"] = ["https://policycheck.invalid/nowhere"]
    from tests.support.spdx3_validate import schema_errors, shacl_errors

    assert schema_errors(doc) == [] and any("Element" in m for m in shacl_errors(doc))
    assert validate("{not json") and validate(json.dumps({"@context": "https://example.com/x", "@graph": []}))


def test_a_batch_lists_every_subject_and_every_target_that_failed(r1_llama: list[Report | TargetError]) -> None:
    results = [*r1_llama, *_check(R1_QWEN), TargetError("x/y", "could not be read")]
    reports = [r for r in results if isinstance(r, Report)]
    text = render(results)
    _valid(text)
    doc = json.loads(text)
    ids = _by_id(doc)
    document = doc["@graph"][1]
    [sbom] = [ids[r] for r in document["rootElement"]]
    assert sorted(ids[r]["name"] for r in sbom["rootElement"]) == sorted(r.subject.id for r in reports)
    names = [e["name"] for e in doc["@graph"] if e["type"] == "ai_AIPackage"]
    assert len(names) == len(set(names))  # a node shared by both reports is one package
    assert set(names) == {e.id for r in reports for e in r.evaluated}
    meta = _statements(doc, document["spdxId"])
    assert "policycheck:verdict: error" in meta  # a target could not be read: never pass on missing data
    assert "policycheck:not_evaluated: x/y: could not be read" in meta
    for r in reports:
        pid = next(k for k, v in ids.items() if v.get("name") == r.subject.id and v["type"] == "ai_AIPackage")
        assert _statements(doc, pid) == [f"policycheck:verdict: {r.verdict}"]
    assert render(results) == text


@pytest.mark.parametrize("text", [
    "ctl\x01\x07\x1b[31m\x7f\u2028\ud7ff\"\\</script>'<!--",
    "x" * 100_000,
    "spaces and @ # ? % / slashes ../../etc",
])
def test_hostile_strings_survive_as_data(text: str) -> None:
    results: list[Report | TargetError] = [_hostile_report(text), TargetError(text, text)]
    out = render(results)
    _valid(out)
    doc = json.loads(out)
    names = set(_names(doc).values())
    assert {"acme/" + text, "org/" + text, "teach/" + text} <= names
    subject = next(e for e in doc["@graph"] if e.get("name") == "acme/" + text)
    assert subject["releaseTime"] == "2026-11-30T09:11:12Z"
    assert subject["software_packageUrl"].startswith("pkg:huggingface/acme/")
    assert len(subject["spdxId"]) < 400  # long ids are cut and hashed
    assert f"policycheck:not_evaluated: {text}: {text}" in _statements(doc, doc["@graph"][1]["spdxId"])


def test_validation_sends_nothing_to_the_network(tmp_path: Path, r1_llama: list[Report | TargetError]) -> None:
    """A fresh process (nothing cached) whose sockets refuse to connect validates the document."""
    path = tmp_path / "doc.json"
    path.write_text(render(r1_llama))
    script = (
        "import socket, sys\n"
        "def refuse(*a, **k):\n    raise OSError('network access in an offline test')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\nsocket.getaddrinfo = refuse\n"
        "import urllib.request\nurllib.request.urlopen = refuse\n"
        "from tests.support.spdx3_validate import validate\n"
        f"errors = validate(open({str(path)!r}, encoding='utf-8').read())\n"
        "print('\\n'.join(errors)); sys.exit(1 if errors else 0)\n")
    env = {"PATH": "", "PYTHONPATH": str(ROOT), "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY":
           "http://127.0.0.1:9", "NO_PROXY": ""}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_batch_where_every_target_failed_is_dated_by_the_run() -> None:
    from policy.render.registry import RenderOptions

    out = render([TargetError("x/y", "could not be read")], RenderOptions(day=TODAY))
    assert validate(out) == []
    [creation] = [e for e in json.loads(out)["@graph"] if e["type"] == "CreationInfo"]
    assert creation["created"] == "2026-12-01T00:00:00Z"


def test_every_package_names_its_supplier_and_ntia_finds_the_minimum_elements(tmp_path: Path) -> None:
    """NTIA's supplier: the Hub organisation, as one Organization element each; the checker (offline, its SPDX 3
    reader) then finds a name, an identifier and a supplier for every package, an author and a timestamp."""
    text = render(_check(R1_LLAMA))
    _valid(text)
    doc = json.loads(text)
    elements = _by_id(doc)
    packages = [e for e in elements.values() if e["type"] in ("ai_AIPackage", "dataset_DatasetPackage")]
    assert packages
    for p in packages:  # a model or dataset: its own organisation; "outputs of X used to train Y": Y's
        org = elements[p["suppliedBy"]]
        assert org["type"] == "Organization" and org["name"] == p["name"].split()[-1].partition("/")[0], p["name"]
    orgs = [e for e in elements.values() if e["type"] == "Organization"]
    assert len(orgs) == len({o["name"] for o in orgs})  # one element per organisation
    from ntia_conformance_checker.ntia_checker import NTIAChecker

    out = tmp_path / "bom.spdx3.json"
    out.write_text(text, encoding="utf-8")
    result = NTIAChecker(str(out), sbom_spec="spdx3").output_json()
    assert result["authorNameProvided"] and result["timestampProvided"], result
    assert result["conformanceMessages"] == [] and result["dependencyRelationshipsProvided"], result
    assert result["graphValidation"]["floatingComponents"]["floatingComponentCount"] == 0, result
    for element in ("componentNames", "componentIdentifiers", "componentSuppliers"):
        assert result[element]["allProvided"], (element, result[element]["nonconformantComponents"])
