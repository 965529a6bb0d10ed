"""`--format text`: a readable summary per target, verdict first; colour only on a terminal."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from policy import __version__
from policy.report import DISCLAIMER, Report, TargetError

VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "review": "bold yellow", "error": "bold magenta"}
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "note": "cyan"}


def render_text(results: Sequence[Report | TargetError], *, color: bool = False, width: int = 110) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False,
                      soft_wrap=False)
    for i, result in enumerate(results):
        if i:
            console.rule(style="dim")
        if isinstance(result, TargetError):
            _error(console, result)
        else:
            _report(console, result)
    if len(results) > 1:
        counts: dict[str, int] = {}
        for r in results:
            v = "error" if isinstance(r, TargetError) else r.verdict
            counts[v] = counts.get(v, 0) + 1
        console.rule(style="dim")
        console.print("Summary: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    console.print(f"[dim]{escape(DISCLAIMER)}[/dim]")
    return buf.getvalue()


def _error(console: Console, err: TargetError) -> None:
    console.print(f"[{VERDICT_STYLE['error']}]ERROR[/]  {escape(err.target)}")
    console.print(f"  {escape(err.message)}")
    for frame in err.frames:
        console.print(escape(frame))


def _report(console: Console, r: Report) -> None:
    s = r.subject
    lic = s["license"]
    declared = lic["declared"] or "(none)"
    resolved = lic["id"] if lic["known"] else "unknown"
    console.print(f"[{VERDICT_STYLE[r.verdict]}]{r.verdict.upper()}[/]  [bold]{escape(s['id'])}[/]  "
                  f"license {escape(declared)} → {escape(str(resolved))}")
    open_ = r.open_findings
    waived = len(r.findings) - len(open_)
    console.print(f"  {len(open_)} open finding(s)" + (f", {waived} waived" if waived else "")
                  + f", {len(r.obligations)} obligation(s)")
    if r.lineage:
        console.print(_lineage_tree(r))
    if r.findings:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, expand=False)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("finding")
        for f in r.findings:
            sev = f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]"
            if f.kind == "review":
                sev += " (review)"
            if f.status == "waived":
                sev = f"[dim]waived[/] ({f.severity})"
            cite = ""
            if f.citation:
                cite = f"\n[dim]{escape(_cite(f.citation))}[/dim]"
            table.add_row(sev, escape(f.rule), escape(f.message) + cite)
        console.print(table)
    if r.obligations:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, title_justify="left")
        table.add_column("obligation")
        table.add_column("source", no_wrap=False)
        for o in r.obligations:
            table.add_row("• " + escape(o.text),
                          f"[dim]{escape(o.license)} {escape(str(o.citation.get('section', '')))}\n"
                          f"from {escape(o.source)}[/dim]")
        console.print(table)
    for note in r.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    packs = ", ".join(f"{p['id']} {p['version']}" for p in r.packs)
    console.print(f"[dim]policycheck {__version__}; packs {escape(packs)}; evaluated {r.date}[/dim]")


def _cite(c: dict[str, object]) -> str:
    parts = [str(c.get("license") or ""), str(c.get("section") or "")]
    quote = str(c.get("quote") or "")
    text = " ".join(p for p in parts if p)
    if quote:
        text += f": “{quote}”"
    if c.get("grade") in ("S", "UNVERIFIED"):
        text += f" [{c.get('grade')}]"
    return text


def _lineage_tree(r: Report) -> Tree:
    tree = Tree(escape(r.subject["id"]), guide_style="dim")
    children: dict[str, list[dict[str, object]]] = {}
    for e in r.lineage:
        children.setdefault(str(e["child"]), []).append(e)
    seen: set[str] = {r.subject["id"]}

    def add(node: Tree, node_id: str) -> None:
        for e in children.get(node_id, ()):
            parent = str(e["parent"])
            lic = e.get("parent_license") or "license unknown"
            extras = [str(e["declared_in"])]
            if e.get("inferred"):
                extras.append("inferred")
            if e.get("relicensed_by"):
                extras.append("relicensed by its licensor")
            if not e.get("resolved"):
                extras.append(str(e.get("parent_status")))
            label = (f"{e['relation']} → {escape(parent)} {escape(f'[{lic}]')} "
                     f"[dim]({escape(', '.join(extras))})[/dim]")
            branch = node.add(label)
            if parent not in seen:
                seen.add(parent)
                add(branch, parent)

    add(tree, r.subject["id"])
    return tree
