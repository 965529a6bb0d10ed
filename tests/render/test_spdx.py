"""SPDX 2.3 output (`spdx-json`, `spdx-tv`): built with spdx-tools, no validation message, parsed back by
spdx-tools' own parser; packages, licenses, purls and lineage relationships; golden files of real corpus cards.

Regenerate the golden files with `POLICYCHECK_UPDATE_GOLDEN=1 pytest tests/render/test_spdx.py`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spdx_tools.spdx.model import RelationshipType, SpdxNoAssertion
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from policy.model.report import EvaluatedNode, PolicySummary, Report, Subject, SubjectLicense, TargetError
from policy.render.spdx import build_document, purl, render, spdx_id
from tests.support.golden import CARDS, QWEN, R1_LLAMA, ROOT, TODAY, check_golden, normalise

GOLDEN = Path(__file__).parents[1] / "golden" / "spdx"
CAPYBARA = f"{CARDS}/NousResearch__Nous-Capybara-34B.md"
SUFFIX = {"spdx-json": ".spdx.json", "spdx-tv": ".spdx"}




@pytest.fixture
def spdx(run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(ROOT)

    def run(fmt: str, *args: str | Path, cards: str = CARDS) -> Path:
        out = tmp_path / f"out{SUFFIX[fmt]}"
        result = run_cli("check", "--offline", "--cards", cards, "--today", TODAY, "--format", fmt,
                         "--output", out, *args)
        assert result.code in (0, 1, 3), result.err
        return out

    return run


@pytest.mark.parametrize("fmt", ["spdx-json", "spdx-tv"])
def test_golden_corpus_batch_validates_and_parses_back(spdx: Any, fmt: str, bundle: Any) -> None:
    out = spdx(fmt, R1_LLAMA, QWEN, CAPYBARA)
    document = parse_file(str(out))
    assert validate_full_spdx_document(document) == []
    names = {p.name for p in document.packages}
    assert {"deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "meta-llama/Llama-3.1-8B", "deepseek-ai/DeepSeek-R1",
            "deepseek-ai/DeepSeek-V3-Base", "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B",
            "NousResearch/Nous-Capybara-34B", "LDJnr/Capybara"} <= names
    described = [r.related_spdx_element_id for r in document.relationships
                 if r.relationship_type == RelationshipType.DESCRIBES]
    assert len(described) == 3
    assert document.creation_info.created.isoformat() == "2026-12-01T00:00:00"
    assert [c.name for c in document.creation_info.creators] == ["policycheck-0.1.0"]
    check_golden(GOLDEN / f"batch{SUFFIX[fmt]}", normalise(out.read_text(encoding="utf-8"), bundle))


def test_packages_licenses_and_relationships(spdx: Any) -> None:
    document = parse_file(str(spdx("spdx-json", R1_LLAMA, CAPYBARA)))
    packages = {p.name: p for p in document.packages}
    subject = packages["deepseek-ai/DeepSeek-R1-Distill-Llama-8B"]
    assert isinstance(subject.download_location, SpdxNoAssertion)  # a local card file
    assert not subject.external_references
    assert str(subject.license_declared) == str(subject.license_concluded) == "MIT"
    llama = packages["meta-llama/Llama-3.1-8B"]
    assert llama.download_location == "https://huggingface.co/meta-llama/Llama-3.1-8B"
    assert str(llama.license_concluded).startswith("LicenseRef-")
    [ref] = llama.external_references
    assert (ref.category.name, ref.reference_type, ref.locator) == (
        "PACKAGE_MANAGER", "purl", "pkg:huggingface/meta-llama/Llama-3.1-8B")
    extracted = {e.license_id: e for e in document.extracted_licensing_info}
    llama_terms = extracted[str(llama.license_concluded)]
    assert llama_terms.license_name == "Llama 3.1 Community License Agreement"
    assert llama_terms.extracted_text.startswith("See https://")
    dataset = packages["LDJnr/Capybara"]
    assert dataset.download_location == "https://huggingface.co/datasets/LDJnr/Capybara"
    assert isinstance(dataset.license_concluded, SpdxNoAssertion)  # not read offline: no assertion
    by_id = {p.spdx_id: p.name for p in document.packages}
    edges = {(by_id.get(r.spdx_element_id, r.spdx_element_id), r.relationship_type.name,
              by_id[r.related_spdx_element_id]) for r in document.relationships}
    assert ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "DESCENDANT_OF", "meta-llama/Llama-3.1-8B") in edges
    assert ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "GENERATED_FROM", "deepseek-ai/DeepSeek-R1") in edges
    assert ("deepseek-ai/DeepSeek-R1", "DESCENDANT_OF", "deepseek-ai/DeepSeek-V3-Base") in edges
    assert ("NousResearch/Nous-Capybara-34B", "DEPENDS_ON", "LDJnr/Capybara") in edges
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", "NousResearch/Nous-Capybara-34B") in edges


STUDENT = """\
---
license: other
license_name: acme-house-license
base_model: acme/base
teacher_model: openai/gpt-4o
datasets: [acme/synth]
---
"""


def test_api_teachers_datasets_and_unknown_licenses(spdx: Any, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    (cards / "datasets").mkdir(parents=True)
    (cards / "acme__student.md").write_text(STUDENT)
    (cards / "acme__base.md").write_text("---\nlicense: apache-2.0\nbase_model: acme/root\n"
                                         "base_model_relation: quantized\n---\n")
    (cards / "datasets" / "acme__synth.md").write_text("---\nlicense: cc-by-4.0\n"
                                                       "teacher_model: anthropic/claude-3-opus\n---\n")
    out = spdx("spdx-tv", cards / "acme__student.md", cards=str(cards))
    document = parse_file(str(out))
    assert validate_full_spdx_document(document) == []
    assert str(tmp_path) not in out.read_text()
    packages = {p.name: p for p in document.packages}
    student = packages["acme/student"]
    declared = str(student.license_declared)
    assert declared.startswith("LicenseRef-policycheck-declared-")
    assert isinstance(student.license_concluded, SpdxNoAssertion)
    extracted = {e.license_id: e for e in document.extracted_licensing_info}
    assert "acme-house-license" in extracted[declared].extracted_text
    for api in ("openai/gpt-4o", "anthropic/claude-3-opus"):
        assert isinstance(packages[api].download_location, SpdxNoAssertion)
        assert not packages[api].external_references
        assert str(packages[api].license_concluded).startswith("LicenseRef-")
    assert str(packages["acme/synth"].license_concluded) == "CC-BY-4.0"
    by_id = {p.spdx_id: p.name for p in document.packages}
    edges = {(by_id.get(r.spdx_element_id, r.spdx_element_id), r.relationship_type.name,
              by_id[r.related_spdx_element_id]) for r in document.relationships}
    assert ("acme/student", "GENERATED_FROM", "openai/gpt-4o") in edges  # distillation
    assert ("acme/synth", "GENERATED_FROM", "anthropic/claude-3-opus") in edges  # a dataset the teacher made
    assert ("acme/student", "DEPENDS_ON", "acme/synth") in edges  # trained_on
    assert ("acme/student", "DESCENDANT_OF", "acme/base") in edges  # finetune (inferred)
    assert ("acme/base", "GENERATED_FROM", "acme/root") in edges  # quantized


def _hub_report(sha: str) -> Report:
    return Report(
        subject=Subject("acme/m", source="hub", revision=sha,
                        license=SubjectLicense(declared="mit", resolved="MIT", known=True)),
        verdict="pass", lineage=(), findings=(), obligations=(), packs=(),
        evaluated=(EvaluatedNode("acme/m", kind="model", source="hub", revision=sha, status="ok"),),
        date=TODAY, policy=PolicySummary(fail_on="error"))


def test_hub_subject_has_a_versioned_purl_and_output_is_deterministic() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    results = [_hub_report(sha), TargetError("x/y", "could not be read")]
    document = build_document(results)
    assert validate_full_spdx_document(document) == []
    [package] = document.packages
    assert package.version == sha and package.download_location == "https://huggingface.co/acme/m"
    assert package.external_references[0].locator == f"pkg:huggingface/acme/m@{sha}"
    assert "x/y: not evaluated" in (document.creation_info.document_comment or "")
    first = render(results, None, "spdx-json")
    assert first == render(results, None, "spdx-json")
    assert json.loads(first)["documentNamespace"].startswith("https://policycheck.invalid/spdx/")
    assert render([_hub_report("f" * 40)], None, "spdx-json") != first


def test_ids_and_purls() -> None:
    assert spdx_id("model", "acme/m") == spdx_id("model", "acme/m") != spdx_id("dataset", "acme/m")
    assert spdx_id("model", "a/b c+d").startswith("SPDXRef-Model-a-b-c-d-")
    assert purl("gpt2", None) == "pkg:huggingface/gpt2"
    assert purl("acme/m", "abc") == "pkg:huggingface/acme/m@abc"


def test_the_whole_corpus_gives_a_valid_spdx_document(run_cli: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Every license id of the catalog that the 102 corpus cards reach is written as a valid SPDX id."""
    monkeypatch.chdir(ROOT)
    corpus = Path("tests/fixtures/corpus/cards")
    out = tmp_path / "corpus.spdx.json"
    result = run_cli("check", "--offline", "--cards", corpus, *sorted(corpus.glob("*.md")), "--today", TODAY,
                     "--format", "spdx-json", "--output", out)
    assert result.code in (1, 2, 3), result.err  # the corpus has failing and unreadable cards, never exit 4
    document = parse_file(str(out))
    assert validate_full_spdx_document(document) == []
    assert any(e.license_id == "LicenseRef-policycheck-openrail-plus-plus" for e in document.extracted_licensing_info)


