"""Does one model perform similarly to another (RAIL / DeepSeek §1, Gemma §1.1(e)(iii)), by their Hub tasks."""

from __future__ import annotations

import pytest

from policy.model.tasks import FAMILY_OF, TASK_FAMILIES, performs_similarly


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
