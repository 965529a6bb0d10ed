"""Renderers of the tree audit (`policy/render/tree.py`, `policy/render/tree_html.py`): every format checked for
real on a small audit with hostile card text (text widths and escapes, JSON round trip, CSV read back with
formula cells neutralised, Markdown table cells, SARIF against the official schema, HTML parsed and sorted in
headless Chromium), and the streaming contract: 20,000 rows go through in flat memory."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import tracemalloc
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from policy.audit.rows import Tally
from policy.model.report import DISCLAIMER
from policy.render.text import _cells, printable
from policy.render.tree import CSV_FIELDS, TALLY_SHOWN, UNREADABLE_RULE, csv_cell, csv_value, iter_tree, render_tree
from policy.render.tree_html import HTML_INDENT_CAP, SCRIPT_HASH, SORT_SCRIPT, tree_items
from tests.render.test_html import CHROMIUM, chromium
from tests.support.sarif_check import check_sarif, github_problems

ROOT = "meta-llama/Llama-3.1-8B"
HOSTILE = ("=cmd()|x `code` [a](javascript:alert(1)) <script>alert(1)</script> \x1b[31mRED\x1b]0;t\x07 \u202eevil"
           "\u2066 \x9b2J\nforged line\r\nPASS  acme/forged " + "long " * 40)
# C0, DEL, C1, bidi controls: none may reach a terminal (text) raw.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f\ufeff]")


def _finding(rule: str, kind: str, severity: str, message: str, ancestor: str | None = None) -> dict[str, Any]:
    return {"rule": rule, "kind": kind, "severity": severity, "message": message, "ancestor": ancestor}


def _row(repo: str, parent: str, depth: int, verdict: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": repo, "parent": parent, "relation": "finetune", "inferred": False, "depth": depth, "sha": "a" * 40,
        "downloads": 10, "gated": False, "license": "llama3.1", "spdx": "LicenseRef-llama3.1", "verdict": verdict,
        "reason": "", "findings": [], "source": "hub", "url": f"https://huggingface.co/{repo}"}
    row.update(kw)
    return row


EVIL = "evil/<script>alert(1)</script>"
ROWS = [
    _row("acme/ft", ROOT, 1, "pass", downloads=5000),
    _row(EVIL, ROOT, 1, "fail", license="mit", spdx="MIT", downloads=123456, reason=HOSTILE, gated="manual",
         url="javascript:alert(1)",
         findings=[_finding("note-rule", "note", "info", "x"),
                   _finding("license-missing", "review", "warning", "declares no license"),
                   _finding("derivative-drops-license-terms", "violation", "error", HOSTILE, ROOT)]),
    _row("acme/ft-q", "acme/ft", 2, "review", relation="quantized", inferred=True, license="other", spdx=None,
         reason="license other: a person must decide",
         findings=[_finding("license-unknown", "review", "warning", "unknown")]),
    _row("acme/broken", "acme/ft", 2, "review", source="error", license="", spdx=None, sha=None, downloads=0,
         reason="listing of its children failed: HTTP 500"),
    _row("+evil/x|y", "acme/ft-q", 3, "fail", license="-mit", spdx="MIT", downloads=7, relation="merge",
         reason="@SUM(1)\t\rtab", findings=[_finding("derivative-drops-license-terms", "violation", "error", "d")]),
    _row("acme/deep", "+evil/x|y", 4, "pass", relation="adapter", downloads=42, license="\tllama3.1"),
]
DEPTH_ORDER = sorted(ROWS, key=lambda r: (r["depth"], r["id"]))
PREORDER = [ROWS[i] for i in (0, 2, 4, 5, 3, 1)]
SUMMARY: dict[str, Any] = {
    "schema": "policycheck/tree/v1", "policycheck": "0.1.0",
    "root": {"id": ROOT, "sha": "b" * 40, "license": "llama3.1", "spdx": "LicenseRef-llama3.1",
             "url": f"https://huggingface.co/{ROOT}"},
    "verdict": "fail", "complete": False,
    "counts": {"discovered": 7, "evaluated": 6, "pass": 2, "fail": 2, "review": 2},
    "licenses": [
        {"license": "llama3.1", "spdx": "LicenseRef-llama3.1", "same_as_root": True, "count": 3, "pass": 2,
         "fail": 0, "review": 1},
        {"license": "mit|<b>x</b>\x1b[2J", "spdx": "MIT", "same_as_root": False, "count": 2, "pass": 0, "fail": 2,
         "review": 0},
        {"license": "", "spdx": None, "same_as_root": False, "count": 1, "pass": 0, "fail": 0, "review": 1}],
    "top_violations": [ROWS[1], ROWS[4]],
    "by_rule": Tally().by_rule(), "by_org": Tally().by_org(), "endpoint": "https://huggingface.co",
    "problems": ["listing of acme/broken's children failed: HTTP 500 \x1b[2J<script>x</script>"],
    "options": {"relations": None, "depth": None, "limit": None, "min_downloads": 0},
    "requests": {"listing": 3, "fetch": 6}, "evaluated_at": "2026-12-01", "catalog_digest": "c" * 64,
    "packs": [{"id": "core", "version": "1.0.0", "digest": "d" * 64}],
    "disclaimer": DISCLAIMER,
}


_tally = Tally()
for _r in ROWS:
    _tally.add(_r)
SUMMARY.update(by_rule=_tally.by_rule(), by_org=_tally.by_org())


def rows(order: str) -> Iterator[Mapping[str, Any]]:
    assert order in ("depth", "preorder")
    return iter(PREORDER if order == "preorder" else DEPTH_ORDER)


def render(fmt: str, summary: Mapping[str, Any] = SUMMARY, **kw: Any) -> str:
    return render_tree(fmt, summary, rows, **kw)


# -- text -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 40, 132])
def test_text_lines_fit_and_carry_no_control_character(width: int) -> None:
    text = render("text", width=width)
    lines = text.rstrip("\n").split("\n")
    assert lines[0].startswith("FAIL  tree audit of")
    assert "tree audit of meta-llama/Llama-3.1-8B (INCOMPLETE)" in " ".join(line.strip() for line in lines[:3])
    top = lines[:lines.index("counts")]
    assert any(line.lstrip().startswith("! listing of acme/broken's") for line in top)  # why
    for line in lines:
        assert _cells(line) <= width, (width, line)
        assert not UNSAFE.search(line), line
    assert "not legal advice" in " ".join(lines[-3:])
    assert "\\x1b[2J" in text  # shown as a visible escape
    assert not any(line.startswith("PASS  acme/forged") for line in lines)  # no forged line
    listing = text.split("descendants (", 1)[1]
    for row in ROWS:
        assert printable(row["id"])[:20] in listing  # one line per descendant
    if width >= 80:
        assert "123,456" in listing and "5,000 downloads" in listing


def test_text_shows_counts_licenses_and_top_violations_in_order() -> None:
    text = render("text")
    order = ["counts", "declared licenses", "root license: llama3.1 → LicenseRef-llama3.1",
             "top violations by downloads (2)", "descendants (6 evaluated, tree order)"]
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions)
    table = text.split("declared licenses", 1)[1].split("top violations", 1)[0]
    assert re.search(r"llama3\.1 +LicenseRef-llama3\.1 +same +3 +2 +0 +1", table)
    assert re.search(r"\(none\) +unknown +diff +1 +0 +0 +1", table)
    # tree order: a child is indented under its parent
    listing = text.split("tree order)\n", 1)[1].split("\n")
    ft = next(line for line in listing if "acme/ft " in line)
    ftq = next(line for line in listing if "acme/ft-q" in line)
    assert len(ftq) - len(ftq.lstrip()) == len(ft) - len(ft.lstrip()) + 2


def test_text_colour_only_when_asked() -> None:
    assert "\x1b" not in render("text")
    coloured = render("text", color=True)
    assert "\x1b[1;31mFAIL\x1b[0m" in coloured
    plain = re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    assert plain == render("text")  # colour adds SGR codes only


def test_text_pass_and_complete_says_no_problem_and_deep_rows_say_their_depth() -> None:
    summary = {**SUMMARY, "verdict": "pass", "complete": True, "problems": [], "top_violations": []}
    deep = [_row(f"acme/d{i}", f"acme/d{i - 1}", i, "pass") for i in range(1, 31)]
    text = "".join(iter_tree("text", summary, lambda order: iter(deep)))
    lines = text.split("\n")
    assert lines[0].startswith("PASS  tree audit") and lines[1] == "counts"
    assert "[depth 30] acme/d30" in text and all(_cells(line) <= 80 for line in lines)


# -- json -------------------------------------------------------------------------------------------------------
def test_json_round_trips_the_summary_and_the_rows_in_depth_order() -> None:
    doc = json.loads(render("json"))
    assert next(iter(doc)) == "schema" and doc["schema"] == "policycheck/tree/v1"
    assert doc["rows"] == DEPTH_ORDER
    assert {k: v for k, v in doc.items() if k != "rows"} == SUMMARY
    assert render("json").isascii()


# -- csv --------------------------------------------------------------------------------------------------------
def test_csv_reads_back_with_formula_cells_neutralised() -> None:
    text = render("csv")
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0] == list(CSV_FIELDS)
    assert len(table) == 1 + len(ROWS)
    for row, cells in zip(DEPTH_ORDER, table[1:], strict=True):
        assert cells == [str(csv_cell(csv_value(row, k))) for k in CSV_FIELDS]
        assert cells[0] == ("'" + row["id"] if row["id"].startswith("+") else printable(row["id"]))
        for cell in cells:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cells
            assert "\n" not in cell and "\r" not in cell
            assert not UNSAFE.search(cell)
    evil = next(c for c in table[1:] if c[0] == EVIL)
    reason = evil[CSV_FIELDS.index("reason")]
    assert reason.startswith("'=cmd()|x") and "forged line PASS  acme/forged" in reason  # breaks are spaces
    plus = next(c for c in table[1:] if c[0] == "'+evil/x|y")
    assert plus[CSV_FIELDS.index("license")] == "'-mit" and plus[CSV_FIELDS.index("reason")].startswith("'@SUM")
    deep = next(c for c in table[1:] if c[0] == "acme/deep")
    assert deep[CSV_FIELDS.index("license")] == "'\\tllama3.1" and deep[CSV_FIELDS.index("parent")] == "'+evil/x|y"
    assert deep[CSV_FIELDS.index("inferred")] == "false" and deep[CSV_FIELDS.index("downloads")] == "42"
    broken = next(c for c in table[1:] if c[0] == "acme/broken")
    assert broken[CSV_FIELDS.index("sha")] == "" and broken[CSV_FIELDS.index("spdx")] == ""
    assert csv_cell("－1") == "'－1" and csv_cell(-3) == -3 and csv_cell(None) == ""


def test_csv_rules_column_is_appended_and_lists_every_rule_the_decisive_first() -> None:
    table = list(csv.reader(io.StringIO(render("csv"), newline="")))
    head = table[0]
    assert head[:13] == ["id", "parent", "relation", "inferred", "depth", "downloads", "gated", "license", "spdx",
                         "verdict", "reason", "sha", "url"]  # the columns consumers read by position stay put
    assert head[-1] == "rules"
    by_id = {c[0]: dict(zip(head, c, strict=True)) for c in table[1:]}
    # a fail row: the rule its reason gives first, then the review finding it also has; notes are not issues
    assert by_id[EVIL]["rules"] == "derivative-drops-license-terms;license-missing"
    assert by_id["acme/ft-q"]["rules"] == "license-unknown"
    assert by_id["acme/broken"]["rules"] == UNREADABLE_RULE  # no finding: why it has none
    assert by_id["acme/ft"]["rules"] == "" and by_id["acme/deep"]["rules"] == ""


def test_rules_of_a_row_are_stable_and_prefer_the_stored_complete_list() -> None:
    findings = [_finding("z-review", "review", "warning", "z"), _finding("a-review", "review", "warning", "a"),
                _finding("m-violation", "violation", "error", "m"), _finding("a-review", "review", "warning", "a2")]
    row = _row("a/b", ROOT, 1, "fail", findings=findings)
    assert csv_value(row, "rules") == "m-violation;a-review;z-review"
    assert csv_value({**row, "findings": findings[::-1]}, "rules") == "m-violation;a-review;z-review"
    # the audit stores every rule (the row keeps ten findings only): the stored list wins
    stored = {**row, "rules": ["m-violation", "a-review", "z-review", "eleventh-rule"]}
    assert csv_value(stored, "rules").endswith(";eleventh-rule")


def test_counts_by_rule_and_organisation_in_every_format() -> None:
    by_rule = {x["rule"]: x for x in SUMMARY["by_rule"]}
    assert by_rule["derivative-drops-license-terms"] == {"rule": "derivative-drops-license-terms",
                                                          "descendants": 2, "fail": 2, "review": 0}
    assert by_rule["license-missing"]["descendants"] == 1 and "note-rule" not in by_rule
    orgs = {x["org"]: x for x in SUMMARY["by_org"]}
    assert orgs["acme"] == {"org": "acme", "descendants": 4, "fail": 0, "review": 2, "pass": 2}
    assert SUMMARY["by_org"][0]["org"] in ("evil", "+evil")  # most failing first
    doc = json.loads(render("json"))
    assert doc["by_rule"] == SUMMARY["by_rule"] and doc["by_org"] == SUMMARY["by_org"]
    text = render("text")
    section = text.split("by rule (4 rules)\n", 1)[1].split("top violations", 1)[0]
    assert re.search(r"\n +2 +2 +0  derivative-drops-license-terms\n", section)
    assert "by organisation (3 of 3 with a fail or review row)" in section
    assert re.search(r"\n +0 +2 +2  acme\n", section)
    md = render("markdown")
    assert "| derivative-drops-license-terms | 2 | 2 | 0 |" in md and "| acme | 0 | 2 | 2 | 4 |" in md
    html = render("html")
    assert "<h2>By rule</h2>" in html and "<h2>By organisation</h2>" in html
    assert re.search(r"<tr><td>acme</td><td class=\"num\">0</td><td class=\"num\">2</td>", html)


def test_counts_show_the_first_twenty_and_say_how_many_more() -> None:
    tally = Tally()
    for i in range(TALLY_SHOWN + 5):
        for j in range(i + 1):  # rule-i in i + 1 rows, of org i
            tally.add(_row(f"org{i:02d}/m{j}", ROOT, 1, "fail", findings=[_finding(f"rule-{i:02d}", "violation",
                                                                                     "error", "x")]))
    summary = {**SUMMARY, "by_rule": tally.by_rule(), "by_org": tally.by_org()}
    assert len(summary["by_rule"]) == TALLY_SHOWN + 5  # json: all of them
    text = render("text", summary)
    assert "… and 5 more (--format json lists every rule)" in text
    assert "… and 5 more (--format json lists every organisation)" in text
    assert "rule-24" in text and "rule-04" not in text  # most rows first
    assert "… and 5 more (the JSON output lists every rule)" in render("markdown", summary)
    old = {k: v for k, v in SUMMARY.items() if k not in ("by_rule", "by_org")}  # an older summary: no section
    assert "by rule" not in render("text", old) and "By rule" not in render("html", old)


def test_text_rows_wrap_at_words_within_the_width() -> None:
    reason = ("the license of this model is not the one its ancestor requires and every word of this reason "
              "must survive whole, including the final word supercalifragilistic")
    row = _row("acme/a-rather-long-model-name-for-wrapping", ROOT, 1, "review", reason=reason,
               findings=[_finding("license-unknown", "review", "warning", reason)])
    summary = {**SUMMARY, "top_violations": []}
    for width in (80, 60):
        text = "".join(iter_tree("text", summary, lambda order: iter([row]), width=width))
        listing = text.split("tree order)\n", 1)[1].split("\npolicycheck ", 1)[0].split("\n")
        assert all(_cells(line) <= width for line in listing), listing
        assert "…" not in "".join(listing)  # nothing cut
        body = [line for line in listing if line.startswith("         ")]  # continuation lines, indented
        assert body and " ".join(" ".join(listing).split()).endswith(reason)
        words = set(" ".join(listing).split())
        assert "supercalifragilistic" in words and "acme/a-rather-long-model-name-for-wrapping" in words


# -- links ------------------------------------------------------------------------------------------------------
def test_links_fall_back_to_the_hub_the_audit_read() -> None:
    mirror = "https://hf-mirror.example/hub"
    bare = [{**r, "url": None} for r in DEPTH_ORDER]
    summary = {**SUMMARY, "endpoint": mirror, "root": {**SUMMARY["root"], "url": None},
               "top_violations": [{**r, "url": None} for r in SUMMARY["top_violations"]]}
    html = "".join(iter_tree("html", summary, lambda order: iter(bare)))
    hrefs = parse(html).hrefs
    assert hrefs and all(h.startswith(mirror + "/") for h in hrefs), hrefs
    assert f"{mirror}/evil/%3Cscript%3Ealert%281%29%3C/script%3E" in hrefs
    md = "".join(iter_tree("markdown", summary, lambda order: iter(bare)))
    assert f"[acme/ft]({mirror}/acme/ft)" in md and "huggingface.co" not in md.split("## Descendants")[1]
    # an endpoint that cannot be a link gives text, not a link
    page = parse("".join(iter_tree("html", {**summary, "endpoint": "javascript:alert(1)//"},
                                   lambda order: iter(bare))))
    assert page.hrefs == []


# -- markdown ---------------------------------------------------------------------------------------------------
def md_cells(line: str) -> int:
    """Cells of a Markdown table line: pipes not escaped by a backslash, minus the outer two."""
    pipes, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        pipes += line[i] == "|"
        i += 1
    return pipes - 1


def test_the_markdown_footer_is_three_paragraphs() -> None:
    """The version line, the options line and the disclaimer are paragraphs of their own, not one run-on line."""
    lines = render("markdown").rstrip("\n").split("\n")
    version = next(i for i, line in enumerate(lines) if " · evaluated " in line)
    options = next(i for i, line in enumerate(lines) if line.startswith("Options: "))
    assert lines[version + 1] == "" and options == version + 2
    assert lines[options + 1] == "" and "not legal advice" in lines[options + 2]


def test_markdown_tables_keep_their_columns_and_card_text_is_inert() -> None:
    text = render("markdown")
    lines = text.split("\n")
    assert lines[0] == "# policycheck tree audit: meta-llama/Llama-3.1-8B"
    assert lines[2].startswith("**Verdict: FAIL** (incomplete).")
    assert "not legal advice" in text.lower()
    tables: list[list[str]] = []
    for is_table, group in itertools.groupby(lines, key=lambda s: s.startswith("|")):
        if is_table:
            tables.append(list(group))
    assert len(tables) == 6  # counts, licenses, by rule, by organisation, top violations, descendants
    for table in tables:
        widths = {md_cells(line) for line in table}
        assert len(widths) == 1, table
    assert len(tables[-1]) == 2 + len(ROWS) and md_cells(tables[-1][0]) == 12
    outside_quote = text.replace("\n> **Not legal advice.**", "")
    assert not re.search(r"(?<!\\)[<>]", outside_quote) and "\\<script\\>alert" in text  # every < and > escaped
    assert "](javascript" not in text and "\\]\\(javascript:alert\\(1\\)\\)" in text
    assert "\x1b" not in text and "\u202e" not in text and "`" not in text.replace("\\`", "")
    assert "[acme/ft](https://huggingface.co/acme/ft)" in text
    assert "https://huggingface.co/evil/%3Cscript%3E" in text  # the unsafe URL was replaced by the Hub's


# -- sarif ------------------------------------------------------------------------------------------------------
def test_sarif_validates_and_has_one_result_per_fail_or_review_row() -> None:
    log = json.loads(render("sarif"))
    check_sarif(log, "tree")
    (run,) = log["runs"]
    results = run["results"]
    flagged = [r for r in DEPTH_ORDER if r["verdict"] in ("fail", "review")]
    assert len(results) == len(flagged) == 4
    by_id = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r for r in results}
    assert set(by_id) == {r["id"] for r in flagged}
    assert by_id[EVIL]["ruleId"] == "derivative-drops-license-terms" and by_id[EVIL]["level"] == "error"
    assert by_id["acme/broken"]["ruleId"] == UNREADABLE_RULE and by_id["acme/broken"]["level"] == "warning"
    assert by_id["acme/ft-q"]["ruleId"] == "license-unknown" and by_id["acme/ft-q"]["level"] == "warning"
    assert by_id["acme/ft-q"]["message"]["text"] == "acme/ft-q: license other: a person must decide"
    assert by_id[EVIL]["message"]["text"] == f"{EVIL}: {HOSTILE}"
    for r in results:  # a descendant has no file in the repository: the policy file, line 1; its URL a property
        phys = r["locations"][0]["physicalLocation"]
        assert phys == {"artifactLocation": {"uri": "policycheck.yaml", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 1}}
        url = r["properties"]["url"]
        assert url.startswith("https://huggingface.co/") and "<" not in url and "|" not in url
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "policycheck"
    assert [rule["id"] for rule in rules] == ["derivative-drops-license-terms", UNREADABLE_RULE, "license-unknown"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    assert rules[0]["defaultConfiguration"]["level"] == "error"
    props = run["properties"]
    assert props["verdict"] == "fail" and props["complete"] is False and "not legal advice" in props["disclaimer"]
    assert run["invocations"][0]["executionSuccessful"] is False
    prints = [r["partialFingerprints"]["policycheck/v1"] for r in results]
    assert len(set(prints)) == len(prints)
    assert prints == [r["partialFingerprints"]["policycheck/v1"] for r in json.loads(render("sarif"))["runs"][0][
        "results"]]


def test_sarif_keeps_at_most_5000_results_fails_first() -> None:
    """GitHub shows 5,000 results a run and rejects an upload of more than 25,000 whole: a tree of 20,000 rows
    (6,667 fails, 6,667 reviews) keeps every fail and the first reviews, and says how many it left out."""
    log = json.loads("".join(iter_tree("sarif", SUMMARY, Source(20_000))))
    run = log["runs"][0]
    levels = [r["level"] for r in run["results"]]
    assert len(levels) == 5000 and levels == ["error"] * 5000  # the most severe first
    assert not github_problems(log, "tree")
    assert run["properties"]["results_omitted"] == 6667 + 6666 - 5000
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any(n["descriptor"]["id"] == "results-omitted" and "8333" in n["message"]["text"] for n in notes)
    assert run["automationDetails"] == {"id": "policycheck/tree/"}


def test_sarif_of_a_clean_audit_is_valid_and_empty() -> None:
    passing = [r for r in ROWS if r["verdict"] == "pass"]
    summary = {**SUMMARY, "verdict": "pass", "complete": True, "problems": [], "top_violations": []}
    log = json.loads("".join(iter_tree("sarif", summary, lambda order: iter(passing))))
    check_sarif(log, "tree")
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


# -- html -------------------------------------------------------------------------------------------------------
class PageParser(HTMLParser):
    """Tags, scripts, links, table rows, and the depth of each item of the tree's nested list."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self.hrefs: list[str] = []
        self.rows: list[str] = []
        self.tree: list[tuple[int, str]] = []  # (nesting of <ul> inside the tree, class) per <li>
        self.tree_ul: int | None = None  # stack height of <ul class="tree">
        self.errors: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "script":
            self._script = []
        if tag == "a":
            self.hrefs.append(a.get("href") or "")
        if tag == "tr" and a.get("data-id") is not None:
            self.rows.append(a["data-id"] or "")
        if tag == "ul" and a.get("class") == "tree":
            self.tree_ul = len(self.stack)
        if tag == "li" and self.tree_ul is not None:
            nesting = sum(1 for t in self.stack[self.tree_ul:] if t == "ul")
            self.tree.append((nesting, a.get("class") or ""))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "ul" and self.tree_ul is not None and len(self.stack) == self.tree_ul:
            self.tree_ul = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def test_html_is_well_formed_escaped_and_self_contained() -> None:
    html = render("html")
    assert html.startswith("<!DOCTYPE html>")
    page = parse(html)
    assert not page.errors and page.stack == [], page.errors[:5]
    assert page.tags.count("script") == 1 and page.scripts == [SORT_SCRIPT]  # ours only, none from data
    assert f"script-src '{SCRIPT_HASH}'" in html and "default-src 'none'" in html
    assert not re.search(r"<link|<iframe|<img|<object|<embed|@import|\bsrc=|url\(", html, re.I)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert all(h.startswith("https://huggingface.co/") for h in page.hrefs), page.hrefs
    assert "javascript:" not in "".join(page.hrefs)
    assert "\x1b" not in html and "\u202e" not in html and "\\x1b[31mRED" in html
    assert page.rows == [printable(r["id"]) for r in DEPTH_ORDER]
    banner = html.split('<section class="banner fail"', 1)[1].split("</section>", 1)[0]
    assert "FAIL" in banner and "incomplete audit" in banner and "listing of acme/broken" in banner
    assert html.index('id="verdict"') < html.index("<h2>Counts</h2>") < html.index("<h2>Declared licenses")
    assert html.index("<h2>Top violations") < html.index('id="rows"') < html.index("<h2>Tree</h2>")
    assert "not legal advice" in html.lower()


