"""SARIF 2.1.0 output: valid against the official schema (shipped in tests/schemas, no network), located at the
card line a finding is about, stable fingerprints, waivers as suppressions; golden files of real corpus cards.

Regenerate the golden files with `POLICYCHECK_UPDATE_GOLDEN=1 pytest tests/render/test_sarif.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policy.model.report import Finding, PolicySummary, Report, Subject, TargetError
from policy.render.sarif import card_line, fingerprint, render, rule_name
from tests.support.golden import CARDS, QWEN, R1_LLAMA, ROOT, TODAY, WAIVER_POLICY, check_golden, normalise
from tests.support.sarif_check import check_sarif, github_problems

GOLDEN = Path(__file__).parents[1] / "golden" / "sarif"
GGUF = f"{CARDS}/unsloth__DeepSeek-R1-Distill-Llama-8B-GGUF.md"




def validate(log: dict[str, Any]) -> None:
    """The SARIF 2.1.0 schema and GitHub's ingestion rules (tests/support/sarif_check.py)."""
    check_sarif(log, "check")


@pytest.fixture
def sarif(run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(ROOT)

    def run(*args: str | Path) -> tuple[int, str]:
        out = tmp_path / "out.sarif"
        result = run_cli("check", "--offline", "--cards", CARDS, "--today", TODAY, "--format", "sarif",
                         "--output", out, *args)
        assert result.code in (0, 1, 2, 3), result.err
        return result.code, out.read_text(encoding="utf-8")

    return run


def test_golden_batch_of_corpus_cards(sarif: Any, bundle: Any) -> None:
    code, text = sarif(R1_LLAMA, QWEN, GGUF)
    assert code == 1
    log = json.loads(text)
    validate(log)
    check_golden(GOLDEN / "batch.sarif", normalise(text, bundle))


def test_golden_waived_finding_is_a_suppression(sarif: Any, tmp_path: Path, bundle: Any) -> None:
    policy = tmp_path / "policycheck.yaml"
    policy.write_text(WAIVER_POLICY)
    _, text = sarif(R1_LLAMA, "--policy", policy)
    log = json.loads(text)
    validate(log)
    results = log["runs"][0]["results"]
    waived = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in waived] == ["name-prefix-missing"]
    (suppression,) = waived[0]["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert "LEGAL-42" in suppression["justification"] and "legal@acme.example" in suppression["justification"]
    assert all("suppressions" not in r for r in results if r["ruleId"] != "name-prefix-missing")
    assert str(tmp_path) not in text  # no machine path (the policy file) in the log
    check_golden(GOLDEN / "waived.sarif", normalise(text, bundle))


def test_driver_rules_results_and_run_properties(sarif: Any) -> None:
    _, text = sarif(R1_LLAMA, QWEN)
    run = json.loads(text)["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "policycheck" and driver["version"] and "informationUri" not in driver  # no home yet
    rules = {r["id"]: r for r in driver["rules"]}
    assert {"derivative-drops-license-terms", "name-prefix-missing", "ancestor-unresolved"} <= rules.keys()
    terms = rules["derivative-drops-license-terms"]
    assert terms["name"] == "DerivativeDropsLicenseTerms"
    assert terms["defaultConfiguration"]["level"] == "error"
    assert terms["shortDescription"]["text"] and terms["fullDescription"]["text"] and terms["help"]["markdown"]
    # helpUri: the cited source of the rule's text (Meta's license in llama-models), never a placeholder
    assert terms["helpUri"].startswith("https://github.com/meta-llama/llama-models")
    assert ("ancestor-unresolved" in rules and "helpUri" not in rules["ancestor-unresolved"]) or \
        rules["ancestor-unresolved"]["helpUri"].startswith("https://")
    assert run["automationDetails"] == {"id": "policycheck/check/"}
    assert terms["properties"]["kind"] == "violation" and terms["properties"]["pack"] == "core"
    assert rules["ancestor-unresolved"]["defaultConfiguration"]["level"] == "warning"
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["derivative-drops-license-terms"]["level"] == "error"
    assert by_rule["ancestor-unresolved"]["level"] == "warning"  # review: a person decides
    for r in run["results"]:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    subjects = {s["id"]: s["verdict"] for s in run["properties"]["subjects"]}
    assert subjects == {"deepseek-ai/DeepSeek-R1-Distill-Llama-8B": "fail", "Qwen/Qwen2.5-7B-Instruct": "review"}
    assert "not legal advice" in run["properties"]["disclaimer"]
    assert run["invocations"][0]["executionSuccessful"] is True


def test_locations_point_at_the_card_lines(sarif: Any) -> None:
    _, text = sarif(R1_LLAMA, QWEN, GGUF)
    results = json.loads(text)["runs"][0]["results"]

    def where(rule: str, model: str) -> tuple[str, str, int]:
        r = next(r for r in results if r["ruleId"] == rule and r["properties"]["model"] == model)
        loc = r["locations"][0]["physicalLocation"]
        return loc["artifactLocation"]["uri"], loc["artifactLocation"]["uriBaseId"], loc["region"]["startLine"]

    # Qwen2.5-7B-Instruct: `base_model:` on line 7 of the card, the parent could not be read.
    assert where("ancestor-unresolved", "Qwen/Qwen2.5-7B-Instruct") == (QWEN, "%SRCROOT%", 7)
    # The GGUF quantization names its base on line 2.
    assert where("name-prefix-missing", "unsloth/DeepSeek-R1-Distill-Llama-8B-GGUF") == (GGUF, "%SRCROOT%", 2)
    # R1-Distill-Llama-8B's Llama base comes from a curation: the fix is at its `license:` line (2).
    assert where("derivative-drops-license-terms", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B") == (
        R1_LLAMA, "%SRCROOT%", 2)


STUDENT = """\
---
language: en
license: apache-2.0
base_model: acme/base
teacher_model:
  - openai/gpt-4o
datasets:
  - acme/synth
---
# acme student
"""


def test_teacher_and_dataset_findings_point_at_their_keys(run_cli: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "datasets").mkdir()
    (tmp_path / "acme__student.md").write_text(STUDENT)
    (tmp_path / "acme__base.md").write_text("---\nlicense: apache-2.0\n---\n")
    (tmp_path / "datasets" / "acme__synth.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.sarif"
    run_cli("check", "--offline", "--cards", ".", "--today", TODAY, "-f", "sarif", "-o", out, "acme__student.md")
    log = json.loads(out.read_text())
    validate(log)
    lines = {}
    for r in log["runs"][0]["results"]:
        via = tuple(r["properties"].get("via") or ())
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {"uri": "acme__student.md", "uriBaseId": "%SRCROOT%"}
        lines.setdefault(via[:1], set()).add(loc["region"]["startLine"])
    assert lines.get(("distillation",)) == {5}, lines
    assert lines.get(("trained_on",)) == {7}, lines


def _finding(**kw: Any) -> Finding:
    base = {"rule": "r-one", "title": "T", "severity": "error", "kind": "violation", "model": "a/b",
            "ancestor": None, "via": (), "message": "m", "remediation": "fix", "citation": None, "pack": "core"}
    return Finding(**{**base, **kw})


def test_card_line_choice() -> None:
    lines = {"license": 3, "base_model": 5, "teacher_model": 8, "datasets": 11}
    assert card_line(_finding(), lines) == 3
    assert card_line(_finding(ancestor="x/y", via=("quantized", "finetune")), lines) == 5
    assert card_line(_finding(ancestor="x/y", via=("distillation",)), lines) == 8
    assert card_line(_finding(ancestor="x/y", via=("trained_on", "distillation")), lines) == 11
    assert card_line(_finding(ancestor="x/y", via=("distillation",)), {"license": 3}) == 3
    assert card_line(_finding(), {}) == 1
    assert card_line(_finding(), {"license_name": 4}) == 4


def test_fingerprints_are_stable_and_distinct(sarif: Any) -> None:
    first = json.loads(sarif(R1_LLAMA, QWEN)[1])["runs"][0]["results"]
    second = json.loads(sarif(R1_LLAMA, QWEN)[1])["runs"][0]["results"]
    prints = [r["partialFingerprints"]["policycheck/v1"] for r in first]
    assert prints == [r["partialFingerprints"]["policycheck/v1"] for r in second]
    assert len(set(prints)) == len(prints)
    f = _finding(ancestor="x/y", clause="license-copy")
    assert fingerprint(f) == fingerprint(_finding(ancestor="x/y", clause="license-copy", message="other words"))
    assert fingerprint(f) != fingerprint(_finding(ancestor="x/z", clause="license-copy"))


def _report(subject: Subject, findings: tuple[Finding, ...], verdict: str = "fail") -> Report:
    return Report(subject=subject, verdict=verdict, lineage=(), findings=findings, obligations=(), packs=(),
                  evaluated=(), date=TODAY, policy=PolicySummary(fail_on="error"))


def test_hub_target_gets_a_logical_location_and_errors_are_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    sha = "a" * 40
    report = _report(Subject("acme/m", source="hub", revision=sha, card_lines={"license": 4}),
                     (_finding(model="acme/m"), _finding(rule="r-two", kind="review", model="acme/m")))
    error = TargetError("broken.md", "broken.md:3:1: bad YAML",
                        ({"file": "broken.md", "line": 3, "col": 1, "message": "bad YAML"},))
    log = json.loads(render([report, error]))
    validate(log)
    run = log["runs"][0]
    loc = run["results"][0]["locations"][0]
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "acme/m"
    # No file of the repository holds a Hub card: the result points at the policy file, the card's URL is a property
    assert loc["physicalLocation"]["artifactLocation"] == {"uri": "policycheck.yaml", "uriBaseId": "%SRCROOT%"}
    assert loc["physicalLocation"]["region"]["startLine"] == 1
    assert run["results"][0]["properties"]["url"] == f"https://huggingface.co/acme/m/blob/{sha}/README.md"
    assert [r["level"] for r in run["results"]] == ["error", "warning"]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    note = invocation["toolExecutionNotifications"][0]
    assert note["level"] == "error" and "bad YAML" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 1}


def test_hostile_text_stays_valid_json() -> None:
    f = _finding(message="evil \x00\x07 <script>{{ 7*7 }}</script> \u202e", model="acme/m")
    text = render([_report(Subject("acme/m", source="file", path="acme__m.md"), (f,))])
    log = json.loads(text)
    validate(log)
    assert log["runs"][0]["results"][0]["message"]["text"] == f.message


def test_rule_name() -> None:
    assert rule_name("teacher-forbids-distillation") == "TeacherForbidsDistillation"


def test_card_key_lines() -> None:
    from policy.scan.cards import parse_card

    text = ("\ufeff\r\n---\r\nlanguage: en\r\nlicence: mit\r\n'base_model':\r\n  - a/b\r\n# license: not a key\r\n"
            "tags:\r\n  - 'datasets: x'\r\ndatasets: [c/d]\r\nlicense_link: LICENSE\r\n---\r\nbody\r\n")
    card = parse_card(text, "README.md")
    assert card.key_lines == {"base_model": 5, "datasets": 10, "license_link": 11, "license": 4}
    both = parse_card("---\nlicence: mit\nlicense: apache-2.0\n---\n", "README.md")
    assert both.key_lines == {"license": 3}  # the key the Hub reads wins over a misspelling
    assert parse_card("no front matter\n", "README.md").key_lines == {}


def test_paths_are_relative_to_the_repository_root_from_a_subfolder(run_cli: Any, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Code scanning resolves `%SRCROOT%` at the checkout: a run from a subfolder must still name the card from
    the repository root (it annotated nothing when paths were relative to the working directory)."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    sub = repo / "models" / "acme"
    sub.mkdir(parents=True)
    (sub / "acme__m.md").write_text(STUDENT.replace("acme/base", "acme/m-base"), encoding="utf-8")
    monkeypatch.chdir(sub)
    out = tmp_path / "out.sarif"
    run_cli("check", "--offline", "--today", TODAY, "--format", "sarif", "--output", out, "acme__m.md")
    log = json.loads(out.read_text(encoding="utf-8"))
    validate(log)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"] for loc in r["locations"]}
    assert uris == {"models/acme/acme__m.md"}


def test_results_are_capped_at_githubs_limit_most_severe_first() -> None:
    notes = tuple(_finding(rule="r-note", kind="obligation", severity="note", model="acme/m", ancestor=f"a/{i}")
                  for i in range(5200))
    errors = tuple(_finding(model="acme/m", ancestor=f"b/{i}") for i in range(300))
    log = json.loads(render([_report(Subject("acme/m", source="file", path="acme__m.md"), notes + errors)]))
    validate(log)
    run = log["runs"][0]
    levels = [r["level"] for r in run["results"]]
    assert len(levels) == 5000 and levels.count("error") == 300  # every error kept, the notes fill the rest
    assert run["properties"]["results_omitted"] == 500
    note = run["invocations"][0]["toolExecutionNotifications"][0]
    assert note["descriptor"]["id"] == "results-omitted" and "500" in note["message"]["text"]
    assert note["level"] == "warning" and run["invocations"][0]["executionSuccessful"] is True


def test_the_checker_catches_what_github_rejects() -> None:
    """The GitHub checks of tests/support/sarif_check.py find the faults the old logs had."""
    bad = {"runs": [{"tool": {"driver": {"name": "policycheck", "informationUri": "https://policycheck.invalid/",
                                         "rules": [{"id": "r", "shortDescription": {"text": "r"}}]}},
                     "results": [{"ruleId": "r", "ruleIndex": 0, "message": {"text": "m"}, "locations": [
                         {"physicalLocation": {"artifactLocation": {"uri": "https://huggingface.co/a/b"}}}]}]}]}
    problems = "\n".join(github_problems(bad, "check"))
    for fault in ("automationDetails", "not a real page", "no fullDescription", "help needs", "not relative",
                  "uriBaseId", "startLine"):
        assert fault in problems
