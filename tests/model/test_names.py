"""Homoglyph-safe name-prefix comparison."""

from __future__ import annotations

import pytest

from policy.model.names import describe_name_problem, starts_with_prefix


@pytest.mark.parametrize("name", ["Llama-3.1-8B-Legal", "llama-3.1-8b-legal", "LLAMA-x"])
def test_real_prefix_passes(name: str) -> None:
    assert starts_with_prefix(name, "Llama")


@pytest.mark.parametrize("name", [
    "Llаma-3.1-8B",  # Cyrillic а
    "\u200bLlama-3.1-8B",  # zero-width space
    "Ll\u200dama-3.1",  # zero-width joiner
    "Ｌｌａｍａ-3.1",  # fullwidth
    "DeepSeek-R1-Distill-Llama-8B",
    "",
])
def test_lookalikes_and_hidden_characters_fail(name: str) -> None:
    assert not starts_with_prefix(name, "Llama")


def test_problem_is_explained() -> None:
    assert "CYRILLIC" in describe_name_problem("Llаma-3", "Llama")
    assert "U+200B" in describe_name_problem("\u200bLlama", "Llama")


@pytest.mark.parametrize("name", ["Llama 3 Legal", "Llama-3-8B-Legal", "Llama_3-8B", "Llama3-8B", "llama-3.1-x"])
def test_a_space_in_the_prefix_may_be_spelled_as_the_hub_spells_it(name: str) -> None:
    assert starts_with_prefix(name, "Llama 3")


@pytest.mark.parametrize("name", [
    "Llama--3-8B",  # two separators
    "Llama.3-8B",  # not a separator
    "Meta-Llama-3-8B",  # not at the beginning
    "Llama-\u200b3-8B",  # hidden character in the gap
    "Llаma-3-8B",  # Cyrillic а
    "Llama-３-8B",  # fullwidth digit
    "Llama-2-7B",
])
def test_separators_do_not_open_a_door_to_lookalikes(name: str) -> None:
    assert not starts_with_prefix(name, "Llama 3")
