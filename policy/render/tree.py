"""`policycheck tree`: the audit of a Hub model's descendants in text, json, csv, markdown, html or sarif.

Renderers of the registry's `tree` formats (policy/render/registry.py), each `(audit, options)` over a
`TreeOutput`; `iter_tree(fmt, summary, rows)` is the same through the registry. Pure and streaming. The
summary (verdict, counts, the declared licenses against the root's, the top violations, the problems that
make the audit incomplete) is small and given up front; the rows come from `rows(order)`, a fresh iterator
per call (`"depth"`: by depth then id; `"preorder"`: depth-first pre-order, children right after their
parent), read one at a time and never held, so the memory of any format stays flat however many descendants
there are. Chunks are yielded as they are made (a few KB each).

Every string of a row may come from a hostile model card: each format escapes in its own way.

- text: `printable` (`policy/textsafe.py`: control, bidi and invisible format characters as visible escapes),
  every line at most `width` cells, colour only when `color=True`.
- json: `json.dumps` (ASCII, so no raw control or bidi character reaches a terminal).
- csv: line breaks become spaces, other control characters visible escapes, and a cell that a spreadsheet
  would take for a formula (`= + - @`, tab, CR, and their full-width forms) starts with an apostrophe.
- markdown: `templates/tree/tree.md.j2` in the sandboxed Markdown environment (every value escaped: `|`,
  backticks, `<`, `>`, `[`, `]`; line breaks become spaces); values are made `printable` first.
- html: `policy/render/tree_html.py` (`templates/tree/tree.html.j2`, autoescaped).
- sarif: SARIF 2.1.0 through the one builder (policy/render/sarif_log.py), one result per fail/review row (at most
  5,000: the fails, then the reviews, each in a pass over the rows); `tool` comes after `results` in the run (JSON
  key order is free) so that the rules met while streaming can be listed. A descendant has no file in the
  repository: its result points at line 1 of `policycheck.yaml` at the repository root (where it is acted on),
  with the descendant as a logical location and its Hub URL in the result's properties.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from policy import __version__
from policy.audit.rows import FALLBACK_RULES as FALLBACK_RULES
from policy.audit.rows import HUB, UNREADABLE_RULE, decisive, hub_link, rule_of, rules_of
from policy.model.report import DISCLAIMER
from policy.model.vocab import VERDICTS
from policy.records import record
from policy.render.registry import RenderOptions, formats, render
from policy.render.sarif_log import FINGERPRINT_KEY, SarifRun, location, policy_artifact, rule_descriptor
from policy.render.text import (
    TREE_INDENT_CAP,
    VERDICT_STYLE,
    Style,
    _cells,
    _disclaimer,
    _safe,
    _styler,
    _truncate,
    _wrap,
)
from policy.textsafe import printable, safe_url

Rows = Callable[[str], Iterable[Mapping[str, Any]]]
CHUNK = 16_384  # characters gathered before a chunk is yielded
VERDICT_RANK = {verdict: i for i, verdict in enumerate(VERDICTS)}
PROBLEMS_SHOWN = 10  # problems listed in text/markdown/html; the rest are counted
TALLY_SHOWN = 20  # rules and organisations listed in text/markdown/html; json has them all
VIEW_REASON_CAP = 1000  # characters of a reason in markdown/html (json and csv keep it whole)


@record
class TreeOutput:
    """What the tree formats render: the audit's summary, and `rows(order)`, a fresh iterator per call."""

    summary: Mapping[str, Any]
    rows: Rows


def render_text(audit: TreeOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_text(audit.summary, audit.rows, color=options.color, width=options.width))


def render_json(audit: TreeOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_json(audit.summary, audit.rows))


def render_csv(audit: TreeOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_csv(audit.rows))


def render_markdown(audit: TreeOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_markdown(audit.summary, audit.rows))


def render_sarif(audit: TreeOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_sarif(audit.summary, audit.rows))


