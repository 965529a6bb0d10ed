"""What kind of model a card describes, from its Hub `pipeline_tag` (and tags): is it a language model, is it
multimodal. License terms are scoped by such words ("any other large language model", "multimodal models"),
so the engine needs them as facts; `None` means the card does not say, which rules answer with *review*.
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
