"""Does one model perform similarly to another (RAIL / DeepSeek §1, Gemma §1.1(e)(iii)), by their Hub tasks."""

from __future__ import annotations

import pytest

from policy.model.tasks import FAMILY_OF, TASK_FAMILIES, kind_facts, performs_similarly, task_of_architectures


@pytest.mark.parametrize(("student", "teacher", "expected"), [
    ("text-to-image", "text-to-image", True),
    ("image-to-image", "text-to-image", True),  # one family: generates images
    ("text2text-generation", "text-generation", True),
    ("image-classification", "text-to-image", False),  # licenses.md §O.3: a classifier of generated pictures
    ("automatic-speech-recognition", "text-generation", False),
    ("text-classification", "text-generation", None),  # related: a classifier may imitate the model's labels
    ("image-text-to-text", "text-generation", None),
    ("any-to-any", "text-to-image", None),
    ("some-new-task", "text-generation", None),  # a task policycheck does not group
    (None, "text-to-image", None),
    ("text-to-image", None, None),
])
def test_the_tasks_decide_or_leave_it_to_a_person(student: str | None, teacher: str | None,
                                                  expected: bool | None) -> None:
    assert performs_similarly(student, teacher) is expected
    assert performs_similarly(teacher, student) is expected  # symmetric


def test_every_task_has_one_family() -> None:
    assert sum(len(tasks) for tasks in TASK_FAMILIES.values()) == len(FAMILY_OF)


# -- what kind of model: the facts beside the card (issue 18, item 2) -----------------------------------------------

@pytest.mark.parametrize(("architectures", "task"), [
    (["LlamaForCausalLM"], "text-generation"),
    (["GPT2LMHeadModel"], "text-generation"),
    (["Qwen2ForCausalLM", "Qwen2ForCausalLM"], "text-generation"),
    (["ViTForImageClassification"], "image-classification"),
    (["WhisperForConditionalGeneration"], None),  # a head that names no one task (T5, LLaVA, Whisper)
    (["BertForMaskedLM", "BertForCausalLM"], None),  # heads that disagree
    (["BertModel"], None),
    ([], None),
])
def test_config_json_architectures_name_a_task_only_when_their_head_does(architectures: list[str],
                                                                         task: str | None) -> None:
    assert task_of_architectures(architectures) == task


def test_the_facts_beside_a_card_in_the_order_they_are_believed() -> None:
    facts = kind_facts({"pipeline_tag": "text-generation", "library_name": "diffusers"}, "text-to-image",
                       {"architectures": ["LlamaForCausalLM"]}, "transformers")
    assert [(f.task, f.language_model, f.said_by) for f in facts] == [
        ("text-generation", True, "the card's pipeline_tag text-generation"),
        ("text-to-image", False, "the Hub's computed pipeline_tag text-to-image"),
        ("text-generation", True, "the config.json architectures LlamaForCausalLM"),
        (None, False, "the library diffusers"),
    ]
    assert kind_facts({}) == () and kind_facts({"library_name": "transformers"}) == ()  # says nothing


def test_hostile_values_never_reach_a_finding_at_length() -> None:
    facts = kind_facts({"pipeline_tag": "t" * 10_000}, "not a task\n<script>",
                       {"architectures": ["A" * 5000 + "ForCausalLM"]})
    assert all(len(f.said_by) < 120 for f in facts)
    assert [f.said_by.split()[1] for f in facts] == ["card's", "config.json"]  # the Hub's value is no task id
