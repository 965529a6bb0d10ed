"""Output is safe and complete whatever the cards hold (issue 7): no terminal injection in text, every value
serialisable and C1 escaped in JSON, a JSON batch streamed, and a lineage tree of any depth shown in full."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim import make_card

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
FORGED = "\x1b[2K\r\x1b[32mPASS\x1b[0m  acme/forged\n\u009b31m\x1b]8;;http://evil.example\x07link\x1b]8;;\x07\u202e"


def _hostile_cards(tmp_path: Path) -> tuple[Path, Path]:
    cards = tmp_path / "cards"
    cards.mkdir()
    base = cards / "acme__base.md"
    base.write_text(make_card({"license": "other", "license_name": f"evil{FORGED}"}), encoding="utf-8")
    child = cards / f"acme__child{'_'}x.md"
    child.write_text(make_card({"license": f"mit{FORGED}", "base_model": ["acme/base", f"acme/ghost{FORGED}"],
                                "tags": [FORGED]}), encoding="utf-8")
    return cards, child


# -- text output never carries a control character written by a card --------------------------------------
def test_printable_escapes_every_control_character() -> None:
    from policy.render.text import printable

    assert printable("a\x1bb\u009bc\nd\te\x07\u2028\u202e") == "a\\x1bb\\u009bc\\nd\\te\\x07\\u2028\\u202e"
    assert printable("Llama 3 — ok ✓ 日本") == "Llama 3 — ok ✓ 日本"


def test_text_output_neutralises_card_values(run_cli: Any, tmp_path: Path) -> None:
    cards, child = _hostile_cards(tmp_path)
    result = run_cli("check", child, "--cards", cards)
    assert result.code in (1, 3)
    assert not RAW_CONTROL.search(result.out), [m.group(0) for m in RAW_CONTROL.finditer(result.out)]
    assert result.out.startswith("REVIEW  acme/child_x")
    assert not any(line.lstrip().startswith("PASS") for line in result.out.splitlines())  # nothing forged
    assert "\\x1b[32mPASS\\x1b[0m" in result.out and "\\u009b31m" in result.out  # shown, visibly escaped


def test_file_names_and_error_messages_are_neutralised(run_cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "x\x1b[2J\u009b.md"
    bad.write_text("---\nlicense: [unclosed\n---\n", encoding="utf-8")
    result = run_cli("check", bad)
    assert result.code == 2
    assert not RAW_CONTROL.search(result.out) and not RAW_CONTROL.search(result.err)
    assert "x\\x1b[2J\\u009b.md" in result.out
    missing = run_cli("check", bad, "--cards", tmp_path / "no\x1b]0;t\x07pe")
    assert missing.code == 2 and not RAW_CONTROL.search(missing.err) and "no\\x1b]0;t\\x07pe" in missing.err


# -- JSON ----------------------------------------------------------------------------------------------------
def test_json_escapes_c1_and_line_separators(run_cli: Any, tmp_path: Path) -> None:
    cards, child = _hostile_cards(tmp_path)
    result = run_cli("check", child, "--cards", cards, "--format", "json")
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", result.out.replace("\n", ""))
    report = result.json()
    assert "\u009b31m" in json.dumps(report, ensure_ascii=False)  # the value itself is intact
    assert "\\u009b31m" in result.out


def test_json_dates_and_odd_values_are_serialisable() -> None:
    from policy.render.json import dumps

    text = dumps({"d": dt.date(2024, 1, 1), "t": dt.datetime(2024, 1, 2, 3, 4, 5), "s": {"b", "a"},
                  "o": object.__new__(Path), "x": b"\xffok"})
    doc = json.loads(text)
    assert doc["d"] == "2024-01-01" and doc["t"] == "2024-01-02T03:04:05" and doc["s"] == ["a", "b"]
    assert isinstance(doc["o"], str) and doc["x"].endswith("ok")


def _dated_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    (rules / "packs").mkdir(parents=True)
    (rules / "packs" / "dated.yaml").write_text("""\
schema: policycheck/pack/v1
id: dated
version: "1.0.0"
title: dated cards
rules:
  - id: card-dated
    title: The card carries a date
    severity: note
    kind: review
    for_each: model
    when: {model.card.date: {ne: "never"}}
    message: "{{ model.id }} is dated {{ model.card.date }}"
    references:
      - {section: "tests", source: "policycheck tests"}
    tests:
      - name: dated
        model: {id: acme/m, license: mit, date: "2024-01-01"}
        expect: [{rule: card-dated}]
      - name: undated
        model: {id: acme/m, license: mit, date: never}
        expect: []
