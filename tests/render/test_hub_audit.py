"""Renderers of the hub audit (`policy/render/hub_audit.py`): every format checked for real on a small synthetic
audit with a hostile row (terminal escapes, `<script>`, a spreadsheet formula, a bidi override): text widths and
escapes, JSON round trip, CSV read back with the family's columns and formula cells neutralised, Parquet read
back by DuckDB with its column types, Markdown and HTML escaped (the page well formed, with unique ids, and
within 1,280 px in headless Chromium), and the streaming contract."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from policy.audit.rows import Tally
from policy.model.report import DISCLAIMER
from policy.render.hub_audit import CSV_COLUMNS, PARQUET_COLUMNS, HubAuditOutput, parquet_record
from policy.render.registry import REGISTRY, RenderOptions, formats, render, render_to_string
from policy.render.text import _cells, printable
from policy.render.tree import CSV_FIELDS, csv_cell, csv_value
from policy.render.tree_html import SCRIPT_HASH, SORT_SCRIPT
from policy.templating import md_escape
from tests.render.test_html import CHROMIUM, chromium
from tests.render.test_tree import UNSAFE, LiveRow, PageParser, md_cells

duckdb = pytest.importorskip("duckdb")

LLAMA = "meta-llama/Llama-3.1-8B"
QWEN = "Qwen/Qwen2.5-7B"
GONE = "gone/not-in-the-snapshot"
EVIL = "evil/<script>alert(1)</script>\u202eexe.txt"
HOSTILE = ("=cmd|' /C calc'!A0 \x1b[31mRED\x1b[0m <script>alert(1)</script> \u202eevil\u2066 [x](javascript:alert(1)) "
           "`code` | pipe\nFAIL  forged/line\r\nmore")
SNAPSHOT = {"source": "cfahlgren1/hub-stats", "revision": "0123456789abcdef0123456789abcdef01234567",
            "path": "models.parquet", "sha256": "e" * 64, "rows": 220_000}


def _finding(rule: str, kind: str = "violation", severity: str = "error", message: str = "m") -> dict[str, Any]:
    return {"rule": rule, "kind": kind, "severity": severity, "message": message, "ancestor": None}


def _row(repo: str, family: str, depth: int, verdict: str, **kw: Any) -> dict[str, Any]:
    root = repo == family
    row: dict[str, Any] = {
        "id": repo, "parent": None if root else family, "relation": None if root else "finetune",
        "inferred": False, "depth": depth, "sha": None, "downloads": 10, "gated": False, "license": "llama3.1",
        "spdx": "LicenseRef-llama3.1", "verdict": verdict, "reason": "", "findings": [], "rules": [],
        "source": "snapshot", "url": f"https://huggingface.co/{repo}", "family": family,
        "family_license": "llama3.1", "same_as_family": None if root else True}
    row.update(kw)
    return row


ROWS = [
    _row(LLAMA, LLAMA, 0, "pass", downloads=5_000_000, gated="manual"),
    _row("acme/llama-ft", LLAMA, 1, "pass", downloads=40_000),
    _row(EVIL, LLAMA, 1, "fail", downloads=123_456, license=HOSTILE, spdx=None, reason=HOSTILE,
         url="javascript:alert(1)", same_as_family=False, findings=[_finding("derivative-drops-license-terms",
                                                                              message=HOSTILE)],
         rules=["derivative-drops-license-terms"]),
    _row("acme/llama-q", LLAMA, 2, "review", parent="acme/llama-ft", relation="quantized", inferred=True,
         license="", spdx=None, same_as_family=None, reason="declares no license",
         findings=[_finding("license-missing", "review", "warning")], rules=["license-missing"]),
    _row(QWEN, QWEN, 0, "pass", downloads=900_000, license="apache-2.0", spdx="Apache-2.0",
         family_license="apache-2.0"),
    _row("+evil/merge", QWEN, 1, "fail", downloads=7, license="-mit", spdx="MIT", relation="merge",
         family_license="apache-2.0", same_as_family=False, reason="@SUM(1)",
         findings=[_finding("derivative-drops-license-terms")], rules=["derivative-drops-license-terms"]),
    _row("orphan/adapter", GONE, 1, "review", downloads=3, relation="adapter", license="mit", spdx="MIT",
         family_license="", same_as_family=None, source="error", reason="its base is not in the snapshot"),
]
BY_DOWNLOADS = sorted(ROWS, key=lambda r: (-r["downloads"], r["id"]))
BY_DEPTH = sorted(ROWS, key=lambda r: (r["depth"], r["id"]))
_tally = Tally()
for _r in ROWS:
    _tally.add(_r)
SUMMARY: dict[str, Any] = {
    "schema": "policycheck/hub-audit/v1", "policycheck": "0.1.0", "snapshot": SNAPSHOT,
    "verdict": "fail", "complete": False,
    "counts": {"selected": 8, "evaluated": 7, "pass": 3, "fail": 2, "review": 2},
    "families": [
        {"family": LLAMA, "license": "llama3.1", "spdx": "LicenseRef-llama3.1", "in_snapshot": True, "models": 4,
         "same": 1, "different": 1, "undeclared": 1, "pass": 2, "fail": 1, "review": 1},
        {"family": QWEN, "license": "apache-2.0", "spdx": "Apache-2.0", "in_snapshot": True, "models": 2, "same": 0,
         "different": 1, "undeclared": 0, "pass": 1, "fail": 1, "review": 0},
        {"family": GONE + "<b>\x1b[2J", "license": "", "spdx": None, "in_snapshot": False, "models": 1, "same": 0,
         "different": 0, "undeclared": 0, "pass": 0, "fail": 0, "review": 1}],
    "families_total": 3,
    "declared_vs_root": [
        {"root_license": "llama3.1", "root_spdx": None, "declared": "llama3.1", "spdx": "LicenseRef-llama3.1",
         "same": True, "count": 1, "fail": 0, "review": 0},
        {"root_license": "llama3.1", "root_spdx": None, "declared": HOSTILE, "spdx": None, "same": False,
         "count": 1, "fail": 1, "review": 0},
        {"root_license": "apache-2.0", "root_spdx": None, "declared": "-mit", "spdx": "MIT", "same": False,
         "count": 1, "fail": 1, "review": 0}],
    "licenses": [
        {"license": "llama3.1", "spdx": "LicenseRef-llama3.1", "count": 2, "pass": 2, "fail": 0, "review": 0},
        {"license": HOSTILE, "spdx": None, "count": 1, "pass": 0, "fail": 1, "review": 0},
        {"license": "", "spdx": None, "count": 1, "pass": 0, "fail": 0, "review": 1}],
    "by_rule": _tally.by_rule(), "by_org": _tally.by_org(),
    "top_violations": [ROWS[2], ROWS[5]],
    "problems": ["1 selected models could not be judged \x1b[2J<script>x</script>"],
    "filters": {"licenses": ["llama3.1", "apache-2.0"], "authors": None, "relations": None, "min_downloads": 0,
                "root": None},
    "run": {"resumed": False, "evaluated": 7, "reused": 0, "workers": 4, "seconds": 1.5},
    "endpoint": "https://huggingface.co", "evaluated_at": "2026-12-03", "catalog_digest": "c" * 64,
    "packs": [{"id": "core", "version": "1.0.0", "digest": "d" * 64}], "disclaimer": DISCLAIMER,
}


def rows(order: str) -> Iterator[Mapping[str, Any]]:
    assert order in ("downloads", "depth")
    return iter(BY_DOWNLOADS if order == "downloads" else BY_DEPTH)


def output(fmt: str, summary: Mapping[str, Any] = SUMMARY, source: Any = rows, **kw: Any) -> str:
    return render_to_string("hub-audit", fmt, HubAuditOutput(summary, source), RenderOptions(**kw))


def parquet(summary: Mapping[str, Any] = SUMMARY, source: Any = rows) -> bytes:
    chunks = list(render("hub-audit", "parquet", HubAuditOutput(summary, source)))
    assert all(isinstance(c, bytes) for c in chunks)
    return b"".join(c for c in chunks if isinstance(c, bytes))


# -- the registry -----------------------------------------------------------------------------------------------
def test_the_formats_are_registered_and_parquet_is_binary_with_its_extra() -> None:
    assert formats("hub-audit") == ("text", "json", "csv", "markdown", "html", "parquet")
    table = REGISTRY["hub-audit"]
    assert all(table[f].streams and not table[f].binary for f in formats("hub-audit")[:-1])
    assert table["parquet"].binary and table["parquet"].extra == "duckdb:snapshot"
    with pytest.raises(ValueError, match="writes bytes"):
        output("parquet")


def test_parquet_without_duckdb_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from policy.errors import UsageError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "duckdb" else real(name, *a))
    with pytest.raises(UsageError, match=r"policycheck\[snapshot\]"):
        parquet()


def test_pyproject_has_the_snapshot_extra_in_all() -> None:
    text = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^snapshot = \["duckdb>=1\.1"\]$', text, re.M)
    assert re.search(r'^all = \["policycheck\[[a-z,]*\bsnapshot\b[a-z,]*\]"\]$', text, re.M)


# -- text -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 40, 132])
def test_text_lines_fit_and_carry_no_control_character(width: int) -> None:
    text = output("text", width=width)
    lines = text.rstrip("\n").split("\n")
    for line in lines:
        # the text output never cuts an id or a path (it must work when copied): at 40 columns one that is wider
        # has a line of its own
        assert _cells(line) <= width or (width < 80 and re.fullmatch(r" *\S*/\S*", line)), (width, line)
        assert not UNSAFE.search(line), line
    head = " ".join(line.strip() for line in itertools.takewhile(lambda line: not line.startswith("  !"), lines))
    assert lines[0].startswith("FAIL  hub audit of snapshot")
    assert ("FAIL  hub audit of snapshot cfahlgren1/hub-stats@0123456789ab/models.parquet (INCOMPLETE): 2 fail, "
            "2 review, 3 pass of 7 models (8 selected)") in head
    assert "not legal advice" in " ".join(lines[-3:])
    assert "\\x1b[31mRED" in text and "\\u202e" in text  # visible escapes
    assert not any(line.startswith("FAIL  forged/line") for line in lines)  # a line break in a value forges none
    assert "[x](javascript" in text  # plain text: nothing else to escape


def test_text_says_every_section_in_order() -> None:
    text = output("text")
    order = ["FAIL  hub audit", "! 1 problem (listed below)", "\ncounts\n", "\nfamilies (3 of 3",
             "\ndeclared vs root", "\ndeclared licenses\n", "\nby rule (", "\nby organisation (",
             "\ntop violations by downloads (2)\n", "\nproblems (1)\n", "\nmodels (7 evaluated, most downloads first)",
             "\npolicycheck 0.1.0; packs core 1.0.0; catalog cccccccccccc; evaluated 2026-12-03", "\nsource: snapshot",
             "\nfilters: licenses llama3.1, apache-2.0,"]
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions)
    footer = " ".join(text.split("\nsource: ", 1)[1].split())
    assert footer.startswith(f"snapshot cfahlgren1/hub-stats@{SNAPSHOT['revision']}/models.parquet (sha256 "
                             f"{'e' * 64}, 220,000 rows) filters: licenses llama3.1, apache-2.0, authors all, "
                             "relations all, min downloads 0, root none (every family); run: 7 judged, 0 reused, "
                             "4 workers")
    counts = text.split("\ncounts\n", 1)[1].split("\nfamilies", 1)[0]
    assert re.search(r"selected +8", counts) and re.search(r"evaluated +7", counts)
    families = text.split("\nfamilies (", 1)[1].split("\ndeclared vs root", 1)[0]
    assert re.search(r"meta-llama/Llama-3\.1-8B +llama3\.1 +4 +1 +1 +1 +1 +1\n", families)
    assert re.search(r"Qwen/Qwen2\.5-7B +apache-2\.0 +2 +0 +1 +0 +1 +0\n", families)
    assert re.search(r"\n\* gone/not-in-the-snaps\S* +\(none\) +1 +0 +0 +0 +0 +1\n", families), families
    assert "* the family's root is not in the snapshot" in families
    assert "\n* gone/not-in-the-snapshot<b>\\x1b[2J " in output("text", width=132)  # whole when there is room
    pairs = text.split("\ndeclared vs root", 1)[1].split("\ndeclared licenses", 1)[0]
    assert re.search(r"apache-2\.0 +-mit +diff +1 +1 +0$", pairs)
    assert re.search(r"llama3\.1 +llama3\.1 +same +1 +0 +0\n", pairs)
    problems = text.split("\nproblems (1)\n", 1)[1].split("\nmodels (", 1)[0]
    assert "! 1 selected models could not be judged \\x1b[2J<script>x</script>" in problems


def test_text_rows_come_most_downloaded_first_and_say_their_family() -> None:
    text = output("text", width=200)
    listing = text.split("most downloads first)\n", 1)[1].split("\npolicycheck 0.1.0", 1)[0].split("\n")
    firsts = [line for line in listing if re.match(r"  (PASS|FAIL|REVIEW) ", line)]
    assert [line.split()[1] for line in firsts] == [printable(r["id"]).split()[0] for r in BY_DOWNLOADS]
    by_id = {line.split()[1]: line for line in firsts}
    assert "5,000,000 downloads, gated manual, depth 0, root of its family" in by_id[LLAMA]
    assert "?" not in by_id[LLAMA]  # a model with no parent has no relation to say
    assert "finetune, depth 1, family meta-llama/Llama-3.1-8B, same license" in by_id["acme/llama-ft"]
    assert ("merge, depth 1, family Qwen/Qwen2.5-7B, license differs from the family's apache-2.0"
            in by_id["+evil/merge"])
    assert by_id["acme/llama-q"].endswith("quantized, inferred, depth 2, family meta-llama/Llama-3.1-8B")
    assert "unreadable, depth 1, family gone/not-in-the-snapshot" in by_id["orphan/adapter"]


def test_text_colour_only_when_asked() -> None:
    plain = output("text")
    assert "\x1b" not in plain
    coloured = output("text", color=True)
    assert coloured.startswith("\x1b[1;31mFAIL\x1b[0m")
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain  # colour adds SGR codes only


def test_text_of_a_clean_complete_audit() -> None:
    summary = {**SUMMARY, "verdict": "pass", "complete": True, "problems": [], "top_violations": [],
               "counts": {"selected": 1, "evaluated": 1, "pass": 1, "fail": 0, "review": 0},
               "families": [], "declared_vs_root": [], "licenses": [], "snapshot": {**SNAPSHOT, "revision": None}}
    text = output("text", summary, lambda order: iter([ROWS[0]]), width=120)
    lines = text.split("\n")
    assert lines[0] == "PASS  hub audit of snapshot models.parquet (complete): 0 fail, 0 review, 1 pass of 1 models"
    assert lines[1] == "counts" and "problems (" not in text and "top violations" not in text
    assert "families (0 of 3, the largest first; license: the family root's)\n  (none)" in text


# -- json -------------------------------------------------------------------------------------------------------
def test_json_round_trips_the_summary_and_the_rows_most_downloaded_first() -> None:
    text = output("json")
    assert text.isascii()
    doc = json.loads(text)
    assert next(iter(doc)) == "schema" and doc["schema"] == "policycheck/hub-audit/v1"
    assert doc["rows"] == BY_DOWNLOADS
    assert {k: v for k, v in doc.items() if k != "rows"} == SUMMARY
    assert doc["verdict"] == "fail" and "not legal advice" in doc["disclaimer"]


# -- csv --------------------------------------------------------------------------------------------------------
def test_csv_has_the_tree_columns_then_the_family_and_neutralises_formulas() -> None:
    table = list(csv.reader(io.StringIO(output("csv"), newline="")))
    assert table[0] == [*CSV_FIELDS, "family", "family_license", "same_as_family"] == list(CSV_COLUMNS)
    assert len(table) == 1 + len(ROWS)
    for row, cells in zip(BY_DOWNLOADS, table[1:], strict=True):
        assert cells == [str(csv_cell(csv_value(row, k))) for k in CSV_COLUMNS]
        for cell in cells:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cells
            assert "\n" not in cell and "\r" not in cell and not UNSAFE.search(cell)
    by_id = {c[0]: dict(zip(table[0], c, strict=True)) for c in table[1:]}
    evil = by_id[printable(EVIL)]
    assert evil["license"].startswith("'=cmd|") and "\\x1b[31mRED" in evil["reason"] and "\\u202e" in evil["id"]
    assert evil["family"] == LLAMA and evil["family_license"] == "llama3.1" and evil["same_as_family"] == "false"
    assert evil["rules"] == "derivative-drops-license-terms"
    merge = by_id["'+evil/merge"]
    assert merge["license"] == "'-mit" and merge["reason"] == "'@SUM(1)"
    assert by_id["acme/llama-ft"]["same_as_family"] == "true" and by_id[LLAMA]["same_as_family"] == ""
    assert by_id[LLAMA]["depth"] == "0" and by_id[LLAMA]["downloads"] == "5000000"


# -- parquet ----------------------------------------------------------------------------------------------------
def test_parquet_reads_back_with_typed_columns_and_the_summary_in_its_metadata(tmp_path: Path) -> None:
    data = parquet()
    assert isinstance(data, bytes) and data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    path = tmp_path / "audit.parquet"
    path.write_bytes(data)
    con = duckdb.connect()
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        assert {name: kind for name, kind, *_ in described} == PARQUET_COLUMNS
        assert [name for name, *_ in described] == list(CSV_COLUMNS)  # the CSV's columns, in its order
        assert PARQUET_COLUMNS["downloads"] == "BIGINT" and PARQUET_COLUMNS["depth"] == "INTEGER"
        assert PARQUET_COLUMNS["rules"] == "VARCHAR[]" and PARQUET_COLUMNS["same_as_family"] == "BOOLEAN"
        got = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        assert len(got) == len(ROWS)
        records = [dict(zip(CSV_COLUMNS, values, strict=True)) for values in got]
        assert records == [parquet_record(r) for r in BY_DOWNLOADS]  # most downloaded first, lossless
        by_id = {r["id"]: r for r in records}
        assert by_id[EVIL]["license"] == HOSTILE and by_id[EVIL]["same_as_family"] is False  # as the row has it
        assert by_id[LLAMA]["gated"] == "manual" and by_id["acme/llama-ft"]["gated"] is None
        assert by_id[LLAMA]["downloads"] == 5_000_000 and by_id[LLAMA]["depth"] == 0
        assert by_id["acme/llama-q"]["rules"] == ["license-missing"] and by_id["acme/llama-q"]["inferred"] is True
        assert by_id["orphan/adapter"]["rules"] == ["tree-descendant-unreadable"]
        assert by_id[LLAMA]["same_as_family"] is None and by_id[LLAMA]["parent"] is None
        # an analyst's query: the fails by family
        fails = con.execute("SELECT family, count(*) FROM read_parquet(?) WHERE verdict = 'fail' "
                            "AND list_contains(rules, 'derivative-drops-license-terms') GROUP BY family ORDER BY 1",
                            [str(path)]).fetchall()
        assert sorted(fails) == sorted([(LLAMA, 1), (QWEN, 1)])
        meta = dict(con.execute("SELECT decode(key), decode(value) FROM parquet_kv_metadata(?)",
                                [str(path)]).fetchall())
    finally:
        con.close()
    assert meta["policycheck.schema"] == "policycheck/hub-audit/v1" and meta["policycheck.verdict"] == "fail"
    assert "not legal advice" in meta["policycheck.disclaimer"]
    assert json.loads(meta["policycheck.summary"]) == SUMMARY


def test_parquet_of_no_row_and_of_a_lone_surrogate(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    path.write_bytes(parquet(source=lambda order: iter(())))
    assert duckdb.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone() == (0,)
    odd = _row("odd/\ud800name", LLAMA, 1, "pass", reason="it's a 'quote'")
    path.write_bytes(parquet(source=lambda order: iter([odd])))
    assert duckdb.execute("SELECT id, reason FROM read_parquet(?)", [str(path)]).fetchall() == [
        ("odd/\ufffdname", "it's a 'quote'")]


# -- markdown ---------------------------------------------------------------------------------------------------
def test_markdown_tables_keep_their_columns_and_card_text_is_inert() -> None:
    text = output("markdown")
    lines = text.split("\n")
    assert lines[0] == "# policycheck hub audit: snapshot cfahlgren1/hub-stats@0123456789ab/models.parquet"
    assert lines[2] == "**Verdict: FAIL** (incomplete). 2 fail, 2 review, 3 pass of 7 models \\(8 selected\\)."
    assert "> **Not legal advice.**" in text and text.rstrip().endswith("*")
    tables = [list(group) for is_table, group in itertools.groupby(lines, key=lambda s: s.startswith("|"))
              if is_table]
    # counts, families, pairs, licenses, by rule, by organisation, top violations, models
    assert len(tables) == 8
    for table in tables:
        assert len({md_cells(line) for line in table}) == 1, table
    assert len(tables[-1]) == 2 + len(ROWS) and md_cells(tables[-1][0]) == 12
    outside_quote = text.replace("\n> **Not legal advice.**", "")
    assert not re.search(r"(?<!\\)[<>]", outside_quote) and "\\<script\\>alert" in text
    assert "](javascript" not in text and "\x1b" not in text and "\u202e" not in text
    assert "\\x1b\\[31mRED" in text and "\\u202e" in text and "`" not in text.replace("\\`", "")
    assert "| =cmd\\|' /C calc'\\!A0" in text  # the pipe cannot end the cell
    assert f"[{LLAMA}](https://huggingface.co/{LLAMA})" in text
    assert "https://huggingface.co/evil/%3Cscript%3E" in text  # the unsafe URL was replaced by the Hub's
    for row, line in zip(BY_DOWNLOADS, tables[-1][2:], strict=True):  # most downloaded first
        assert md_escape(printable(row["id"])) in line.split(" | ")[1], line
    assert "| 2 | 0 | 1 | 0 | 1 | 1 | 0 |" in text  # Qwen's family: models, same, different, undeclared, verdicts
    assert "(root not in the snapshot)" in text and "Source: snapshot cfahlgren1/hub-stats@" in text


# -- html -------------------------------------------------------------------------------------------------------
class IdParser(PageParser):
    """The tree test's page parser, also keeping every `id` attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.extend(v or "" for k, v in attrs if k == "id")
        super().handle_starttag(tag, attrs)