def test_html_tree_nests_rows_by_depth() -> None:
    page = parse(render("html"))
    assert page.tree[0] == (1, "root")
    assert [n for n, _ in page.tree[1:]] == [r["depth"] + 1 for r in PREORDER]
    assert [c for _, c in page.tree[1:]] == [r["verdict"] for r in PREORDER]


def test_tree_items_clamp_jumps_and_cap_indentation() -> None:
    depths = [1, 3, 2, 40, 41, 1]
    items = list(tree_items(_row(f"a/m{i}", "p", d, "pass") for i, d in enumerate(depths)))
    assert [i["level"] for i in items[:-1]] == [1, 2, 2, 3, 4, 1]  # never more than one level down at a time
    assert items[-1] == {"end": True, "open": False, "close": 1, "level": 0}
    capped = list(tree_items(_row(f"a/m{d}", "p", d, "pass") for d in range(1, HTML_INDENT_CAP + 6)))
    assert max(i["level"] for i in capped) == HTML_INDENT_CAP and capped[-2]["deep"] is True
    html = "".join(iter_tree("html", SUMMARY, lambda order: iter(
        [_row(f"a/m{d}", "p", d, "pass") for d in range(1, HTML_INDENT_CAP + 6)])))
    page = parse(html)
    assert not page.errors and max(n for n, _ in page.tree) == HTML_INDENT_CAP + 1
    assert f"[depth {HTML_INDENT_CAP + 5}]" in html


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary found (sh tests/setup.sh installs it)")
def test_html_table_sorts_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "tree.html"
    page.write_text(render("html"), encoding="utf-8")

    def order(fragment: str) -> tuple[str | None, list[str]]:
        dom = chromium(tmp_path, fragment.strip("#=-") or "plain", "--dump-dom", page.as_uri() + fragment).stdout
        sorted_by = re.search(r'<table id="rows"[^>]*data-sorted="([^"]*)"', dom)
        table = dom.split('<table id="rows"', 1)[1].split("</table>", 1)[0]
        ids = [re.sub(r"&lt;", "<", re.sub(r"&gt;", ">", i)) for i in re.findall(r'<tr class="\w+" data-id="([^"]*)"',
                                                                                   table)]
        return (sorted_by.group(1) if sorted_by else None), ids

    by_downloads = [r["id"] for r in sorted(DEPTH_ORDER, key=lambda r: r["downloads"])]
    assert order("") == (None, [r["id"] for r in DEPTH_ORDER])  # the script ran under the CSP and left it alone
    assert order("#sort=downloads") == ("downloads", by_downloads)  # numeric: 7 < 10 < 42 < 5000 < 123456
    assert order("#sort=-downloads") == ("downloads desc", by_downloads[::-1])  # a second click reverses
    assert order("#sort=id") == ("id", sorted((r["id"] for r in DEPTH_ORDER), key=str.lower))