""", encoding="utf-8")
    return rules


def test_a_rule_reading_a_date_field_does_not_crash_json(run_cli: Any, tmp_path: Path) -> None:
    rules = _dated_rules(tmp_path)
    dated, plain = tmp_path / "acme__dated.md", tmp_path / "acme__plain.md"
    dated.write_text("---\nlicense: mit\ndate: 2024-01-01\n---\n# m\n", encoding="utf-8")
    plain.write_text("---\nlicense: mit\n---\n# m\n", encoding="utf-8")
    result = run_cli("check", "--rules", rules, dated, plain, "--format", "json")
    assert result.code == 3, result.err
    first, second = result.json()
    assert any(f["message"] == "acme/dated is dated 2024-01-01" for f in first["findings"])
    assert second["subject"]["id"] == "acme/plain"


def _reports(run_cli: Any, n: int) -> list[Any]:
    from tests.conftest import CARDS

    names = sorted(CARDS.glob("*.md"))[:n]
    return [str(p) for p in names]


def test_one_targets_problem_never_empties_the_batch() -> None:
    from policy.model.report import TargetError
    from policy.render.registry import RenderOptions, render

    class Broken(TargetError):
        def to_dict(self) -> dict[str, Any]:
            raise RuntimeError("boom")

    unwritable: list[str] = []
    batch = [TargetError("a.md", "bad"), Broken("b.md", "x"), TargetError("c.md", "bad")]
    out = render("check", "json", batch, RenderOptions(on_unwritable=lambda r: unwritable.append(r.target)))
    docs = json.loads("".join(out))  # type: ignore[arg-type]
    assert [d["target"] for d in docs] == ["a.md", "b.md", "c.md"]
    assert docs[1]["verdict"] == "error" and "boom" in docs[1]["error"]["message"]
    assert unwritable == ["b.md"]


# -- streaming -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 5])
def test_json_batch_is_byte_compatible_with_a_single_dump(run_cli: Any, n: int) -> None:
    from tests.conftest import CARDS

    targets = _reports(run_cli, n)
    result = run_cli("check", "--cards", CARDS, *targets, "--format", "json")
    docs = json.loads(result.out)
    expected = json.dumps(docs, indent=2, ensure_ascii=False) + "\n"
    assert result.out == expected
    assert isinstance(docs, dict if n == 1 else list)


def test_json_batch_is_written_one_report_at_a_time() -> None:
    from policy.model.report import TargetError
    from policy.render.registry import render

    written: list[str | bytes] = []

    def results() -> Iterator[TargetError]:
        for i in range(4):
            if i >= 2:  # the reports before this one are already out: nothing is held until the end
                assert f'"t{i - 2}.md"' in "".join(written) or i == 2
                assert f'"t{i - 1}.md"' in "".join(written)
            yield TargetError(f"t{i}.md", "x")

    for chunk in render("check", "json", results()):
        written.append(chunk)
    assert written[0].startswith("[\n") and written[-1] == "\n]\n"


def test_json_batch_memory_stays_flat() -> None:
    from policy.model.report import TargetError
    from policy.render.registry import render

    big = "x" * 20_000

    def results(n: int) -> Iterator[TargetError]:
        for i in range(n):
            yield TargetError(f"t{i}.md", big)

    def peak(n: int) -> int:
        total = 0

        def count(chunk: str) -> None:
            nonlocal total
            total += len(chunk)

        tracemalloc.start()
        try:
            for chunk in render("check", "json", results(n)):
                count(chunk)  # type: ignore[arg-type]
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert total > n * 20_000

    sizes = [peak(50), peak(500)]
    assert sizes[1] < 3 * sizes[0] + 1_000_000, sizes  # 10x the output, not 10x the memory


def test_checks_are_yielded_as_they_are_done() -> None:
    import inspect

    from policy.pipeline.check import iter_check

    assert inspect.isgeneratorfunction(iter_check)


# -- the lineage tree ------------------------------------------------------------------------------------------
def test_a_40_deep_lineage_tree_is_shown_in_full(run_cli: Any, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    depth = 40
    for i in range(depth):
        fields: dict[str, Any] = {"license": "apache-2.0"}
        if i < depth - 1:
            fields["base_model"] = f"acme/m{i + 1}"
        (cards / f"acme__m{i}.md").write_text(make_card(fields), encoding="utf-8")
    policy = tmp_path / "policycheck.yaml"
    policy.write_text("schema: policycheck/policy/v1\nmax_depth: 64\n", encoding="utf-8")
    result = run_cli("check", cards / "acme__m0.md", "--cards", cards, "--policy", policy)
    tree = [line for line in result.out.splitlines() if "→ acme/m" in line]
    assert [re.search(r"→ (acme/m\d+)", line).group(1) for line in tree] == [f"acme/m{i}" for i in range(1, depth)]
    assert max(len(line) for line in tree) < 110  # indentation is capped: no line is pushed off the page
    assert "[depth 39]" in tree[-1]


def test_tree_renderer_handles_any_depth_without_recursion() -> None:
    from policy.model.report import LineageEdge, PolicySummary, Report, Subject, SubjectLicense
    from policy.render.text import render_text

    depth = 3000
    lineage = tuple(LineageEdge(child=f"m{i}", parent=f"m{i + 1}", relation="finetune", declared_in="card",
                                parent_license="mit", resolved=True) for i in range(depth))
    report = Report(subject=Subject("m0", license=SubjectLicense(declared="mit", id="mit", known=True)),
                    verdict="pass", lineage=lineage, findings=(), obligations=(), packs=(), evaluated=(),
                    date="2024-01-01", policy=PolicySummary())
    text = render_text([report])
    assert text.count("finetune → m") == depth and f"→ m{depth} " in text
    assert dataclasses.is_dataclass(report)
