"""The lineage as an inline SVG picture: the subject on top, each ancestor in the layer of its shortest path from
it, an arrow from each model to what it derives from, labelled with the relation; the failing edges (into the
ancestor of an open violation) drawn red and dashed.

Pure: the view model's `lineage` (`policy/render/view.py`) in, markup out. Every piece of text goes through
`markupsafe.escape`, so a model id such as `acme/<script>` is text in the picture, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

NODE_W, NODE_H = 300, 46
GAP_X, GAP_Y = 30, 64
MARGIN = 12
PER_ROW = 4
MAX_NODES = 60  # a wider lineage is drawn in part; the list under the picture has every node
ID_CHARS, LICENSE_CHARS = 42, 46


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def lineage_svg(lineage: Mapping[str, Any], key: str = "1") -> Markup:
    """An `<svg>` element for one target's lineage; `key` makes its element ids unique in the document."""
    nodes = list(lineage.get("nodes") or ())[:MAX_NODES]
    hidden = max(0, len(lineage.get("nodes") or ()) - len(nodes))
    layers: dict[int, list[Mapping[str, Any]]] = {}
    for n in nodes:
        layers.setdefault(int(n["layer"]), []).append(n)
    # A wide layer wraps onto several rows of at most PER_ROW nodes, so that the picture stays readable.
    rows = [layers[k][i:i + PER_ROW] for k in sorted(layers) for i in range(0, len(layers[k]), PER_ROW)]
    width_nodes = max((len(r) for r in rows), default=1)
    width = MARGIN * 2 + width_nodes * NODE_W + (width_nodes - 1) * GAP_X
    height = MARGIN * 2 + len(rows) * NODE_H + max(len(rows) - 1, 0) * GAP_Y + (20 if hidden else 0)
    pos: dict[str, tuple[float, float]] = {}
    for row, members in enumerate(rows):
        span = len(members) * NODE_W + (len(members) - 1) * GAP_X
        x0 = (width - span) / 2
        for i, n in enumerate(members):
            pos[str(n["id"])] = (x0 + i * (NODE_W + GAP_X), MARGIN + row * (NODE_H + GAP_Y))

    key = escape(key)
    failing = sum(1 for e in lineage.get("edges") or () if e.get("failing"))
    label = f"Lineage of {nodes[0]['id']}" if nodes else "Lineage"
    if failing:
        label += f"; {failing} failing edge(s) marked in red"
    parts = [Markup('<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" viewBox="0 0 {w} {h}" '
                    'width="{w}" height="{h}" aria-label="{label}">').format(w=int(width), h=int(height), label=label),
             Markup("<title>{}</title>").format(label),
             Markup('<defs><marker id="arrow-{k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
                    'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
                    '</marker><marker id="arrow-fail-{k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
                    'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#b00020"/>'
                    '</marker></defs>').format(k=key)]
    for e in lineage.get("edges") or ():
        child, parent = str(e.get("child")), str(e.get("parent"))
        if child not in pos or parent not in pos:
            continue
        cx, cy = pos[child]
        px, py = pos[parent]
        x1, y1 = cx + NODE_W / 2, cy + NODE_H
        x2, y2 = px + NODE_W / 2, py
        if py <= cy:  # an edge to a node in the same or an earlier layer (a shared ancestor): go round the side
            x1, y1, x2, y2 = cx + NODE_W, cy + NODE_H / 2, px + NODE_W, py + NODE_H / 2
        fail = bool(e.get("failing"))
        cls = "edge failing" if fail else "edge"
        stroke = ('stroke="#b00020" stroke-width="3" stroke-dasharray="7 4"' if fail
                  else 'stroke="#555" stroke-width="1.5"')
        marker = f"arrow-fail-{key}" if fail else f"arrow-{key}"
        text = str(e.get("relation") or "") + (" ✗ failing" if fail else "")
        parts.append(Markup('<g class="{cls}"><title>{title}</title>'
                            '<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {stroke} '
                            'marker-end="url(#{marker})"/>'
                            '<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" font-size="12" fill="{fill}">'
                            '{text}</text></g>').format(
            cls=cls, title=f"{child} {e.get('relation')} of {parent}" + (" (failing)" if fail else ""),
            x1=x1, y1=y1, x2=x2, y2=y2, stroke=Markup(stroke), marker=marker,
            tx=(x1 + x2) / 2 + (-8 if x2 < x1 else 8), ty=(y1 + y2) / 2 + 4,
            anchor="end" if x2 < x1 else "start", fill="#b00020" if fail else "#333", text=text))
    for n in nodes:
        x, y = pos[str(n["id"])]
        fail = bool(n.get("failing"))
        cls = "node failing" if fail else ("node unknown" if not n.get("license_known") else "node")
        fill = "#fdecee" if fail else ("#fff8e1" if not n.get("license_known") else "#f3f6fa")
        stroke = "#b00020" if fail else "#4a5568"
        parts.append(Markup('<g class="{cls}"><title>{title}</title>'
                            '<rect x="{x:.1f}" y="{y:.1f}" width="{w}" height="{h}" rx="6" fill="{fill}" '
                            'stroke="{stroke}" stroke-width="{sw}"/>'
                            '<text x="{tx:.1f}" y="{ty1:.1f}" text-anchor="middle" font-size="13" '
                            'font-weight="bold" fill="#111">{id}</text>'
                            '<text x="{tx:.1f}" y="{ty2:.1f}" text-anchor="middle" font-size="12" fill="#333">'
                            '{lic}</text></g>').format(
            cls=cls, title=f"{n['id']}: {n['license']}", x=x, y=y, w=NODE_W, h=NODE_H, fill=fill, stroke=stroke,
            sw=2 if fail else 1, tx=x + NODE_W / 2, ty1=y + 19, ty2=y + 36, id=_short(str(n["id"]), ID_CHARS),
            lic=_short(str(n["license"]), LICENSE_CHARS)))
    if hidden:
        parts.append(Markup('<text x="{x}" y="{y}" font-size="12" fill="#333">{t}</text>').format(
            x=MARGIN, y=int(height) - 6, t=f"… and {hidden} more node(s): see the list below"))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
