"""`--format text`: a readable summary per target, verdict first; colour only when asked for.

Per target: the verdict line, the notices that qualify it, which policy file applied and the intended use
assumed, then the findings with the decisive ones first (open violations by severity, then those that need a
person, then the rest), each with its citation and remediation; waived findings in their own group with who
approved them, why and until when; the lineage tree, the obligations, the notes, the commit shas evaluated and
the versions. `concise=True` prints one line per target instead. A batch ends with a summary that names the
models in each group and says once the notes that every report carried.

A pure renderer: it never decides anything the report does not say. Plain string building (greedy word wrap,
a tiny ANSI helper), so a text batch costs about what a JSON batch does.

Card values, file names and messages are written by whoever wrote the card: every value interpolated here goes
through `printable` (`policy/textsafe.py`, the one rule for hostile text), so control characters (ESC/CSI/OSC,
C1, newlines, bidi and other invisible format characters) show as visible escapes and can neither drive the
terminal nor forge a line such as `PASS  acme/forged`. The only escape sequences in the output are the colours
this module writes, and only when `color=True`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from policy import __version__
from policy.model.citations import describe_source, grade_meaning, is_own_rule
from policy.model.report import (
    DISCLAIMER,
    Finding,
    LineageEdge,
    PolicySummary,
    Report,
    TargetError,
    plain_verdict,
    status_words,
)
from policy.model.vocab import OUTCOME_RANK, decisive, grade_rank, severity_rank
from policy.render.registry import RenderOptions
from policy.textsafe import printable, printable_lines

_WHOLE = re.compile(r"[/\\]")  # words never cut by the wrap: paths, links, `org/name` ids
TREE_INDENT_CAP = 8  # levels of indentation in the lineage tree; deeper levels say their depth instead


def _safe(value: object) -> str:
    """A value for the text output (`printable`; the output is plain text, so nothing else needs escaping)."""
    return printable("" if value is None else value)


# -- colour ------------------------------------------------------------------------------------------------
_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "magenta": "35", "cyan": "36"}
VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "review": "bold yellow", "error": "bold magenta"}
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "note": "cyan"}
VERDICT_ORDER = tuple(OUTCOME_RANK)  # the summary names the groups that need action first

Style = Callable[[str, str], str]


def _styler(color: bool) -> Style:
    if not color:
        return lambda text, style: text
    cache: dict[str, str] = {}

    def style(text: str, spec: str) -> str:
        if not text or not spec:
            return text
        start = cache.get(spec)
        if start is None:
            start = cache[spec] = "\x1b[" + ";".join(_SGR[s] for s in spec.split()) + "m"
        return f"{start}{text}\x1b[0m"

    return style


# -- width and wrapping ------------------------------------------------------------------------------------
def _cells(text: str) -> int:
    """Terminal columns of `text`: wide (East Asian) characters count two. Combining marks count one, so a
    line never takes more columns than it has characters or than the terminal has."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")


def _fold(word: str, room: int) -> list[str]:
    """A word wider than `room` cut into pieces that fit."""
    if word.isascii():
        return [word[i:i + room] for i in range(0, len(word), room)]
    pieces, cur, w = [], "", 0
    for ch in word:
        cw = _cells(ch)
        if w + cw > room and cur:
            pieces.append(cur)
            cur, w = "", 0
        cur += ch
        w += cw
    if cur:
        pieces.append(cur)
    return pieces


def _wrap(text: str, width: int, indent: str = "", cont: str | None = None) -> list[str]:
    """`text` (already printable) greedily wrapped at spaces to `width` columns: the first line starts with
    `indent`, the others with `cont` (default: `indent`). Runs of spaces are kept inside a line."""
    if _cells(indent) + _cells(text) <= width:
        return [(indent + text).rstrip()]
    return _wrap_words(text.split(" "), width, indent, cont)