def iter_tree(fmt: str, summary: Mapping[str, Any], rows: Rows, *, color: bool = False,
              width: int = 80) -> Iterator[str]:
    """Chunks of the tree audit in `fmt` (one of the registry's `tree` formats); pure, streaming."""
    if fmt not in formats("tree"):
        raise ValueError(f"unknown tree output format {fmt!r} (one of {', '.join(formats('tree'))})")
    return render("tree", fmt, TreeOutput(summary, rows), RenderOptions(color=color, width=width))  # type: ignore[return-value]


def render_tree(fmt: str, summary: Mapping[str, Any], rows: Rows, *, color: bool = False, width: int = 80) -> str:
    """The whole output as one string (for tests and small audits)."""
    return "".join(iter_tree(fmt, summary, rows, color=color, width=width))


def gather(pieces: Iterable[str], size: int = CHUNK) -> Iterator[str]:
    """`pieces` joined into chunks of about `size` characters."""
    buf: list[str] = []
    n = 0
    for piece in pieces:
        buf.append(piece)
        n += len(piece)
        if n >= size:
            yield "".join(buf)
            buf, n = [], 0
    if buf:
        yield "".join(buf)


# -- shared helpers ---------------------------------------------------------------------------------------------
# `decisive`, `rule_of` and `rules_of` (what a row's verdict is reported under, and every rule it breaks) come
# from policy/audit/rows.py, which the audit's summary counts with too.


def model_url(url: object, repo_id: object = None, endpoint: object = None) -> str | None:
    """`url` when `safe_url` lets it be a link (the audit made it from the Hub it read); else `repo_id`'s page on
    the Hub at `endpoint` (the summary's: the one the audit read; huggingface.co when none is given,
    `policy.audit.rows.hub_link`); else None."""
    if safe_url(url):
        return str(url)
    return hub_link(endpoint, repo_id) or None


def license_label(license_: object, spdx: object) -> str:
    """`declared → SPDX` of the root, made printable (rows show the declared license only: the license table
    gives the SPDX form of each)."""
    declared = _safe(license_) or "(none)"
    resolved = _safe(spdx) if spdx else "unknown"
    return declared if declared.lower() == resolved.lower() else f"{declared} → {resolved}"


def declared_label(license_: object) -> str:
    return _safe(license_) or "(no license)"


def gated_text(value: object) -> str:
    return "no" if value in (False, None, "") else _safe(value)


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return 0


def why_lines(summary: Mapping[str, Any], noun: str = "descendant") -> list[str]:
    """What qualifies the verdict (said at the top): the problems, or why the audit is incomplete or review.
    `noun` is what the audit judges (a tree audit's descendants, a Hub audit's models)."""
    problems = [str(p) for p in summary.get("problems") or ()]
    out = problems[:PROBLEMS_SHOWN]
    if len(problems) > PROBLEMS_SHOWN:
        out.append(f"… and {len(problems) - PROBLEMS_SHOWN} more problem(s)")
    complete = bool(summary.get("complete"))
    if not complete and not problems:
        out.append(f"the audit is incomplete: not every {noun} was listed or evaluated")
    counts = summary.get("counts") or {}
    if summary.get("verdict") == "review" and not problems and _int(counts.get("review")):
        out.append(f"{_int(counts.get('review'))} {noun}(s) need a person to decide")
    return out


def counts_text(summary: Mapping[str, Any]) -> str:
    c = summary.get("counts") or {}
    return (f"{_int(c.get('fail'))} fail, {_int(c.get('review'))} review, {_int(c.get('pass'))} pass "
            f"({_int(c.get('evaluated'))} evaluated of {_int(c.get('discovered'))} discovered)")


# -- text -------------------------------------------------------------------------------------------------------
_MAYBE_WIDE = re.compile("[\u1100-\U0010ffff]")  # no East Asian wide or full-width character lies below U+1100


