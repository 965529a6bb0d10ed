"""The contract annex (`policycheck annex`): Markdown through the sandboxed Markdown environment, DOCX through
docxtpl from the Word template `templates/annex/annex.docx`.

Pure over the annex context that `policy.annex.build_annex` makes from finished reports. `--templates DIR`
overrides `annex/annex.md.j2`, `annex/annex.docx` and any `clauses/*.md`. In Word, every value is escaped for
XML (docxtpl's autoescape in a sandboxed environment); nothing from a card is ever compiled as a template.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from policy.documents.annex import PLACEHOLDER_RE, ClauseSpec, build_annex, load_library
from policy.errors import ConfigError
from policy.model.report import Report
from policy.records import record
from policy.render.registry import RenderOptions

MARKDOWN_TEMPLATE = "annex/annex.md.j2"
DOCX_TEMPLATE = "annex/annex.docx"


def find_template(name: str, template_dirs: Sequence[str | Path] = ()) -> Path:
    """A template file by name: the user's folders first, then the shipped templates/."""
    from policy.resources import templates_dir

    for folder in (*template_dirs, templates_dir()):
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    raise ConfigError(f"template {name} not found (looked in {', '.join(map(str, template_dirs))} and the "
                      "shipped templates)")


def render_markdown(context: Mapping[str, Any], template_dirs: Sequence[str | Path] = ()) -> str:
    from policy.templating import render_document_template

    return render_document_template(MARKDOWN_TEMPLATE, context, template_dirs, "markdown")


def _rich(text: str) -> Any:
    """A paragraph for Word: the text escaped by docxtpl, every `[PARAMETER: name]` highlighted."""
    from docxtpl import RichText

    rt = RichText()
    pos = 0
    for m in PLACEHOLDER_RE.finditer(text):
        if m.start() > pos:
            rt.add(text[pos:m.start()])
        rt.add(m.group(0), highlight="yellow")  # one run property: no element-order pitfalls
        pos = m.end()
    if pos < len(text) or not text:
        rt.add(text[pos:])
    return rt


def _docx_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context with clause paragraphs as RichText (plain text, escaped as runs; placeholders marked)."""
    ctx = dict(context)
    ctx["clauses"] = [{**c, "paragraphs": [{**p, "rich": _rich(p["text"]), "number": str(p["number"])}
                                           for p in c["paragraphs"]]} for c in context["clauses"]]
    ctx["parameters"] = [{**p, "value": str(p["value"])} for p in context["parameters"]]
    return ctx


def render_docx(context: Mapping[str, Any], template_dirs: Sequence[str | Path] = ()) -> bytes:
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError

    from policy.templating import document_environment, template_error

    path = find_template(DOCX_TEMPLATE, template_dirs)
    template = DocxTemplate(str(path))
    # The sandboxed document environment that autoescapes (kind "html": markupsafe's escaping is XML escaping).
    env = document_environment(tuple(str(d) for d in template_dirs), "html")
    try:
        template.render(_docx_context(context), env, autoescape=True)
    except Exception as exc:  # the Word template's Jinja failed or went over the sandbox's budget
        if not template_dirs and not isinstance(exc, TemplateError):
            raise  # policycheck's own template: a bug
        raise template_error(exc, str(path), None, "the Word template does not render") from None
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def render(context: Mapping[str, Any], options: RenderOptions) -> str | bytes:
    """The renderer contract (policy/render/registry.py): the annex context of `build_annex` in `options.fmt`."""
    if options.fmt == "docx":
        return render_docx(context, options.templates)
    return render_markdown(context, options.templates)


@record
class AnnexDocument:
    content: str | bytes
    missing_parameters: tuple[str, ...]  # shown as [PARAMETER: name] placeholders


def render_annex(reports: Sequence[Report], params: Mapping[str, Any], fmt: str, *,
                 template_dirs: Sequence[str | Path] = (), license_names: Mapping[str, str] | None = None,
                 library: Sequence[ClauseSpec] | None = None) -> AnnexDocument:
    """The annex for `reports` in `fmt` (markdown or docx)."""
    if library is None:
        library = load_library(template_dirs)
    context = build_annex(reports, params, library, license_names=license_names, template_dirs=template_dirs)
    content = render_docx(context, template_dirs) if fmt == "docx" else render_markdown(context, template_dirs)
    return AnnexDocument(content, tuple(context["missing_parameters"]))


__all__ = ["AnnexDocument", "find_template", "render_annex", "render_docx", "render_markdown"]