def _wrap_words(words: Sequence[str], width: int, indent: str = "", cont: str | None = None) -> list[str]:
    """Greedy wrap of `words` (each kept whole unless it is wider than a line on its own)."""
    cont = indent if cont is None else cont
    lines: list[str] = []
    cur, cur_w, start = indent, _cells(indent), True
    cont_w = _cells(cont)
    for word in words:
        if not word:
            if not start:  # a run of spaces inside a line is kept; at a line start it is dropped
                cur += " "
                cur_w += 1
            continue
        ww = _cells(word)
        if not start and cur_w + 1 + ww <= width:
            cur += " " + word
            cur_w += 1 + ww
            continue
        if not start:
            lines.append(cur.rstrip())
            cur, cur_w = cont, cont_w
        room = max(width - cur_w, 8)
        if ww <= room:
            cur += word
            cur_w += ww
        elif _WHOLE.search(word):  # a path, link or id is never cut (it must work when copied): less indent
            keep = max(0, min(cur_w, width - ww))
            cur, cur_w = cur[:keep] + word, keep + ww
        else:  # wider than the room left: cut it, the rest goes on continuation lines
            first = _fold(word, room)[0]
            lines.append(cur + first)
            pieces = _fold(word[len(first):], max(width - cont_w, 8))
            lines.extend(cont + piece for piece in pieces[:-1])
            cur, cur_w = cont + pieces[-1], cont_w + _cells(pieces[-1])
        start = False
    if cur.strip() or not lines:
        lines.append(cur.rstrip())
    return lines


def _truncate(text: str, width: int) -> str:
    """One line of at most `width` columns, cut with an ellipsis."""
    if _cells(text) <= width:
        return text
    out, w = "", 0
    for ch in text:
        cw = _cells(ch)
        if w + cw > width - 1:
            break
        out += ch
        w += cw
    return out.rstrip() + "…"


# -- the stream --------------------------------------------------------------------------------------------
def render_text(results: Sequence[Report | TargetError], *, color: bool = False, width: int = 80,
                concise: bool = False) -> str:
    return "".join(iter_text(results, color=color, width=width, concise=concise))


class _Notes:
    """Which notes every report of the batch carries: those are said once, after the batch. Reports are
    offered in order (`offer`, up to one ahead of rendering); each prints in place (`in_place`) the notes that
    are not common. A note that stops being common after some reports were offered is said after the batch
    for the models that carried it (and those not yet rendered leave it to that line)."""

    def __init__(self) -> None:
        self.common: dict[str, None] | None = None  # insertion-ordered set
        self.rendered: list[str] = []  # ids of the reports rendered so far with the common notes held back
        self.pending: list[tuple[str, set[str]]] = []  # offered, not yet rendered: (id, notes left to the end)
        self.partial: list[tuple[str, list[str]]] = []  # (note, the models it was held back for)

    def offer(self, report: Report) -> None:
        notes = report.notes
        if self.common is None:
            self.common = dict.fromkeys(notes)
        else:
            for note in [n for n in self.common if n not in notes]:
                del self.common[note]
                if not self.rendered:  # nobody held it back yet: the reports not yet written say it
                    continue
                self.partial.append((note, [*self.rendered, *(name for name, _ in self.pending)]))
                for _, deferred in self.pending:
                    deferred.add(note)
        self.pending.append((printable(report.subject.id), set()))

    def in_place(self, report: Report) -> list[str]:
        name, deferred = self.pending.pop(0)
        self.rendered.append(name)
        common = self.common or {}
        return [n for n in report.notes if n not in common and n not in deferred]


def render(results: Iterable[Report | TargetError], options: RenderOptions) -> Iterator[str]:
    """The renderer contract (policy/render/registry.py): the text output, streamed."""
    return iter_text(results, color=options.color, width=options.width, concise=options.concise)


