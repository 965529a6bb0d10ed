"""End to end over local cards and policy files: the license readings of issue 6, each through the CLI.

Every case writes the cards a legal reader would have (the subject, its ancestors) and a policy file, runs
`policycheck check ... --format json` and checks the verdict, the findings and the obligations against the
clause the reading rests on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def write_card(folder: Path, repo_id: str, fields: dict[str, Any], *, dataset: bool = False) -> Path:
    root = folder / "datasets" if dataset else folder
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{repo_id.replace('/', '__')}.md"
    path.write_text("---\n" + yaml.safe_dump(fields, sort_keys=False) + "---\n# card\n", encoding="utf-8")
    return path


def write_policy(folder: Path, use: dict[str, bool], **extra: Any) -> Path:
    path = folder / "policycheck.yaml"
    path.write_text(yaml.safe_dump({"schema": "policycheck/policy/v1", "use": use, **extra}), encoding="utf-8")
    return path


def check(run_cli: Any, folder: Path, subject: Path, policy: Path) -> tuple[int, dict[str, Any]]:
    result = run_cli("check", subject, "--cards", folder, "--policy", policy, "--format", "json", "--offline")
    return result.code, result.json()


def open_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The open findings that bear on the verdict (notes, such as a missing patent grant, do not)."""
    return [f for f in report["findings"] if f["status"] == "open" and f["kind"] != "note"]


COMMERCIAL = {"commercial": True, "distributed": True, "hosted": True, "competing": True}
# The licensee's figures, for readings that are not about them (without them, a Llama or Tongyi Qianwen
# lineage is review: licensee-figure-missing, issue 18)
FIGURES = {"monthly_active_users": 2_000_000}


def test_cc_by_nc_dataset_under_commercial_use_is_review(tmp_path: Path, run_cli: Any) -> None:
    write_card(tmp_path, "acme/nc-chats", {"license": "cc-by-nc-4.0"}, dataset=True)
    subject = write_card(tmp_path, "acme/assistant", {"license": "apache-2.0", "pipeline_tag": "text-generation",
                                                      "datasets": ["acme/nc-chats"]})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (3, "review")
    (nc,) = [f for f in open_findings(report) if f["ancestor"] == "acme/nc-chats"]
    assert (nc["rule"], nc["kind"]) == ("noncommercial-ancestor", "review")
    assert nc["citation"]["license"] == "cc-by-nc-4.0" and nc["citation"]["section"].startswith("§2(a)(1)")


