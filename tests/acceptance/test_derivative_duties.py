"""End to end over local cards and policy files: when a model owes its ancestor's duties (issue 18, items 1, 3, 9).

- Llama's Acceptable Use Policy binds the licensee's own use (§1.b.iv) and reaches a derivative's users with the
  copy of the Agreement (§1.b.i(A)); no Llama text makes it a term the derivative must carry, so an MIT relabel
  breaks §1.b.i(A), and that is the decisive finding (licenses.md §O.1).
- The RAIL family and the DeepSeek License make a model trained on outputs a derivative only when it is trained
  "to perform similarly to the Model": the two models' tasks decide, unknown is review (§O.3).
- A duty is listed only when it is owed: the Llama name prefix when the model is distributed or made available,
  the multimodal EU exclusion for multimodal models; a missing patent grant is a note, never an obligation.

Every case runs `policycheck check ... --format json` and checks the verdict, the decisive finding (as every
renderer picks it) and the clause section it cites.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policy.model.vocab import decisive
from tests.acceptance.test_legal_readings import COMMERCIAL, FIGURES, check, open_findings, write_card, write_policy

INTERNAL = {"commercial": True, "distributed": False, "hosted": False, "competing": True}
HOSTED = {"commercial": True, "distributed": False, "hosted": True, "competing": True}

LLAMA_BASES = {  # license: (base repo, section of the copy duty)
    "llama2": ("meta-llama/Llama-2-7b-hf", "§1.b.i"),
    "llama3": ("meta-llama/Meta-Llama-3-8B", "§1.b.i(A)"),
    "llama3.1": ("meta-llama/Llama-3.1-8B", "§1.b.i(A)"),
    "llama3.2": ("meta-llama/Llama-3.2-3B", "§1.b.i(A)"),
    "llama3.3": ("meta-llama/Llama-3.3-70B-Instruct", "§1.b.i(A)"),
    "llama4": ("meta-llama/Llama-4-Scout-17B-16E", "§1.b.i(A)"),
}


def decided(report: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(verdict, decisive rule, the section its citation names)."""
    f = decisive(report["findings"], report["verdict"])
    return report["verdict"], f and f["rule"], f and (f.get("citation") or {}).get("section")


def clauses(report: dict[str, Any], license_id: str | None = None) -> set[str]:
    return {o["clause"] for o in report["obligations"] if license_id in (None, o["license"])}


# --- item 1: the Llama Acceptable Use Policy travels with the Agreement -----------------------------------------