MEASURE = """<script>
var t = document.getElementById("rows"), tv = document.querySelector("table.top");
var reasons = Array.prototype.map.call(document.querySelectorAll("#rows td.reason summary"), function (td) {
  return td.getBoundingClientRect().height; });
document.body.setAttribute("data-measured", JSON.stringify({
  rows: t.scrollWidth, top: tv.scrollWidth, page: document.documentElement.scrollWidth,
  reason: Math.max.apply(null, reasons), line: parseFloat(getComputedStyle(document.body).lineHeight)}));
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary found (sh tests/setup.sh installs it)")
def test_html_tables_fit_1280_pixels_and_reasons_are_clamped(tmp_path: Path) -> None:
    long_id = "an-organisation-with-a-long-name/" + "a-model-name-without-any-space-" * 3 + "GGUF"
    reason = "a reason of many words that would take six lines or more in a narrow column " * 6
    wide = [_row(f"{long_id}{i}", long_id, 1, "fail", reason=reason, license="llama3.1-" + "x" * 60,
                 spdx="LicenseRef-scancode-llama-3.1-license-2024", downloads=10 ** 9,
                 findings=[_finding("derivative-drops-license-terms", "violation", "error", reason)])
            for i in range(5)]
    summary = {**SUMMARY, "top_violations": wide[:2]}
    html = "".join(iter_tree("html", summary, lambda order: iter(wide)))
    assert html.count('<details class="clamp"><summary>') >= 7  # every reason of both tables is clamped
    # The page's CSP allows its own script only: the copy measured drops it and adds the measuring one.
    probe = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace(
        "</body>", MEASURE + "</body>")
    page = tmp_path / "wide.html"
    page.write_text(probe, encoding="utf-8")
    dom = chromium(tmp_path, "wide", "--window-size=1280,900", "--dump-dom", page.as_uri()).stdout
    found = re.search(r'data-measured="([^"]*)"', dom)
    assert found, dom[:500]
    m = json.loads(found.group(1).replace("&quot;", '"'))
    assert m["page"] <= 1280 and m["rows"] <= 1280 and m["top"] <= 1280, m
    assert m["reason"] <= 3 * m["line"] + 1, m  # three lines, not six


# -- streaming --------------------------------------------------------------------------------------------------
class LiveRow(dict):  # type: ignore[type-arg]
    """A row that counts how many of its kind are alive: a renderer that keeps rows makes the count grow."""

    live = 0
    most = 0

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        LiveRow.live += 1
        LiveRow.most = max(LiveRow.most, LiveRow.live)

    def __del__(self) -> None:
        LiveRow.live -= 1


class Source:
    """`rows(order)` over `n` generated rows (made on demand, never held), counting the rows handed out."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0

    def __call__(self, order: str) -> Iterator[Mapping[str, Any]]:
        for i in range(self.n):
            self.pulled += 1
            depth = i % 5 + 1  # 1, 2, 3, 4, 5, 1, ...: a valid pre-order, and fine for the depth order here
            verdict = ("pass", "fail", "review")[i % 3]
            yield LiveRow(_row(f"org{i}/model-{i}", f"org{i - 1}/model-{i - 1}", depth, verdict, downloads=i,
                               reason=f"reason {i} <x> | =y" if verdict != "pass" else "",
                               findings=[_finding(f"rule-{i % 7}", "violation" if verdict == "fail" else "review",
                                                  "error", f"message {i}")]))


