"""What kind of model a card describes, from its Hub `pipeline_tag` (and tags): is it a language model, is it
multimodal, does it perform similarly to another. License terms are scoped by such words ("any other large
language model", "multimodal models", "to perform similarly to the Model"), so the engine needs them as facts;
`None` means the cards do not say, which rules answer with *review*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

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


def pipeline_tag(card: Mapping[str, Any]) -> str | None:
    tag = card.get("pipeline_tag")
    return tag.strip().lower() if isinstance(tag, str) and tag.strip() else None


def _tags(card: Mapping[str, Any]) -> Iterable[str]:
    tags = card.get("tags")
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list):
        return ()
    return (t.strip().lower() for t in tags[:256] if isinstance(t, str))


def is_language_model(card: Mapping[str, Any]) -> bool | None:
    tag = pipeline_tag(card)
    if tag in LANGUAGE_TASKS:
        return True
    if tag in NON_LANGUAGE_TASKS:
        return False
    return None


def is_multimodal(card: Mapping[str, Any], name: str = "") -> bool | None:
    tag = pipeline_tag(card)
    if tag in MULTIMODAL_TASKS or any(t in MULTIMODAL_TAGS for t in _tags(card)) or _MULTIMODAL_NAME.search(name):
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
