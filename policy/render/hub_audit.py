"""`policycheck hub-audit`: every model of a Hub metadata snapshot judged, in text, json, csv, markdown, html or
parquet.

Renderers of the registry's `hub-audit` formats (policy/render/registry.py), each `(audit, options)` over a
`HubAuditOutput`: the audit's summary (`policycheck/hub-audit/v1`, small, given up front) and `rows(order)`, a
fresh iterator of row mappings per call (`"downloads"`: most downloaded first, the order every format writes;
`"depth"`: by depth then id). Rows are read one at a time and never held, so the memory of every format stays
flat however many models the snapshot has. A row is a tree audit's row (`policy/audit/rows.py`) with three more
keys: `family` (the root of its lineage within the snapshot), `family_license` (that root's declared license)
and `same_as_family` (true, false, or None when it declares none or is the root).

The tree audit's formats (policy/render/tree.py) are the model, and their helpers are shared: the same escaping
of hostile card text in each format (text: `printable`, every line within `width`, colour only when asked;
json: ASCII; csv: formula cells made inert; markdown and html: the sandboxed templates `templates/hub/audit.md.j2`
and `templates/hub/audit.html.j2`, every value escaped, the page sharing the tree page's CSS, macros and
sorting script). Every format says the verdict first and that it is not legal advice.

parquet (binary, needs the `snapshot` extra: DuckDB) is for analysts: the CSV's columns with their types
(`PARQUET_COLUMNS`: depth INTEGER, downloads BIGINT, inferred and same_as_family BOOLEAN, rules VARCHAR[]),
the values as the rows hold them (like json, not made inert for a spreadsheet; a lone surrogate, which no
UTF-8 file can hold, becomes U+FFFD), `gated` NULL when the model is not gated. The rows go as NDJSON into a
temporary folder and DuckDB copies them into one Parquet file, whose key-value metadata carries the schema, the
verdict, the disclaimer and the whole summary as JSON (`parquet_kv_metadata`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from policy import __version__
from policy.audit.rows import rules_of
from policy.model.report import DISCLAIMER
from policy.records import record
from policy.render.registry import RenderOptions
from policy.render.text import VERDICT_STYLE, Style, _cells, _disclaimer, _safe, _styler, _truncate, _wrap
from policy.render.tree import (
    CSV_FIELDS,
    PROBLEMS_SHOWN,
    VERDICT_RANK,
    Rows,
    _clip,
    _csv,
    _int,
    _json,
    _license_table,
    _pad,
    _tally_text,
    _text_row,
    _top_text,
    endpoint_of,
    gather,
    model_url,
    snapshot_text,
    tally_view,
    view_row,
    why_lines,
)
from policy.textsafe import without_surrogates

SCHEMA = "policycheck/hub-audit/v1"
ORDER = "downloads"  # the order every format writes the rows in: most downloaded first
NOUN = "model"  # what the audit judges, in the sentences shared with the tree audit
# The tree's columns, then the family's (new columns go at the end, as for the tree).
CSV_COLUMNS = (*CSV_FIELDS, "family", "family_license", "same_as_family")
PARQUET_COLUMNS: dict[str, str] = {
    "id": "VARCHAR", "parent": "VARCHAR", "relation": "VARCHAR", "inferred": "BOOLEAN", "depth": "INTEGER",
    "downloads": "BIGINT", "gated": "VARCHAR", "license": "VARCHAR", "spdx": "VARCHAR", "verdict": "VARCHAR",
    "reason": "VARCHAR", "sha": "VARCHAR", "url": "VARCHAR", "rules": "VARCHAR[]", "family": "VARCHAR",
    "family_license": "VARCHAR", "same_as_family": "BOOLEAN",
}
MARKDOWN_TEMPLATE = "hub/audit.md.j2"
HTML_TEMPLATE = "hub/audit.html.j2"
NUMBER = 7  # cells of a number column of the text tables (as the tree's)


@record
class HubAuditOutput:
    """What the hub-audit formats render: the audit's summary, and `rows(order)`, a fresh iterator per call
    (`"downloads"` or `"depth"`)."""

    summary: Mapping[str, Any]
    rows: Rows


def render_text(audit: HubAuditOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_text(audit.summary, audit.rows, color=options.color, width=options.width))


def render_json(audit: HubAuditOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_json(audit.summary, audit.rows, order=ORDER, schema=SCHEMA))


def render_csv(audit: HubAuditOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_csv(audit.rows, CSV_COLUMNS, order=ORDER))


def render_markdown(audit: HubAuditOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_document("markdown", MARKDOWN_TEMPLATE, audit.summary, audit.rows))


def render_html(audit: HubAuditOutput, options: RenderOptions) -> Iterator[str]:
    return gather(_document("html", HTML_TEMPLATE, audit.summary, audit.rows))


# -- shared helpers ---------------------------------------------------------------------------------------------
def snapshot_label(summary: Mapping[str, Any]) -> str:
    """The snapshot in a few words, as the header says it: `source@<12 hex>/path`, or the file's name when it has
    no revision (a local file). Printable."""
    snap = summary.get("snapshot")
    if not isinstance(snap, Mapping):
        return "(no snapshot recorded)"
    where = _safe(snap.get("path")) or "?"
    revision = snap.get("revision")
    if revision:
        where = f"{_safe(snap.get('source'))}@{_safe(str(revision)[:12])}/{where}"
    return where


def notes(summary: Mapping[str, Any]) -> list[str]:
    """What qualifies the verdict, said under it: how many problems there are (listed in a section of their
    own), why the audit is incomplete, how many models need a person (`why_lines` of the tree audit)."""
    problems = list(summary.get("problems") or ())
    out = why_lines({**summary, "problems": ()}, NOUN)
    if problems:
        out.insert(0, f"{len(problems):,} problem{'' if len(problems) == 1 else 's'} (listed below)")
    return out


def counts_text(summary: Mapping[str, Any]) -> str:
    """`N fail, N review, N pass of N models`, and how many were selected when some could not be judged."""
    c = summary.get("counts") or {}
    text = (f"{_int(c.get('fail')):,} fail, {_int(c.get('review')):,} review, {_int(c.get('pass')):,} pass of "
            f"{_int(c.get('evaluated')):,} models")
    if _int(c.get("selected")) != _int(c.get("evaluated")):
        text += f" ({_int(c.get('selected')):,} selected)"
    return text


def filters_view(summary: Mapping[str, Any]) -> dict[str, str]:
    """The filters that chose the models, each in words (printable)."""
    f = summary.get("filters") or {}

    def listed(key: str) -> str:
        values = f.get(key)
        return ", ".join(_safe(v) for v in values) if values else "all"

    return {"licenses": listed("licenses"), "authors": listed("authors"), "relations": listed("relations"),
            "min_downloads": f"{_int(f.get('min_downloads')):,}",
            "root": _safe(f.get("root")) if f.get("root") else "none (every family)"}


def filters_text(summary: Mapping[str, Any]) -> str:
    f = filters_view(summary)
    return (f"licenses {f['licenses']}, authors {f['authors']}, relations {f['relations']}, min downloads "
            f"{f['min_downloads']}, root {f['root']}")


def run_text(summary: Mapping[str, Any]) -> str:
    r = summary.get("run") or {}
    resumed = "resumed, " if r.get("resumed") else ""
    return (f"{resumed}{_int(r.get('evaluated')):,} judged, {_int(r.get('reused')):,} reused, "
            f"{_int(r.get('workers')):,} worker{'' if _int(r.get('workers')) == 1 else 's'}")


def family_words(row: Mapping[str, Any]) -> str:
    """What the text listing says of a row's family (printable)."""
    family = row.get("family")
    if not family:
        return "family unknown"
    if family == row.get("id"):
        return "root of its family"
    same = row.get("same_as_family")
    words = f"family {_safe(family)}"
    if same is True:
        return f"{words}, same license"
    if same is False:
        return f"{words}, license differs from the family's {_safe(row.get('family_license')) or '(none)'}"
    return words