def _width(text: str) -> int:
    """`_cells` of policy/render/text.py, without looking at each character of a line that is mostly ASCII."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in _MAYBE_WIDE.findall(text) if unicodedata.east_asian_width(ch) in "WF")


def _clip(text: str, width: int) -> str:
    """`_truncate` of policy/render/text.py (same cells, same ellipsis), fast: the listing calls it once or twice
    per row."""
    if text.isascii():
        return text if len(text) <= width else text[:width - 1].rstrip() + "…"
    if len(text) <= width and _width(text) <= width:
        return text
    w = 0
    for i, ch in enumerate(text):
        w += 2 if ch >= "\u1100" and unicodedata.east_asian_width(ch) in "WF" else 1
        if w > width - 1:
            return text[:i].rstrip() + "…"
    return text


def _pad(text: str, width: int, right: bool = False) -> str:
    text = _truncate(text, width)
    fill = " " * max(0, width - _cells(text))
    return fill + text if right else text + fill


def _text(summary: Mapping[str, Any], rows: Rows, *, color: bool, width: int) -> Iterator[str]:
    st = _styler(color)
    width = max(int(width), 40)
    root = summary.get("root") or {}
    verdict = str(summary.get("verdict") or "review")
    v = _safe(verdict.upper())
    complete = "complete" if summary.get("complete") else "INCOMPLETE"
    c = summary.get("counts") or {}
    tally = ", ".join(f"{_int(c.get(k))} {k}" for k in ("fail", "review", "pass"))
    head = _wrap(f"{v}  tree audit of {_safe(root.get('id', '?'))} ({complete}): {tally}", width, "", "      ")
    head[0] = st(v, VERDICT_STYLE.get(verdict, "bold")) + head[0][len(v):]
    lines = head
    for why in why_lines(summary):
        wrapped = _wrap(f"! {_safe(why)}", width, "  ", "    ")
        wrapped[0] = "  " + st("!", "bold yellow") + wrapped[0][3:]
        lines.extend(wrapped)
    lines.append(st("counts", "bold"))
    for key in ("fail", "review", "pass", "evaluated", "discovered"):
        lines.append(f"  {key:<11}{_int(c.get(key)):>9,}")
    lines.append(st("declared licenses", "bold"))
    lines.extend(_wrap(f"root license: {license_label(root.get('license'), root.get('spdx'))}", width, "  ",
                       "    "))
    lines.extend(_license_table(summary.get("licenses") or (), width))
    lines.extend(_tally_text(tally_view(summary), st, width))
    lines.extend(_top_text(summary.get("top_violations") or (), st, width))
    yield "\n".join(lines) + "\n"

    yield st(f"descendants ({_int(c.get('evaluated'))} evaluated, tree order)", "bold") + "\n"
    for row in rows("preorder"):
        yield "\n".join(_text_row(row, st, width)) + "\n"

    packs = ", ".join(f"{_safe(p.get('id'))} {_safe(p.get('version'))}" for p in summary.get("packs") or ()) or "none"
    footer = f"policycheck {_safe(summary.get('policycheck') or __version__)}; packs {packs}"
    if summary.get("catalog_digest"):
        footer += f"; catalog {_safe(str(summary['catalog_digest'])[:12])}"
    footer += f"; evaluated {_safe(summary.get('evaluated_at') or '?')}"
    req = summary.get("requests") or {}
    footer += f"; hub requests: {_int(req.get('listing'))} listing, {_int(req.get('fetch'))} fetch"
    if snapshot_text(summary):
        footer += f"; source: {snapshot_text(summary)}"
    o = view_summary(summary)["options"]
    footer += (f"; options: relations {o['relations']}, depth {o['depth']}, limit {o['limit']}, "
               f"min downloads {o['min_downloads']}")
    tail = [st(line, "dim") for line in _wrap(footer, width, "", "  ")]
    if root.get("sha"):
        tail.extend(st(line, "dim") for line in _wrap(f"root commit: {_safe(root['sha'])}", width, "", "  "))
    text = str(summary.get("disclaimer") or DISCLAIMER)
    disclaimer = _disclaimer(width) if text == DISCLAIMER else _wrap(_safe(text), width)
    tail.extend(st(line, "dim") for line in disclaimer)
    yield "\n".join(tail) + "\n"


def _top_text(top: Iterable[Mapping[str, Any]], st: Style, width: int) -> list[str]:
    """The summary's top violations (its fail rows, most downloads first): downloads, id, license and reason;
    nothing when there is none."""
    items = list(top)  # the summary's: a few rows
    if not items:
        return []
    lines = [st(f"top violations by downloads ({len(items)})", "bold")]
    for row in items:
        lines.extend(_wrap(f"{_int(row.get('downloads')):>11,}  {_safe(row.get('id', '?'))}  "
                           f"{declared_label(row.get('license'))}", width, "  ", " " * 15))
        if row.get("reason"):
            lines.extend(_wrap(_clip(_safe(row.get("reason")), VIEW_REASON_CAP), width, " " * 15))
    return lines


def _tally_table(items: list[Mapping[str, Any]], columns: Mapping[str, str], name: tuple[str, str], more: int,
                 width: int) -> list[str]:
    """Counts (`columns`: heading → key) then a name (heading, key) per item; `(none)` when empty; how many were
    left out (json has them all)."""
    if not items:
        return ["  (none)"]
    lines = ["  " + "".join(f"{c:>7}" for c in columns) + f"  {name[0]}"]
    for x in items:
        numbers = "  " + "".join(f"{_int(x.get(key)):>7,}" for key in columns.values())
        label = str(x[name[1]])
        if _width(numbers) + 2 + _width(label) <= width:
            lines.append(f"{numbers}  {label}")
        else:  # the name on lines of its own
            lines.extend([numbers, *_wrap(label, width, "    ")])
    if more:
        lines.extend(_wrap(f"… and {more:,} more (--format json lists every {name[0]})", width, "  ", "    "))
    return lines


def _tally_text(view: Mapping[str, Any], st: Style, width: int) -> list[str]:
    """The counts by rule and by organisation (the first `TALLY_SHOWN` of each; json has them all)."""
    if not view["tallied"]:  # a summary of an older policycheck
        return []

    def head(text: str) -> list[str]:
        return [st(line, "bold") for line in _wrap(text, width, "", "  ")]

    n_rules = len(view["by_rule"]) + view["rules_more"]
    lines = head(f"by rule ({n_rules:,} rule{'' if n_rules == 1 else 's'})")
    lines.extend(_tally_table(view["by_rule"], {"rows": "descendants", "fail": "fail", "review": "review"},
                              ("rule", "rule"), view["rules_more"], width))
    lines.extend(head(f"by organisation ({view['orgs_flagged']:,} of {view['orgs_total']:,} with a fail or review "
                      "row)"))
    lines.extend(_tally_table(view["by_org"], {"fail": "fail", "review": "review", "pass": "pass"},
                              ("organisation", "org"), view["orgs_more"], width))
    return lines


def _license_table(licenses: Iterable[Mapping[str, Any]], width: int, *, root: bool = True) -> list[str]:
    """The declared licenses with their counts; `root`: each said the same as the root's or not (an audit
    without a single root, such as a Hub audit, has no such column)."""
    items = list(licenses)  # the summary's: small
    if not items:
        return ["  (no descendant evaluated)" if root else "  (no model evaluated)"]
    nums = ("  root" if root else "") + "  count   pass   fail review"  # 34 cells with the root's column
    room = width - 2 - len(nums) - 2
    if room < 24:  # too narrow for a table: two lines a license
        lines: list[str] = []
        for x in items:
            same = ("" if not root else " (same as the root's)" if x.get("same_as_root")
                    else " (differs from the root's)")
            lines.extend(_wrap(f"{license_label(x.get('license'), x.get('spdx'))}{same}", width, "  ", "    "))
            lines.append(_clip(f"    {_int(x.get('count')):,}: {_int(x.get('pass')):,} pass, {_int(x.get('fail')):,} "
                               f"fail, {_int(x.get('review')):,} review", width))
        return lines
    decl = [_safe(x.get("license")) or "(none)" for x in items]
    spdx = [_safe(x.get("spdx")) if x.get("spdx") else "unknown" for x in items]
    w1 = min(max(_cells("declared"), *(_cells(d) for d in decl)), max(8, room // 2))
    w2 = max(6, min(max(_cells("spdx"), *(_cells(s) for s in spdx)), room - w1))
    lines = [_truncate(f"  {_pad('declared', w1)}  {_pad('spdx', w2)}{nums}", width)]
    for x, d, s in zip(items, decl, spdx, strict=True):
        same = ("  same" if x.get("same_as_root") else "  diff") if root else ""
        line = (f"  {_pad(d, w1)}  {_pad(s, w2)}{same}{_int(x.get('count')):>7,}{_int(x.get('pass')):>7,}"
                f"{_int(x.get('fail')):>7,}{_int(x.get('review')):>7,}")
        lines.append(_truncate(line, width))
    return lines


def _text_row(row: Mapping[str, Any], st: Style, width: int, *, flat: bool = False,
              also: Iterable[str] = ()) -> list[str]:
    """A row's lines: verdict, id, declared license, downloads, relation and the rest, then its reason.
    Indented by its depth (the tree, in pre-order), or `flat` (a listing in another order: two spaces, the depth
    said in words, 0 for a model with no parent, whose relation is then not said); `also` (printable words)
    are said after the rest."""
    depth = max(1, _int(row.get("depth")))
    indent = "  " if flat else "  " * min(depth, TREE_INDENT_CAP)
    verdict = str(row.get("verdict") or "review")
    v = _safe(verdict.upper())
    deep = f"[depth {depth}] " if depth > TREE_INDENT_CAP and not flat else ""
    orphan = flat and not row.get("parent") and not row.get("relation")
    extras = [] if orphan else [_safe(row.get("relation") or "?")]
    if row.get("inferred"):
        extras.append("inferred")
    if row.get("gated"):
        extras.append(f"gated {gated_text(row.get('gated'))}")
    if row.get("source") == "error":
        extras.append("unreadable")
    if flat:
        extras.append(f"depth {max(0, _int(row.get('depth')))}")
    extras.extend(also)
    words = (f"{v:<6} {deep}{_safe(row.get('id', '?'))}  {declared_label(row.get('license'))}, "
             f"{_int(row.get('downloads')):,} downloads, {', '.join(extras)}")
    more = indent + "       "  # continuation lines start under the id
    lines = _wrap(words, width, indent, more)
    lines[0] = indent + st(v, VERDICT_STYLE.get(verdict, "bold")) + lines[0][len(indent) + len(v):]
    reason = row.get("reason")
    if reason:
        lines.extend(_wrap(_clip(_safe(reason), VIEW_REASON_CAP), width, more))
    return lines


# -- json -------------------------------------------------------------------------------------------------------
def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, default=str)


def _json(summary: Mapping[str, Any], rows: Rows, *, order: str = "depth",
          schema: str = "policycheck/tree/v1") -> Iterator[str]:
    """The summary's keys (its `schema` first; the `schema` given when it has none), then `"rows"`: each row
    of `rows(order)` on a line of its own."""
    head = {"schema": summary.get("schema", schema)}
    head.update((k, v) for k, v in summary.items() if k not in ("schema", "rows"))
    yield "{" + ", ".join(f"{_dumps(k)}: {_dumps(v)}" for k, v in head.items()) + ', "rows": ['
    sep = "\n"
    for row in rows(order):
        yield sep + _dumps(dict(row))
        sep = ",\n"
    yield "\n]}\n"


# -- csv --------------------------------------------------------------------------------------------------------
# New columns go at the end: a consumer that reads columns by position keeps working.
CSV_FIELDS = ("id", "parent", "relation", "inferred", "depth", "downloads", "gated", "license", "spdx", "verdict",
              "reason", "sha", "url", "rules")
RULES_SEPARATOR = ";"  # in the `rules` column (rule ids have none)
_FORMULA_START = tuple("=+-@\t\r＝＋－＠")
_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x85\x0b\x0c]")


def csv_cell(value: Any) -> str | int:
    """One CSV cell: numbers as numbers, booleans as true/false, text made inert for a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    text = str(value)
    lead = "'" if text.startswith(_FORMULA_START) else ""
    text = printable(_BREAKS.sub(" ", text))
    return lead + text


