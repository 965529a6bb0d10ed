"""What kind of model a card describes: is it a language model, is it multimodal, does it perform similarly to
another. License terms are scoped by such words ("any other large language model", "multimodal models", "to
perform similarly to the Model"), so the engine needs them as facts; `None` means nothing says, which rules
answer with *review*.

The facts that say it, in the order they are believed (`kind_facts`): the card's own `pipeline_tag`, the
`pipeline_tag` the Hub computes for every model (from `config.json` for transformers models, from tags otherwise;
hub-api.md §7), the `config.json` architectures (`LlamaForCausalLM` is a causal language model), and the library
(`diffusers` models are not language models). Each fact carries its words, so a finding can say which one decided.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from policy.records import record

# Tasks whose models generate or understand natural language (a VLM's language model included).
LANGUAGE_TASKS = frozenset({
    "text-generation", "text2text-generation", "conversational", "summarization", "translation",
    "question-answering", "table-question-answering", "image-text-to-text", "visual-question-answering",
    "document-question-answering", "video-text-to-text", "audio-text-to-text", "any-to-any"})
# Tasks whose models are evidently not language models.
NON_LANGUAGE_TASKS = frozenset({
    "image-classification", "object-detection", "image-segmentation", "text-to-image", "image-to-image",
    "unconditional-image-generation", "depth-estimation", "video-classification", "text-to-video",
    "image-to-video", "text-to-speech", "text-to-audio", "automatic-speech-recognition", "audio-classification",
    "audio-to-audio", "voice-activity-detection", "tabular-classification", "tabular-regression",
    "time-series-forecasting", "reinforcement-learning", "robotics", "keypoint-detection", "mask-generation",
    "zero-shot-image-classification", "zero-shot-object-detection", "image-feature-extraction", "graph-ml",
    "image-to-3d", "text-to-3d", "video-to-video"})
# Tasks that take or produce more than one modality, and text-only tasks.
MULTIMODAL_TASKS = frozenset({
    "image-text-to-text", "visual-question-answering", "document-question-answering", "video-text-to-text",
    "audio-text-to-text", "any-to-any", "image-to-text", "text-to-image", "text-to-video", "image-to-video",
    "text-to-speech", "text-to-audio", "automatic-speech-recognition", "zero-shot-image-classification"})
TEXT_ONLY_TASKS = frozenset({
    "text-generation", "text2text-generation", "conversational", "summarization", "translation",
    "question-answering", "fill-mask", "text-classification", "token-classification", "zero-shot-classification",
    "sentence-similarity", "feature-extraction", "table-question-answering"})
_MULTIMODAL_NAME = re.compile(r"vision|multimodal|(?:^|[-_.])(?:vl|omni)(?:[-_.]|$)", re.IGNORECASE)
MULTIMODAL_TAGS = frozenset({"multimodal", "vision", "vision-language", "image-text-to-text", "vlm"})
# What the caches of this module keep: the short values real cards have (a longer one is worked out each time).
_CACHED_ITEMS, _CACHED_TEXT = 16, 200


def pipeline_tag(card: Mapping[str, Any]) -> str | None:
    tag = card.get("pipeline_tag")
    return tag.strip().lower() if isinstance(tag, str) and tag.strip() else None


def language_model_of_task(task: str | None) -> bool | None:
    """Is a model with this Hub task a language model (None: the task does not say)?"""
    if task in LANGUAGE_TASKS:
        return True
    if task in NON_LANGUAGE_TASKS:
        return False
    return None


def _multimodal_name(name: str) -> bool:
    if len(name) > _CACHED_TEXT:
        return _MULTIMODAL_NAME.search(name) is not None
    return _multimodal_name_cached(name)


@lru_cache(maxsize=4096)
def _multimodal_name_cached(name: str) -> bool:
    return _MULTIMODAL_NAME.search(name) is not None


def _tags(card: Mapping[str, Any]) -> Iterable[str]:
    tags = card.get("tags")
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list):
        return ()
    return (t.strip().lower() for t in tags[:256] if isinstance(t, str))


def is_multimodal(card: Mapping[str, Any], name: str = "", task: str | None = None) -> bool | None:
    """Is the model multimodal: by its task (the card's pipeline_tag unless `task` gives the one resolved from
    other facts), its tags or its name."""
    tag = task or pipeline_tag(card)
    if tag in MULTIMODAL_TASKS or any(t in MULTIMODAL_TAGS for t in _tags(card)) or _multimodal_name(name):
        return True
    if tag in TEXT_ONLY_TASKS:
        return False
    return None


# What a model does, for the definitions that make a model trained on another's outputs a derivative only when it
# is trained "to perform similarly to the Model" (CreativeML / BigScience / OpenRAIL §1, DeepSeek License §1,
# Gemma §1.1(e)(iii)). Hub tasks are grouped by what the model produces from what: two models of one family
# perform alike; of two unrelated families they do not (an image classifier trained on a text-to-image model's
# pictures, licenses.md §O.3); of two RELATED families a person must decide (a text classifier trained on a
# language model's labels imitates its judgements; a vision-language model trained on a text model's answers).
TASK_FAMILIES: dict[str, frozenset[str]] = {
    "text generation": frozenset({"text-generation", "text2text-generation", "conversational", "summarization",
                                  "translation"}),
    "text from images, audio or video": frozenset({
        "image-text-to-text", "visual-question-answering", "document-question-answering", "video-text-to-text",
        "audio-text-to-text", "image-to-text"}),
    "image generation": frozenset({"text-to-image", "image-to-image", "unconditional-image-generation"}),
    "video generation": frozenset({"text-to-video", "image-to-video", "video-to-video"}),
    "audio generation": frozenset({"text-to-speech", "text-to-audio", "audio-to-audio"}),
    "3D generation": frozenset({"image-to-3d", "text-to-3d"}),
    "speech recognition": frozenset({"automatic-speech-recognition"}),
    "text understanding": frozenset({
        "fill-mask", "text-classification", "token-classification", "zero-shot-classification", "question-answering",
        "table-question-answering", "sentence-similarity", "feature-extraction", "text-ranking"}),
    "image understanding": frozenset({
        "image-classification", "object-detection", "image-segmentation", "depth-estimation",
        "zero-shot-image-classification", "zero-shot-object-detection", "image-feature-extraction",
        "keypoint-detection", "mask-generation", "video-classification"}),
    "audio understanding": frozenset({"audio-classification", "voice-activity-detection"}),
    "tabular": frozenset({"tabular-classification", "tabular-regression", "time-series-forecasting"}),
    "agents": frozenset({"reinforcement-learning", "robotics"}),
    "any-to-any": frozenset({"any-to-any"}),
}
FAMILY_OF: dict[str, str] = {task: family for family, tasks in TASK_FAMILIES.items() for task in tasks}
RELATED_FAMILIES: frozenset[frozenset[str]] = frozenset({
    frozenset({"text generation", "text from images, audio or video"}),
    frozenset({"text generation", "text understanding"}),
    frozenset({"image generation", "video generation"}),
    frozenset({"image generation", "3D generation"}),
})


def performs_similarly(task: str | None, other: str | None) -> bool | None:
    """Does a model with Hub task `task` perform similarly to one with task `other`? None when a task is unknown,
    not one policycheck groups, or of a related family (any-to-any is related to every family): a person decides."""
    if task is None or other is None:
        return None
    if task == other:
        return True
    family, other_family = FAMILY_OF.get(task), FAMILY_OF.get(other)
    if family is None or other_family is None or "any-to-any" in (family, other_family):
        return None
    if family == other_family:
        return True
    return None if frozenset({family, other_family}) in RELATED_FAMILIES else False


# The head a transformers architecture name ends with, and the Hub task it implies. Only heads that name one task
# whatever the model type: `ForConditionalGeneration` is T5's text2text, LLaVA's image-text-to-text and Whisper's
# speech recognition, and `ForSequenceClassification` classifies text or audio, so they say nothing here.
ARCHITECTURE_TASKS: tuple[tuple[str, str], ...] = (
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),  # GPT2LMHeadModel, XLNetLMHeadModel: transformers' causal-LM mapping
    ("ForMaskedLM", "fill-mask"),
    ("ForTokenClassification", "token-classification"),
    ("ForImageTextToText", "image-text-to-text"),
    ("ForImageClassification", "image-classification"),
    ("ForObjectDetection", "object-detection"),
    ("ForSemanticSegmentation", "image-segmentation"),
    ("ForInstanceSegmentation", "image-segmentation"),
    ("ForUniversalSegmentation", "image-segmentation"),
    ("ForDepthEstimation", "depth-estimation"),
    ("ForKeypointDetection", "keypoint-detection"),
    ("ForVideoClassification", "video-classification"),
    ("ForImageSuperResolution", "image-to-image"),
    ("ForCTC", "automatic-speech-recognition"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("ForAudioClassification", "audio-classification"),
    ("ForTextToSpeech", "text-to-speech"),
)
# Libraries (the card's or the Hub's `library_name`) whose models are not language models: image generation and
# vision (diffusers, timm, ultralytics, open_clip), reinforcement learning, speech and audio toolkits.
NON_LANGUAGE_LIBRARIES = frozenset({
    "diffusers", "timm", "ultralytics", "open_clip", "stable-baselines3", "ml-agents", "sample-factory",
    "pyannote-audio", "speechbrain", "espnet", "asteroid"})
MAX_FACT_TEXT = 64  # characters of a tag, architecture or library quoted in a finding (they are short when real)
_TASK_TEXT = re.compile(r"[a-z0-9][a-z0-9-]*")


@record(slots=True)
class KindFact:
    """What one fact says a model is: its Hub task (None: this fact names none), whether it is a language model
    (None: this fact does not say) and the fact in words, for the finding ("the Hub's computed pipeline_tag
    text-generation")."""

    task: str | None
    language_model: bool | None
    said_by: str


def task_of_architectures(architectures: Sequence[str]) -> str | None:
    """The Hub task the `config.json` architectures imply, when every one that implies one agrees."""
    tasks = {task for arch in architectures for head, task in ARCHITECTURE_TASKS if arch.endswith(head)}
    return tasks.pop() if len(tasks) == 1 else None


def kind_facts(card: Mapping[str, Any], hub_task: str | None = None, config: Mapping[str, Any] | None = None,
               hub_library: str | None = None) -> tuple[KindFact, ...]:
    """What the model's own facts say it is, most believed first: its card's pipeline_tag, the Hub's computed
    pipeline_tag, its config.json architectures, its library."""
    tag, library = card.get("pipeline_tag"), card.get("library_name")
    archs = tuple(a for a in ((config or {}).get("architectures") or ()) if isinstance(a, str))
    key = (tag if isinstance(tag, str) else None, hub_task if isinstance(hub_task, str) else None, archs,
           library if isinstance(library, str) else None, hub_library if isinstance(hub_library, str) else None)
    if len(archs) > _CACHED_ITEMS or any(len(v) > _CACHED_TEXT for v in (*key[:2], *archs, *key[3:]) if v):
        return _kind_facts.__wrapped__(*key)  # an unusual card is worked out, not kept
    return _kind_facts(*key)


@lru_cache(maxsize=4096)
def _kind_facts(tag: str | None, hub_task: str | None, archs: tuple[str, ...], library: str | None,
                hub_library: str | None) -> tuple[KindFact, ...]:
    """kind_facts of the values that decide it (a handful of tasks, architectures and libraries recur across a
    lineage and a batch: each combination is worked out once)."""
    out: list[KindFact] = []
    own = tag.strip().lower() if tag is not None and tag.strip() else None
    if own is not None:
        out.append(KindFact(own, language_model_of_task(own), f"the card's pipeline_tag {_shown(own)}"))
    hub = hub_task.strip().lower() if hub_task is not None and hub_task.strip() else None
    if hub is not None and _TASK_TEXT.fullmatch(hub):
        out.append(KindFact(hub, language_model_of_task(hub), f"the Hub's computed pipeline_tag {_shown(hub)}"))
    task = task_of_architectures(archs)
    if task is not None:
        out.append(KindFact(task, language_model_of_task(task),
                            f"the config.json architectures {_shown(', '.join(archs))}"))
    for lib in (library, hub_library):
        if lib is not None and lib.strip().lower() in NON_LANGUAGE_LIBRARIES:
            out.append(KindFact(None, False, f"the library {lib.strip().lower()}"))
            break
    return tuple(out)


def _shown(text: str) -> str:
    return text if len(text) <= MAX_FACT_TEXT else text[:MAX_FACT_TEXT - 3] + "..."
