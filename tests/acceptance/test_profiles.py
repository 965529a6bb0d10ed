"""End to end over local cards and policy files: the license profiles read from their primary texts (issue 18,
items 4, 5, 7 and 8; licenses.md §O.4-§O.6, §O.8).

- FLUX.1 [dev] Non-Commercial License v1.1.1: a competing student of its outputs breaks §2(d) (decided, not
  "unsettled"); running it to distill a commercial model is not a Non-Commercial Purpose (§1(c)); a derivative
  served to end users is production (§1(c)); a relabelled derivative drops the License (§3(a)). The Stability AI
  Community License (duties of §III and §IV, the foundation-model clause of §IV(b)) and the Stability AI
  Non-Commercial Research Community License (SDXL-Turbo, `sai-nc-community`).
- Training data: a model trained on CC BY-SA (or ODbL, CDLA-Sharing) data and shared under other terms is review,
  never a silent pass; the data's attribution is an obligation once the model is shared; CDLA-Permissive-2.0 and
  C-UDA free the trained model by their own words.
- Providers: Mistral's terms (image Outputs; model extraction; no text non-compete), xAI's and DeepSeek's platform
  terms, and vendor-prefixed names ("Azure OpenAI GPT-4") resolved to the provider that is party to the contract.
- The NVIDIA Open Model License of October 24, 2025: each quote from one subsection, with its own trigger.

Every case runs `policycheck check ... --format json` and checks the verdict, the decisive finding (as every
renderer picks it) and the clause section it cites.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.test_derivative_duties import clauses, decided
from tests.acceptance.test_legal_readings import COMMERCIAL, check, open_findings, write_card, write_policy
from tests.conftest import FIXTURES

RESEARCH = {"commercial": False, "distributed": True, "hosted": False, "competing": True}
INTERNAL = {"commercial": True, "distributed": False, "hosted": True, "competing": True}
FLUX = "black-forest-labs/FLUX.1-dev"
FLUX_CARD = {"license": "other", "license_name": "flux-1-dev-non-commercial-license",
             "license_link": "https://huggingface.co/black-forest-labs/FLUX.1-dev/resolve/main/LICENSE.md",
             "pipeline_tag": "text-to-image"}


def flux_student(tmp_path: Path, task: str) -> Path:
    write_card(tmp_path, FLUX, FLUX_CARD)
    return write_card(tmp_path, "acme/fast-flux",
                      {"license": "apache-2.0", "pipeline_tag": task, "teacher_model": FLUX})


def image_student(tmp_path: Path, teacher: str, teacher_license_name: str, license: dict[str, str]) -> Path:
    """A text-to-image student (licensed `license`) of a text-to-image teacher under `license: other`."""
    write_card(tmp_path, teacher, {"license": "other", "license_name": teacher_license_name,
                                   "pipeline_tag": "text-to-image"})
    return write_card(tmp_path, "acme/fast-sd", {**license, "pipeline_tag": "text-to-image", "teacher_model": teacher})


def finding(report: dict[str, Any], rule: str) -> dict[str, Any]:
    (found,) = [f for f in open_findings(report) if f["rule"] == rule]
    return found


# --- item 4: FLUX.1 [dev] and the Stability AI licenses ------------------------------------------------------------

def test_a_competing_student_of_flux_dev_outputs_fails_on_section_2d(tmp_path: Path, run_cli: Any) -> None:
    subject = flux_student(tmp_path, "text-to-image")
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, RESEARCH))
    assert (code, decided(report)) == (1, ("fail", "teacher-forbids-distillation", "§2(d)"))
    f = finding(report, "teacher-forbids-distillation")
    assert f["kind"] == "violation" and "unsettled" not in f["message"]
    assert f["citation"]["source"] == "black-forest-labs/flux@802fb47:model_licenses/LICENSE-FLUX1-dev"
    assert f["citation"]["grade"] == "V" and "competitive with the FLUX.1 [dev] Model" in f["citation"]["quote"]
    # Commercial too: §2(d) stays decisive over the §1(c) commercial-distillation finding it comes with.
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (1, ("fail", "teacher-forbids-distillation", "§2(d)"))
    assert finding(report, "noncommercial-ancestor")["citation"]["section"] == "§1(c)"
    # What decides it is the competition: a research student the policy declares non-competing passes.
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, {**RESEARCH, "competing": False}))
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)


def test_flux_dev_outputs_for_a_commercial_classifier_break_the_non_commercial_purpose(tmp_path: Path,
                                                                                      run_cli: Any) -> None:
    subject = flux_student(tmp_path, "image-classification")  # no competing model: §2(d) does not reach it
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (1, ("fail", "noncommercial-ancestor", "§1(c)"))
    assert "teacher-forbids-distillation" not in {f["rule"] for f in open_findings(report)}


def test_a_free_flux_dev_lora_served_to_end_users_is_production(tmp_path: Path, run_cli: Any) -> None:
    write_card(tmp_path, FLUX, FLUX_CARD)
    subject = write_card(tmp_path, "acme/flux-lora", {**FLUX_CARD, "base_model": FLUX})
    hosted_free = {"commercial": False, "distributed": False, "hosted": True, "competing": True}
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, hosted_free))
    assert (code, decided(report)) == (1, ("fail", "nonproduction-license", "§1(c)"))
    assert finding(report, "nonproduction-ancestor")["citation"]["section"] == "§1(c)"
    # Shared on the Hub for non-commercial use it passes, owing the §3 distribution duties.
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, RESEARCH))
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)
    owed = clauses(report, "flux-1-dev-non-commercial-license")
    assert {"license-copy", "notice-file", "state-changes", "use-policy", "no-guardrail-bypass"} <= owed


def test_the_real_mit_relabel_of_flux_dev_fails_on_section_3a(tmp_path: Path, run_cli: Any) -> None:
    """nyanko7/flux-dev-de-distill (a corpus card): FLUX.1 [dev] weights, declared MIT."""
    subject = tmp_path / "nyanko7__flux-dev-de-distill.md"
    subject.write_bytes((FIXTURES / "corpus" / "cards" / subject.name).read_bytes())
    write_card(tmp_path, FLUX, FLUX_CARD)
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, RESEARCH))
    assert (code, decided(report)) == (1, ("fail", "derivative-drops-license-terms", "§3(a)"))
    assert "flux-1-dev-non-commercial-license" in finding(report, "derivative-drops-license-terms")["citation"][
        "license"]


def test_an_sd35_fine_tune_relabelled_mit_drops_the_stability_community_license(tmp_path: Path,
                                                                                run_cli: Any) -> None:
    base = "stabilityai/stable-diffusion-3.5-large"
    write_card(tmp_path, base, {"license": "other", "license_name": "stabilityai-ai-community",
                                "license_link": "LICENSE.md", "pipeline_tag": "text-to-image"})
    subject = write_card(tmp_path, "acme/sd35-product", {"license": "mit", "base_model": base})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (1, ("fail", "derivative-drops-license-terms", "§IV(a)(i)"))
    owed = {o["clause"]: o for o in report["obligations"] if o["license"] == "stabilityai-ai-community"}
    assert owed["attribution-display"]["params"]["text"] == "Powered by Stability AI"
    revenue = owed["revenue-limit"]
    assert revenue["params"]["limit"] == 1_000_000 and revenue["citation"]["section"] == "§III"
    assert {"registration", "license-copy", "notice-file", "use-policy"} <= set(owed)
    # A research use owes neither the registration nor the revenue threshold (§II).
    _, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, RESEARCH))
    assert not {"registration", "revenue-limit"} & clauses(report, "stabilityai-ai-community")


def test_a_generative_student_of_stability_outputs_is_review_on_the_foundation_model_clause(tmp_path: Path,
                                                                                          run_cli: Any) -> None:
    subject = image_student(tmp_path, "stabilityai/stable-diffusion-3.5-large", "stabilityai-ai-community",
                            {"license": "other", "license_name": "stabilityai-ai-community"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (3, ("review", "teacher-forbids-distillation", "§IV(b)"))
    assert "(excluding the Models or Derivative Works)" in finding(report, "teacher-forbids-distillation")[
        "citation"]["note"]


def test_a_commercial_student_of_sdxl_turbo_outputs_is_a_non_commercial_derivative_work(tmp_path: Path,
                                                                                       run_cli: Any) -> None:
    teacher = "stabilityai/sdxl-turbo"
    subject = image_student(tmp_path, teacher, "sai-nc-community", {"license": "apache-2.0"})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    # The student is a Derivative Work (a model "derived from … the Model's output"): it stays under the Agreement
    # (§1(c)), and the Agreement allows it for Non-Commercial Uses only (§1(a)).
    assert (code, decided(report)) == (1, ("fail", "derivative-drops-license-terms", "§1(c)"))
    assert finding(report, "noncommercial-ancestor")["citation"]["section"] == "§1(a)"
    edge = next(e for e in report["lineage"] if e["parent"] == teacher)
    assert edge["parent_license"] == "stabilityai-nc-research-community"


# --- item 5: training data ---------------------------------------------------------------------------------------

def trained_on(tmp_path: Path, license_id: str, model_license: str = "apache-2.0") -> Path:
    write_card(tmp_path, "acme/corpus", {"license": license_id}, dataset=True)
    return write_card(tmp_path, "acme/assistant", {"license": model_license, "pipeline_tag": "text-generation",
                                                   "datasets": ["acme/corpus"]})


def test_a_model_trained_on_cc_by_sa_data_and_shared_under_apache_is_review(tmp_path: Path, run_cli: Any) -> None:
    subject = trained_on(tmp_path, "cc-by-sa-4.0")
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (3, ("review", "derivative-drops-share-alike", "§3(b)(1)"))
    f = finding(report, "derivative-drops-share-alike")
    assert f["kind"] == "review" and "was trained on" in f["message"] and "open legal question" in f["message"]
    attribution = [o for o in report["obligations"]
                   if (o["clause"], o["license"]) == ("retain-notices", "cc-by-sa-4.0")]
    assert attribution and attribution[0]["from"] == "acme/corpus"
    # Released under the data's own license it passes, still owing the attribution.
    subject = trained_on(tmp_path, "cc-by-sa-4.0", model_license="cc-by-sa-4.0")
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)
    assert "retain-notices" in clauses(report, "cc-by-sa-4.0")


def test_cc_by_data_owes_its_attribution_only_once_the_model_is_shared(tmp_path: Path, run_cli: Any) -> None:
    subject = trained_on(tmp_path, "cc-by-4.0")
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)
    assert "retain-notices" in clauses(report, "cc-by-4.0")
    private = {"commercial": True, "distributed": False, "hosted": False, "competing": True}
    _, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, private))
    assert "retain-notices" not in clauses(report, "cc-by-4.0")


@pytest.mark.parametrize(("license_id", "verdict", "section"), [
    ("odbl", "review", "§4.4(a)"),
    ("cdla-sharing-1.0", "review", "§3.1(a)"),
    ("cc-by-sa-3.0", "review", "§4(b)"),
    ("cdla-permissive-2.0", "pass", None),  # §5.4: machine learning models are Results, free under §3.1
    ("c-uda", "pass", None),  # §5.5: AI models trained on Data are Results, free under §2.2
])
def test_data_licenses_decide_what_their_texts_decide(tmp_path: Path, run_cli: Any, license_id: str, verdict: str,
                                                      section: str | None) -> None:
    subject = trained_on(tmp_path, license_id)
    _, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    rule = "derivative-drops-share-alike" if section else None
    assert decided(report) == (verdict, rule, section), open_findings(report)
    if verdict == "pass":
        assert not clauses(report, license_id)  # nothing owed for a Result


# --- item 7: provider terms ---------------------------------------------------------------------------------------

def api_student(tmp_path: Path, teacher: str, task: str) -> Path:
    return write_card(tmp_path, "acme/student", {"license": "apache-2.0", "pipeline_tag": task,
                                                 "teacher_model": teacher})


def test_mistral_terms_bar_competing_image_students_but_not_text_students(tmp_path: Path, run_cli: Any) -> None:
    policy = write_policy(tmp_path, COMMERCIAL)
    code, report = check(run_cli, tmp_path, api_student(tmp_path, "mistralai/mistral-medium-latest", "text-to-image"),
                         policy)
    section = '§3 Your Data, "Output restrictions" (a)'
    assert (code, decided(report)) == (1, ("fail", "provider-terms-forbid-competing", section))
    source = finding(report, "provider-terms-forbid-competing")["citation"]["source"]
    assert source == "OpenTermsArchive/GenAI-versions@25c0c33:Le Chat/Terms of Service.md"
    # A chat student: no text non-compete; whether it is a "model extraction" attack is for a person.
    code, report = check(run_cli, tmp_path, api_student(tmp_path, "mistralai/mistral-medium-latest",
                                                        "text-generation"), policy)
    assert (code, decided(report)) == (3, ("review", "teacher-forbids-distillation",
                                           '§2 Using the Mistral AI Products, "Restrictions" (d)'))
    assert "provider-terms-forbid-competing" not in {f["rule"] for f in report["findings"]}


def test_xai_terms_bar_distillation_and_deepseek_terms_allow_it(tmp_path: Path, run_cli: Any) -> None:
    policy = write_policy(tmp_path, {**COMMERCIAL, "competing": False})
    code, report = check(run_cli, tmp_path, api_student(tmp_path, "xai/grok-3", "text-generation"), policy)
    assert (code, decided(report)) == (1, ("fail", "teacher-forbids-distillation", "Enterprise Terms §2(e)"))
    code, report = check(run_cli, tmp_path, api_student(tmp_path, "deepseek/deepseek-chat", "text-generation"),
                         policy)
    assert (code, decided(report)) == (0, ("pass", None, None)), open_findings(report)
    edge = next(e for e in report["lineage"] if e["parent"] == "deepseek/deepseek-chat")
    assert (edge["parent_kind"], edge["parent_license"]) == ("api", "provider-deepseek")


@pytest.mark.parametrize("teacher", ["Azure OpenAI GPT-4", "AOAI GPT-3.5", "azure/gpt-4o"])
def test_vendor_prefixed_openai_names_resolve_to_the_azure_provider(tmp_path: Path, run_cli: Any,
                                                                    teacher: str) -> None:
    code, report = check(run_cli, tmp_path, api_student(tmp_path, teacher, "text-generation"),
                         write_policy(tmp_path, COMMERCIAL))
    assert (code, decided(report)) == (3, ("review", "ancestor-license-not-profiled", "catalog profile"))
    edge = next(e for e in report["lineage"] if e["parent"] == teacher)
    assert (edge["parent_kind"], edge["parent_license"]) == ("api", "provider-azure-openai")
    assert "ancestor-unresolved" not in {f["rule"] for f in report["findings"]}  # no longer "not a Hub repo id"
    assert "provider-terms-forbid-competing" not in {f["rule"] for f in report["findings"]}  # not OpenAI's terms


# --- item 8: the NVIDIA Open Model License of October 2025 ---------------------------------------------------------

NEMOTRON = "nvidia/Nemotron-Mini-4B-Instruct"
NVIDIA_CARD = {"license": "other", "license_name": "nvidia-open-model-license"}


def test_the_nvidia_copy_and_notice_are_owed_when_the_model_is_distributed(tmp_path: Path, run_cli: Any) -> None:
    write_card(tmp_path, NEMOTRON, {**NVIDIA_CARD, "pipeline_tag": "text-generation"})
    # §3.3: a Derivative Model may carry its own terms as a whole
    subject = write_card(tmp_path, "acme/nemotron-support", {"license": "mit", "base_model": NEMOTRON})
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, INTERNAL))
    assert (code, decided(report)) == (3, ("review", "ancestor-terms-unverified", "catalog status"))
    assert not {"license-copy", "notice-file"} & clauses(report, "nvidia-open-model-license")
    assert "attribution-display" not in clauses(report)  # "Built on NVIDIA Cosmos": a text model is no Cosmos Model
    _, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    copy = next(o for o in report["obligations"] if (o["clause"], o["license"]) == ("license-copy",
                                                                                      "nvidia-open-model-license"))
    assert copy["citation"]["section"] == "§3.1"
    assert copy["citation"]["quote"].startswith("If you distribute the Model, ")  # its own trigger, not §3's lead-in
    assert copy["citation"]["source"].startswith("NVlabs/GR00T-WholeBodyControl@1983e88:")


def test_no_nvidia_quote_is_joined_across_subsections(bundle: Any) -> None:
    entry = bundle.catalog.get("nvidia-open-model-license")
    for clause in entry.clauses:
        section = clause.citation.section
        assert "," not in section and "lead-in" not in section, section  # one subsection per quote
        assert "Derivative Models thereof" not in clause.citation.quote  # §3's lead-in is not part of §3.1
    guardrail = next(c for c in entry.clauses if c.type == "no-guardrail-bypass")
    assert "substantially similar Guardrail" in guardrail.citation.quote  # the October 2025 wording


# --- `policycheck licenses ID` ---------------------------------------------------------------------------------------

def test_licenses_id_shows_each_clause_with_its_citation(run_cli: Any) -> None:
    result = run_cli("licenses", "flux-1-dev-non-commercial-license")
    assert result.code == 0
    shown = " ".join(result.out.split())  # as read: the table wraps its lines to the terminal's width
    assert "§2(d): “You may not use the Output to train, fine-tune or distill a model" in shown
    assert ("source: black-forest-labs/flux@802fb47 model_licenses/LICENSE-FLUX1-dev [grade V: read against the "
            "licensor's own text]") in shown
    assert result.out.rstrip().endswith("12 clause(s)")
    data = run_cli("licenses", "sai-nc-community", "--format", "json").json()  # an alias names the entry
    assert data["id"] == "stabilityai-nc-research-community"
    assert all(c["citation"]["source"].startswith("Stability-AI/generative-models@0ad7de9:") for c in data["clauses"])
    missing = run_cli("licenses", "no-such-license")
    assert missing.code == 2 and "no license 'no-such-license' in the catalog" in missing.err


def test_the_schema_task_families_are_the_engines() -> None:
    from policy.model.tasks import TASK_FAMILIES

    schema = json.loads((Path(__file__).resolve().parents[2] / "rules/schema/license.json").read_text())
    families = schema["$defs"]["clause"]["properties"]["params"]["properties"]["families"]["items"]["enum"]
    assert families == list(TASK_FAMILIES)