def stream(fmt: str, source: Source) -> int:
    """Characters of `fmt` over `source`, checking that output starts before the rows are all read and that
    no more than a few rows are alive at once."""
    LiveRow.live = LiveRow.most = 0
    chunks = iter_tree(fmt, SUMMARY, source)
    first = next(chunks)
    assert first and source.pulled < source.n  # output starts before the rows are all read
    size = len(first) + sum(len(chunk) for chunk in chunks)
    # html: the table, then the tree; sarif: the fails, then the reviews
    assert source.pulled == source.n * (2 if fmt in ("html", "sarif") else 1)
    assert LiveRow.most <= 3, f"{fmt} held {LiveRow.most} rows at once"
    return size


@pytest.mark.parametrize("fmt", ["json", "csv", "text"])
def test_20000_rows_stream_in_flat_memory(fmt: str) -> None:
    n = 20_000
    list(iter_tree(fmt, SUMMARY, rows))  # imports done
    tracemalloc.start()
    try:
        size = stream(fmt, Source(n))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > n * 40  # every row was written
    assert peak < 3_000_000, f"{fmt}: peak {peak / 1e6:.1f} MB for {n} rows"


@pytest.mark.parametrize(("fmt", "n"), [("sarif", 20_000), ("markdown", 5_000), ("html", 5_000)])
def test_other_formats_hold_no_row(fmt: str, n: int) -> None:
    # The count of live rows shows whether rows are kept; tracemalloc would make Jinja 4x slower here.
    assert stream(fmt, Source(n)) > n * 40


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tree output format"):
        iter_tree("yaml", SUMMARY, rows)
