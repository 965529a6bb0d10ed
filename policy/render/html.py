"""`--format html`: the compliance report as one self-contained HTML file (`templates/report/report.html.j2`).

Inline CSS (A4 print rules included), the lineage drawn as inline SVG (`policy/render/svg.py`), no script and no
external resource of any kind; a Content-Security-Policy in the page forbids both. The template runs in the
sandboxed HTML environment of `policy/templating.py`, which autoescapes every value.
"""

from __future__ import annotations

from collections.abc import Sequence

from policy.model.report import Report, TargetError
from policy.render.registry import RenderOptions
from policy.render.svg import lineage_svg
from policy.render.view import document_view
from policy.templating import render_document_template

TEMPLATE = "report/report.html.j2"


def render(results: Sequence[Report | TargetError], options: RenderOptions) -> str:
    view = document_view(results)
    for target in view["targets"]:
        if target["type"] == "report":
            target["svg"] = lineage_svg(target["lineage"], str(target["index"]))
    text = render_document_template(TEMPLATE, view, options.templates, kind="html")
    return text.rstrip("\n") + "\n"