# A card's values in tag-value (issue 17): a line break in a base model id wrote a second `PackageVersion:` line that
# spdx-tools read back, `</text>` in a license closed a text block early and let the rest become tags, ESC and C1
# controls reached the terminal. Every value is printable on its line; no value opens or closes a text block; a value
# the reader would take for a keyword or an actor is quoted.
HOSTILE_CARD = """---
license: "weird\\n</text>\\nPackageVersion: 6.6.6\\n\\e[31mred\\u009b31m"
base_model:
  - "acme/base\\nPackageVersion: 9.9.9\\e]0;title\\a\\u0085x</TEXT>"
  - "<text>acme/opener"
  - NOASSERTION
  - "Tool: forged"
model_name: "n\\u009b</text>"
---
# hostile
"""
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _strings(value: Any) -> Iterator[str]:
    """Every string a parsed document holds."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))


def test_tag_value_cannot_be_forged_by_card_text(spdx: Any, tmp_path: Path) -> None:
    card = tmp_path / "acme__hostile.md"
    card.write_text(HOSTILE_CARD, encoding="utf-8")
    out = spdx("spdx-tv", card, cards=str(tmp_path))
    text = out.read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(text), RAW_CONTROL.findall(text)
    tags = [line.split(":", 1)[0] for line in text.splitlines() if re.match(r"[A-Za-z]+:", line)]
    assert tags.count("PackageName") == 5 and "PackageVersion" not in tags  # no line a card wrote itself
    document = parse_file(str(out))  # spdx-tools reads it back, with no parsing error
    assert validate_full_spdx_document(document) == []
    assert [p.version for p in document.packages] == [None] * 5
    assert not [s for s in _strings(document) if RAW_CONTROL.search(s.replace("\n", ""))]
    names = sorted(p.name for p in document.packages)
    assert names == ['"NOASSERTION"', '"Tool: forged"', "&lt;text>acme/opener",
                     "acme/base\\nPackageVersion: 9.9.9\\x1b]0;title\\x07\\u0085x&lt;/TEXT>", "acme/hostile"]
    [declared] = [e for e in document.extracted_licensing_info if e.license_id.startswith("LicenseRef-policycheck-d")]
    assert declared.license_name.startswith("As declared: weird\\n&lt;/text>\\nPackageVersion: 6.6.6\\n\\x1b[31mred")
    assert "\\u009b31m" in declared.extracted_text and "&lt;/text>" in declared.extracted_text


def test_ntia_minimum_elements(spdx: Any) -> None:
    """ntia-conformance-checker (offline) on the SPDX 2.3 JSON of the corpus batch: author, timestamp, the
    dependency relationships it follows from the described packages (no ancestor left floating), and a name, an
    id and a supplier (the Hub organisation) for every package. The version element is met only by a package
    with a commit read from the Hub (local corpus cards have none; see the module docstring of spdx.py)."""
    from ntia_conformance_checker.ntia_checker import NTIAChecker

    out = spdx("spdx-json", R1_LLAMA, QWEN, f"{CARDS}/NousResearch__Nous-Capybara-34B.md")
    result = NTIAChecker(str(out), sbom_spec="spdx2").output_json()
    assert result["parsingError"] == [] and result["validationMessages"] == []
    assert result["authorNameProvided"] and result["timestampProvided"] and result["dependencyRelationshipsProvided"]
    graph = result["graphValidation"]
    assert graph["floatingComponents"]["floatingComponentCount"] == 0, graph
    assert not graph["unknownPointers"]["hasUnknownPointers"]
    for element in ("componentNames", "componentIdentifiers", "componentSuppliers"):
        assert result[element]["allProvided"], (element, result[element]["nonconformantComponents"])
    doc = json.loads(out.read_text(encoding="utf-8"))
    suppliers = {p["name"]: p["supplier"] for p in doc["packages"]}
    assert suppliers["meta-llama/Llama-3.1-8B"] == "Organization: meta-llama"
    assert suppliers["LDJnr/Capybara"] == "Organization: LDJnr"
    kinds = {(r["spdxElementId"], r["relationshipType"]) for r in doc["relationships"]}
    assert any(k[1] == "DESCENDANT_OF" for k in kinds) and any(k[1] == "DEPENDS_ON" for k in kinds)


@pytest.mark.parametrize(("node_id", "revision"), [
    ("gpt2", None), ("acme/m", "abc"), ("org/na me+x", None), ("org/a@b", "v1"),
    ("Org/Name", "ABCDEF0123"),  # SPDX kept an upper-case sha; the purl spec lowercases a huggingface version
    ("org/name", "refs/pr/1"),  # SPDX encoded the `/` of a revision; packageurl-python keeps it
])
def test_spdx_and_cyclonedx_build_the_same_purl(node_id: str, revision: str | None) -> None:
    from policy.render.cyclonedx import purl as cyclonedx_purl
    from policy.render.spdx3 import purl as spdx3_purl

    assert purl(node_id, revision) == str(cyclonedx_purl(node_id, revision)) == spdx3_purl(node_id, revision)
    if revision == "ABCDEF0123":
        assert purl(node_id, revision) == "pkg:huggingface/Org/Name@abcdef0123"


@pytest.mark.parametrize(("fmt", "spec", "suffix"), [
    ("spdx-json", "spdx2", ".spdx.json"), ("spdx-tv", "spdx2", ".spdx"), ("spdx3", "spdx3", ".spdx3.json")])
def test_a_hub_scan_is_ntia_conformant(fmt: str, spec: str, suffix: str, hubsim: Any, hub_env: dict[str, str],
                                       tmp_path: Path) -> None:
    """Read from the Hub (the loopback emulator), every package has the commit it was evaluated at, so the checker
    finds all seven NTIA minimum elements, the version included, in SPDX 2.3 (both serialisations) and SPDX 3."""
    import subprocess
    import sys

    from ntia_conformance_checker.ntia_checker import NTIAChecker

    from tests.hubsim import make_card

    hubsim.add_dataset("acme/data", {"README.md": make_card({"license": "cc-by-4.0"})})
    hubsim.add_model("acme/base", {"README.md": make_card({"license": "apache-2.0"})})
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "apache-2.0", "base_model": "acme/base",
                                                        "datasets": ["acme/data"]})})
    out = tmp_path / f"bom{suffix}"
    proc = subprocess.run([sys.executable, "-m", "policy.cli", "check", "acme/m", "--format", fmt, "--output",
                           str(out)], env=hub_env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    result = NTIAChecker(str(out), sbom_spec=spec).output_json()
    assert result["parsingError"] == [] and result["totalNumberComponents"] == 3, result
    assert result["isNtiaConformant"], result
    shas = {hubsim.repo("acme/m").sha, hubsim.repo("acme/base").sha, hubsim.repo("acme/data", "dataset").sha}
    assert all(sha in out.read_text(encoding="utf-8") for sha in shas)