def parse(html: str) -> IdParser:
    parser = IdParser()
    parser.feed(html)
    parser.close()
    return parser


def test_html_is_well_formed_escaped_self_contained_and_its_ids_unique() -> None:
    html = output("html")
    assert html.startswith("<!DOCTYPE html>")
    page = parse(html)
    assert not page.errors and page.stack == [], page.errors[:5]
    duplicates = [i for i, n in Counter(page.ids).items() if n > 1]
    assert not duplicates and {"verdict", "rows"} <= set(page.ids)
    assert page.tags.count("script") == 1 and page.scripts == [SORT_SCRIPT]  # the tree page's, none from data
    assert f"script-src '{SCRIPT_HASH}'" in html and "default-src 'none'" in html
    assert not re.search(r"<link|<iframe|<img|<object|<embed|@import|\bsrc=|url\(", html, re.I)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "&lt;b&gt;" in html and "\x1b" not in html and "\u202e" not in html
    assert "\\x1b[31mRED" in html and "\\u202e" in html and "=cmd|" in html
    assert page.hrefs and all(h.startswith("https://huggingface.co/") for h in page.hrefs), page.hrefs
    assert page.rows == [printable(r["id"]) for r in BY_DOWNLOADS]
    banner = html.split('<section class="banner fail"', 1)[1].split("</section>", 1)[0]
    assert "FAIL" in banner and "incomplete audit" in banner and "2 fail, 2 review, 3 pass of 7 models" in banner
    assert html.index('id="verdict"') < html.index("Not legal advice") < html.index("<h2>Counts</h2>")
    sections = ["<h2>Counts", "<h2>Families", "<h2>Declared licenses against", "<h2>Declared licenses</h2>",
                "<h2>By rule", "<h2>By organisation", "<h2>Top violations", "<h2>Problems", 'id="rows"', "<footer>"]
    positions = [html.index(s) for s in sections]
    assert positions == sorted(positions)
    assert "(root not in the snapshot)" in html and "not legal advice" in html.split("<footer>", 1)[1]