def iter_text(results: Iterable[Report | TargetError], *, color: bool = False, width: int = 80,
              concise: bool = False) -> Iterator[str]:
    """The text output in chunks, one per target as it arrives (then the summary): a batch is never held. The
    next result is read before the current one is written, to know whether this is a batch."""
    st = _styler(color)
    width = max(int(width), 40)
    rule = st("─" * width, "dim") + "\n"
    it = iter(results)
    current = next(it, None)
    following = next(it, None) if current is not None else None
    batch = following is not None
    notes = _Notes()
    groups: dict[str, list[str]] = {}
    n = 0
    if batch:
        for r in (current, following):
            if isinstance(r, Report):
                notes.offer(r)
    while current is not None:
        if isinstance(current, TargetError):
            verdict, name = "error", printable(current.target)
            lines = _error_concise(current, st, width) if concise else _error(current, st, width)
        else:
            verdict, name = current.verdict, printable(current.subject.id)
            own = notes.in_place(current) if batch else list(current.notes)
            lines = _concise(current, st, width) if concise else _report(current, st, width, own)
        groups.setdefault(verdict, []).append(name)
        chunk = "\n".join(lines) + "\n"
        if n and not concise:
            chunk = rule + chunk
        n += 1
        yield chunk
        current, following = following, (next(it, None) if following is not None else None)
        if isinstance(following, Report):
            notes.offer(following)
    tail: list[str] = []
    if n > 1:
        if not concise:
            tail.append(rule.rstrip("\n"))
        tail.extend(_summary(groups, st, width, n))
        tail.extend(_batch_notes(notes, st, width))
    tail.extend(st(line, "dim") for line in _disclaimer(width))
    yield "\n".join(tail) + "\n"


def _summary(groups: Mapping[str, list[str]], st: Style, width: int, n: int) -> list[str]:
    order = [v for v in VERDICT_ORDER if v in groups] + sorted(v for v in groups if v not in VERDICT_ORDER)
    lines = [f"Summary: {n} targets: " + ", ".join(f"{len(groups[v])} {v}" for v in order)]
    for v in order:
        ids = groups[v]
        label = f"{v} ({len(ids)}):"
        words = [label, *(f"{i}," for i in ids[:-1]), ids[-1]]
        wrapped = _wrap_words(words, width, "  ", "      ")
        wrapped[0] = "  " + st(label, VERDICT_STYLE.get(v, "bold")) + wrapped[0][2 + len(label):]
        lines.extend(wrapped)
    return lines


def _batch_notes(notes: _Notes, st: Style, width: int) -> list[str]:
    lines: list[str] = []
    every = "every report" if len(notes.rendered) > 1 else ", ".join(notes.rendered)
    for note in notes.common or ():
        lines.extend(_wrap(f"note ({every}): {printable(note)}", width, "", "  "))
    for note, models in notes.partial:
        lines.extend(_wrap(f"note ({', '.join(models)}): {printable(note)}", width, "", "  "))
    return [st(line, "dim") for line in lines]


def _disclaimer(width: int) -> list[str]:
    """The disclaimer, its clauses packed into lines: "it is not legal advice" is never split by the wrap."""
    clauses = DISCLAIMER.replace("; it is not", ";\nit is not").replace(". Findings", ".\nFindings").split("\n")
    lines: list[str] = []
    for clause in clauses:
        if lines and _cells(lines[-1]) + 1 + _cells(clause) <= width and not lines[-1].endswith(";"):
            lines[-1] += " " + clause
        else:
            lines.extend(_wrap(clause, width))
    return lines


# -- one target --------------------------------------------------------------------------------------------
def _error(err: TargetError, st: Style, width: int) -> list[str]:
    lines = _wrap(f"ERROR  {printable(err.target)}", width, "", "       ")
    lines[0] = st("ERROR", VERDICT_STYLE["error"]) + lines[0][5:]
    lines.extend(_wrap(printable(err.message), width, "  ", "    "))
    for frame in err.frames:  # a header line (wrapped), then the code frame as it is: its caret must align
        header, *code = printable_lines(frame).split("\n")
        lines.extend(_wrap(header, width, "", "    "))
        lines.extend(line.rstrip() for line in code)
    return lines