def test_mit_or_gpl_ancestor_under_an_mit_child_passes_with_the_elected_mit_duties(tmp_path: Path,
                                                                                   run_cli: Any) -> None:
    write_card(tmp_path, "acme/dual-base", {"license": "mit OR gpl-3.0", "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "acme/child", {"license": "mit", "base_model": "acme/dual-base"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (0, "pass"), open_findings(report)
    assert {o["license"] for o in report["obligations"]} == {"mit"}  # the child's own MIT duties cover it
    edge = next(e for e in report["lineage"] if e["parent"] == "acme/dual-base")
    assert edge["elected"] == "mit, elected from mit OR gpl-3.0"
    # Under an Apache-2.0 child the inherited duties are listed with the election.
    subject = write_card(tmp_path, "acme/child", {"license": "apache-2.0", "base_model": "acme/dual-base"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (0, "pass"), open_findings(report)
    inherited = [o for o in report["obligations"] if o["from"] == "acme/dual-base"]
    assert inherited and {o["license"] for o in inherited} == {"mit"}
    assert all(o["elected"] == "mit, elected from mit OR gpl-3.0" for o in inherited)


def test_a_correctly_named_llama_3_fine_tune_passes(tmp_path: Path, run_cli: Any) -> None:
    write_card(tmp_path, "meta-llama/Meta-Llama-3-8B", {"license": "llama3", "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "acme/Llama-3-8B-Legal-Assistant",
                         {"license": "llama3", "base_model": "meta-llama/Meta-Llama-3-8B"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL, licensee=FIGURES))
    assert (code, report["verdict"]) == (0, "pass"), open_findings(report)
    prefix = [o for o in report["obligations"] if o["clause"] == "name-prefix"]
    assert prefix and prefix[0]["params"]["prefix"] == "Llama 3"


def test_an_openai_gpt2_teacher_is_judged_by_its_mit_card_not_by_api_terms(tmp_path: Path, run_cli: Any) -> None:
    write_card(tmp_path, "openai/gpt2", {"license": "mit", "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "acme/student", {"license": "apache-2.0", "pipeline_tag": "text-generation",
                                                    "teacher_model": "openai/gpt2"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert report["verdict"] != "fail" and code != 1
    assert not [f for f in report["findings"] if f["rule"] == "provider-terms-forbid-competing"]
    edge = next(e for e in report["lineage"] if e["parent"] == "openai/gpt2")
    assert (edge["parent_kind"], edge["parent_license"]) == ("model", "mit")


def test_an_api_teacher_still_meets_the_provider_terms(tmp_path: Path, run_cli: Any) -> None:
    subject = write_card(tmp_path, "acme/student", {"license": "apache-2.0", "teacher_model": "openai/gpt-4o"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (1, "fail")
    assert [f["rule"] for f in open_findings(report) if f["kind"] == "violation"] == [
        "provider-terms-forbid-competing"]


def test_a_gpl_base_neither_distributed_nor_hosted_passes_and_owes_no_copyleft(tmp_path: Path,
                                                                              run_cli: Any) -> None:
    write_card(tmp_path, "acme/gpl-base", {"license": "gpl-3.0", "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "acme/internal-ft", {"license": "mit", "base_model": "acme/gpl-base"})
    internal = {"commercial": True, "distributed": False, "hosted": False, "competing": True}
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, internal))
    assert (code, report["verdict"]) == (0, "pass"), open_findings(report)
    # GPL §2 "without conditions" while the work is not conveyed: the duty is listed only once it is owed (issue 18).
    assert not [o for o in report["obligations"] if o["clause"] == "copyleft"]
    # ... and the same model, once distributed, fails (GPL §5(c)) and owes it.
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (1, "fail")
    assert {f["rule"] for f in open_findings(report)} >= {"derivative-drops-copyleft"}
    copyleft = [o for o in report["obligations"] if o["clause"] == "copyleft"]
    assert copyleft and copyleft[0]["license"] == "gpl-3.0" and copyleft[0]["params"]["triggers"] == ["distributed"]


def test_a_qwen_research_teacher_under_a_commercial_student_does_not_pass(tmp_path: Path, run_cli: Any) -> None:
    write_card(tmp_path, "Qwen/Qwen2.5-3B-Instruct",
               {"license": "other", "license_name": "qwen-research", "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "acme/student", {"license": "apache-2.0", "pipeline_tag": "text-generation",
                                                    "teacher_model": "Qwen/Qwen2.5-3B-Instruct"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (1, "fail")
    (nc,) = [f for f in open_findings(report) if f["rule"] == "noncommercial-ancestor"]
    assert nc["ancestor"] == "Qwen/Qwen2.5-3B-Instruct" and nc["citation"]["section"] == "§2(a)"
    # A research use of the same student passes that rule.
    research = {"commercial": False, "distributed": True, "hosted": False, "competing": True}
    _, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, research))
    assert not [f for f in open_findings(report) if f["rule"] == "noncommercial-ancestor"]


def test_contradictory_license_metadata_is_review(tmp_path: Path, run_cli: Any) -> None:
    subject = write_card(tmp_path, "acme/yi-ft", {"license": "apache-2.0", "license_name": "yi-license",
                                                  "pipeline_tag": "text-generation"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (3, "review")
    assert [f["rule"] for f in open_findings(report)] == ["license-metadata-contradictory"]


def test_eu_licensee_of_a_multimodal_llama_fails_and_unknown_region_is_review(tmp_path: Path,
                                                                              run_cli: Any) -> None:
    write_card(tmp_path, "meta-llama/Llama-3.2-11B-Vision-Instruct",
               {"license": "llama3.2", "pipeline_tag": "image-text-to-text"})
    subject = write_card(tmp_path, "acme/Llama-3.2-11B-Vision-Legal",
                         {"license": "llama3.2", "base_model": "meta-llama/Llama-3.2-11B-Vision-Instruct"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL, licensee=FIGURES))
    assert (code, report["verdict"]) == (3, "review")
    assert [f["rule"] for f in open_findings(report)] == ["region-exclusion-unknown"]
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL,
                                                                  licensee={"region": "IE", **FIGURES}))
    assert (code, report["verdict"]) == (1, "fail")
    assert [f["rule"] for f in open_findings(report)] == ["region-excluded-multimodal"]
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL,
                                                                  licensee={"region": "US", **FIGURES}))
    assert (code, report["verdict"]) == (0, "pass"), open_findings(report)


def test_a_third_party_fine_tune_of_a_gpt4_student_is_warned_not_failed(tmp_path: Path, run_cli: Any) -> None:
    write_card(tmp_path, "acme/student", {"license": "apache-2.0", "pipeline_tag": "text-generation",
                                          "teacher_model": "openai/gpt-4o"})
    subject = write_card(tmp_path, "other-lab/student-chat", {"license": "apache-2.0", "base_model": "acme/student"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (0, "pass"), open_findings(report)
    (taint,) = [f for f in open_findings(report) if f["rule"] == "lineage-tainted-by-covenant"]
    assert (taint["severity"], taint["ancestor"]) == ("warning", "openai/gpt-4o")
    assert "acme/student" in taint["message"]
