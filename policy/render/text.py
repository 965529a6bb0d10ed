"""`--format text`: a readable summary per target, verdict first; colour only on a terminal.

Card values, file names and messages are written by whoever wrote the card: every value interpolated here goes
through `printable`, so control characters (ESC/CSI/OSC, C1, newlines, bidi overrides) show as visible escapes
and can neither drive the terminal nor forge a line such as `PASS  acme/forged`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from policy import __version__
from policy.report import DISCLAIMER, Report, TargetError

# C0 and DEL, C1, and the invisible format characters that reorder or hide text (bidi embeddings, overrides and
# isolates, line/paragraph separators, zero-width joiners are left alone: they cannot move the cursor).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f\ufeff]")
TREE_INDENT_CAP = 8  # levels of indentation in the lineage tree; deeper levels say their depth instead


def printable(value: object) -> str:
    """`value` as text that is safe to print: each control character becomes a visible escape (`\\x1b`,
    `\\u009b`, `\\n`), so the output has exactly the lines policycheck writes."""
    return _UNSAFE.sub(_escape_char, str(value))


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group(0)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
    if named:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def _safe(value: object) -> str:
    """`printable`, then escaped for rich markup."""
    return escape(printable(value))


def _safe_lines(text: str) -> str:
    """A multi-line block written by policycheck itself (a code frame): each line made safe, the breaks kept."""
    return "\n".join(_safe(line) for line in str(text).split("\n"))


VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "review": "bold yellow", "error": "bold magenta"}
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "note": "cyan"}


_TRAILING_BLANKS = re.compile(r"[ \t]+(?=\n)")


def render_text(results: Sequence[Report | TargetError], *, color: bool = False, width: int = 80) -> str:
    return "".join(iter_text(results, color=color, width=width))


def iter_text(results: Iterable[Report | TargetError], *, color: bool = False, width: int = 80,
              concise: bool = False) -> Iterator[str]:
    """The text output in chunks, one per target as it arrives (then the summary): a batch is never held."""
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False,
                      soft_wrap=False)

    def flush() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return _TRAILING_BLANKS.sub("", text)  # rich pads wrapped lines to the width

    counts: dict[str, int] = {}
    n = 0
    for result in results:
        if n:
            console.rule(style="dim")
        n += 1
        if isinstance(result, TargetError):
            _error(console, result)
        else:
            _report(console, result)
        v = "error" if isinstance(result, TargetError) else result.verdict
        counts[v] = counts.get(v, 0) + 1
        yield flush()
    if n > 1:
        console.rule(style="dim")
        console.print("Summary: " + ", ".join(f"{k} {v}" for v, k in sorted(counts.items())))
    # One sentence a line, so that "not legal advice" is never split by the wrap.
    console.print("[dim]" + escape(DISCLAIMER.replace("; it is not", ";\nit is not")) + "[/dim]")
    yield flush()


def _error(console: Console, err: TargetError) -> None:
    console.print(f"[{VERDICT_STYLE['error']}]ERROR[/]  {_safe(err.target)}")
    console.print(f"  {_safe(err.message)}")
    for frame in err.frames:
        console.print(_safe_lines(frame))


def _report(console: Console, r: Report) -> None:
    s = r.subject
    lic = s["license"]
    declared = lic["declared"] or "(none)"
    resolved = lic["id"] if lic["known"] else "unknown"
    console.print(f"[{VERDICT_STYLE[r.verdict]}]{r.verdict.upper()}[/]  [bold]{_safe(s['id'])}[/]  "
                  f"license {_safe(declared)} → {_safe(resolved)}")
    for notice in getattr(r, "notices", ()):
        console.print(f"  [bold yellow]![/] {_safe(notice)}")
    open_ = r.open_findings
    waived = len(r.findings) - len(open_)
    console.print(f"  {len(open_)} open finding(s)" + (f", {waived} waived" if waived else "")
                  + f", {len(r.obligations)} obligation(s)")
    if r.lineage:
        console.print(_lineage_tree(r))
    if r.findings:
        console.print("[bold]findings[/bold]")
        for f in r.findings:
            effect = {"violation": "", "review": " · review"}.get(f.kind, f" · {f.kind}")
            status = f"[dim]waived[/dim] ({f.severity})" if f.status == "waived" else \
                f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]{effect}"
            console.print(f"  {status}  [bold]{_safe(f.rule)}[/bold]")
            console.print(Padding(Text(printable(f.message)), (0, 0, 0, 4), expand=False))
            if f.citation:
                console.print(Padding(Text(printable(_cite(f.citation)), style="dim"), (0, 0, 0, 4), expand=False))
            if f.status == "waived" and f.waiver:
                console.print(Padding(Text(printable(
                    f"waived until {f.waiver.get('expires')} ({f.waiver.get('reason')}, "
                    f"{f.waiver.get('approved_by')})"), style="dim"), (0, 0, 0, 4), expand=False))
    if r.obligations:
        console.print("[bold]obligations[/bold]")
        grid = Table.grid(padding=(0, 1), pad_edge=False)
        grid.add_column(width=3, justify="right")
        grid.add_column()
        for o in r.obligations:
            source = f"{o.license} {o.citation.get('section', '')}, from {o.source}"
            if o.elected:
                source += f" ({o.elected})"
            grid.add_row("•", Text(printable(o.text)) + Text("\n" + printable(source), style="dim"))
        console.print(grid)
    for note in r.notes:
        console.print(f"[dim]note: {_safe(note)}[/dim]")
    packs = ", ".join(f"{p['id']} {p['version']}" for p in r.packs)
    console.print(f"[dim]policycheck {__version__}; packs {_safe(packs)}; evaluated {_safe(r.date)}[/dim]")


def _cite(c: dict[str, object]) -> str:
    parts = [str(c.get("license") or ""), str(c.get("section") or "")]
    quote = str(c.get("quote") or "")
    text = " ".join(p for p in parts if p)
    if quote:
        text += f": “{quote}”"
    if c.get("grade") in ("S", "UNVERIFIED"):
        text += f" [{c.get('grade')}]"
    return text


def _lineage_tree(r: Report) -> Text:
    """The lineage as an indented tree, built iteratively: any depth, nothing dropped. Indentation stops
    growing at TREE_INDENT_CAP levels; deeper lines carry their depth (`[depth 31]`) instead."""
    children: dict[str, list[dict[str, object]]] = {}
    for e in r.lineage:
        children.setdefault(str(e["child"]), []).append(e)
    root = str(r.subject["id"])
    lines = Text(printable(root))
    seen: set[str] = {root}
    # (edge, depth, guides of the levels above: True where that level has more siblings below)
    stack: list[tuple[dict[str, object], int, tuple[bool, ...]]] = []
    first = children.get(root, [])
    stack.extend((e, 1, ()) for e in reversed(first))
    while stack:
        e, depth, above = stack.pop()
        siblings = children.get(str(e["child"]), [])
        is_last = e is siblings[-1]
        shown = min(depth, TREE_INDENT_CAP)
        guides = "".join("│   " if more else "    " for more in above[:shown - 1])  # the top levels' guides
        prefix = guides + ("└── " if is_last else "├── ")
        lines.append("\n")
        lines.append(prefix, style="dim")
        if depth > TREE_INDENT_CAP:
            lines.append(f"[depth {depth}] ", style="dim")
        parent = str(e["parent"])
        lic = e.get("parent_license") or "license unknown"
        extras = [str(e["declared_in"])]
        if e.get("inferred"):
            extras.append("inferred")
        if e.get("relicensed_by"):
            extras.append("relicensed by its licensor")
        if not e.get("resolved"):
            extras.append(str(e.get("parent_status")))
        lines.append(f"{printable(e['relation'])} → {printable(parent)} [{printable(lic)}] ")
        lines.append(f"({printable(', '.join(extras))})", style="dim")
        if parent not in seen:
            seen.add(parent)
            guides_below = (*above, not is_last)[:TREE_INDENT_CAP]  # only the top levels are drawn
            stack.extend((c, depth + 1, guides_below) for c in reversed(children.get(parent, [])))
    return lines
