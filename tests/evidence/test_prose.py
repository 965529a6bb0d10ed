"""Lineage stated in a card's prose but not in its front matter (policy.evidence.prose)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from policy.evidence.prose import (
    MAX_ITEMS,
    MAX_QUOTE_WORDS,
    ModelName,
    Names,
    body_start_line,
    default_names,
    load_names,
    prose_lineage,
)
from policy.model.evidence import Evidence
from policy.scan.cards import as_id_list, parse_card

FIXTURES = Path(__file__).parents[1] / "fixtures" / "evidence" / "prose"
CORPUS = Path(__file__).parents[1] / "fixtures" / "corpus" / "cards"  # the 102 real Hub cards
NONE: dict[str, list[str]] = {"base_model": [], "teacher_model": [], "datasets": []}


@pytest.fixture(scope="module")
def names() -> Names:
    return default_names()


def lineage(body: str, names: Names, start: int = 1, subject: str = "someone/student", **declared: list[str]
            ) -> list[Evidence]:
    return prose_lineage(subject, body, start, {**NONE, **declared}, names)


def from_card(path: Path, names: Names) -> list[Evidence]:
    text = path.read_text(encoding="utf-8")
    card = parse_card(text, str(path))
    declared = {key: as_id_list(card.fields.get(key)) for key in ("base_model", "teacher_model", "datasets")}
    subject = path.stem.replace("__", "/", 1)
    return prose_lineage(subject, card.body, body_start_line(text, card.body), declared, names)


# --- names -------------------------------------------------------------------------------------------------

def test_names_are_found_whatever_the_separators(names: Names) -> None:
    for text in ("Llama-3.1-405B", "Llama 3.1 405B", "llama_3.1_405b", "Llama3.1-405B", "LLAMA 3.1 405B"):
        [match] = names.find(f"we used {text} here")
        assert (match.model.id, match.text) == ("meta-llama/Llama-3.1-405B", text)


def test_longest_name_wins(names: Names) -> None:
    found = names.find("GPT-4o and GPT-4 and gpt-4-turbo and Llama 3.1 405B Instruct and Llama")
    assert [m.model.id for m in found] == ["openai/gpt-4o", "openai/gpt-4", "openai/gpt-4-turbo",
                                           "meta-llama/Llama-3.1-405B-Instruct", None]
    assert found[-1].model.vague and found[-1].model.family == "llama"


def test_a_name_inside_a_longer_name_is_not_found(names: Names) -> None:
    assert [m.model.id for m in names.find("DeepSeek-R1-Distill-Llama-8B")] == [
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"]
    assert names.find("DeepSeek-R1-Lite-Preview, GPT-40, Llama3000, OpenLlama, Open-Llama") == []


def test_an_org_prefix_is_not_a_vague_family_mention(names: Names) -> None:
    [match] = names.find("see meta-llama/Meta-Llama-3-8B-Instruct")
    assert match.model.id == "meta-llama/Meta-Llama-3-8B-Instruct"


def test_another_owners_repo_of_a_listed_name_is_that_repo(names: Names) -> None:
    assert [m.model.id for m in names.find("see google/gemma-2b and openai/gpt-4o")] == [
        "google/gemma-2b", "openai/gpt-4o"]
    # a re-upload or a fork is the id as written, for the Hub to resolve: not Meta's, not DeepSeek's
    assert names.find("unsloth/Meta-Llama-3-8B-Instruct, acme/DeepSeek-R1, acme/Llama") == []
    said = lineage("Fine-tuned from unsloth/Meta-Llama-3-8B-Instruct on our data.", names)
    assert [e.refers_to for e in said] == ["unsloth/Meta-Llama-3-8B-Instruct"]


def test_lookalike_and_invisible_characters_never_stand_in(names: Names) -> None:
    assert names.find("distilled from DееpSeek-R1") == []  # Cyrillic е
    assert names.find("distilled from Ｌlama 3.1 405B") == []  # fullwidth Ｌ: "lama" is no name
    assert names.find("distilled from Deep\u200bSeek-R1") == []


def test_the_data_file_is_well_formed(names: Names) -> None:
    ids = [m.id for m in names.models if m.id is not None]
    assert len(ids) == len(set(ids))
    for model in names.models:
        assert model.kind in ("model", "api")
        assert (model.id is None) == model.vague
    by_id = {m.id: m for m in names.models}
    assert by_id["openai/gpt-4"].kind == "api"
    assert by_id["deepseek-ai/DeepSeek-R1"].kind == "model"


def test_load_names_rejects_bad_data() -> None:
    with pytest.raises(ValueError, match="schema_version"):
        load_names({"models": []})
    with pytest.raises(ValueError, match="id"):
        load_names({"schema_version": 1, "models": [{"family": "x", "names": ["X"]}]})
    with pytest.raises(ValueError, match="both"):
        load_names({"schema_version": 1, "models": [
            {"id": "a/X-1", "family": "x", "source": "https://huggingface.co/a/X-1", "names": ["X 1"]},
            {"id": "b/X-1", "family": "x", "source": "https://huggingface.co/b/X-1", "names": ["x-1"]}]})
    with pytest.raises(ValueError, match="source"):
        load_names({"schema_version": 1, "models": [{"id": "a/X-1", "family": "x", "names": ["X 1"]}]})
    with pytest.raises(ValueError, match="source"):
        load_names({"schema_version": 1, "models": [
            {"id": "a/X-1", "family": "x", "source": "http://huggingface.co/a/X-1", "names": ["X 1"]}]})
    with pytest.raises(ValueError, match="Hub page"):
        load_names({"schema_version": 1, "models": [
            {"id": "a/X-1", "family": "x", "source": "https://huggingface.co/a/X-2", "names": ["X 1"]}]})
    load_names({"schema_version": 1, "models": [  # an API model's source is its provider's documentation
        {"id": "p/x-1", "kind": "api", "family": "x", "source": "https://example.com/docs/x-1", "names": ["X 1"]}]})


# --- statements ------------------------------------------------------------------------------------------------

def test_distilled_from_an_undeclared_teacher(names: Names) -> None:
    body = "# Student\n\nA small model.\nIt was distilled from DeepSeek-R1 on math problems.\n"
    [item] = lineage(body, names, start=7)
    assert item.code == "prose-undeclared-teacher"
    assert item.refers_to == "deepseek-ai/DeepSeek-R1"
    assert (item.line, item.source) == (10, "card line 10")
    assert (item.method, item.confidence, item.subject) == ("prose", "high", "someone/student")
    assert item.data["relation"] == "distillation"
    assert item.data["name"] == "DeepSeek-R1"
    assert item.data["id"] == "deepseek-ai/DeepSeek-R1"
    assert item.data["family"] == "deepseek"
    assert "DeepSeek-R1" in item.quote
    assert item.to_dict()["refers_to"] == "deepseek-ai/DeepSeek-R1"


def test_a_declared_teacher_is_not_evidence(names: Names) -> None:
    body = "It was distilled from DeepSeek-R1.\n"
    assert lineage(body, names, teacher_model=["deepseek-ai/DeepSeek-R1"]) == []
    assert lineage(body, names, teacher_model=["DEEPSEEK-AI/deepseek-r1"]) == []
    assert lineage(body, names, teacher_model=["unsloth/DeepSeek-R1"]) == []  # same repo name, other org
    # declared as the base (a quantization of R1 whose card quotes R1's own text): not evidence either
    assert lineage(body, names, base_model=["deepseek-ai/DeepSeek-R1"]) == []
    # declaring another teacher does not cover this one
    [item] = lineage(body, names, teacher_model=["openai/gpt-4"])
    assert item.refers_to == "deepseek-ai/DeepSeek-R1"


def test_trained_on_outputs_of_an_api_model(names: Names) -> None:
    [item] = lineage("The model was trained on outputs of GPT-4.", names)
    assert (item.code, item.refers_to, item.confidence) == ("prose-undeclared-teacher", "openai/gpt-4", "high")
    assert item.data["kind"] == "api"


def test_an_azure_served_gpt_model_is_the_azure_provider_not_openai(names: Names, bundle: Any) -> None:
    # issue 18 item 7: "Azure OpenAI GPT-4" is Microsoft's service (its own terms), not OpenAI's API
    for text, model_id in (("The data was generated with Azure OpenAI GPT-4.", "azure-openai/gpt-4"),
                           ("Answers were distilled from AOAI GPT-3.5-Turbo.", "azure-openai/gpt-35-turbo")):
        [item] = lineage(text, names)
        assert (item.code, item.refers_to, item.data["kind"]) == ("prose-undeclared-teacher", model_id, "api")
        assert bundle.catalog.api_terms(model_id) == "provider-azure-openai"


def test_logit_distillation_from_llama_405b(names: Names) -> None:
    [item] = lineage("We used logit distillation from Llama 3.1 405B to train it.", names)
    assert (item.code, item.refers_to) == ("prose-undeclared-teacher", "meta-llama/Llama-3.1-405B")
    assert item.data["name"] == "Llama 3.1 405B"


@pytest.mark.parametrize(("sentence", "teacher"), [
    ("We applied knowledge distillation from Qwen2.5-72B-Instruct.", "Qwen/Qwen2.5-72B-Instruct"),
    ("We use GPT-4o as the teacher.", "openai/gpt-4o"),
    ("Trained on synthetic data generated by Claude 3.5 Sonnet.", "anthropic/claude-3-5-sonnet"),
    ("Fine-tuned on data generated by Gemini 1.5 Pro.", "google/gemini-1.5-pro"),
    ("Qwen2-72B was distilled into a 14B model.", "Qwen/Qwen2-72B"),
    ("Teacher model: meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"),
])
def test_distillation_phrasings(names: Names, sentence: str, teacher: str) -> None:
    [item] = lineage(sentence, names)
    assert (item.code, item.refers_to) == ("prose-undeclared-teacher", teacher)


@pytest.mark.parametrize(("sentence", "base", "confidence"), [
    ("This is a fine-tuned version of Llama-3.1-8B.", "meta-llama/Llama-3.1-8B", "high"),
    ("We finetuned on top of Mistral-7B-v0.1 for a week.", "mistralai/Mistral-7B-v0.1", "high"),
    ("Continued pretraining of Qwen2.5-7B on code.", "Qwen/Qwen2.5-7B", "high"),
    ("This is a quantized version of meta-llama/Meta-Llama-3-8B-Instruct.",
     "meta-llama/Meta-Llama-3-8B-Instruct", "high"),
    ("The model is based on Mixtral 8x7B.", "mistralai/Mixtral-8x7B-v0.1", "low"),
    ("A LoRA adapter for Llama-3.1-8B-Instruct.", "meta-llama/Llama-3.1-8B-Instruct", "high"),
    ("Original model: [Meta-Llama-3-8B-Instruct](https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct)",
     "meta-llama/Meta-Llama-3-8B-Instruct", "high"),
    ("GGUF quants of DeepSeek-R1-Distill-Qwen-7B.", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "high"),
])
def test_base_phrasings(names: Names, sentence: str, base: str, confidence: str) -> None:
    [item] = lineage(sentence, names)
    assert (item.code, item.refers_to, item.confidence) == ("prose-undeclared-base", base, confidence)
    assert item.data["relation"] == "base"


def test_a_merge_names_each_parent(names: Names) -> None:
    items = lineage("A merge of Mistral-7B-v0.1 and Llama-2-7b.", names)
    assert [i.refers_to for i in items] == ["mistralai/Mistral-7B-v0.1", "meta-llama/Llama-2-7b-hf"]
    assert lineage("A merge of Mistral-7B-v0.1 and Llama-2-7b.", names,
                   base_model=["mistralai/Mistral-7B-v0.1", "meta-llama/Llama-2-7b-hf"]) == []


def test_a_vague_base_is_medium_confidence(names: Names) -> None:
    [item] = lineage("It is fine-tuned from Llama.", names)
    assert (item.code, item.refers_to, item.confidence) == ("prose-undeclared-base", None, "medium")
    assert item.data["family"] == "llama" and item.data["id"] is None
    # any declared base of the family covers a family-level mention
    assert lineage("It is fine-tuned from Llama.", names, base_model=["meta-llama/Llama-3.1-8B"]) == []


def test_a_vague_mention_next_to_an_exact_one_is_not_repeated(names: Names) -> None:
    items = lineage("It was distilled from Llama 3.1 405B. Llama distillation also came from Llama.", names)
    assert [i.refers_to for i in items] == ["meta-llama/Llama-3.1-405B"]


@pytest.mark.parametrize("sentence", [
    "This model was not distilled from DeepSeek-R1.",
    "It was never distilled from GPT-4.",
    "We trained it without using outputs of GPT-4.",
    "Unlike models distilled from DeepSeek-R1, ours learns from humans.",
    "It isn't fine-tuned from Llama 3.1 8B.",
    "Inspired by GPT-4, we built a small model.",
    "It outperforms GPT-4 on math.",
    "Built on the Qwen2.5-14B-Instruct architecture.",
    "We compare with DeepSeek-R1 and GPT-4o.",
    "We evaluate using GPT-4 as a judge.",
    "This model is based on the Llama 2 architecture.",
    "It was distilled from scratch with the Llama 3 tokenizer.",
    "Our data was generated by annotators; see Llama 3.1 405B for comparison.",
    # ordinary words that name models only with a size or version, and comparisons with listed models
    "The data is in flux while we train; whisper it, the falcon and the phi ratio.",
    "It outperforms Falcon 7B, Yi-34B and Mistral-Nemo on MMLU.",
    "We compare with SDXL and FLUX.1-dev.",
    "The tokenizer is based on T5 and the encoder on BERT.",
])
def test_not_lineage(names: Names, sentence: str) -> None:
    assert lineage(sentence, names) == []


def test_code_comments_and_urls_are_not_prose(names: Names) -> None:
    body = "\n".join([
        "Intro.",
        "```python",
        "# distilled from DeepSeek-R1",
        "```",
        "",
        "    distilled from GPT-4  (indented code)",
        "",
        "<!-- distilled from Llama 3.1 405B -->",
        "<!--",
        "fine-tuned from Llama-3.1-8B",
        "-->",
        "See https://example.com/distilled-from/DeepSeek-R1 for details.",
        "Weights: [download](https://huggingface.co/distilled from/GPT-4o).",
    ])
    assert lineage(body, names) == []


def test_link_text_is_prose(names: Names) -> None:
    body = "Intro.\n\nFine-tuned from [Llama-3.1-8B](https://huggingface.co/meta-llama/Llama-3.1-8B).\n"
    [item] = lineage(body, names, start=20)
    assert (item.refers_to, item.line) == ("meta-llama/Llama-3.1-8B", 22)
    assert "https" not in item.quote


def test_a_sentence_over_two_lines_points_at_the_line_of_the_name(names: Names) -> None:
    [item] = lineage("Intro.\n\nThe model was distilled\nfrom DeepSeek-R1 last year.\n", names, start=5)
    assert item.line == 8


def test_a_sentence_about_another_model_is_not_about_this_one(names: Names) -> None:
    """DeepSeek's distill cards list each distill's base: only the card's own line counts."""
    body = ("- DeepSeek-R1-Distill-Llama-8B is derived from Llama3.1-8B-Base.\n"
            "- DeepSeek-R1-Distill-Llama-70B is derived from Llama3.3-70B-Instruct.\n")
    [item] = lineage(body, names, subject="deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    assert (item.refers_to, item.line) == ("meta-llama/Llama-3.1-8B", 1)
    assert lineage(body, names, subject="deepseek-ai/DeepSeek-R1-Distill-Qwen-14B") == []


def test_the_card_itself_is_not_its_own_teacher(names: Names) -> None:
    assert lineage("Models distilled from DeepSeek-R1 are small.", names,
                   subject="deepseek-ai/DeepSeek-R1") == []


def test_quote_is_at_most_25_words_and_keeps_the_name(names: Names) -> None:
    filler = " ".join(f"word{i}" for i in range(40))
    [item] = lineage(f"{filler} and then it was distilled from DeepSeek-R1 {filler}.", names)
    assert len(item.quote.split()) <= MAX_QUOTE_WORDS
    assert "DeepSeek-R1" in item.quote


def test_one_item_per_code_and_model(names: Names) -> None:
    body = "Based on DeepSeek-R1.\n\nDistilled from DeepSeek-R1.\n\nAlso distilled from DeepSeek-R1.\n"
    items = lineage(body, names)
    assert [(i.code, i.refers_to, i.line) for i in items] == [
        ("prose-undeclared-base", "deepseek-ai/DeepSeek-R1", 1),
        ("prose-undeclared-teacher", "deepseek-ai/DeepSeek-R1", 3)]


def test_the_highest_confidence_statement_is_kept(names: Names) -> None:
    body = "Knowledge from GPT-4 made distillation easy.\n\nWe distilled from GPT-4.\n"
    [item] = lineage(body, names)
    assert (item.confidence, item.line) == ("high", 3)


def test_an_api_model_is_never_a_base(names: Names) -> None:
    assert lineage("Based on GPT-4 evaluations, it is a fine-tuned version of Claude 3.5 Sonnet.", names) == []


def test_a_name_joined_to_a_verb(names: Names) -> None:
    [item] = lineage("It was trained on GPT-4-generated data.", names)
    assert (item.code, item.refers_to) == ("prose-undeclared-teacher", "openai/gpt-4")


# --- real cards ---------------------------------------------------------------------------------------------

def test_corpus_card_with_teachers_in_prose_only(names: Names) -> None:
    """arcee-ai/SuperNova-Medius declares only `base_model: Qwen/Qwen2.5-14B`; its text names its teachers."""
    items = from_card(FIXTURES / "arcee-ai__SuperNova-Medius.md", names)
    by_id = {i.refers_to: i for i in items}
    first = by_id["meta-llama/Llama-3.1-405B"]
    assert (first.code, first.line, first.confidence) == ("prose-undeclared-teacher", 21, "high")
    assert first.quote == "Logit Distillation from Llama 3.1 405B:"
    assert by_id["Qwen/Qwen2.5-72B-Instruct"].code == "prose-undeclared-teacher"
    assert by_id["meta-llama/Llama-3.1-405B-Instruct"].line == 67
    assert all(i.code == "prose-undeclared-teacher" for i in items)  # the declared base is not repeated
    assert "Qwen/Qwen2.5-14B" not in by_id


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus folder absent")
def test_every_corpus_card_runs(names: Names) -> None:
    seen = 0
    flagged = 0
    for path in sorted(CORPUS.glob("*.md")):
        try:
            items = from_card(path, names)
        except Exception as exc:  # a card the parser rejects is not this module's concern
            if type(exc).__name__ == "InputError":
                continue
            raise
        seen += 1
        flagged += bool(items)
        for item in items:
            assert item.code in ("prose-undeclared-teacher", "prose-undeclared-base")
            assert item.method == "prose" and item.confidence in ("high", "medium", "low")
            assert item.line > 0 and len(item.quote.split()) <= MAX_QUOTE_WORDS
            assert item.data["name"].lower().replace(" ", "")[:3] in item.quote.lower().replace(" ", "")
    assert seen > 50 and 0 < flagged < seen


# --- hostile input ----------------------------------------------------------------------------------------------

def test_one_megabyte_single_line(names: Names) -> None:
    body = "distilled from GPT-4 " * 50_000 + "x" * 100_000
    assert len(body) > 1_000_000
    start = time.monotonic()
    items = lineage(body, names)
    assert time.monotonic() - start < 5
    assert [i.refers_to for i in items] == ["openai/gpt-4"]


def test_one_megabyte_of_lines_and_hostile_markup(names: Names) -> None:
    body = ("distilled from GPT-4. " + "](" * 30 + "<a" * 30 + " http://" + "Llama-" * 20 + "\n") * 3_600
    body += "<!-- " * 10_000 + "\n" + "```\n" * 3
    assert len(body) > 1_000_000
    start = time.monotonic()
    items = lineage(body, names)
    assert time.monotonic() - start < 5
    assert [i.refers_to for i in items] == ["openai/gpt-4"]


def test_mention_cap(names: Names) -> None:
    body = "GPT-4 " * 200 + "\n" + "Based on GPT-4, Llama, Qwen and Gemma.\n" * 20_000 + "Distilled from DeepSeek-R1.\n"
    items = lineage(body, names)
    assert all(i.refers_to != "deepseek-ai/DeepSeek-R1" for i in items)  # scanning stopped at MAX_MENTIONS
    assert {i.data["family"] for i in items} == {"llama", "qwen", "gemma"}


def test_item_cap(names: Names) -> None:
    # the real data names fewer models than the cap: add some
    extra = [ModelName(f"org/model-{i}", "model", "x", False, (f"Zork-{i}",)) for i in range(MAX_ITEMS + 50)]
    many = Names([*names.models, *extra])
    body = "\n\n".join(f"Distilled from Zork-{i}." for i in range(MAX_ITEMS + 50))
    items = lineage(body, many)
    assert len(items) == MAX_ITEMS


# --- names no list holds, the card template's lines, links, and statements about other models -------------------

@pytest.mark.parametrize(("body", "base"), [
    # the Hugging Face card template and its variants, as a list item, a bold label or a table row
    ("* **Finetuned from model:** [deepseek-coder-6.7b-base](https://huggingface.co/acme/deepseek-coder-6.7b-base)",
     "acme/deepseek-coder-6.7b-base"),
    ("- Finetuned from model: acme/base-model-7b", "acme/base-model-7b"),
    ("Original model: [acme/base-7b-it][mdl]\n\n[mdl]: https://huggingface.co/acme/base-7b-it", "acme/base-7b-it"),
    ("Original repo: [acme/tiny-2b-it](https://huggingface.co/acme/tiny-2b-it)", "acme/tiny-2b-it"),
    ("| Property | Value |\n|---|---|\n| Base model | acme/base-v2-chat |", "acme/base-v2-chat"),
    # a link to the Hub names the repo whatever its text says
    ("GGUF Format model files for [This project](https://huggingface.co/Someone/WSB-GPT-13B).", "Someone/WSB-GPT-13B"),
    ("[GGUF of https://huggingface.co/Acme/Lexi-8B-Uncensored](https://huggingface.co/Acme/Lexi-8B-Uncensored)",
     "Acme/Lexi-8B-Uncensored"),
    ("These are controlnet weights trained on [acme/diffusion-xl-base-1.0](https://huggingface.co/acme/sdxl-base-1.0).",
     "acme/sdxl-base-1.0"),
    ("This is an experimental self-merge using acme/Big-Model-405B-Instruct and mergekit.",
     "acme/Big-Model-405B-Instruct"),
])
def test_template_lines_links_and_hub_ids_name_the_base(names: Names, body: str, base: str) -> None:
    found = lineage(body, names)
    assert [e.refers_to for e in found] == [base], found
    assert found[0].code == "prose-undeclared-base" and found[0].confidence == "high"


@pytest.mark.parametrize(("sentence", "name"), [
    ("acme-coder-6.7b-instruct is a 6.7B parameter model initialized from acme-coder-6.7b-base.",
     "acme-coder-6.7b-base"),
    ("Acme-V2-Chat-0628 is an improved version of Acme-V2-Chat.", "Acme-V2-Chat"),
    ("This is a smaller checkpoint for flux9-dev that works with less memory.", "flux9-dev"),
])
def test_a_model_name_no_list_holds_is_reported_as_the_name_written(names: Names, sentence: str, name: str) -> None:
    (e,) = lineage(sentence, names, subject="acme/acme-coder-6.7b-instruct")
    assert e.refers_to is None and e.data["name"] == name and e.code == "prose-undeclared-base"


@pytest.mark.parametrize("sentence", [
    # other models made from the named one (downstream), not this one
    "We open-source distilled 1.5B, 7B and 70B checkpoints based on Qwen2.5 and Llama3 series to the community.",
    "Using the reasoning data generated by DeepSeek-R1, we fine-tuned several dense models for the community.",
    "It surpasses existing multimodal large models built on Phi-2 on several tasks.",
    # a plan is not a fact
    "We plan to distill from DeepSeek-R1 in the next release.",
    "A future version will be fine-tuned from Llama 3.1 8B.",
    # a model-shaped word is a name only right after an explicit phrase, never a weak one or a list's tail
    "It is based on acme-widget-v2 internally.",
    # the card's own name, and ids that are not models
    "Please say the text was generated by student-160m.",
    "Base models: acme/Coder-{1.5B,7B}-Instruct (Apache-2.0).",
    "Fine-tuned from [the data](https://huggingface.co/datasets/acme/mix-v1).",
    "Sentiment Foundation Model: acme/sentiment-v1",
])
def test_not_this_models_lineage(names: Names, sentence: str) -> None:
    assert lineage(sentence, names, subject="acme/student-160m") == []


def test_an_undeclared_hub_id_is_evidence_and_a_declared_one_is_not(names: Names) -> None:
    body = "It is a SLERP merge of acme/one-7b-v1, acme/two-7b-v3, and acme/three-7b-1210."
    assert lineage(body, names, base_model=["acme/one-7b-v1", "acme/two-7b-v3", "acme/three-7b-1210"]) == []
    found = lineage(body, names, base_model=["acme/one-7b-v1", "acme/two-7b-v3"])
    assert [e.refers_to for e in found] == ["acme/three-7b-1210"]  # the sentence's full stop is not the id's


@pytest.mark.parametrize(("sentence", "code", "model"), [
    ("本模型蒸馏自DeepSeek-R1。", "prose-undeclared-teacher", "deepseek-ai/DeepSeek-R1"),
    ("我们使用GPT-4生成的数据训练了本模型。", "prose-undeclared-teacher", "openai/gpt-4"),
    ("本模型微调自 Llama-3.1-8B。", "prose-undeclared-base", "meta-llama/Llama-3.1-8B"),
    ("本模型基于Qwen2.5-7B进行微调。", "prose-undeclared-base", "Qwen/Qwen2.5-7B"),  # 基于 … 微调
    ("我们在Qwen2.5-7B的基础上进行了微调。", "prose-undeclared-base", "Qwen/Qwen2.5-7B"),
])
def test_chinese_statements(names: Names, sentence: str, code: str, model: str) -> None:
    (e,) = lineage(sentence, names)
    assert (e.code, e.refers_to, e.confidence) == (code, model, "high")


@pytest.mark.parametrize("sentence", [
    "本模型并非蒸馏自DeepSeek-R1。",  # a negation
    "我们计划从DeepSeek-R1蒸馏。",  # a plan
    "本模型与GPT-4进行了比较。",  # a comparison
    "能力超越基于Phi-2的同参数级别多模态模型。",  # surpasses models based on Phi-2
    "超越基于 Phi-2 构建的现有多模态大模型。",  # other models built on Phi-2
])
def test_chinese_non_statements(names: Names, sentence: str) -> None:
    assert [e for e in lineage(sentence, names) if e.confidence != "low"] == []


def test_every_parent_in_the_list_a_merge_names(names: Names) -> None:
    found = lineage("Acme-V2.5 is an upgraded version that combines Acme-V2-Chat and Acme-Coder-V2-Instruct.", names,
                    subject="acme/Acme-V2.5")
    assert [e.data["name"] for e in found] == ["Acme-V2-Chat", "Acme-Coder-V2-Instruct"]


def test_a_plan_counts_only_before_the_name(names: Names) -> None:
    found = lineage("This is a smaller checkpoint for flux9-dev that will work better with less memory.", names)
    assert [e.data["name"] for e in found] == ["flux9-dev"]  # "will" is about the checkpoint's future, not a plan


MERGE_CARD = """# A merge

This model was merged with mergekit.

```yaml
models:
  - model: acme/one-7b-v1
  - model: acme/two-7b-v3
    parameters: {weight: 0.5}
merge_method: ties
base_model: acme/base-7b-v0.1
dtype: bfloat16
```

```yaml
slices:
  - sources:
      - model: acme/three-7b-1210
        layer_range: [0, 32]
merge_method: passthrough
```
"""


def test_a_merge_configuration_in_the_body_names_the_parents_exactly() -> None:
    from policy.evidence.mergeconfig import merge_config_lineage

    found = merge_config_lineage("acme/merged", MERGE_CARD, 10, ["acme/base-7b-v0.1", "acme/one-7b-v1"])
    assert [(e.refers_to, e.line, e.method, e.confidence) for e in found] == [
        ("acme/two-7b-v3", 15, "merge-config", "high"), ("acme/three-7b-1210", 25, "merge-config", "high")]
    assert merge_config_lineage("acme/m", "```yaml\nmerge_method: [unclosed\n```\n", 1, []) == []
    bomb = "```yaml\nmerge_method: x\na: &a [" + ",".join(["*a"] * 50) + "]\n```\n"
    assert merge_config_lineage("acme/m", bomb, 1, []) == []  # the guarded loader refuses it; nothing stated


def test_a_display_name_ends_only_where_the_name_ends(names: Names) -> None:
    said = lineage("Fine-tuned from Llama 2 13B Chat - LimaRP v2 by our team.", names)
    assert [(e.refers_to, e.data.get("name")) for e in said] == [(None, "Llama 2 13B Chat - LimaRP v2")]
    chat = lineage("This model was fine-tuned from Llama 2 13B Chat on our data.", names)  # a listed variant
    assert [(e.refers_to, e.data.get("name")) for e in chat] == [("meta-llama/Llama-2-13b-chat-hf", "Llama 2 13B Chat")]
    unlisted = lineage("This model was fine-tuned from Llama 2 7B Instruct on our data.", names)  # no such repo
    assert [(e.refers_to, e.data.get("name")) for e in unlisted] == [(None, "Llama 2 7B Instruct")]
    # a packaging word after the dash is the same model packaged; a plain word after a dash is prose
    assert [e.refers_to for e in lineage("Quantized from Llama 2 13B - GPTQ files.", names)] == [
        "meta-llama/Llama-2-13b-hf"]
    assert [e.refers_to for e in lineage("Fine-tuned from Llama 2 13B - the best base we tried.", names)] == [
        "meta-llama/Llama-2-13b-hf"]


def test_a_family_and_size_mention_of_a_declared_variant_is_declared(names: Names) -> None:
    text = "This model is a fine-tune of Gemma 2 9B on our data."
    assert lineage(text, names, base_model=["google/gemma-2-9b-it"]) == []
    assert [e.refers_to for e in lineage(text, names)] == ["google/gemma-2-9b"]
    assert [e.refers_to for e in lineage(text, names, base_model=["google/gemma-2-27b-it"])] == ["google/gemma-2-9b"]


def test_review_findings_on_names(names: Names) -> None:
    """Found by review: 'base' and 'hf' after a listed base name are that model; a sentence's period ends a name;
    a declared repo that only starts like the mentioned model (a distill of it) does not declare it."""
    assert [e.refers_to for e in lineage("This model was fine-tuned from Llama 2 7B base on our data.", names)] == [
        "meta-llama/Llama-2-7b-hf"]
    said = lineage("Fine-tuned from Llama 2 13B Chat - LimaRP v2.", names)
    assert [e.data.get("name") for e in said] == ["Llama 2 13B Chat - LimaRP v2"]
    distill = lineage("It was distilled from DeepSeek-R1.", names,
                      base_model=["deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"])
    assert [e.refers_to for e in distill] == ["deepseek-ai/DeepSeek-R1"]
    assert lineage("A fine-tune of Gemma 2 9B.", names, base_model=["bartowski/gemma-2-9b-it-GGUF"]) == []
