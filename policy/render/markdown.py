"""`--format markdown`: the compliance report as one Markdown document (`templates/report/report.md.j2`).

The template sees the view model (`policy/render/view.py`) only, in the sandboxed Markdown environment of
`policy/templating.py`, which escapes every value it prints: text from a card (`<script>`, `{{ 7*7 }}`,
`](javascript:...)`, `|`) is shown as the text it is, never as markup, a link or a template.
"""

from __future__ import annotations

from collections.abc import Sequence

from policy.model.report import Report, TargetError
from policy.render.registry import RenderOptions
from policy.render.view import document_view
from policy.templating import render_document_template

TEMPLATE = "report/report.md.j2"


def render(results: Sequence[Report | TargetError], options: RenderOptions) -> str:
    view = document_view(results)
    text = render_document_template(TEMPLATE, view, options.templates, kind="markdown")
    return text.rstrip("\n") + "\n"