def test_html_with_no_problem_and_no_violation() -> None:
    summary = {**SUMMARY, "verdict": "pass", "complete": True, "problems": [], "top_violations": [],
               "families": [], "declared_vs_root": []}
    html = output("html", summary, lambda order: iter([ROWS[0]]))
    page = parse(html)
    assert not page.errors and len(page.ids) == len(set(page.ids))
    assert "<h2>Problems" not in html and "No violations." in html and "No family." in html


MEASURE = """<script>
function width(sel) { var t = document.querySelector(sel); return t ? t.scrollWidth : 0; }
var reasons = Array.prototype.map.call(document.querySelectorAll("#rows td.reason summary"), function (td) {
  return td.getBoundingClientRect().height; });
document.body.setAttribute("data-measured", JSON.stringify({
  rows: width("#rows"), top: width("table.top"), families: width("table.families"), pairs: width("table.pairs"),
  page: document.documentElement.scrollWidth, reason: Math.max.apply(null, reasons),
  line: parseFloat(getComputedStyle(document.body).lineHeight)}));
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary found (sh tests/setup.sh installs it)")
def test_html_tables_fit_1280_pixels(tmp_path: Path) -> None:
    long_id = "an-organisation-with-a-long-name/" + "a-model-name-without-any-space-" * 3 + "GGUF"
    reason = "a reason of many words that would take six lines or more in a narrow column " * 6
    lic = "llama3.1-" + "x" * 60
    wide = [_row(f"{long_id}{i}", long_id, 1, "fail", parent=long_id, reason=reason, license=lic,
                 spdx="LicenseRef-scancode-llama-3.1-license-2024", downloads=10 ** 9, family_license=lic,
                 same_as_family=False, findings=[_finding("derivative-drops-license-terms", message=reason)],
                 rules=["derivative-drops-license-terms"])
            for i in range(5)]
    family = {"family": long_id, "license": lic, "spdx": "LicenseRef-scancode-llama-3.1-license-2024",
              "in_snapshot": False, "models": 10 ** 9, "same": 10 ** 9, "different": 10 ** 9,
              "undeclared": 10 ** 9, "pass": 10 ** 9, "fail": 10 ** 9, "review": 10 ** 9}
    pair = {"root_license": lic, "root_spdx": None, "declared": lic + "y", "spdx": "x" * 80, "same": False,
            "count": 10 ** 9, "fail": 10 ** 9, "review": 10 ** 9}
    summary = {**SUMMARY, "top_violations": wide[:2], "families": [family] * 3, "declared_vs_root": [pair] * 3}
    html = output("html", summary, lambda order: iter(wide))
    probe = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace(
        "</body>", MEASURE + "</body>")  # the page's CSP allows its own script only: the copy measured drops it
    page = tmp_path / "wide.html"
    page.write_text(probe, encoding="utf-8")
    dom = chromium(tmp_path, "wide", "--window-size=1280,900", "--dump-dom", page.as_uri()).stdout
    found = re.search(r'data-measured="([^"]*)"', dom)
    assert found, dom[:500]
    m = json.loads(found.group(1).replace("&quot;", '"'))
    assert all(m[k] <= 1280 for k in ("page", "rows", "top", "families", "pairs")), m
    assert m["families"] > 0 and m["pairs"] > 0
    assert m["reason"] <= 3 * m["line"] + 1, m  # clamped to three lines, as the tree page's


# -- streaming --------------------------------------------------------------------------------------------------
class Source:
    """`rows(order)` over `n` generated rows, made on demand and never held, counting the rows handed out."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0

    def __call__(self, order: str) -> Iterator[Mapping[str, Any]]:
        assert order == "downloads"
        for i in range(self.n):
            self.pulled += 1
            verdict = ("pass", "fail", "review")[i % 3]
            yield LiveRow(_row(f"org{i}/model-{i}", f"org{i}/base", 1 + i % 3, verdict, downloads=self.n - i,
                               reason=f"reason {i} <x> | =y" if verdict != "pass" else "",
                               same_as_family=(True, False, None)[i % 3], rules=[f"rule-{i % 7}"]))


@pytest.mark.parametrize("fmt", ["text", "json", "csv", "markdown", "html", "parquet"])
def test_rows_stream_one_at_a_time(fmt: str) -> None:
    n = 3000
    source = Source(n)
    LiveRow.live = LiveRow.most = 0
    chunks = render("hub-audit", fmt, HubAuditOutput(SUMMARY, source))
    first = next(chunks)
    if fmt != "parquet":  # the text formats write before the rows are all read
        assert first and source.pulled < n
    size = len(first) + sum(len(chunk) for chunk in chunks)
    assert source.pulled == n and size > n * (5 if fmt == "parquet" else 40)
    assert LiveRow.most <= 3, f"{fmt} held {LiveRow.most} rows at once"
