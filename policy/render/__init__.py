"""Renderers: pure functions from reports to text or bytes.

`text` and `json` stream one target at a time (`policy/render/text.py`, `policy/render/json.py`); the document
formats below build one document for the whole batch, each in its own module with the same entry point,
`render(results, options, fmt) -> str | bytes`. Templated formats load their templates through
`policy.templating.document_environment` (sandboxed; `--templates DIR` overrides any shipped template).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policy.model.report import Report, TargetError

STREAM_FORMATS = ("text", "json")
DOCUMENT_FORMATS: dict[str, str] = {
    "markdown": "policy.render.markdown",
    "html": "policy.render.html",
    "sarif": "policy.render.sarif",
    "junit": "policy.render.junit",
    "spdx-json": "policy.render.spdx",
    "spdx-tv": "policy.render.spdx",
    "cyclonedx": "policy.render.cyclonedx",
    "cyclonedx-1.7": "policy.render.cyclonedx",
    "spdx3": "policy.render.spdx3",
}
FORMATS = (*STREAM_FORMATS, *DOCUMENT_FORMATS)


@dataclass(frozen=True)
class RenderOptions:
    templates: tuple[Path, ...] = ()  # user template folders, searched before the shipped templates/
    color: bool = False
    width: int = 80
    concise: bool = False  # text: one line per target
    day: dt.date | None = None  # the run's date, for documents of a batch in which no target could be read


def render_document(fmt: str, results: Sequence[Report | TargetError], options: RenderOptions) -> str | bytes:
    """The whole batch as one document of `fmt` (a key of DOCUMENT_FORMATS)."""
    module = importlib.import_module(DOCUMENT_FORMATS[fmt])
    return module.render(results, options, fmt)  # type: ignore[no-any-return]