def same_text(value: object) -> str:
    return "same" if value is True else "differs" if value is False else "—"


def hub_view_row(row: Mapping[str, Any], endpoint: object = None) -> dict[str, Any]:
    """A row for the templates: the tree's row view (`view_row`) and the family's three values."""
    family = row.get("family")
    return {**view_row(row, endpoint), "depth": max(0, _int(row.get("depth"))),  # a family's root is at 0
            "family": _safe(family),
            "family_url": model_url(None, family, endpoint) if family else None,
            "family_root": bool(family) and family == row.get("id"),
            "family_license": _safe(row.get("family_license")) or "(none)",
            "same_as_family": row.get("same_as_family") if isinstance(row.get("same_as_family"), bool) else None,
            "same_text": "root" if family and family == row.get("id") else same_text(row.get("same_as_family"))}


def _maybe_spdx(value: object) -> str:
    return _safe(value) if value else "unknown"


def families_view(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    endpoint = endpoint_of(summary)
    return [{"family": _safe(x.get("family")), "family_url": model_url(None, x.get("family"), endpoint),
             "license": _safe(x.get("license")) or "(none)", "spdx": _maybe_spdx(x.get("spdx")),
             "in_snapshot": bool(x.get("in_snapshot")),
             **{k: _int(x.get(k)) for k in ("models", "same", "different", "undeclared", "pass", "fail", "review")}}
            for x in summary.get("families") or () if isinstance(x, Mapping)]


def pairs_view(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"root_license": _safe(x.get("root_license")) or "(none)", "root_spdx": _maybe_spdx(x.get("root_spdx")),
             "declared": _safe(x.get("declared")) or "(none)", "spdx": _maybe_spdx(x.get("spdx")),
             "same": bool(x.get("same")), **{k: _int(x.get(k)) for k in ("count", "fail", "review")}}
            for x in summary.get("declared_vs_root") or () if isinstance(x, Mapping)]


