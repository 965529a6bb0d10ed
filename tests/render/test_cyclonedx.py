"""CycloneDX 1.6 output (`cyclonedx`): built with cyclonedx-python-lib, validated offline against the library's
strict 1.6 JSON schema, parsed back with `Bom.from_json`; components, licenses, purls and lineage edges."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.model.bom import Bom
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from policy import __version__
from policy.model.report import (
    EvaluatedNode,
    LicenseInfo,
    LineageEdge,
    PackRef,
    PolicySummary,
    Report,
    Subject,
    SubjectLicense,
    TargetError,
)
from policy.pipeline.check import CheckOptions, iter_check
from policy.render.cyclonedx import build_bom, purl, render
from tests.render.test_spdx import STUDENT  # the same student card: house license, API teacher, dataset

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cards"
R1_LLAMA = EXAMPLES / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"
R1_QWEN = EXAMPLES / "deepseek-ai__DeepSeek-R1-Distill-Qwen-7B.md"
SUBJECT = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
TODAY = dt.date(2026, 12, 1)
SHA = "0123456789abcdef0123456789abcdef01234567"


def _check(*targets: Path, cards: Path = EXAMPLES) -> list[Report | TargetError]:
    return list(iter_check([str(t) for t in targets], CheckOptions(cards=(cards,), offline=True, today=TODAY)))


def _valid(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error


def _parse(text: str) -> Bom:
    return Bom.from_json(json.loads(text))  # type: ignore[attr-defined,no-any-return]


def _all_components(bom: Bom) -> dict[str, Any]:
    comps = {str(c.bom_ref): c for c in bom.components}
    if bom.metadata.component is not None:
        comps[str(bom.metadata.component.bom_ref)] = bom.metadata.component
    return comps


def _props(component: Any) -> list[tuple[str, str]]:
    return sorted((p.name, p.value) for p in component.properties)


def _edges(bom: Bom) -> set[tuple[str, str, str]]:
    """(child, relation, parent) recovered from the BOM: ancestors, teacher and trained_on properties."""
    out: set[tuple[str, str, str]] = set()
    for ref, c in _all_components(bom).items():
        for name, value in _props(c):
            if name.startswith("policycheck:base:"):
                out.add((ref, name.removeprefix("policycheck:base:"), value))
            elif name == "policycheck:teacher":
                out.add((ref, "distillation", value))
            elif name == "policycheck:trained_on":
                out.add((ref, "trained_on", value))
    return out


@pytest.fixture(scope="module")
def r1_llama() -> list[Report | TargetError]:
    results = _check(R1_LLAMA)
    assert all(isinstance(r, Report) for r in results)
    return results


def test_the_r1_distill_bom_validates_and_round_trips(r1_llama: list[Report | TargetError]) -> None:
    [report] = r1_llama
    assert isinstance(report, Report)
    text = render(r1_llama)
    _valid(text)
    data = json.loads(text)
    assert data["specVersion"] == "1.6" and data["bomFormat"] == "CycloneDX"
    bom = _parse(text)
    comps = _all_components(bom)
    assert bom.metadata.component is not None and str(bom.metadata.component.bom_ref) == SUBJECT
    # every model node of the report is a machine-learning-model component, bom-ref = the id
    assert set(comps) == {e.id for e in report.evaluated}
    assert {"meta-llama/Llama-3.1-8B", "deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-V3-Base"} <= set(comps)
    assert {c.type.value for c in comps.values()} == {"machine-learning-model"}
    # licenses: declared and concluded, with their acknowledgement
    subject = comps[SUBJECT]
    assert {(li.id, li.acknowledgement.value) for li in subject.licenses} == {("MIT", "declared"),
                                                                             ("MIT", "concluded")}
    llama = comps["meta-llama/Llama-3.1-8B"]
    [lic] = {li.name for li in llama.licenses}
    assert lic == report.licenses["llama3.1"].name
    assert all(isinstance(li, DisjunctiveLicense) and li.url is not None for li in llama.licenses)
    for entry in report.lineage:
        props = dict(_props(comps[entry.parent]))
        assert props["policycheck:license_declared"] == entry.parent_license
        assert props["policycheck:license_concluded"] == entry.parent_spdx
    # purls: ancestors named by a Hub id get one, the subject read from a local card does not
    assert subject.purl is None
    assert str(llama.purl) == "pkg:huggingface/meta-llama/Llama-3.1-8B"
    # edges equal the report's lineage
    assert _edges(bom) == {(e.child, e.relation, e.parent) for e in report.lineage}
    [ancestor] = subject.pedigree.ancestors
    assert ancestor.name == "meta-llama/Llama-3.1-8B" and str(ancestor.purl) == str(llama.purl)
    assert ("policycheck:teacher", "deepseek-ai/DeepSeek-R1") in _props(subject)
    assert not any(a.name == "deepseek-ai/DeepSeek-R1" for a in subject.pedigree.ancestors)  # a teacher, not a base
    r1 = comps["deepseek-ai/DeepSeek-R1"]
    assert [a.name for a in r1.pedigree.ancestors] == ["deepseek-ai/DeepSeek-V3-Base"]
    deps = {str(d.ref): {str(x.ref) for x in d.dependencies} for d in bom.dependencies}
    expected: dict[str, set[str]] = {ref: set() for ref in comps}
    for e in report.lineage:
        expected[e.child].add(e.parent)
    assert deps == expected
    # metadata
    meta = dict((p.name, p.value) for p in bom.metadata.properties)
    assert meta["policycheck:verdict"] == report.verdict
    assert meta["policycheck:catalog_sha256"] == report.catalog_digest
    assert meta["policycheck:evaluated_at"] == "2026-12-01"
    for pack in report.packs:
        assert meta[f"policycheck:pack:{pack.id}"] == f"{pack.version} sha256:{pack.sha256}"
    [tool] = bom.metadata.tools.components
    assert (tool.name, tool.version) == ("policycheck", __version__)
    assert data["metadata"]["timestamp"].startswith("2026-12-01T00:00:00")
    assert render(r1_llama) == text  # deterministic: same serial number and bytes


def test_the_validator_rejects_an_unknown_top_level_field(r1_llama: list[Report | TargetError]) -> None:
    data = json.loads(render(r1_llama))
    data["policycheckExtra"] = {"not": "in the schema"}
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(data)) is not None
    data.pop("policycheckExtra")
    data["components"][0]["type"] = "no-such-type"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(data)) is not None


def test_a_batch_of_two_reports(r1_llama: list[Report | TargetError]) -> None:
    results = [*r1_llama, *_check(R1_QWEN), TargetError("x/y", "could not be read")]
    reports = [r for r in results if isinstance(r, Report)]
    assert len(reports) == 2
    text = render(results)
    _valid(text)
    bom = _parse(text)
    assert bom.metadata.component is not None
    assert (bom.metadata.component.name, str(bom.metadata.component.bom_ref)) == ("policycheck batch",
                                                                                  "policycheck-batch")
    refs = [str(c.bom_ref) for c in bom.components]
    assert len(refs) == len(set(refs))  # a node shared by both reports is one component
    subjects = {r.subject.id for r in reports}
    assert subjects <= set(refs)
    assert {e.id for r in reports for e in r.evaluated} == set(refs)
    deps = {str(d.ref): {str(x.ref) for x in d.dependencies} for d in bom.dependencies}
    assert deps["policycheck-batch"] == subjects
    assert _edges(bom) == {(e.child, e.relation, e.parent)
                           for r in reports for e in r.lineage}
    for r in reports:
        comp = next(c for c in bom.components if str(c.bom_ref) == r.subject.id)
        assert ("policycheck:verdict", r.verdict) in _props(comp)
    meta = dict((p.name, p.value) for p in bom.metadata.properties)
    assert meta["policycheck:verdict"] == "error"  # a target could not be read: never pass on missing data
    assert meta["policycheck:not_evaluated"] == "x/y: could not be read"


def test_api_teachers_datasets_expressions_and_unknown_licenses(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    (cards / "datasets").mkdir(parents=True)
    (cards / "acme__student.md").write_text(STUDENT)
    (cards / "acme__base.md").write_text("---\nlicense: apache-2.0 OR mit\nbase_model: acme/root\n"
                                         "base_model_relation: quantized\n---\n")
    (cards / "datasets" / "acme__synth.md").write_text("---\nlicense: cc-by-4.0\n"
                                                       "teacher_model: anthropic/claude-3-opus\n---\n")
    results = _check(cards / "acme__student.md", cards=cards)
    [report] = results
    assert isinstance(report, Report)
    text = render(results)
    _valid(text)
    assert str(tmp_path) not in text
    bom = _parse(text)
    comps = _all_components(bom)
    student = comps["acme/student"]
    [declared] = student.licenses  # unresolved: only what the card says, as a named license
    assert declared.acknowledgement.value == "declared" and "acme-house-license" in declared.name
    assert ("policycheck:license_concluded", "NOASSERTION") in _props(student)
    for api in ("openai/gpt-4o", "anthropic/claude-3-opus"):
        assert comps[api].type.value == "machine-learning-model"
        assert ("policycheck:api_model", "true") in _props(comps[api])
        assert comps[api].purl is None
    assert comps["acme/synth"].type.value == "data" and comps["acme/synth"].purl is None
    assert {(li.id, li.acknowledgement.value) for li in comps["acme/synth"].licenses} == {
        ("CC-BY-4.0", "declared"), ("CC-BY-4.0", "concluded")}
    [expression] = comps["acme/base"].licenses  # one expression, nothing beside it (1.6)
    assert isinstance(expression, LicenseExpression)
    assert (expression.value, expression.acknowledgement.value) == ("Apache-2.0 OR MIT", "concluded")
    assert ("policycheck:license_declared", "apache-2.0 OR mit") in _props(comps["acme/base"])
    assert _edges(bom) == {(e.child, e.relation, e.parent) for e in report.lineage}
    assert ("acme/student", "distillation", "openai/gpt-4o") in _edges(bom)
    assert ("acme/synth", "distillation", "anthropic/claude-3-opus") in _edges(bom)
    assert ("acme/student", "trained_on", "acme/synth") in _edges(bom)
    assert [a.name for a in comps["acme/base"].pedigree.ancestors] == ["acme/root"]


def _hostile_report(text: str) -> Report:
    node = "acme/" + text
    return Report(
        subject=Subject(node, source="hub", revision=SHA, last_modified="2026-11-30T10:11:12+01:00",
                        license=SubjectLicense(declared=text, resolved=None, known=False)),
        verdict="review",
        lineage=(LineageEdge(child=node, parent="org/" + text, relation="finetune", declared_in="card",
                             parent_license=text, parent_spdx=None, resolved=False),
                 LineageEdge(child=node, parent="teach/" + text, relation="distillation", declared_in="card",
                             parent_license=None, parent_spdx=None, resolved=False)),
        findings=(), obligations=(),
        packs=(PackRef(text, text, text),),
        evaluated=(EvaluatedNode(node, kind="model", source="hub", revision=SHA, status="ok",
                                 card={"model_type": text,
                                       "evaluations": [{"metric": text, "value": 0.5, "dataset": text}]}),
                   EvaluatedNode("org/" + text, kind="model", source="hub", revision=None, status="ok"),
                   EvaluatedNode("teach/" + text, kind="api", source="catalog", revision=None, status="ok")),
        date="2026-12-01", policy=PolicySummary(), catalog_digest=text)


@pytest.mark.parametrize("text", [
    "ctl\x00\x01\x07\x1b[31m\x7f\u2028\ud7ff\"\\</script>",
    "x" * 100_000,
    "spaces and @ # ? % / slashes ../../etc",
])
def test_hostile_strings_do_not_break_validation(text: str) -> None:
    results: list[Report | TargetError] = [_hostile_report(text), TargetError(text, text)]
    out = render(results)
    _valid(out)
    bom = _parse(out)
    assert bom.metadata.component is not None and bom.metadata.component.name == "acme/" + text
    assert {c.name for c in bom.components} == {"org/" + text, "teach/" + text}
    assert ("policycheck:teacher", "teach/" + text) in _props(bom.metadata.component)


def test_hub_subject_purl_and_ids() -> None:
    report = Report(
        subject=Subject("acme/m", source="hub", revision=SHA,
                        license=SubjectLicense(declared="mit", resolved="MIT", id="mit", known=True)),
        verdict="pass", lineage=(), findings=(), obligations=(), packs=(),
        evaluated=(EvaluatedNode("acme/m", kind="model", source="hub", revision=SHA, status="ok"),),
        date="2026-12-01", policy=PolicySummary(), licenses={"mit": LicenseInfo("MIT", "MIT License", "")})
    bom = build_bom([report])
    assert bom.metadata.component is not None
    assert str(bom.metadata.component.purl) == f"pkg:huggingface/acme/m@{SHA}"
    assert bom.metadata.component.version == SHA
    _valid(render([report]))
    assert str(purl("gpt2", None)) == "pkg:huggingface/gpt2"
    assert str(purl("acme/m", "abc")) == "pkg:huggingface/acme/m@abc"


def test_the_same_bom_as_cyclonedx_1_7_validates_and_parses_back(r1_llama: list[Report | TargetError]) -> None:
    text = render(r1_llama, fmt="cyclonedx-1.7")
    data = json.loads(text)
    assert data["specVersion"] == "1.7"
    assert JsonStrictValidator(SchemaVersion.V1_7).validate_str(text) is None
    bad = {**data, "notAField": True}
    assert JsonStrictValidator(SchemaVersion.V1_7).validate_str(json.dumps(bad)) is not None
    six = _parse(render(r1_llama))
    seven = _parse(text)
    assert sorted(_all_components(seven)) == sorted(_all_components(six))


# -- CycloneDX 1.7: citations; modelCard; a merge trained on a dataset a teacher generated ---------------------
def _valid_17(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_7).validate_str(text)
    assert error is None, error


def _pointer(document: Any, pointer: str) -> Any:
    """Resolve a JSON Pointer (RFC 6901) in a parsed document."""
    node = document
    for part in pointer.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


MERGE_CARDS = {
    "acme__merged.md": "---\nlicense: apache-2.0\nbase_model: [acme/left, acme/right]\nbase_model_relation: merge\n"
                       "datasets: [acme/synthetic-chat]\npipeline_tag: text-generation\nlanguage: [en, de]\n"
                       "model-index:\n- name: acme/merged\n  results:\n  - dataset: {name: MMLU, type: cais/mmlu, "
                       "split: test}\n    metrics:\n    - {type: accuracy, value: 64.5}\n---\n# merged\n",
    "acme__left.md": "---\nlicense: apache-2.0\n---\n",
    "acme__right.md": "---\nlicense: mit\n---\n",
    "datasets/acme__synthetic-chat.md": "---\nlicense: cc-by-4.0\nteacher_model: acme/teacher-70b\n---\n",
    "acme__teacher-70b.md": "---\nlicense: apache-2.0\n---\n",
}


def write_merge_cards(cards: Path) -> Path:
    """A merge of two bases trained on a dataset whose card names the teacher that generated it; the merge's
    card path."""
    for name, text in MERGE_CARDS.items():
        (cards / name).parent.mkdir(parents=True, exist_ok=True)
        (cards / name).write_text(text)
    return cards / "acme__merged.md"


@pytest.fixture(scope="module")
def merge_with_generated_data(tmp_path_factory: pytest.TempPathFactory) -> list[Report | TargetError]:
    cards = tmp_path_factory.mktemp("merge") / "cards"
    results = _check(write_merge_cards(cards), cards=cards)
    assert all(isinstance(r, Report) for r in results)
    return results


def test_a_merge_trained_on_a_teacher_generated_dataset(merge_with_generated_data: list[Report | TargetError],
                                                        ) -> None:
    [report] = merge_with_generated_data
    assert isinstance(report, Report)
    for fmt in ("cyclonedx", "cyclonedx-1.7"):
        text = render(merge_with_generated_data, fmt=fmt)
        (_valid_17 if fmt.endswith("1.7") else _valid)(text)
        bom = _parse(text)
        edges = _edges(bom)
        assert {("acme/merged", "merge", "acme/left"), ("acme/merged", "merge", "acme/right"),
                ("acme/merged", "trained_on", "acme/synthetic-chat"),
                ("acme/synthetic-chat", "distillation", "acme/teacher-70b")} <= edges
        assert edges == {(e.child, e.relation, e.parent) for e in report.lineage}
        subject = bom.metadata.component
        assert subject is not None
        assert sorted(a.name for a in subject.pedigree.ancestors) == ["acme/left", "acme/right"]
        comps = _all_components(bom)
        assert comps["acme/synthetic-chat"].type.value == "data"


def test_model_card_fields_the_card_supplies(merge_with_generated_data: list[Report | TargetError]) -> None:
    data = json.loads(render(merge_with_generated_data))
    card = data["metadata"]["component"]["modelCard"]
    assert card["modelParameters"]["task"] == "text-generation"
    # the training dataset is referenced, not copied
    assert card["modelParameters"]["datasets"] == [{"ref": "acme/synthetic-chat"}]
    assert card["quantitativeAnalysis"]["performanceMetrics"] == [
        {"type": "accuracy", "value": "64.5", "slice": "MMLU test"}]
    assert [p["value"] for p in card["properties"]] == ["en", "de"]
    # a card that supplies nothing gets no modelCard (nothing invented)
    left = next(c for c in data["components"] if c["bom-ref"] == "acme/left")
    assert "modelCard" not in left


def test_citations_say_who_supplied_each_edge_and_license(r1_llama: list[Report | TargetError],
                                                          merge_with_generated_data: list[Report | TargetError],
                                                          ) -> None:
    text = render(r1_llama, fmt="cyclonedx-1.7")
    _valid_17(text)
    data = json.loads(text)
    assert data["specVersion"] == "1.7"
    cited = {}
    for citation in data["citations"]:
        [pointer] = citation["pointers"]
        cited[pointer] = citation
        assert citation["timestamp"] == "2026-12-01T00:00:00Z"
        target = _pointer(data, pointer)  # every pointer resolves to a field of this document
        assert isinstance(target, dict)
    tool_ref = data["metadata"]["tools"]["components"][0]["bom-ref"]
    subject = data["metadata"]["component"]
    props = subject["properties"]
    # the R1 distill's base and teacher come from a curation (DeepSeek's README): attributed to policycheck,
    # with the publisher's words and address in the note
    for name, parent in (("policycheck:base:finetune", "meta-llama/Llama-3.1-8B"),
                         ("policycheck:teacher", "deepseek-ai/DeepSeek-R1")):
        index = props.index({"name": name, "value": parent})
        citation = cited[f"/metadata/component/properties/{index}"]
        assert citation["attributedTo"] == tool_ref
        assert "curation" in citation["note"] and "github.com/deepseek-ai/DeepSeek-R1" in citation["note"]
    # the subject's declared license comes from its own card; the concluded one from policycheck
    by_ack = {_pointer(data, p)["license"]["acknowledgement"]: c for p, c in cited.items()
              if p.startswith("/metadata/component/licenses/")}
    assert by_ack["declared"]["attributedTo"] == subject["bom-ref"]
    assert by_ack["concluded"]["attributedTo"] == tool_ref

    merged = json.loads(render(merge_with_generated_data, fmt="cyclonedx-1.7"))
    notes = {c["note"] for c in merged["citations"] if c["attributedTo"] == "acme/merged"}
    assert "declared in the card of acme/merged" in notes  # a card's own base_model
    # a citation without its required timestamp is refused: the 1.7 validation is real
    merged["citations"][0].pop("timestamp")
    assert JsonStrictValidator(SchemaVersion.V1_7).validate_str(json.dumps(merged)) is not None


@pytest.mark.parametrize("text", ["ctl\x00\x1b[31m\u2028\"\\</script>", "x" * 50_000])
def test_hostile_strings_in_cyclonedx_17(text: str) -> None:
    out = render([_hostile_report(text)], fmt="cyclonedx-1.7")
    _valid_17(out)
    assert _parse(out).metadata.component.name == "acme/" + text  # type: ignore[union-attr]


# -- a Hub subject: its weight files' SHA-256, read only for the BOM formats -------------------------------------
def test_a_hub_subject_lists_its_weight_files_with_their_sha256(hubsim: Any, hub_env: dict[str, str],
                                                               tmp_path: Path) -> None:
    import hashlib
    import subprocess
    import sys

    from tests.hubsim import make_card
    from tests.support.spdx3_validate import validate

    weights = {"model-00001-of-00002.safetensors": b"\x01" * 4096, "model-00002-of-00002.safetensors": b"\x02" * 99}
    hubsim.add_model("acme/base", {"README.md": make_card({"license": "apache-2.0"}), "model.safetensors": b"b"})
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "apache-2.0", "base_model": "acme/base"}),
                                "config.json": b"{}", **weights})

    def run(fmt: str) -> str:
        hubsim.clear_log()
        proc = subprocess.run([sys.executable, "-m", "policy.cli", "check", "acme/m", "--format", fmt],
                              env=hub_env, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    expected = {(path, hashlib.sha256(data).hexdigest()) for path, data in weights.items()}
    bom = json.loads(run("cyclonedx"))
    _valid(json.dumps(bom))
    assert hubsim.count("GET", "/api/models/acme/m/tree/") == 1  # one listing, for the subject only
    files = bom["metadata"]["component"]["components"]
    assert {(f["name"], f["hashes"][0]["content"]) for f in files} == expected
    assert {f["type"] for f in files} == {"file"} and {f["hashes"][0]["alg"] for f in files} == {"SHA-256"}
    assert all("components" not in c for c in bom["components"])  # the base's weights were not listed

    doc = json.loads(run("spdx3"))
    assert validate(json.dumps(doc)) == []
    spdx_files = {e["name"]: e["verifiedUsing"][0]["hashValue"] for e in doc["@graph"] if e["type"] == "software_File"}
    assert set(spdx_files.items()) == expected
    [contains] = [e for e in doc["@graph"] if e["type"] == "Relationship" and e["relationshipType"] == "contains"]
    assert len(contains["to"]) == 2

    report = json.loads(run("json"))
    assert "weights" not in report["subject"] and hubsim.count("GET", "/api/models/acme/m/tree/") == 0


def test_a_batch_where_every_target_failed_is_dated_by_the_run() -> None:
    from policy.render.registry import RenderOptions

    out = render([TargetError("x/y", "could not be read")], RenderOptions(day=TODAY), fmt="cyclonedx-1.7")
    _valid_17(out)
    data = json.loads(out)
    assert data["metadata"]["timestamp"].startswith("2026-12-01T00:00:00")
    assert {"name": "policycheck:verdict", "value": "error"} in data["metadata"]["properties"]


def test_every_component_names_its_supplier(r1_llama: list[Report | TargetError]) -> None:
    """NTIA's supplier: the Hub organisation of each model and dataset (an API model's provider too)."""
    bom = _parse(render(r1_llama))
    components = _all_components(bom)
    models = {name: c for name, c in components.items() if "/" in name and c.type.value != "file"}
    assert models
    for name, c in models.items():
        assert c.supplier is not None and c.supplier.name == name.partition("/")[0], name
