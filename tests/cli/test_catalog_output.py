"""`policycheck licenses [ID]` and `policycheck rules list` in text (policy/cli/rules.py): tables under a header
row within 80 columns, bold headers only with colour, one license's clauses with their citations (quotes of at
most 25 words: the loader refuses longer ones), an unknown category or id a usage error that says what there is."""

from __future__ import annotations

import re
from typing import Any

import pytest

BOLD = "\x1b[1m"


@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_the_license_table_has_a_header_row_and_fits_80_columns(run_cli: Any) -> None:
    listed = run_cli("licenses")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "PROFILE", "CLAUSES", "CATEGORIES"]
    assert max(len(line) for line in lines[:-1]) <= 80
    assert BOLD not in listed.out
    rows = {line.split()[0]: line.split() for line in lines[1:-1] if not line.startswith(" ")}
    assert rows["mit"][:4] == ["mit", "verified", "full", "2"]
    column = lines[0].index("CATEGORIES")
    assert all(line[column - 2:column] == "  " and line[column] != " " for line in lines[1:-1]
               if len(line) > column)  # every category (and its wrapped lines) in its column
    assert re.fullmatch(r"\d+ license\(s\); `policycheck licenses ID` shows one with its clauses", lines[-1])


def test_the_rule_table_has_a_header_row_and_fits_80_columns(run_cli: Any) -> None:
    listed = run_cli("rules", "list")
    lines = listed.out.splitlines()
    assert listed.code == 0 and lines[0].split() == ["RULE", "SEVERITY", "KIND", "TITLE"]
    assert max(len(line) for line in lines) <= 80
    assert "core/teacher-forbids-distillation" in listed.out


def test_colour_bolds_only_the_header_and_no_color_is_respected(run_cli: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    coloured = run_cli("licenses", "--color")
    assert coloured.out.startswith(BOLD + "ID") and coloured.out.count(BOLD) == 1
    assert run_cli("rules", "list", "--color").out.startswith(BOLD + "RULE")
    monkeypatch.setenv("NO_COLOR", "1")
    assert BOLD not in run_cli("licenses").out and BOLD not in run_cli("rules", "list").out


def test_an_unknown_category_is_a_usage_error_listing_the_categories(run_cli: Any) -> None:
    unknown = run_cli("licenses", "--category", "non-comercial")
    assert unknown.code == 2 and not unknown.out
    assert "no license category 'non-comercial' (did you mean non-commercial?)" in unknown.err
    assert "the categories are: copyleft, " in unknown.err and "permissive" in unknown.err
    known = run_cli("licenses", "--category", "permissive")
    assert known.code == 0 and "mit " in known.out and "agpl-3.0" not in known.out
    assert "license(s) in category permissive" in known.out


def test_one_license_shows_its_clauses_with_short_quotes_within_80_columns(run_cli: Any) -> None:
    shown = run_cli("licenses", "llama3.1")
    assert shown.code == 0, shown.err
    joined = " ".join(shown.out.split())
    clauses = run_cli("licenses", "llama3.1", "-f", "json").json()["clauses"]
    for clause in clauses:  # each clause's citation whole, however the lines were wrapped
        cit = clause["citation"]
        assert f"{cit['section']}: “{' '.join(cit['quote'].split())}”" in joined
        assert len(cit["quote"].split()) <= 25
    assert joined.count("source: ") == len(clauses) and joined.count("[grade ") == len(clauses)
    assert "SPDX LicenseRef-scancode-llama-3.1-license-2024" in joined
    assert all(len(line) <= 80 for line in shown.out.splitlines() if "://" not in line)
    assert re.search(r"^  1\. license-copy \[self, weights\]", shown.out, re.M)


def test_an_unknown_license_is_a_usage_error_with_close_matches(run_cli: Any) -> None:
    missing = run_cli("licenses", "apache2.0")
    assert missing.code == 2 and not missing.out
    assert "no license 'apache2.0' in the catalog (did you mean apache-2.0" in missing.err
