"""The shipped model names (rules/evidence/model_names.yaml): the widely used bases and teachers a card names in
its prose resolve to their Hub ids (or an API model's teacher id), and a larger index does not turn ordinary words,
longer names or comparisons into lineage (policy.evidence.prose)."""

from __future__ import annotations

import pytest

from policy.evidence.prose import Names, default_names
from tests.evidence.test_prose import lineage


@pytest.fixture(scope="module")
def names() -> Names:
    return default_names()


@pytest.mark.parametrize(
    ("text", "model_id"),
    [
        ("Mistral-Nemo", "mistralai/Mistral-Nemo-Base-2407"),
        ("Mistral NeMo Instruct", "mistralai/Mistral-Nemo-Instruct-2407"),
        ("Mistral-7B-Instruct-v0.3", "mistralai/Mistral-7B-Instruct-v0.3"),
        ("Mixtral 8x22B Instruct", "mistralai/Mixtral-8x22B-Instruct-v0.1"),
        ("miqu-1-70b", "miqudev/miqu-1-70b"),
        ("Yi-34B", "01-ai/Yi-34B"),
        ("Yi 1.5 9B Chat", "01-ai/Yi-1.5-9B-Chat"),
        ("FLUX.1-dev", "black-forest-labs/FLUX.1-dev"),
        ("flux1-dev", "black-forest-labs/FLUX.1-dev"),
        ("FLUX schnell", "black-forest-labs/FLUX.1-schnell"),
        ("SDXL", "stabilityai/stable-diffusion-xl-base-1.0"),
        ("SD 1.5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
        ("Stable Diffusion 3.5 Large", "stabilityai/stable-diffusion-3.5-large"),
        ("Qwen2.5-Coder-7B-Instruct", "Qwen/Qwen2.5-Coder-7B-Instruct"),
        ("Qwen1.5-72B-Chat", "Qwen/Qwen1.5-72B-Chat"),
        ("Qwen3-30B-A3B", "Qwen/Qwen3-30B-A3B"),
        ("QwQ-32B", "Qwen/QwQ-32B"),
        ("Llama 3.2 3B Instruct", "meta-llama/Llama-3.2-3B-Instruct"),
        ("CodeLlama-7b-Instruct", "codellama/CodeLlama-7b-Instruct-hf"),
        ("Gemma 2 27B", "google/gemma-2-27b"),
        ("gemma-3-4b-it", "google/gemma-3-4b-it"),
        ("Phi-3.5-mini", "microsoft/Phi-3.5-mini-instruct"),
        ("Phi-4-mini", "microsoft/Phi-4-mini-instruct"),
        ("Falcon 7B", "tiiuae/falcon-7b"),
        ("DeepSeek-Coder-V2-Lite-Instruct", "deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct"),
        ("OpenHermes-2.5-Mistral-7B", "teknium/OpenHermes-2.5-Mistral-7B"),
        ("vicuna-13b-v1.5", "lmsys/vicuna-13b-v1.5"),
        ("OLMo 2 13B", "allenai/OLMo-2-1124-13B"),
        ("GPT-J", "EleutherAI/gpt-j-6b"),
        ("pythia-1.4b-deduped", "EleutherAI/pythia-1.4b-deduped"),
        ("bloomz-7b1-mt", "bigscience/bloomz-7b1-mt"),
        ("StarCoder", "bigcode/starcoder"),
        ("flan-t5-xl", "google/flan-t5-xl"),
        ("bert-base-uncased", "google-bert/bert-base-uncased"),
        ("xlm-roberta-base", "FacebookAI/xlm-roberta-base"),
        ("clip-vit-large-patch14", "openai/clip-vit-large-patch14"),
        ("Whisper Small", "openai/whisper-small"),
        ("whisper-large-v3", "openai/whisper-large-v3"),
        ("Claude 3 Haiku", "anthropic/claude-3-haiku"),
        ("Gemini 1.5 Flash", "google/gemini-1.5-flash"),
        ("o1-mini", "openai/o1-mini"),
    ],
)
def test_a_widely_used_name_resolves_to_its_id(names: Names, text: str, model_id: str) -> None:
    [match] = names.find(f"it starts from {text}, then")
    assert (match.model.id, match.text) == (model_id, text)


@pytest.mark.parametrize(
    ("sentence", "code", "model_id"),
    [
        ("This model was distilled from Mistral-Nemo.", "prose-undeclared-teacher", "mistralai/Mistral-Nemo-Base-2407"),
        ("Fine-tuned from Yi-34B on our data.", "prose-undeclared-base", "01-ai/Yi-34B"),
        ("This LoRA is based on FLUX.1-dev.", "prose-undeclared-base", "black-forest-labs/FLUX.1-dev"),
        ("We trained on outputs of Claude 3.5 Haiku.", "prose-undeclared-teacher", "anthropic/claude-3-5-haiku"),
    ],
)
def test_a_display_name_in_a_lineage_statement_is_the_model(
    names: Names, sentence: str, code: str, model_id: str
) -> None:
    assert [(e.code, e.refers_to) for e in lineage(sentence, names)] == [(code, model_id)]


def test_a_name_continued_into_a_longer_name_is_that_name_or_none(names: Names) -> None:
    # listed longer names win over the shorter name they start with
    assert [m.model.id for m in names.find("whisper-small.en")] == ["openai/whisper-small.en"]
    assert [m.model.id for m in names.find("Mistral-Nemo-Instruct-2407")] == ["mistralai/Mistral-Nemo-Instruct-2407"]
    assert [m.model.id for m in names.find("Qwen2.5-Coder-7B")] == ["Qwen/Qwen2.5-Coder-7B"]
    # a longer name the data does not list is no listed model (not Yi-34B, not FLUX.1-dev, not bert-base-uncased)
    assert names.find("Yi-34B-Llamafied, FLUX.1-dev-fp8, bert-base-uncased-finetuned-sst2, falcon-7b-sharded") == []


@pytest.mark.parametrize(
    "word",
    [
        "Phi",
        "Yi",
        "Falcon",
        "BLOOM",
        "Vicuna",
        "Zephyr",
        "Whisper",
        "CLIP",
        "T5",
        "BERT",
        "Flux",
        "Pythia",
        "GPT-NeoX",
        "OpenHermes-2.5",
    ],
)
def test_an_ambiguous_bare_word_is_no_name(names: Names, word: str) -> None:
    """Ordinary words, a library (GPT-NeoX) and a dataset (OpenHermes-2.5) are named only with a size or version."""
    assert names.find(f"We fine-tuned it from {word} last year.") == []
    if "-" not in word:  # a model-shaped word right after the phrase is reported as written, with no id
        assert lineage(f"This model is fine-tuned from {word} on our data.", names) == []