def view_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The summary for the templates, made safe the way the tree's is (`policy.render.tree.view_summary`)."""
    snap = summary.get("snapshot") if isinstance(summary.get("snapshot"), Mapping) else {}
    verdict = str(summary.get("verdict") or "review")
    problems = [_safe(p) for p in summary.get("problems") or ()]
    families = families_view(summary)
    endpoint = endpoint_of(summary)
    return {
        "schema": _safe(summary.get("schema") or SCHEMA), "version": _safe(summary.get("policycheck") or __version__),
        "snapshot": {"label": snapshot_label(summary), "text": snapshot_text(summary),
                     "source": _safe(snap.get("source")), "revision": _safe(snap.get("revision")),
                     "path": _safe(snap.get("path")), "sha256": _safe(snap.get("sha256")),
                     "rows": _int(snap.get("rows"))},
        "verdict": verdict if verdict in VERDICT_RANK else "review", "verdict_label": _safe(verdict.upper()),
        "complete": bool(summary.get("complete")),
        "counts": {k: _int((summary.get("counts") or {}).get(k))
                   for k in ("selected", "evaluated", "pass", "fail", "review")},
        "counts_text": counts_text(summary), "notes": [_safe(n) for n in notes(summary)],
        "problems": problems[:PROBLEMS_SHOWN], "problems_more": max(0, len(problems) - PROBLEMS_SHOWN),
        "families": families, "families_total": max(_int(summary.get("families_total")), len(families)),
        "families_outside": any(not f["in_snapshot"] for f in families),
        "pairs": pairs_view(summary),
        "licenses": [{"license": _safe(x.get("license")) or "(none)", "spdx": _maybe_spdx(x.get("spdx")),
                      **{k: _int(x.get(k)) for k in ("count", "pass", "fail", "review")}}
                     for x in summary.get("licenses") or () if isinstance(x, Mapping)],
        "top_violations": [hub_view_row(r, endpoint) for r in summary.get("top_violations") or ()
                           if isinstance(r, Mapping)],
        "tally": tally_view(summary), "filters": filters_view(summary), "run": run_text(summary),
        "evaluated_at": _safe(summary.get("evaluated_at")), "catalog_digest": _safe(summary.get("catalog_digest")),
        "packs": [{"id": _safe(p.get("id")), "version": _safe(p.get("version")), "digest": _safe(p.get("digest"))}
                  for p in summary.get("packs") or () if isinstance(p, Mapping)],
        "disclaimer": _safe(summary.get("disclaimer") or DISCLAIMER),
    }