def csv_value(row: Mapping[str, Any], field: str) -> Any:
    """What the CSV's `field` column holds for `row`: `rules` is every rule id of the row (the one its reason
    gives first), `;`-separated, so that a spreadsheet can split or pivot on it; the rest as the row has them."""
    if field == "rules":
        return RULES_SEPARATOR.join(rules_of(row))
    return row.get(field)


def _csv(rows: Rows, fields: Sequence[str] = CSV_FIELDS, order: str = "depth") -> Iterator[str]:
    """A header of `fields`, then one line per row of `rows(order)` (`csv_value`, `csv_cell`)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(fields)
    for row in rows(order):
        writer.writerow([csv_cell(csv_value(row, k)) for k in fields])
        if buf.tell() >= CHUNK:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


# -- markdown ---------------------------------------------------------------------------------------------------
MARKDOWN_TEMPLATE = "tree/tree.md.j2"


def view_row(row: Mapping[str, Any], endpoint: object = None) -> dict[str, Any]:
    """A row for the templates: strings printable, numbers numbers, the URL checked (else made on the Hub at
    `endpoint`, the summary's), the rule decided and every other rule listed."""
    verdict = str(row.get("verdict") or "review")
    return {
        "id": _safe(row.get("id")), "parent": _safe(row.get("parent")), "relation": _safe(row.get("relation")),
        "inferred": bool(row.get("inferred")), "depth": max(1, _int(row.get("depth"))),
        "downloads": _int(row.get("downloads")), "downloads_text": f"{_int(row.get('downloads')):,}",
        "gated": gated_text(row.get("gated")),
        "license": _safe(row.get("license")) or "(none)",
        "spdx": _safe(row.get("spdx")) if row.get("spdx") else "unknown",
        "verdict": verdict if verdict in VERDICT_RANK else "review", "verdict_label": _safe(verdict.upper()),
        "verdict_rank": VERDICT_RANK.get(verdict, 1), "reason": _clip(_safe(row.get("reason")), VIEW_REASON_CAP),
        "rule": rule_of(row) if verdict in ("fail", "review") else "",
        "rules": [_safe(r) for r in rules_of(row)],
        "sha": _safe(row.get("sha")), "source": _safe(row.get("source")),
        "url": model_url(row.get("url"), row.get("id"), endpoint),
    }


def endpoint_of(summary: Mapping[str, Any]) -> str | None:
    """The Hub the audit read (the summary's `endpoint`): where links to a model go when its row has none."""
    endpoint = summary.get("endpoint")
    return endpoint if isinstance(endpoint, str) and endpoint else None


def tally_view(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The summary's counts by rule and by organisation for text, markdown and html: printable, the first
    `TALLY_SHOWN` of each (an organisation only when it has a fail or review row), and how many are left out."""
    rules = [{"rule": _safe(x.get("rule")), **{k: _int(x.get(k)) for k in ("descendants", "fail", "review")}}
             for x in summary.get("by_rule") or () if isinstance(x, Mapping)]
    orgs = [{"org": _safe(x.get("org")) or "?", **{k: _int(x.get(k)) for k in ("descendants", "fail", "review",
                                                                               "pass")}}
            for x in summary.get("by_org") or () if isinstance(x, Mapping)]
    flagged = [x for x in orgs if x["fail"] or x["review"]]
    return {"by_rule": rules[:TALLY_SHOWN], "rules_more": max(0, len(rules) - TALLY_SHOWN),
            "by_org": flagged[:TALLY_SHOWN], "orgs_more": max(0, len(flagged) - TALLY_SHOWN),
            "orgs_flagged": len(flagged), "orgs_total": len(orgs), "tallied": "by_rule" in summary}


def snapshot_text(summary: Mapping[str, Any]) -> str:
    """The metadata snapshot an audit read, as its cited source ("" for an audit of the Hub's listing)."""
    snap = summary.get("snapshot")
    if not isinstance(snap, Mapping):
        return ""
    where = _safe(snap.get("path"))
    if snap.get("revision"):
        where = f"{_safe(snap.get('source'))}@{_safe(snap.get('revision'))}/{where}"
    return f"snapshot {where} (sha256 {_safe(snap.get('sha256'))}, {_int(snap.get('rows')):,} rows)"


def view_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The summary for the templates, made safe the same way as the rows."""
    root = summary.get("root") or {}
    counts = {k: _int((summary.get("counts") or {}).get(k)) for k in ("discovered", "evaluated", "pass", "fail",
                                                                          "review")}
    verdict = str(summary.get("verdict") or "review")
    options = summary.get("options") or {}
    relations = options.get("relations")
    return {
        "schema": _safe(summary.get("schema")), "version": _safe(summary.get("policycheck") or __version__),
        "root": {"id": _safe(root.get("id")), "sha": _safe(root.get("sha")),
                 "license": _safe(root.get("license")) or "(none)",
                 "spdx": _safe(root.get("spdx")) if root.get("spdx") else "unknown",
                 "url": model_url(root.get("url"), root.get("id"), endpoint_of(summary))},
        "verdict": verdict if verdict in VERDICT_RANK else "review", "verdict_label": _safe(verdict.upper()),
        "complete": bool(summary.get("complete")), "counts": counts, "counts_text": counts_text(summary),
        "why": [_safe(w) for w in why_lines(summary)],
        "licenses": [{"license": _safe(x.get("license")) or "(none)",
                      "spdx": _safe(x.get("spdx")) if x.get("spdx") else "unknown",
                      "same_as_root": bool(x.get("same_as_root")),
                      **{k: _int(x.get(k)) for k in ("count", "pass", "fail", "review")}}
                     for x in summary.get("licenses") or ()],
        "top_violations": [view_row(r, endpoint_of(summary)) for r in summary.get("top_violations") or ()],
        "tally": tally_view(summary),
        "options": {"relations": ", ".join(_safe(r) for r in relations) if relations else "all",
                    "depth": _safe(options.get("depth")) if options.get("depth") is not None else "unlimited",
                    "limit": _safe(options.get("limit")) if options.get("limit") is not None else "none",
                    "min_downloads": _int(options.get("min_downloads"))},
        "requests": {k: _int((summary.get("requests") or {}).get(k)) for k in ("listing", "fetch")},
        "snapshot": snapshot_text(summary),
        "evaluated_at": _safe(summary.get("evaluated_at")), "catalog_digest": _safe(summary.get("catalog_digest")),
        "packs": [{"id": _safe(p.get("id")), "version": _safe(p.get("version")), "digest": _safe(p.get("digest"))}
                  for p in summary.get("packs") or ()],
        "disclaimer": _safe(summary.get("disclaimer") or DISCLAIMER),
    }


def _markdown(summary: Mapping[str, Any], rows: Rows) -> Iterator[str]:
    from policy.templating import document_environment

    template = document_environment((), "markdown").get_template(MARKDOWN_TEMPLATE)
    view = view_summary(summary)
    endpoint = endpoint_of(summary)
    yield from template.generate(**view, rows=(view_row(r, endpoint) for r in rows("depth")))


# -- sarif ------------------------------------------------------------------------------------------------------


def sarif_fingerprint(repo_id: str, rule: str) -> str:
    return hashlib.sha256(f"{repo_id}|{rule}".encode()).hexdigest()


def _sarif_rows(rows: Rows) -> Iterator[tuple[Mapping[str, Any], str]]:
    """The rows that are results, with their level."""
    for row in rows("depth"):
        if row.get("verdict") not in ("fail", "review") and row.get("source") != "error":
            continue
        yield row, "error" if row.get("verdict") == "fail" else "warning"


def _sarif_result(row: Mapping[str, Any], rule: str, index: int, artifact: Mapping[str, Any]) -> dict[str, Any]:
    repo = str(row.get("id") or "")
    verdict = str(row.get("verdict"))
    reason = str(row.get("reason") or "") or ("fails the policy" if verdict == "fail" else "needs review")
    props: dict[str, Any] = {k: row.get(k) for k in ("verdict", "parent", "relation", "inferred", "depth",
                                                     "downloads", "gated", "license", "spdx", "sha", "source")}
    props["url"] = model_url(row.get("url"), repo) or HUB
    f = decisive(row)
    if f is not None and f.get("ancestor"):
        props["ancestor"] = f.get("ancestor")
    return {
        "ruleId": rule, "ruleIndex": index, "level": "error" if verdict == "fail" else "warning",
        "message": {"text": f"{repo}: {reason}"},
        "locations": [location(artifact, 1, logical=repo or None)],
        "partialFingerprints": {FINGERPRINT_KEY: sarif_fingerprint(repo, rule)},
        "properties": props,
    }


def _sarif_rule(rule: str, level: str) -> dict[str, Any]:
    if rule == UNREADABLE_RULE:
        short = "A descendant could not be read from the Hub (a person must decide)"
        full = ("A descendant of the audited model could not be read from the Hub (gated, removed or a network "
                "failure), so its license could not be judged; a person must decide.")
    elif rule in FALLBACK_RULES.values():
        short = "A descendant's verdict has no single decisive finding (see the result's message)"
        full = short + "."
    else:
        short = f"policycheck rule {rule}"
        full = f"A descendant of the audited model has a finding of the policycheck rule {rule}."
    return rule_descriptor(rule, short=short, full=full,
                           help_text=f"{full} Run `policycheck check` on the descendant for the findings, their "
                                     "citations and remedies.",
                           level=level, properties={"tags": ["license-compliance", "tree-audit"]})


def _sarif(summary: Mapping[str, Any], rows: Rows) -> Iterator[str]:
    run = SarifRun("tree", str(summary.get("policycheck") or __version__))
    artifact = policy_artifact()
    yield run.head()
    sep = "\n"
    kept = omitted = 0
    for wanted in ("error", "warning"):  # the most severe kept first: a pass over the rows for each level
        for row, level in _sarif_rows(rows):
            if level != wanted:
                continue
            if kept >= run.cap:
                omitted += 1
                continue
            kept += 1
            rule = rule_of(row)
            index = run.rule_index(rule, lambda rule=rule, level=level: _sarif_rule(rule, level))  # type: ignore[misc]
            if level == "error":  # a rule's default level is the worst met
                run.rules[rule]["defaultConfiguration"]["level"] = "error"
            yield sep + _dumps(_sarif_result(row, rule, index, artifact))
            sep = ",\n"
    complete = bool(summary.get("complete"))
    problems = [str(p) for p in summary.get("problems") or ()]
    for p in problems:
        run.notify("warning", p, "tree-audit-incomplete")
    properties = {"schema": summary.get("schema"), "verdict": summary.get("verdict"), "complete": complete,
                  "root": summary.get("root"), "counts": summary.get("counts"), "problems": problems,
                  "options": summary.get("options"), "requests": summary.get("requests"),
                  "date": summary.get("evaluated_at"), "catalog_digest": summary.get("catalog_digest"),
                  "packs": summary.get("packs"), "disclaimer": summary.get("disclaimer") or DISCLAIMER}
    yield run.tail(properties, successful=complete, omitted=omitted)