def _error_concise(err: TargetError, st: Style, width: int) -> list[str]:
    target, message = printable(err.target), printable(err.message)
    detail = message if message.startswith(target) else f"{target}  {message}"  # `file:line:col: ...`
    line = _truncate(f"{'ERROR':<7} {detail}", width)
    return [st("ERROR", VERDICT_STYLE["error"]) + line[5:]]


def _license_text(r: Report) -> str:
    lic = r.subject.license
    declared = lic.declared or "(none)"
    resolved = (lic.id or lic.resolved or "?") if lic.known else "unknown"
    return f"license {_safe(declared)} → {_safe(resolved)}"


def _concise(r: Report, st: Style, width: int) -> list[str]:
    v = r.verdict.upper()
    text = f"{v:<7} {_safe(r.subject.id)}"
    # Under a pass the line still names the most severe open violation below --fail-on, if there is one.
    f = r.decisive() or decisive(r.findings, "review")
    if f is not None:
        message = f.message
        subject = r.subject.id
        if subject and message.startswith(subject + " "):  # the id is already on the line
            message = message[len(subject) + 1:]
        text += f"  {f.severity} {_safe(f.rule)}: {_safe(message)}"
    elif r.notices:
        text += f"  ! {_safe(r.notices[0])}"
    line = _truncate(text, width)
    return [st(v, VERDICT_STYLE.get(r.verdict, "bold")) + line[len(v):]]


def _groups(r: Report) -> list[tuple[str, list[Finding]]]:
    """The findings in the order a reader needs them: open violations by severity, open findings that need a
    person, the other open findings, then the waived ones."""
    def by_severity(items: list[Finding]) -> list[Finding]:  # the decisive one first (vocab.decisive)
        return sorted(items, key=lambda f: (severity_rank(f.severity), grade_rank(f.citation)))  # stable

    open_ = r.open_findings
    groups = [
        ("violations", by_severity([f for f in open_ if f.kind == "violation"])),
        ("needs review", by_severity([f for f in open_ if f.kind == "review"])),
        ("evidence (needs review)", by_severity([f for f in open_ if f.kind == "evidence"])),
        ("other findings", by_severity([f for f in open_ if f.kind not in ("violation", "review", "evidence")])),
        ("waived", by_severity([f for f in r.findings if f.status != "open"])),
    ]
    return [(name, items) for name, items in groups if items]


def _use_text(policy: PolicySummary) -> str:
    use = policy.use
    if not use:
        return "intended use: not recorded"
    parts = [str(k) if v else f"not {k}" for k, v in use.items()]
    how = "declared" if policy.use_declared else "assumed: none declared"
    return f"intended use: {_safe(', '.join(parts))} ({how})"