# -- text -------------------------------------------------------------------------------------------------------
def _text(summary: Mapping[str, Any], rows: Rows, *, color: bool, width: int) -> Iterator[str]:
    st = _styler(color)
    width = max(int(width), 40)
    verdict = str(summary.get("verdict") or "review")
    v = _safe(verdict.upper())
    complete = "complete" if summary.get("complete") else "INCOMPLETE"
    head = _wrap(f"{v}  hub audit of snapshot {snapshot_label(summary)} ({complete}): {counts_text(summary)}",
                 width, "", "      ")
    head[0] = st(v, VERDICT_STYLE.get(verdict, "bold")) + head[0][len(v):]
    lines = head
    for note in notes(summary):
        wrapped = _wrap(f"! {_safe(note)}", width, "  ", "    ")
        wrapped[0] = "  " + st("!", "bold yellow") + wrapped[0][3:]
        lines.extend(wrapped)
    c = summary.get("counts") or {}
    lines.append(st("counts", "bold"))
    for key in ("fail", "review", "pass", "evaluated", "selected"):
        lines.append(f"  {key:<11}{_int(c.get(key)):>9,}")
    lines.extend(_families_text(summary, st, width))
    lines.extend(_pairs_text(summary, st, width))
    lines.append(st("declared licenses", "bold"))
    lines.extend(_license_table(summary.get("licenses") or (), width, root=False))
    lines.extend(_tally_text(tally_view(summary), st, width))
    lines.extend(_top_text(summary.get("top_violations") or (), st, width))
    lines.extend(_problems_text(summary, st, width))
    yield "\n".join(lines) + "\n"

    yield "\n".join(_heading(f"models ({_int(c.get('evaluated')):,} evaluated, most downloads first)", st,
                              width)) + "\n"
    for row in rows(ORDER):
        yield "\n".join(_text_row(row, st, width, flat=True, also=[family_words(row)])) + "\n"

    yield "\n".join(_footer(summary, st, width)) + "\n"


def _heading(text: str, st: Style, width: int) -> list[str]:
    return [st(line, "bold") for line in _wrap(text, width, "", "  ")]


