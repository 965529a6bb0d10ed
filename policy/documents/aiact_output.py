"""`policycheck aiact`: the EU AI Act documentation pack as Markdown or one self-contained HTML page, through the
sandboxed document environment of `policy/templating.py` (`templates/aiact/aiact.md.j2`, `aiact.html.j2`), or
as JSON (the pack's context, schema `policycheck/aiact-pack/v1`).

Pure over the packs that `policy.aiact.build_pack` makes from finished reports. Every value from a card is
escaped by the environment (Markdown or HTML); `--templates DIR` overrides `aiact/*.j2`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from policy.render.registry import RenderOptions
from policy.templating import render_document_template

TEMPLATES = {"markdown": "aiact/aiact.md.j2", "html": "aiact/aiact.html.j2"}


def render(packs: Sequence[dict[str, Any]], options: RenderOptions) -> str:
    """The renderer contract (policy/render/registry.py): the packs in `options.fmt`."""
    return render_aiact(packs, options.fmt or "markdown", options.templates)


def render_aiact(packs: Sequence[dict[str, Any]], fmt: str = "markdown",
                 template_dirs: Sequence[str | Path] = ()) -> str:
    if fmt == "json":
        body: Any = packs[0] if len(packs) == 1 else list(packs)
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    text = render_document_template(TEMPLATES[fmt], {"packs": list(packs)}, template_dirs, kind=fmt)
    return text.rstrip("\n") + "\n"