def _report(r: Report, st: Style, width: int, notes: Sequence[str]) -> list[str]:
    v = r.verdict.upper()
    lines = _wrap(f"{v}  {_safe(r.subject.id)}  {_license_text(r)}", width, "", "      ")
    lines[0] = st(v, VERDICT_STYLE.get(r.verdict, "bold")) + lines[0][len(v):]
    for notice in r.notices:  # why the verdict rests on less than the card, first
        wrapped = _wrap(f"! {_safe(notice)}", width, "  ", "    ")
        wrapped[0] = "  " + st("!", "bold yellow") + wrapped[0][3:]
        lines.extend(wrapped)
    lines.extend(_wrap(_safe(plain_verdict(r)), width, "  ", "    "))

    open_ = r.open_findings
    waived = len(r.findings) - len(open_)
    counts = f"{len(open_)} open finding(s)"
    if open_:
        by_sev: dict[str, int] = {}
        for f in open_:
            by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
        counts += " (" + ", ".join(f"{k} {s}" for s, k in sorted(
            by_sev.items(), key=lambda kv: severity_rank(kv[0]))) + ")"
    if waived:
        counts += f", {waived} waived"
    counts += f", {len(r.obligations)} obligation(s)"
    lines.extend(_wrap(counts, width, "  ", "    "))
    policy = r.policy
    fail_on = policy.fail_on
    lines.extend(_wrap(f"policy file: {_safe(policy.file or 'none')}"
                       + (f" (fails at {_safe(fail_on)})" if fail_on else ""), width, "  ", "    "))
    lines.extend(_wrap(_use_text(policy), width, "  ", "    "))

    for name, items in _groups(r):
        lines.append(st(f"{name} ({len(items)})", "bold"))
        for f in items:
            lines.extend(_finding(f, st, width))
    if r.lineage:
        lines.append(st("lineage", "bold"))
        lines.extend(_lineage_tree(r, st, width))
    if r.obligations:
        lines.append(st(f"obligations ({len(r.obligations)})", "bold"))
        for o in r.obligations:
            lines.extend(_wrap(f"• {_safe(o.text)}", width, "  ", "    "))
            source = f"{o.license} {(o.citation or {}).get('section', '')}, from {o.source}"
            if o.elected:
                source += f" ({o.elected})"
            lines.extend(st(line, "dim") for line in _wrap(_safe(source), width, "    ", "      "))
    for note in notes:
        lines.extend(st(line, "dim") for line in _wrap(f"note: {_safe(note)}", width, "", "  "))
    lines.extend(st(line, "dim") for line in _commits(r, width))
    packs = ", ".join(f"{p.id} {p.version}" for p in r.packs) or "none"
    footer = f"policycheck {__version__}; packs {_safe(packs)}"
    if r.catalog_digest:
        footer += f"; catalog {_safe(r.catalog_digest[:12])}"
    footer += f"; evaluated {_safe(r.date)}"
    lines.extend(st(line, "dim") for line in _wrap(footer, width, "", "  "))
    return lines


def _finding(f: Finding, st: Style, width: int) -> list[str]:
    effect = "" if f.kind in ("violation", "review") else f" · {_safe(f.kind)}"
    label = f"{_safe(f.severity)}{effect}" if f.status == "open" else f"waived ({_safe(f.severity)}{effect})"
    lines = _wrap(f"{label}  {_safe(f.rule)}", width, "  ", "    ")
    lines[0] = "  " + st(label, "dim" if f.status != "open" else SEVERITY_STYLE.get(f.severity, "")) \
        + lines[0][2 + len(label):]
    lines.extend(_wrap(_safe(f.message), width, "    "))
    if f.citation:
        lines.extend(st(line, "dim") for line in _citation(f.citation, width))
    if f.remediation:
        lines.extend(_wrap(f"fix: {_safe(f.remediation)}", width, "    ", "      "))
    if f.status != "open":
        w = f.waiver or {}
        approved = w.get("approved_by") or "(no approver recorded)"
        expires = w.get("expires") or "(no expiry recorded)"
        lines.extend(_wrap(f"waived by {_safe(approved)} until {_safe(expires)}", width, "    ", "      "))
        why = ": ".join(_safe(x) for x in (w.get("reason"), w.get("justification")) if x)
        if w.get("ticket"):
            why += f" (ticket {_safe(w['ticket'])})"
        lines.extend(_wrap(f"why: {why or '(no reason recorded)'}", width, "    ", "      "))
    return lines