def _families_text(summary: Mapping[str, Any], st: Style, width: int) -> list[str]:
    """The largest families: family, its root's license, then models and how their licenses stand to the root's
    (same, different, undeclared) and their fails and reviews."""
    families = families_view(summary)
    total = max(_int(summary.get("families_total")), len(families))
    lines = _heading(f"families ({len(families):,} of {total:,}, the largest first; license: the family root's)",
                     st, width)
    if not families:
        return [*lines, "  (none)"]
    keys = ("models", "same", "different", "undeclared", "fail", "review")
    nums = "".join(f"{h:>{NUMBER}}" for h in ("models", "same", "diff", "undecl", "fail", "review"))
    outside = any(not f["in_snapshot"] for f in families)
    room = width - 2 - 2 - len(nums)
    if room < 24:  # too narrow for a table: two lines a family
        for f in families:
            lines.extend(_wrap(f"{f['family']}{'' if f['in_snapshot'] else ' *'} [{f['license']}]", width, "  ",
                               "    "))
            lines.append(_clip(f"    {f['models']:,} models: {f['same']:,} same, {f['different']:,} different, "
                               f"{f['undeclared']:,} undeclared; {f['fail']:,} fail, {f['review']:,} review", width))
    else:
        # each column as wide as its widest value; the license at most a third of the room unless a family leaves
        # more (ids first: a family's id says more than its license, which the json has whole)
        full = max(_cells("license"), *(_cells(f["license"]) for f in families))
        w1 = min(max(_cells("family"), *(_cells(f["family"]) for f in families)), room - min(full, max(8, room // 3)))
        w2 = min(full, room - w1)
        lines.append(_truncate(f"  {_pad('family', w1)}  {_pad('license', w2)}{nums}", width))
        for f in families:
            counts = "".join(f"{f[k]:>{NUMBER},}" for k in keys)
            mark = "  " if f["in_snapshot"] else "* "  # in the indent: never cut with a long id
            lines.append(_truncate(f"{mark}{_pad(f['family'], w1)}  {_pad(f['license'], w2)}{counts}", width))
    if outside:
        lines.extend(_wrap("* the family's root is not in the snapshot", width, "  ", "    "))
    return lines


def _pairs_text(summary: Mapping[str, Any], st: Style, width: int) -> list[str]:
    """Each model's declared license against its family root's: the most frequent pairs."""
    pairs = pairs_view(summary)
    lines = _heading("declared vs root (each model's declared license against its family root's, the most "
                     "frequent first)", st, width)
    if not pairs:
        return [*lines, "  (none)"]
    nums = "  same" + "".join(f"{h:>{NUMBER}}" for h in ("count", "fail", "review"))
    room = width - 2 - 2 - len(nums)
    if room < 24:
        for p in pairs:
            same = "same" if p["same"] else "different"
            lines.extend(_wrap(f"{p['root_license']} → {p['declared']} ({same})", width, "  ", "    "))
            lines.append(_clip(f"    {p['count']:,}: {p['fail']:,} fail, {p['review']:,} review", width))
        return lines
    w1 = min(max(_cells("root"), *(_cells(p["root_license"]) for p in pairs)), room // 2)
    w2 = min(max(_cells("declared"), *(_cells(p["declared"]) for p in pairs)), room - w1)
    lines.append(_truncate(f"  {_pad('root', w1)}  {_pad('declared', w2)}{nums}", width))
    for p in pairs:
        same = "  same" if p["same"] else "  diff"
        counts = "".join(f"{p[k]:>{NUMBER},}" for k in ("count", "fail", "review"))
        lines.append(_truncate(f"  {_pad(p['root_license'], w1)}  {_pad(p['declared'], w2)}{same}{counts}", width))
    return lines


def _problems_text(summary: Mapping[str, Any], st: Style, width: int) -> list[str]:
    problems = [str(p) for p in summary.get("problems") or ()]
    if not problems:
        return []
    lines = _heading(f"problems ({len(problems):,})", st, width)
    for problem in problems[:PROBLEMS_SHOWN]:
        wrapped = _wrap(f"! {_safe(problem)}", width, "  ", "    ")
        wrapped[0] = "  " + st("!", "bold yellow") + wrapped[0][3:]
        lines.extend(wrapped)
    if len(problems) > PROBLEMS_SHOWN:
        lines.extend(_wrap(f"… and {len(problems) - PROBLEMS_SHOWN:,} more (--format json lists every problem)",
                           width, "  ", "    "))
    return lines


def _footer(summary: Mapping[str, Any], st: Style, width: int) -> list[str]:
    """Version, packs, catalog, date, the snapshot read, the filters, the run; then the disclaimer. Dim."""
    packs = ", ".join(f"{_safe(p.get('id'))} {_safe(p.get('version'))}" for p in summary.get("packs") or ()
                      if isinstance(p, Mapping)) or "none"
    footer = f"policycheck {_safe(summary.get('policycheck') or __version__)}; packs {packs}"
    if summary.get("catalog_digest"):
        footer += f"; catalog {_safe(str(summary['catalog_digest'])[:12])}"
    footer += f"; evaluated {_safe(summary.get('evaluated_at') or '?')}"
    tail = _wrap(footer, width, "", "  ")
    tail.extend(_wrap(f"source: {snapshot_text(summary) or 'no snapshot recorded'}", width, "", "  "))
    tail.extend(_wrap(f"filters: {filters_text(summary)}; run: {run_text(summary)}", width, "", "  "))
    text = str(summary.get("disclaimer") or DISCLAIMER)
    tail.extend(_disclaimer(width) if text == DISCLAIMER else _wrap(_safe(text), width))
    return [st(line, "dim") for line in tail]


# -- markdown and html ------------------------------------------------------------------------------------------
def _document(kind: str, name: str, summary: Mapping[str, Any], rows: Rows) -> Iterator[str]:
    from policy.templating import document_environment

    template = document_environment((), kind).get_template(name)
    endpoint = endpoint_of(summary)

    def views() -> Iterator[dict[str, Any]]:  # the query starts when the template reaches the rows
        for row in rows(ORDER):
            yield hub_view_row(row, endpoint)

    extra: dict[str, Any] = {}
    if kind == "html":
        from markupsafe import Markup

        from policy.render.tree_html import SCRIPT_HASH, SORT_SCRIPT

        extra = {"script": Markup(SORT_SCRIPT), "script_hash": SCRIPT_HASH}
    yield from template.generate(**view_summary(summary), rows=views(), **extra)


# -- parquet ----------------------------------------------------------------------------------------------------
def parquet_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the Parquet file's columns hold it (`PARQUET_COLUMNS`): typed, lossless, no lone surrogate."""
    def text(key: str) -> str | None:
        value = row.get(key)
        return None if value is None else str(value)

    gated = row.get("gated")
    same = row.get("same_as_family")
    out: dict[str, Any] = {key: text(key) for key in PARQUET_COLUMNS}
    out.update(inferred=bool(row.get("inferred")), depth=_int(row.get("depth")),
               downloads=_int(row.get("downloads")), gated=None if gated in (False, None, "") else str(gated),
               rules=rules_of(row), same_as_family=same if isinstance(same, bool) else None)
    clean: dict[str, Any] = without_surrogates(out)
    return clean


def _sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def write_parquet(summary: Mapping[str, Any], rows: Iterable[Mapping[str, Any]], folder: Path) -> Path:
    """`rows` as `folder/rows.parquet` (through `folder/rows.ndjson`), with the summary in its metadata."""
    import duckdb

    source = folder / "rows.ndjson"
    with open(source, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(parquet_record(row), ensure_ascii=True) + "\n")
    target = folder / "rows.parquet"
    columns = ", ".join(f"{_sql_text(k)}: {_sql_text(t)}" for k, t in PARQUET_COLUMNS.items())
    names = ", ".join(f'"{k}"' for k in PARQUET_COLUMNS)
    meta = {"policycheck.schema": str(summary.get("schema") or SCHEMA),
            "policycheck.verdict": str(summary.get("verdict") or "review"),
            "policycheck.disclaimer": str(summary.get("disclaimer") or DISCLAIMER),
            "policycheck.summary": json.dumps(without_surrogates(dict(summary)), ensure_ascii=True, default=str)}
    kv = ", ".join(f"{_sql_text(k)}: {_sql_text(v)}" for k, v in meta.items())
    # No extension is fetched (json and parquet are built into DuckDB's wheels); a few threads, the file order kept.
    con = duckdb.connect(":memory:", config={
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
        "threads": max(1, min(4, os.cpu_count() or 1)), "preserve_insertion_order": True})
    try:
        con.execute(f"COPY (SELECT {names} FROM read_json({_sql_text(str(source))}, format='newline_delimited', "
                    f"columns={{{columns}}})) TO {_sql_text(str(target))} "
                    f"(FORMAT parquet, KV_METADATA {{{kv}}})")
    finally:
        con.close()
    return target


def render_parquet(audit: HubAuditOutput, options: RenderOptions) -> bytes:
    """The registry's `hub-audit --format parquet` renderer: the bytes of one Parquet file."""
    with tempfile.TemporaryDirectory(prefix="policycheck-hub-audit-") as folder:
        return write_parquet(audit.summary, audit.rows(ORDER), Path(folder)).read_bytes()
