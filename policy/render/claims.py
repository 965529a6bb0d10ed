"""`policycheck claims` as text: the claims in a table (benchmark, value, what it is, where), then the evidence
about them, each with method, confidence and source. Pure; control characters made visible; fits `width`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from policy.render.registry import RenderOptions
from policy.render.text import _disclaimer, _safe, _styler, _truncate, _wrap

VERDICT_STYLE = {"pass": "bold green", "review": "bold yellow"}


def render(result: Mapping[str, Any], options: RenderOptions) -> str:
    """The renderer contract (policy/render/registry.py): `policycheck claims` as text."""
    return render_claims(result, color=options.color, width=options.width)


def render_json(result: Mapping[str, Any], options: RenderOptions) -> str:
    """`policycheck claims --format json`: the `policycheck/claims/v1` mapping, ASCII."""
    return json.dumps(result, indent=2, ensure_ascii=True) + "\n"


def render_claims(result: Mapping[str, Any], *, color: bool = False, width: int = 80) -> str:
    st = _styler(color)
    verdict = str(result.get("verdict", "review"))
    claims = list(result.get("claims") or ())
    counts = result.get("counts") or {}
    tally = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"
    head = f"{verdict.upper()}  evaluation claims of {_safe(result.get('model'))}: {len(claims)} ({tally})"
    lines = _wrap(head, width, "", "      ")
    lines[0] = st(verdict.upper(), VERDICT_STYLE.get(verdict, "bold")) + lines[0][len(verdict):]
    for note in result.get("notes") or ():
        lines.extend(_wrap(f"! {_safe(note)}", width, "  ", "    "))
    if result.get("independent_values"):
        lines.append(f"  {int(result['independent_values'])} independent value(s) for this model in --evals")
    if claims:
        lines.append(st("claims", "bold"))
        lines.append(_truncate(f"  {'benchmark':<22}{'value':>9}  {'is':<14}{'from':<13}line", width))
        for c in claims:
            value = c.get("percent")
            shown = f"{value:.1f}%" if isinstance(value, int | float) else _safe(c.get("value"))
            name = _safe(c.get("benchmark") or c.get("name") or "?")
            if c.get("benchmark") and c.get("subtask"):
                name = f"{name}/{_safe(c.get('subtask'))}"
            lines.append(_truncate(f"  {name:<22.22}{shown:>9}  {_safe(c.get('class')):<14}"
                                   f"{_safe(c.get('origin')):<13}{int(c.get('line') or 0) or '-'}", width))
            if c.get("class") in ("independent", "contradicted") and c.get("independent_source"):
                ind = c.get("independent_percent")
                ind_shown = f"{ind:.1f}%" if isinstance(ind, int | float) else _safe(c.get("independent_value"))
                lines.extend(_wrap(f"independent: {ind_shown} ({_safe(c.get('independent_source'))})", width,
                                   "    ", "      "))
    evidence = list(result.get("evidence") or ())
    lines.append(st(f"evidence ({len(evidence)})", "bold"))
    if not evidence:
        lines.append("  none")
    for e in evidence:
        lines.extend(_wrap(f"- {_safe(e.get('message'))}", width, "  ", "    "))
        lines.extend(_wrap(f"{_safe(e.get('method'))}, {_safe(e.get('confidence'))} confidence; "
                           f"{_safe(e.get('source'))}", width, "    ", "    "))
    lines.extend(_disclaimer(width))
    return "\n".join(lines) + "\n"