def _citation(c: Mapping[str, Any], width: int) -> list[str]:
    """`cited:` the clause (license, section, quote, grade and what the grade means) or, for policycheck's own
    rule, that rule; then `source:` named as pinned, web page or moving branch (policy/model/citations.py)."""
    if is_own_rule(c):
        pack = f" ({_safe(c['pack'])} pack)" if c.get("pack") else ""
        text = f"rule: policycheck's own rule {_safe(c.get('rule'))}{pack}, not a license clause"
        if c.get("section"):
            text += f": {_safe(c['section'])}"
    else:
        where = " ".join(_safe(c[k]) for k in ("license", "section") if c.get(k))
        text = f"cited: {where or '(no section)'}"
        if c.get("quote"):
            text += f": “{_safe(c['quote'])}”"
        if c.get("grade"):
            meaning = grade_meaning(c["grade"])
            text += f" [grade {_safe(c['grade'])}{': ' + meaning if meaning else ''}]"
    lines = _wrap(text, width, "    ", "      ")
    if c.get("source"):
        label = "basis" if is_own_rule(c) else "source"
        lines.extend(_wrap(f"{label}: {_safe(describe_source(c['source']).label)}", width, "    ", "      "))
    return lines


def _commits(r: Report, width: int) -> list[str]:
    """The commit shas evaluated, so the report can be reproduced; the rows without one say where they came
    from."""
    pinned = [e for e in r.evaluated if e.revision]
    unpinned = sorted({e.source or "?" for e in r.evaluated if not e.revision})
    lines: list[str] = []
    if pinned:
        lines.append(f"commits evaluated ({len(pinned)}):")
        for e in pinned:
            lines.extend(_wrap_words([_safe(e.id), _safe(e.revision)], width, "  ", "    "))
    missing = len(r.evaluated) - len(pinned)
    if missing:
        lead = f"  and {missing} model(s)" if pinned else f"commits evaluated: none; {missing} model(s)"
        lines.extend(_wrap(f"{lead} without a commit sha (source: {_safe(', '.join(unpinned))})", width,
                           "", "    "))
    return lines


def _lineage_tree(r: Report, st: Style, width: int) -> list[str]:
    """The lineage as an indented tree, built iteratively: any depth, nothing dropped. Indentation stops
    growing at TREE_INDENT_CAP levels; deeper lines carry their depth (`[depth 31]`) instead. A long entry
    wraps under its own text."""
    children: dict[str, list[LineageEdge]] = {}
    for e in r.lineage:
        children.setdefault(e.child, []).append(e)
    root = r.subject.id
    lines = _wrap(printable(root), width)
    seen: set[str] = {root}
    # (edge, depth, guides of the levels above: True where that level has more siblings below)
    stack: list[tuple[LineageEdge, int, tuple[bool, ...]]] = []
    stack.extend((e, 1, ()) for e in reversed(children.get(root, [])))
    while stack:
        e, depth, above = stack.pop()
        siblings = children.get(e.child, [])
        is_last = e is siblings[-1]
        shown = min(depth, TREE_INDENT_CAP)
        guides = "".join("│   " if more else "    " for more in above[:shown - 1])  # the top levels' guides
        prefix = guides + ("└── " if is_last else "├── ")
        cont = guides + ("    " if is_last else "│   ") + "    "
        parent = e.parent
        lic = e.parent_license or "license unknown"
        extras = [e.declared_in]
        if e.inferred:
            extras.append("inferred")
        if e.relicensed_by:
            extras.append("relicensed by its licensor")
        if e.parent_status != "ok" or not e.resolved:
            extras.append(status_words(e.parent_status, e.resolved) or e.parent_status)
        words = [f"[depth {depth}]"] if depth > TREE_INDENT_CAP else []
        words.append(f"{printable(e.relation)} → {printable(parent)}")
        words.append(f"[{printable(lic)}]")
        words.extend(f"({printable(', '.join(extras))})".split(" "))
        wrapped = _wrap_words(words, width, prefix, cont)
        wrapped[0] = st(prefix, "dim") + wrapped[0][len(prefix):]
        lines.extend(wrapped)
        if parent not in seen:
            seen.add(parent)
            guides_below = (*above, not is_last)[:TREE_INDENT_CAP]  # only the top levels are drawn
            stack.extend((c, depth + 1, guides_below) for c in reversed(children.get(parent, [])))
    return lines
