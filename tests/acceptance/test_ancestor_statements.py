"""What ancestors' cards say in their text, end to end through the loopback Hub: a model trained on a dataset that
GPT-4 wrote, and a model built on a base whose card says it was distilled from GPT-4o.

The seed case of policycheck: a lab publishes a model whose card declares only a dataset; the dataset's own card
says (in its tags and its prose, with no `teacher_model`) that its data was generated with GPT-4 through the OpenAI
API. The walk reads the dataset's card, the evidence layer finds the generator, and the engine applies OpenAI's
terms through the dataset: review (the text is evidence, not a declaration), naming OpenAI's clause and the
dataset's card line. With `teacher_model` declared on the dataset instead, the same terms fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.acceptance.test_legal_readings import COMMERCIAL, open_findings, write_policy
from tests.acceptance.test_licensee_and_task import policycheck
from tests.hubsim import HubSim, make_card

STUDENT = "acme/chat-7b"
BASE = "acme/base-7b"
DATASET = "acme/synthetic-chats"
BODY = ("# Synthetic chats\n\n"
        "A set of 50,000 conversations for instruction tuning.\n\n"
        "## How it was made\n\n"
        "The prompts were written by our team. The responses were generated with GPT-4 through the OpenAI API\n"
        "in March 2024, then filtered for length.\n")


def add_repos(hubsim: HubSim, dataset_card: dict[str, Any]) -> None:
    hubsim.add_model(BASE, {"README.md": make_card({"license": "apache-2.0", "pipeline_tag": "text-generation"},
                                                   "# Base\n")})
    hubsim.add_dataset(DATASET, {"README.md": make_card(dataset_card, BODY)})
    hubsim.add_model(STUDENT, {"README.md": make_card(
        {"license": "apache-2.0", "base_model": BASE, "datasets": [DATASET], "pipeline_tag": "text-generation"},
        "# Chat 7B\n\nInstruction-tuned on our synthetic chats.\n")})


def check_student(hub_env: dict[str, str], tmp_path: Path) -> tuple[int, Any]:
    """`policycheck check STUDENT` through the loopback Hub, for commercial use, as JSON."""
    return policycheck(hub_env, "check", STUDENT, "--policy", write_policy(tmp_path, COMMERCIAL), "--format", "json")


def test_a_dataset_whose_card_says_gpt_4_wrote_it_puts_openai_terms_under_review(
        hubsim: HubSim, hub_env: dict[str, str], tmp_path: Path) -> None:
    add_repos(hubsim, {"license": "cc-by-4.0", "tags": ["synthetic", "gpt-4"]})
    code, report = check_student(hub_env, tmp_path)
    assert (code, report["verdict"]) == (3, "review"), open_findings(report)
    found = open_findings(report)
    # the dataset's statement, attributed to the dataset's card line
    (stated,) = [f for f in found if f["rule"] == "lineage-stated-in-dataset-card"]
    assert f"{DATASET} card line" in stated["message"] and "generated with GPT-4" in stated["message"]
    evidence = [e for e in report["evidence"] if e["code"] == "dataset-generated-by"]
    assert [(e["subject"], e["refers_to"], e["method"]) for e in evidence] == [(DATASET, "openai/gpt-4", "prose")]
    assert evidence[0]["line"] and "generated with GPT-4" in evidence[0]["quote"]
    # OpenAI's terms reach the student through the dataset, as review naming the clause
    (terms,) = [f for f in found if f["rule"] == "provider-terms-forbid-competing"]
    assert terms["kind"] == "review" and terms["ancestor"] == "openai/gpt-4"
    assert terms["via"] == ["trained_on", "distillation"] and terms["license"] == "provider-openai"
    assert terms["citation"]["section"] == "OpenAI Services Agreement §3.3(e)"
    assert f"rests on what {DATASET}'s card says (stated in the dataset's card, line" in terms["message"]
    edge = next(e for e in report["lineage"] if e["child"] == DATASET and e["parent"] == "openai/gpt-4")
    assert edge["declared_in"] == "card-text" and edge["inferred"] is True


def test_the_same_generator_declared_as_teacher_model_fails(hubsim: HubSim, hub_env: dict[str, str],
                                                             tmp_path: Path) -> None:
    add_repos(hubsim, {"license": "cc-by-4.0", "tags": ["synthetic"], "teacher_model": "openai/gpt-4"})
    code, report = check_student(hub_env, tmp_path)
    assert (code, report["verdict"]) == (1, "fail"), open_findings(report)
    (terms,) = [f for f in open_findings(report) if f["rule"] == "provider-terms-forbid-competing"]
    assert terms["kind"] == "violation" and "rests on what" not in terms["message"]
    assert not [e for e in report["evidence"] if e["code"] == "dataset-generated-by"]  # declared: not evidence


def test_tags_alone_name_the_generator_of_a_synthetic_dataset(hubsim: HubSim, hub_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    hubsim.add_model(BASE, {"README.md": make_card({"license": "apache-2.0"}, "# Base\n")})
    hubsim.add_dataset(DATASET, {"README.md": make_card({"license": "mit", "tags": ["distilabel", "Claude 3 Opus"]},
                                                        "# Chats\n\nConversations.\n")})
    hubsim.add_model(STUDENT, {"README.md": make_card(
        {"license": "apache-2.0", "base_model": BASE, "datasets": [DATASET]}, "# Chat\n")})
    code, report = check_student(hub_env, tmp_path)
    evidence = [e for e in report["evidence"] if e["code"] == "dataset-generated-by"]
    assert [(e["method"], e["confidence"], e["source"]) for e in evidence] == [
        ("card-tags", "medium", f"{DATASET} card tags")]
    assert report["verdict"] == "review" and code == 3



def test_a_dataset_built_from_a_generated_dataset_carries_its_generator(hubsim: HubSim, hub_env: dict[str, str],
                                                                        tmp_path: Path) -> None:
    """`source_datasets` (the Hub's dataset-card field, licenses.md §O.7): a filtered copy of a GPT-4 dataset is
    still GPT-4's outputs, and a copy of non-commercial data is still non-commercial."""
    source, filtered = "acme/synthetic-chats", "acme/chats-filtered"
    hubsim.add_model(BASE, {"README.md": make_card({"license": "apache-2.0", "pipeline_tag": "text-generation"},
                                                   "# Base\n")})
    hubsim.add_dataset(source, {"README.md": make_card({"license": "cc-by-nc-4.0", "tags": ["synthetic"]}, BODY)})
    hubsim.add_dataset(filtered, {"README.md": make_card(
        {"license": "mit", "source_datasets": ["original", "extended|glue", f"extended|{source}"]},
        "# Filtered chats\n\nThe longest conversations of the source set.\n")})
    hubsim.add_model(STUDENT, {"README.md": make_card(
        {"license": "apache-2.0", "base_model": BASE, "datasets": [filtered], "pipeline_tag": "text-generation"},
        "# Chat 7B\n")})
    code, report = check_student(hub_env, tmp_path)
    edges = {(e["child"], e["parent"]): e for e in report["lineage"]}
    assert (filtered, "glue") not in edges and not any(p == "original" for _, p in edges)
    built = edges[(filtered, source)]
    assert (built["relation"], built["declared_in"], built["inferred"]) == ("trained_on", "card", False)
    assert "source_datasets" in built["note"]
    found = open_findings(report)
    (terms,) = [f for f in found if f["rule"] == "provider-terms-forbid-competing"]
    assert terms["via"] == ["trained_on", "trained_on", "distillation"] and terms["kind"] == "review"
    # the source's non-commercial license reaches the model through the copy (whether a data license reaches a
    # model trained on the data is an open question: review)
    (nc,) = [f for f in found if f["rule"] == "noncommercial-ancestor"]
    assert (nc["ancestor"], nc["clause"], nc["kind"]) == (source, "non-commercial", "review")
    assert nc["via"] == ["trained_on", "trained_on"]
    assert (code, report["verdict"]) == (3, "review")


def test_a_base_whose_card_says_it_was_distilled_from_gpt_4o_brings_openai_terms(
        hubsim: HubSim, hub_env: dict[str, str], tmp_path: Path) -> None:
    hubsim.add_model(BASE, {"README.md": make_card(
        {"license": "apache-2.0", "pipeline_tag": "text-generation"},
        "# Base 7B\n\nA compact assistant.\n\n## Training\n\nThis model was distilled from GPT-4o on two million "
        "conversations collected through the OpenAI API.\n")})
    hubsim.add_model(STUDENT, {"README.md": make_card(
        {"license": "apache-2.0", "base_model": BASE, "pipeline_tag": "text-generation"}, "# Chat 7B\n")})
    code, report = check_student(hub_env, tmp_path)
    assert (code, report["verdict"]) == (3, "review"), open_findings(report)
    found = open_findings(report)
    (said,) = [f for f in found if f["rule"] == "lineage-stated-in-ancestor-card"]
    assert f"{BASE} card line" in said["message"] and "distilled from GPT-4o" in said["message"]
    (terms,) = [f for f in found if f["rule"] == "provider-terms-forbid-competing"]
    assert terms["ancestor"] == "openai/gpt-4o" and terms["via"] == ["finetune", "distillation"]
    assert terms["kind"] == "review" and f"rests on what {BASE}'s card says" in terms["message"]
    edge = next(e for e in report["lineage"] if e["child"] == BASE and e["parent"] == "openai/gpt-4o")
    assert edge["declared_in"] == "card-text" and edge["inferred"] is True


def test_an_ancestor_s_statement_that_a_curation_declares_is_not_evidence(hubsim: HubSim, hub_env: dict[str, str],
                                                                          tmp_path: Path) -> None:
    """DeepSeek-R1-Distill-Qwen-1.5B's card says it was fine-tuned on samples curated with DeepSeek-R1, and the
    shipped curation declares that teacher: the walk follows the curated edge, and the text is no news."""
    cards = Path(__file__).resolve().parents[1] / "fixtures" / "cards"
    code, report = policycheck(hub_env, "check", "--offline", "--cards", cards,
                               cards / "unsloth__DeepSeek-R1-Distill-Qwen-1.5B-GGUF.md", "--format", "json")
    ancestor = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
    edge = next(e for e in report["lineage"] if e["child"] == ancestor and e["parent"] == "deepseek-ai/DeepSeek-R1")
    assert edge["declared_in"] == "curation"
    assert not [e for e in report["evidence"] if e["code"] == "ancestor-distilled-from"]
    assert (code, report["verdict"]) == (0, "pass"), open_findings(report)
