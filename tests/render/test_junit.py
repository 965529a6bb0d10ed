"""JUnit XML output: valid against a strict schema of the shape Jenkins reads (tests/schemas/junit.xsd, validated with
xmlschema, no network), parses, one suite per subject, one testcase per (rule, subject) plus a `verdict` case that
fails on fail and on review, skipped for waived; golden file of real corpus cards.

Regenerate the golden file with `POLICYCHECK_UPDATE_GOLDEN=1 pytest tests/render/test_junit.py`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from policy.model.report import Finding, PolicySummary, Report, Subject, TargetError
from policy.render.junit import case_outcome, render, xml_text
from tests.support.golden import CARDS, QWEN, R1_LLAMA, ROOT, TODAY, WAIVER_POLICY, check_golden, normalise

GOLDEN = Path(__file__).parents[1] / "golden" / "junit"
R1_QWEN = f"{CARDS}/deepseek-ai__DeepSeek-R1-Distill-Qwen-7B.md"
JENKINS_XSD = Path(__file__).parents[1] / "schemas" / "junit.xsd"


@pytest.fixture(scope="module")
def jenkins_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(JENKINS_XSD))


def assert_jenkins_valid(schema: xmlschema.XMLSchema, xml: bytes) -> None:
    errors = [str(e.reason or e) for e in schema.iter_errors(xml.decode("utf-8"))]
    assert not errors, errors




@pytest.fixture
def junit(run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(ROOT)

    def run(*args: str | Path) -> tuple[int, bytes]:
        out = tmp_path / "out.xml"
        result = run_cli("check", "--offline", "--cards", CARDS, "--today", TODAY, "--format", "junit",
                         "--output", out, *args)
        return result.code, out.read_bytes()

    return run


def suites(xml: bytes) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    return {s.get("name", ""): s for s in root.findall("testsuite")}


def outcome(case: ET.Element) -> str:
    for tag in ("failure", "error", "skipped"):
        el = case.find(tag)
        if el is not None:
            return f"{tag}:{el.get('type', '')}" if tag != "skipped" else "skipped"
    return "passed"


def test_golden_batch_with_a_waiver_and_an_error(junit: Any, tmp_path: Path, bundle: Any) -> None:
    policy = tmp_path / "policycheck.yaml"
    policy.write_text(WAIVER_POLICY)
    code, xml = junit(R1_LLAMA, QWEN, R1_QWEN, "tests/fixtures/cards/no-such-card.md", "--policy", policy)
    assert code == 2  # the worst outcome: an input error
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert str(tmp_path).encode() not in xml
    check_golden(GOLDEN / "batch.xml", normalise(xml.decode("utf-8"), bundle))


def test_counts_and_outcomes(junit: Any, tmp_path: Path) -> None:
    policy = tmp_path / "policycheck.yaml"
    policy.write_text(WAIVER_POLICY)
    _, xml = junit(R1_LLAMA, QWEN, R1_QWEN, "tests/fixtures/cards/no-such-card.md", "--policy", policy)
    root = ET.fromstring(xml)
    by_name = suites(xml)
    assert list(by_name) == ["deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "Qwen/Qwen2.5-7B-Instruct",
                             "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "tests/fixtures/cards/no-such-card.md"]
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in by_name.values():
        cases = suite.findall("testcase")
        outcomes = [outcome(c) for c in cases]
        counted = {"tests": len(cases), "failures": sum(o.startswith("failure") for o in outcomes),
                   "errors": sum(o.startswith("error") for o in outcomes), "skipped": outcomes.count("skipped")}
        assert {k: int(suite.get(k, "-1")) for k in counted} == counted, suite.get("name")
        for k, v in counted.items():
            totals[k] += v
        names = [c.get("name") for c in cases]
        assert names[-1] == "verdict" and len(set(names)) == len(names)
    assert {k: int(root.get(k, "-1")) for k in ("tests", "failures", "errors")} == {
        k: totals[k] for k in ("tests", "failures", "errors")}
    assert root.get("skipped") is None  # Jenkins' schema has no `skipped` on <testsuites>: each suite counts its own

    llama = {c.get("name"): outcome(c) for c in by_name["deepseek-ai/DeepSeek-R1-Distill-Llama-8B"].findall("testcase")}
    assert llama["name-prefix-missing"] == "skipped"  # waived
    assert llama["derivative-drops-license-terms"] == "failure:violation"
    assert llama["verdict"] == "failure:fail"
    qwen = {c.get("name"): outcome(c) for c in by_name["Qwen/Qwen2.5-7B-Instruct"].findall("testcase")}
    assert qwen == {"ancestor-unresolved": "failure:review", "verdict": "failure:review"}  # never green on review
    r1_qwen = {c.get("name"): outcome(c)
               for c in by_name["deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"].findall("testcase")}
    assert r1_qwen["verdict"] == "passed" and all(o in ("passed", "skipped") for o in r1_qwen.values())
    missing = by_name["tests/fixtures/cards/no-such-card.md"]
    assert [outcome(c) for c in missing.findall("testcase")] == ["error:input"]
    props = {p.get("name"): p.get("value") for p in by_name["Qwen/Qwen2.5-7B-Instruct"].iter("property")}
    assert props["verdict"] == "review" and "not legal advice" in props["disclaimer"]


def _finding(**kw: Any) -> Finding:
    base = {"rule": "r-one", "title": "T", "severity": "error", "kind": "violation", "model": "a/b",
            "ancestor": None, "via": (), "message": "m", "remediation": "fix", "citation": None, "pack": "core"}
    return Finding(**{**base, **kw})


def test_case_outcome_rules() -> None:
    assert case_outcome([_finding()], "error") == "violation"
    assert case_outcome([_finding(severity="warning")], "error") == "passed"  # below --fail-on
    assert case_outcome([_finding(severity="warning")], "warning") == "violation"
    assert case_outcome([_finding(kind="review", severity="warning")], "error") == "review"
    assert case_outcome([_finding(status="waived")], "error") == "skipped"
    assert case_outcome([_finding(status="waived"), _finding(ancestor="x/y")], "error") == "violation"
    assert case_outcome([_finding(kind="obligation", severity="note")], "error") == "passed"


def test_control_characters_and_markup_are_safe() -> None:
    evil = "bell\x07 nul\x00 esc\x1b <testcase name='x'/> & \ud800 ]]> {{ 7*7 }}"
    report = Report(subject=Subject("acme/\x07m"), verdict="fail", lineage=(),
                    findings=(_finding(message=evil, model="acme/m", remediation=evil),), obligations=(),
                    packs=(), evaluated=(), date=TODAY, policy=PolicySummary(fail_on="error"))
    xml = render([report, TargetError("bad\x01.md", evil)])
    root = ET.fromstring(xml)  # parses: nothing XML 1.0 cannot carry
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "bell\\x07 nul\\x00 esc\\x1b <testcase name='x'/> & \\ud800 ]]> {{ 7*7 }}"
    assert root.find("testsuite").get("name") == "acme/\\x07m"
    assert len(root.findall(".//testcase")) == 3
    assert xml_text("tab\tnewline\n") == "tab\tnewline\n"


def test_valid_against_the_jenkins_xunit_schema(junit: Any, tmp_path: Path, jenkins_schema: Any) -> None:
    """Jenkins' xUnit plugin rejects a file its schema does not accept (it once rejected every file, for
    `skipped` on `<testsuites>`): a batch with every outcome (failure, skipped, system-out, error) validates."""
    policy = tmp_path / "policycheck.yaml"
    policy.write_text(WAIVER_POLICY)
    _, xml = junit(R1_LLAMA, QWEN, R1_QWEN, "tests/fixtures/cards/no-such-card.md", "--policy", policy)
    outcomes = {outcome(c).split(":")[0] for c in ET.fromstring(xml).iter("testcase")}
    assert outcomes == {"failure", "skipped", "passed", "error"}
    assert_jenkins_valid(jenkins_schema, xml)


def test_hostile_text_stays_schema_valid(jenkins_schema: Any) -> None:
    evil = "bell\x07 <testsuites skipped='1'/> & \ud800 ]]>"
    report = Report(subject=Subject("acme/m"), verdict="fail", lineage=(),
                    findings=(_finding(message=evil, model="acme/m"), _finding(rule="r-two", status="waived")),
                    obligations=(), packs=(), evaluated=(), date=TODAY, policy=PolicySummary(fail_on="error"))
    assert_jenkins_valid(jenkins_schema, render([report, TargetError("bad.md", evil)]))
    assert_jenkins_valid(jenkins_schema, render([]))