@pytest.mark.parametrize("lid", sorted(LLAMA_BASES))
def test_a_llama_derivative_relabelled_mit_breaks_the_copy_duty(tmp_path: Path, run_cli: Any, lid: str) -> None:
    base, section = LLAMA_BASES[lid]
    write_card(tmp_path, base, {"license": lid, "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "acme/support-bot-8b", {"license": "mit", "base_model": base})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (1, ("fail", "derivative-drops-license-terms", section))
    rules = {f["rule"] for f in open_findings(report)}
    assert "derivative-drops-use-restrictions" not in rules  # no Llama text requires an enforceable provision
    (copy,) = [f for f in open_findings(report) if f["rule"] == "derivative-drops-license-terms"]
    assert "Acceptable Use Policy (§1.b.iv)" in copy["message"] and copy["citation"]["grade"] == "V"
    assert copy["citation"]["source"].startswith("meta-llama/llama-models@a9c89c4:models/")
    # the policy is the licensee's own duty (§1.b.iv), not one to impose on users
    assert "use-policy" in clauses(report, lid) and "use-restrictions-passthrough" not in clauses(report)
    (aup,) = [o for o in report["obligations"] if o["clause"] == "use-policy"]
    assert aup["citation"]["section"] == "§1.b.iv" and "bind users" not in aup["text"]
    assert "adhere to the Acceptable Use Policy" in aup["citation"]["quote"]


def test_the_decisive_llama_finding_leads_every_listing(tmp_path: Path, run_cli: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    write_card(tmp_path, "meta-llama/Llama-3.1-8B", {"license": "llama3.1", "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
                         {"license": "mit", "base_model": "meta-llama/Llama-3.1-8B"})
    policy = write_policy(tmp_path, COMMERCIAL, licensee=FIGURES)
    _, report = check(run_cli, tmp_path, subject, policy)
    assert decided(report) == ("fail", "derivative-drops-license-terms", "§1.b.i(A)")
    assert {f["rule"] for f in open_findings(report)} == {"derivative-drops-license-terms", "name-prefix-missing"}
    concise = run_cli("check", subject, "--cards", tmp_path, "--policy", policy, "--offline", "--concise").out
    assert "error derivative-drops-license-terms:" in concise
    text = run_cli("check", subject, "--cards", tmp_path, "--policy", policy, "--offline").out
    assert text.index("error  derivative-drops-license-terms") < text.index("error  name-prefix-missing")


# --- item 3: "to perform similarly to the Model" ------------------------------------------------------------------

def rail_student(tmp_path: Path, task: str | None, teacher: str = "runwayml/stable-diffusion-v1-5",
                 teacher_card: dict[str, Any] | None = None) -> Path:
    write_card(tmp_path, teacher, teacher_card or {"license": "creativeml-openrail-m", "pipeline_tag": "text-to-image"})
    fields: dict[str, Any] = {"license": "apache-2.0", "teacher_model": teacher}
    if task:
        fields["pipeline_tag"] = task
    return write_card(tmp_path, "acme/student", fields)


def test_an_image_classifier_trained_on_stable_diffusion_pictures_is_no_derivative(tmp_path: Path,
                                                                                    run_cli: Any) -> None:
    subject = rail_student(tmp_path, "image-classification")
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)
    assert not clauses(report, "creativeml-openrail-m")  # not a Derivative: none of the licence's duties


def test_a_text_to_image_student_of_stable_diffusion_outputs_must_carry_the_restrictions(tmp_path: Path,
                                                                                         run_cli: Any) -> None:
    subject = rail_student(tmp_path, "text-to-image")
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (1, ("fail", "derivative-drops-use-restrictions", "§4(a)"))
    assert {"use-restrictions-passthrough", "license-copy"} <= clauses(report, "creativeml-openrail-m")


def test_a_student_whose_task_is_unknown_is_review_naming_the_missing_fact(tmp_path: Path, run_cli: Any) -> None:
    subject = rail_student(tmp_path, None)
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (3, ("review", "derivative-of-outputs-unknown", "§4(a)"))
    (f,) = [f for f in open_findings(report) if f["rule"] == "derivative-of-outputs-unknown"]
    assert "unknown (no pipeline_tag" in f["message"] and "text-to-image" in f["message"]
    assert "perform similarly to the Model" in f["message"]  # the §1 definition it rests on


def test_a_chat_student_of_deepseek_outputs_is_a_derivative(tmp_path: Path, run_cli: Any) -> None:
    subject = rail_student(tmp_path, "text-generation", "deepseek-ai/DeepSeek-V2.5",
                           {"license": "other", "license_name": "deepseek", "pipeline_tag": "text-generation"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    section = "§4(a) (with §5 and Attachment A)"
    assert (code, decided(report)) == (1, ("fail", "derivative-drops-use-restrictions", section))


# --- item 9: a duty is listed when it is owed -----------------------------------------------------------------------

def test_the_llama_name_prefix_is_owed_only_when_the_model_is_distributed_or_made_available(tmp_path: Path,
                                                                                          run_cli: Any) -> None:
    write_card(tmp_path, "meta-llama/Llama-3.3-70B-Instruct",
               {"license": "llama3.3", "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "acme/qwen-student", {"license": "apache-2.0", "pipeline_tag": "text-generation",
                                                         "teacher_model": "meta-llama/Llama-3.3-70B-Instruct"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, INTERNAL))
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)
    assert "name-prefix" not in clauses(report)
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, HOSTED))  # "made available"
    assert (code, decided(report)) == (1, ("fail", "name-prefix-missing", "§1.b.i"))
    assert "name-prefix" in clauses(report, "llama3.3")


def test_the_eu_exclusion_is_listed_for_multimodal_models_only(tmp_path: Path, run_cli: Any) -> None:
    us = write_policy(tmp_path, COMMERCIAL, licensee={"region": "US", **FIGURES})
    write_card(tmp_path, "meta-llama/Llama-3.2-3B-Instruct", {"license": "llama3.2", "pipeline_tag": "text-generation"})
    text_model = write_card(tmp_path, "acme/Llama-3.2-3B-Legal", {
        "license": "llama3.2", "pipeline_tag": "text-generation", "base_model": "meta-llama/Llama-3.2-3B-Instruct"})
    code, report = check(run_cli, tmp_path, text_model, us)
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)
    assert "region-exclusion" not in clauses(report)
    write_card(tmp_path, "meta-llama/Llama-3.2-11B-Vision-Instruct",
               {"license": "llama3.2", "pipeline_tag": "image-text-to-text"})
    vision = write_card(tmp_path, "acme/Llama-3.2-11B-Vision-Legal", {
        "license": "llama3.2", "base_model": "meta-llama/Llama-3.2-11B-Vision-Instruct"})
    code, report = check(run_cli, tmp_path, vision, us)
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)
    assert "region-exclusion" in clauses(report, "llama3.2")


def test_no_patent_grant_is_a_note_not_an_obligation(tmp_path: Path, run_cli: Any) -> None:
    write_card(tmp_path, "meta-llama/Llama-3.1-8B", {"license": "llama3.1", "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "acme/Llama-3.1-8B-Legal", {"license": "llama3.1",
                                                               "base_model": "meta-llama/Llama-3.1-8B"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL, licensee=FIGURES))
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)
    assert "no-patent-grant" not in clauses(report)
    (note,) = [f for f in report["findings"] if f["rule"] == "license-no-patent-grant"]
    assert (note["kind"], note["severity"], note["citation"]["section"]) == ("note", "note", "§1.a")
