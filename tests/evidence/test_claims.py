"""policy.evidence.claims: evaluation claims read from cards and eval-results, judged against independent values."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from policy.errors import InputError
from policy.evidence.claims import (
    MAX_CLAIMS,
    Claim,
    Independent,
    claim_evidence,
    claims_from_card,
    claims_from_eval_results,
    classify,
    load_benchmarks,
    parse_independent,
)
from policy.model.evidence import Evidence
from policy.scan.cards import parse_card
from policy.yamlload import load_fast

FIXTURES = Path(__file__).parents[1] / "fixtures" / "evidence" / "claims"
CORPUS = Path(__file__).parents[1] / "fixtures" / "corpus" / "cards"  # the 102 real Hub cards
B = load_benchmarks()


def read_card(path: Path, **kw: object) -> list[Claim]:
    text = path.read_text(encoding="utf-8")
    card = parse_card(text, path.name)
    return claims_from_card(card.fields, card.body, body_start(text, card.body), B, card_text=text, **kw)


def body_start(text: str, body: str) -> int:
    """The card line of the body's first line (parse_card's body is the text after the closing `---`)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    return text.count("\n") - body.count("\n") + 1


def codes(items: list[Evidence]) -> list[str]:
    return [e.code for e in items]


def claim(benchmark: str = "gsm8k", value: float = 90.0, **kw: object) -> Claim:
    bench = B.get(benchmark)
    assert bench is not None
    base: dict[str, object] = {
        "benchmark": benchmark, "name": bench.name, "metric": "accuracy", "value": value,
        "percent": (value * 100 if value <= 1 else value) if bench.percent else None,
        "higher_is_better": bench.higher_is_better, "dataset_id": None, "dataset_revision": "r1", "split": "test",
        "source_url": "https://example.org", "source_name": "x", "origin": "model-index", "line": 14}
    base.update(kw)
    return Claim(**base)  # type: ignore[arg-type]


def independent(benchmark: str = "gsm8k", value: float = 38.0, percent: float | None = 38.0, *,
                model: str = "org/model", revision: str | None = None, row: int = 3) -> Independent:
    return Independent(model, revision, benchmark, value, percent, "Open LLM Leaderboard export", row, "evals.csv")


# -------------------------------------------------------------------------------------------- benchmarks

@pytest.mark.parametrize(("written", "config", "expected"), [
    ("GSM8K", None, "gsm8k"), ("gsm8k", None, "gsm8k"), ("openai/gsm8k", None, "gsm8k"), ("GSM-8K", None, "gsm8k"),
    ("GSM8k (5-shot)", None, "gsm8k"), ("**GSM8K**", None, "gsm8k"),
    ("GPQA-Diamond", None, "gpqa_diamond"), ("gpqa_diamond", None, "gpqa_diamond"),
    ("GPQA Diamond", None, "gpqa_diamond"), ("Idavidrein/gpqa", "gpqa_diamond", "gpqa_diamond"),
    ("Idavidrein/gpqa", "diamond", "gpqa_diamond"), ("Idavidrein/gpqa", None, "gpqa"),
    ("MMLU (5-Shot)", None, "mmlu"), ("cais/mmlu", "all", "mmlu"), ("MMLU-PRO (5-shot)", None, "mmlu_pro"),
    ("TIGER-Lab/MMLU-Pro", None, "mmlu_pro"), ("openai_humaneval", None, "humaneval"),
    ("openai/openai_humaneval", None, "humaneval"), ("HumanEval+", None, "humaneval_plus"),
    ("MATH-500", None, "math_500"), ("HuggingFaceH4/MATH-500", None, "math_500"), ("MATH", None, "math"),
    ("MATH Lvl 5 (4-Shot)", None, "math_lvl5"), ("AIME 2024", None, "aime_2024"),
    ("ai2_arc", "ARC-Challenge", "arc_challenge"), ("ai2_arc", "ARC-Easy", "arc_easy"), ("ai2_arc", "ARC-Other", None),
    ("AI2 Reasoning Challenge (25-Shot)", None, "arc_challenge"), ("Rowan/hellaswag", None, "hellaswag"),
    ("truthful_qa", "multiple_choice", "truthfulqa"), ("Winogrande (5-shot)", None, "winogrande"),
    ("lukaemon/bbh", None, "bbh"), ("BBH (3-Shot)", None, "bbh"), ("google/IFEval", None, "ifeval"),
    ("MuSR (0-shot)", None, "musr"), ("LiveCodeBench", None, "livecodebench"),
    ("LiveCodeBench (self repair)", None, None), ("WikiText perplexity", None, "wikitext_ppl"),
    ("MT-Bench", None, "mt_bench"), ("", None, None),
])
def test_resolve_aliases(written: str, config: str | None, expected: str | None) -> None:
    found = B.resolve(written, config)
    assert (found.id if found else None) == expected


def test_resolve_rejects_non_text() -> None:
    assert B.resolve(None) is None
    assert B.resolve(["gsm8k"]) is None  # type: ignore[arg-type]
    assert B.resolve({"id": "gsm8k"}) is None  # type: ignore[arg-type]


def test_benchmark_data_file() -> None:
    text = (Path(__file__).parents[2] / "rules" / "evidence" / "benchmarks.yaml").read_text(encoding="utf-8")
    data = load_fast(text)
    assert data["schema_version"] == 1
    ids = [b["id"] for b in data["benchmarks"]]
    assert len(ids) == len(set(ids))
    assert all(b["source"].startswith("https://") for b in data["benchmarks"])
    assert B.get("wikitext_ppl").higher_is_better is False  # type: ignore[union-attr]
    assert B.get("wikitext_ppl").scale == "raw"  # type: ignore[union-attr]
    assert B.get("mt_bench").scale == "raw"  # type: ignore[union-attr]  # a score from 1 to 10
    # a rating, a sum of sub-scores, a score out of 1000 or of 3: raw, not percentages
    raw = ("wikitext_ppl", "mt_bench", "codeforces", "mme", "ocrbench", "mmbench_video")
    assert all(B.get(r).scale == "raw" for r in raw)  # type: ignore[union-attr]
    assert all(b.scale == "percent" and b.higher_is_better for b in B.items if b.id not in raw)


def test_load_benchmarks_rejects_bad_data() -> None:
    with pytest.raises(ValueError, match="schema_version"):
        load_benchmarks({"benchmarks": []})
    with pytest.raises(ValueError, match="source"):
        load_benchmarks({"schema_version": 1, "benchmarks": [{"id": "x", "name": "X"}]})
    dup = {"id": "a", "name": "A", "source": "https://a", "higher_is_better": True, "scale": "percent"}
    with pytest.raises(ValueError, match="names both"):
        load_benchmarks({"schema_version": 1, "benchmarks": [dup, {**dup, "id": "b", "aliases": ["A"]}]})


# -------------------------------------------------------------------------------------------- model-index

def test_model_index_of_corpus_card() -> None:
    """HuggingFaceH4/zephyr-7b-gemma-v0.1 (a copy of the corpus card): every model-index metric, with its card
    line, and the model's row of the body's comparison tables when the model name is given."""
    claims = read_card(FIXTURES / "HuggingFaceH4__zephyr-7b-gemma-v0.1.md",
                       model_name="HuggingFaceH4/zephyr-7b-gemma-v0.1")
    index = [(c.benchmark, c.name, c.metric, c.value, c.percent, c.dataset_id, c.split, c.line, c.source_name)
             for c in claims if c.origin == "model-index"]
    leaderboard = "Open LLM Leaderboard"
    assert index == [
        ("mt_bench", "MT-Bench", "unknown", 7.81, None, "unknown", None, 25, None),  # a 1-10 score: no percent
        ("arc_challenge", "AI2 Reasoning Challenge (25-Shot)", "acc_norm", 58.45, 58.45, "ai2_arc", "test", 41,
         leaderboard),
        ("hellaswag", "HellaSwag (10-Shot)", "acc_norm", 83.48, 83.48, "hellaswag", "validation", 57, leaderboard),
        ("mmlu", "MMLU (5-Shot)", "acc", 60.68, 60.68, "cais/mmlu", "test", 74, leaderboard),
        ("truthfulqa", "TruthfulQA (0-shot)", "mc2", 52.07, 52.07, "truthful_qa", "validation", 91, leaderboard),
        ("winogrande", "Winogrande (5-shot)", "acc", 74.19, 74.19, "winogrande", "validation", 107, leaderboard),
        ("gsm8k", "GSM8k (5-shot)", "acc", 45.56, 45.56, "gsm8k", "test", 124, leaderboard),
    ]
    mi = [c for c in claims if c.origin == "model-index"]
    assert all(c.dataset_revision is None and not c.verified_flag and not c.has_verify_token for c in mi)
    assert mi[1].source_url == ("https://huggingface.co/spaces/HuggingFaceH4/open_llm_leaderboard"
                                "?query=HuggingFaceH4/zephyr-7b-gemma-v0.1")
    assert mi[0].source_url == "https://huggingface.co/spaces/lmsys/mt-bench"
    lines = (FIXTURES / "HuggingFaceH4__zephyr-7b-gemma-v0.1.md").read_text(encoding="utf-8").split("\n")
    assert lines[41 - 1].strip() == "value: 58.45"
    table = {(c.benchmark, c.value, c.line) for c in claims if c.origin == "card-table" and c.line < 300
             and c.subtask is None}
    assert {t for t in table if t[0]} == {
        ("mt_bench", 7.81, 155), ("ifeval", 28.76, 155), ("truthfulqa", 52.19, 164),  # model's row
        ("agieval", 34.22, 164), ("bigbench", 37.1, 164),  # the suites' averages, as the Nous suite reports them
        # lm-eval-harness tables (Task | Version | Metric | Value): the Version column is skipped, and a task's
        # second metric (acc_norm, on a row whose Task is empty) is read as well
        ("arc_challenge", 49.15, 196), ("arc_challenge", 52.47, 197), ("arc_easy", 77.44, 198),
        ("arc_easy", 74.75, 199), ("boolq", 79.69, 200), ("hellaswag", 60.59, 201), ("hellaswag", 78.0, 202),
        ("openbookqa", 29.2, 203), ("openbookqa", 37.8, 204), ("piqa", 76.82, 205), ("piqa", 77.8, 206),
        ("winogrande", 64.09, 207)}
    # the harness's subtasks are their suite's, the subtask kept; each metric of a task is read (a row with an
    # empty Task continues the one above) from its Value column
    by_line = {c.line: c for c in claims if c.origin == "card-table" and c.subtask is not None}
    assert (by_line[178].benchmark, by_line[178].subtask, by_line[178].name, by_line[178].metric,
            by_line[178].value) == ("agieval", "lsat_ar", "agieval_lsat_ar", "acc", 19.57)
    assert (by_line[179].name, by_line[179].metric, by_line[179].value) == ("agieval_lsat_ar", "acc_norm", 21.74)
    assert (by_line[222].benchmark, by_line[222].subtask) == ("bigbench", "causal_judgement")
    # (the harness table of known tasks is read as the others are: its one numeric column, Version and Stderr aside)
    assert by_line[178].column == by_line[179].column == "Value (first numeric column)"
    assert "zephyr-7b-gemma-v0.1" in lines[155 - 1] and "28.76" in lines[155 - 1]
    assert "49.15" in lines[196 - 1]
    columns = {c.line: c.column for c in claims if c.origin == "card-table"}
    assert columns[155].endswith("(model row)") and columns[196] == "Value (first numeric column)"
    leaderboard_table = sorted((c.benchmark, c.value, c.line) for c in claims if c.line >= 380)
    assert leaderboard_table == sorted([("arc_challenge", 58.45, 380), ("hellaswag", 83.48, 381),
                                        ("mmlu", 60.68, 382), ("truthfulqa", 52.07, 383),
                                        ("winogrande", 74.19, 384), ("gsm8k", 45.56, 385)])
    # the table 52.19 and the model-index 52.07 agree within 0.5 points: not inconsistent
    ev = claim_evidence("HuggingFaceH4/zephyr-7b-gemma-v0.1", None, claims, [], benchmarks=B)
    assert "claim-inconsistent" not in codes(ev)
    assert "claim-verified-without-token" not in codes(ev)


def test_comparison_table_reads_the_column_labelled_ours_or_named_and_says_so() -> None:
    claims = read_card(FIXTURES / "gsm8k-claims.md")
    table = [c for c in claims if c.origin == "card-table"]
    assert [(c.benchmark, c.value, c.percent, c.column) for c in table] == [
        ("mmlu", 90.2, 90.2, "Ours (model column)"), ("gsm8k", 84.0, 84.0, "Ours (model column)")]
    named = read_card(FIXTURES / "gsm8k-claims.md", model_name="Baseline")
    assert [(c.benchmark, c.value, c.column) for c in named if c.origin == "card-table"] == [
        ("mmlu", 70.0, "Baseline (model column)"), ("gsm8k", 50.1, "Baseline (model column)")]


def test_verified_without_token_flagged_with_token_not() -> None:
    claims = read_card(FIXTURES / "gsm8k-claims.md")
    gsm, mmlu = (c for c in claims if c.origin == "model-index")
    assert (gsm.benchmark, gsm.verified_flag, gsm.has_verify_token, gsm.line) == ("gsm8k", True, False, 15)
    assert (mmlu.benchmark, mmlu.verified_flag, mmlu.has_verify_token) == ("mmlu", True, True)
    ev = [e for e in claim_evidence("org/model", None, claims, [], benchmarks=B)
          if e.code == "claim-verified-without-token"]
    assert len(ev) == 1
    assert ev[0].confidence == "high" and ev[0].line == 15 and ev[0].data["benchmark"] == "gsm8k"
    assert "verifyToken" in ev[0].message and "GSM8K" in ev[0].message
    assert ev[0].quote == "value: 90.0"
    # the card's own flag never makes a claim verified; the Hub's word does
    assert classify(gsm, None) == "self-reported"
    assert classify(mmlu, None) == "self-reported"
    assert classify(mmlu, True) == "verified"


def test_yaml_and_table_disagree_flagged_with_both_lines() -> None:
    claims = read_card(FIXTURES / "gsm8k-claims.md")
    ev = [e for e in claim_evidence("org/model", None, claims, [], benchmarks=B) if e.code == "claim-inconsistent"]
    assert len(ev) == 1  # GSM8K 90.0 (line 15) vs 84.0 (line 41); MMLU 0.902 vs 90.2% is the same number
    e = ev[0]
    assert e.confidence == "high"
    assert e.data["benchmark"] == "gsm8k"
    assert (e.data["value"], e.data["line"], e.data["other_value"], e.data["other_line"]) == (90.0, 15, 84.0, 41)
    assert "card line 15" in e.message and "card line 41" in e.message
    assert "90.0%" in e.message and "84.0%" in e.message
    text = (FIXTURES / "gsm8k-claims.md").read_text(encoding="utf-8").split("\n")
    assert "GSM-8K" in text[41 - 1]


def test_fraction_and_percent_are_the_same_number() -> None:
    yaml_claim = claim("mmlu", 0.902, line=30)
    table_claim = claim("mmlu", 90.2, origin="card-table", line=40, percent=90.2)
    assert yaml_claim.percent == pytest.approx(90.2)
    ev = claim_evidence("org/model", None, [yaml_claim, table_claim], [], benchmarks=B)
    assert "claim-inconsistent" not in codes(ev)
    off = claim("mmlu", 88.0, origin="card-table", line=40)
    assert "claim-inconsistent" in codes(claim_evidence("org/model", None, [yaml_claim, off], [], benchmarks=B))


def test_claim_exceeds_independent_gives_both_numbers_and_sources() -> None:
    claims = [claim("gsm8k", 90.0, line=14)]
    ev = claim_evidence("org/model", None, claims, [independent()], benchmarks=B)
    assert codes(ev) == ["claim-exceeds-independent"]
    e = ev[0]
    assert e.message == ("org/model claims 90.0% on GSM8K (model-index, card line 14) but the independent value is "
                         "38.0% (Open LLM Leaderboard export, evals.csv row 3): 52.0 points better than measured.")
    assert len(e.message) <= 300
    assert e.confidence == "high" and e.method == "independent-evals" and e.line == 14
    assert e.data["claimed"] == 90.0 and e.data["independent"] == 38.0
    assert e.data["difference"] == pytest.approx(52.0)
    # within the tolerance: nothing
    assert claim_evidence("org/model", None, [claim("gsm8k", 42.0)], [independent()], benchmarks=B) == []
    # another model's independent value is not compared
    assert claim_evidence("other/model", None, claims, [independent()], benchmarks=B) == []
    # a claim the Hub verified is not compared
    assert claim_evidence("org/model", None, claims, [independent()], hub_verified={0: True}, benchmarks=B) == []


def test_lower_is_better_direction() -> None:
    ppl = {"benchmark": "wikitext_ppl", "metric": "perplexity", "percent": None}
    ind = independent("wikitext_ppl", 9.0, None)
    better = claim_evidence("org/model", None, [claim(value=5.0, **ppl)], [ind], benchmarks=B)
    assert codes(better) == ["claim-exceeds-independent"]
    assert better[0].data["higher_is_better"] is False
    assert better[0].data["difference"] == pytest.approx(4 / 9 * 100)
    assert "5.0" in better[0].message and "9.0" in better[0].message
    assert claim_evidence("org/model", None, [claim(value=9.0, **ppl)], [independent("wikitext_ppl", 5.0, None)],
                          benchmarks=B) == []


def test_revision_mismatch_not_compared() -> None:
    claims = [claim("gsm8k", 90.0)]
    pinned = independent(revision="abc123")
    assert claim_evidence("org/model", "def456", claims, [pinned], benchmarks=B) == []
    assert codes(claim_evidence("org/model", "abc123", claims, [pinned], benchmarks=B)) == [
        "claim-exceeds-independent"]
    # the card gives no revision: the independent row is compared
    assert codes(claim_evidence("org/model", None, claims, [pinned], benchmarks=B)) == ["claim-exceeds-independent"]


def test_unmatched_only_when_required() -> None:
    claims = [claim("gsm8k"), claim("mmlu", 70.0), claim("mmlu", 71.0, line=20)]
    assert "claim-unmatched" not in codes(claim_evidence("org/model", None, claims, [independent()], benchmarks=B))
    ev = claim_evidence("org/model", None, claims, [independent()], require_independent=True, benchmarks=B)
    unmatched = [e for e in ev if e.code == "claim-unmatched"]
    assert [e.data["benchmark"] for e in unmatched] == ["mmlu"]  # one per benchmark, gsm8k has a value
    assert unmatched[0].confidence == "medium"


def test_unsourced_says_what_is_missing_and_is_bounded() -> None:
    c = claim("gsm8k", source_url=None, dataset_revision=None)
    ev = claim_evidence("org/model", None, [c], [], benchmarks=B)
    assert codes(ev) == ["claim-unsourced"]
    assert ev[0].data["missing"] == ["source", "dataset revision"]
    assert "no source or dataset revision" in ev[0].message and ev[0].confidence == "medium"
    many = [claim("gsm8k", split=None, line=n) for n in range(50)]
    ev = claim_evidence("org/model", None, many, [], benchmarks=B)
    assert len(ev) == 1 and ev[0].data["claims"] == 50 and ev[0].data["missing"] == ["split"]
    spread = [Claim(None, f"bench {n}", "acc", 1.0, None, None, origin="card-table", line=n) for n in range(40)]
    ev = claim_evidence("org/model", None, spread, [], benchmarks=B)
    assert len(ev) == 21 and "19 more" not in ev[-1].message and "20 more" in ev[-1].message


# -------------------------------------------------------------------------------------------- eval results

def test_eval_results() -> None:
    docs = {"scores.yaml": load_fast((FIXTURES / "eval-results.yaml").read_text(encoding="utf-8")),
            "bad.yaml": "not a list", "worse.yaml": [[1, 2], {"dataset": {"id": ["x"]}, "value": "n/a"}]}
    claims = claims_from_eval_results(docs, B)
    assert [(c.benchmark, c.value, c.percent, c.dataset_revision, c.origin, c.file) for c in claims] == [
        ("gsm8k", 0.79, pytest.approx(79.0), "e53f048", "eval-results", "scores.yaml"),
        ("mmlu", 61.0, 61.0, None, "eval-results", "scores.yaml"),
        ("mmlu_pro", 40.0, 40.0, None, "eval-results", "scores.yaml"),
    ]
    assert [classify(c, None) for c in claims] == ["leaderboard", "community", "self-reported"]
    assert classify(claims[2], None, matched=True) == "independent"
    ev = claim_evidence("org/model", None, claims, [], benchmarks=B)
    unsourced = [e for e in ev if e.code == "claim-unsourced"]
    assert [e.data["benchmark"] for e in unsourced] == ["mmlu", "mmlu_pro"]
    assert unsourced[1].data["missing"] == ["source", "dataset revision"]  # no split in this format


# -------------------------------------------------------------------------------------------- independent files

def test_parse_independent_csv_and_json() -> None:
    rows = parse_independent((FIXTURES / "evals.csv").read_text(encoding="utf-8"), "evals.csv", B)
    assert [(r.model, r.revision, r.benchmark, r.value, r.percent, r.source, r.row) for r in rows] == [
        ("other/model", None, "gsm8k", 95.0, 95.0, "Other", 1),
        ("org/model", "abc123", "gsm8k", 0.30, pytest.approx(30.0), "Pinned run", 2),
        ("org/model", None, "gsm8k", 38.0, 38.0, "Open LLM Leaderboard export", 3),
        ("org/model", None, "wikitext_ppl", 9.0, None, "Harness run", 4),
    ]
    rows = parse_independent((FIXTURES / "evals.json").read_text(encoding="utf-8"), "evals.json", B)
    assert [(r.model, r.revision, r.benchmark, r.percent, r.row) for r in rows] == [
        ("org/model", None, "gsm8k", pytest.approx(38.0), 1), ("org/model", "abc123", "mmlu", 61.5, 2)]


def test_end_to_end_card_against_independent_csv() -> None:
    claims = read_card(FIXTURES / "gsm8k-claims.md")
    rows = parse_independent((FIXTURES / "evals.csv").read_text(encoding="utf-8"), "evals.csv", B)
    ev = [e for e in claim_evidence("org/model", "def456", claims, rows, benchmarks=B)
          if e.code == "claim-exceeds-independent"]
    # the pinned abc123 row (30%) is not compared with revision def456; the unpinned 38% row is
    assert [(e.data["claimed"], e.data["independent"], e.data["independent_row"]) for e in ev] == [
        (90.0, 38.0, 3), (84.0, 38.0, 3)]
    assert "(Open LLM Leaderboard export, evals.csv row 3)" in ev[0].message


@pytest.mark.parametrize(("text", "name", "where"), [
    ("model,revision,benchmark,value,scale,source\norg/m,,gsm8k,90,percent,x\norg/m,,gsm8k,lots,percent,x\n",
     "e.csv", "e.csv:2"),
    ("model,revision,benchmark,value,scale,source\norg/m,,nosuchbench,90,percent,x\n", "e.csv", "e.csv:1"),
    ("model,revision,benchmark,value,scale,source\norg/m,,gsm8k,90,fraction,x\n", "e.csv", "e.csv:1"),
    ("model,revision,benchmark,value,scale,source\norg/m,,gsm8k,90,percentish,x\n", "e.csv", "e.csv:1"),
    ("model,benchmark,value\norg/m,gsm8k,90\n", "e.csv", "e.csv:1"),
    ('[{"model": "a/b", "revision": null, "benchmark": "gsm8k", "value": 1, "scale": "percent", "source": "s"},'
     ' {"model": "a/b", "benchmark": "gsm8k", "value": true, "scale": "percent"}]', "e.json", "e.json:2"),
    ('[{"model": "a/b", "benchmark": "gsm8k", "value": 50, "scale": "percent"}, "row"]', "e.json", "e.json:2"),
    ('{"model": "a/b"}', "e.json", "e.json"),
    ("not json", "e.json", "e.json"),
])
def test_parse_independent_bad_rows(text: str, name: str, where: str) -> None:
    with pytest.raises(InputError) as err:
        parse_independent(text, name, B)
    assert err.value.message.startswith(where + ":")


def test_parse_independent_reads_a_csv_with_a_byte_order_mark() -> None:
    """Excel's "CSV UTF-8" starts with U+FEFF: the header's first name is `model`, not `\\ufeffmodel`."""
    text = (FIXTURES / "evals.csv").read_text(encoding="utf-8")
    assert parse_independent("\ufeff" + text, "evals.csv", B) == parse_independent(text, "evals.csv", B)
    json_text = (FIXTURES / "evals.json").read_text(encoding="utf-8")
    assert parse_independent("\ufeff" + json_text, "e.json", B) == parse_independent(json_text, "e.json", B)


def test_a_bom_csv_passed_with_evals_is_read(run_cli: Any, tmp_path: Path) -> None:
    evals = tmp_path / "excel.csv"
    evals.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "evals.csv").read_bytes().replace(b"\n", b"\r\n"))
    card = tmp_path / "org__model.md"
    card.write_text((FIXTURES / "gsm8k-claims.md").read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("check", card, "--offline", "--evals", evals, "--format", "json")
    assert result.code == 3, result.err
    assert "Open LLM Leaderboard export, " in result.out and "excel.csv row 3" in result.out  # the row was read


def test_lone_surrogates_in_an_evals_json_file_are_replaced() -> None:
    text = ('[{"model": "org/model\\ud800", "benchmark": "gsm8k", "value": 38, "scale": "percent", '
            '"source": "run \\udfff \\ud83d\\ude00", "x\\udc00": 1}]')
    [row] = parse_independent(text, "e.json", B)
    assert row.model == "org/model\ufffd" and row.source == "run \ufffd \U0001f600"  # a pair is a character
    row.source.encode("utf-8")


@pytest.mark.parametrize("fmt", ["json", "sarif", "text", "markdown", "html", "junit", "spdx-json", "cyclonedx"])
def test_a_lone_surrogate_in_evals_json_reaches_no_writer(run_cli: Any, tmp_path: Path, fmt: str) -> None:
    evals = tmp_path / "evals.json"
    evals.write_text('[{"model": "org/model", "benchmark": "gsm8k", "value": 38, "scale": "percent", '
                     '"source": "hostile \\ud800 export"}]', encoding="utf-8")
    card = tmp_path / "org__model.md"
    card.write_text((FIXTURES / "gsm8k-claims.md").read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("check", card, "--offline", "--evals", evals, "--format", fmt)
    assert result.code == 3, result.err
    assert "Traceback" not in result.err
    if fmt in ("json", "sarif"):  # the row was used, its text written (U+FFFD in place of the surrogate)
        assert "hostile \ufffd export" in result.out


def test_parse_independent_needs_a_known_suffix() -> None:
    with pytest.raises(InputError, match=r"e\.txt"):
        parse_independent("", "e.txt", B)


# -------------------------------------------------------------------------------------------- hostile input

@pytest.mark.parametrize("index", [
    "model-index as a string", 42, None, {"name": "x"}, [None, 1, "s", [[[]]]],
    [{"results": "nope"}, {"results": [None, {"dataset": "x", "metrics": [1]}]}],
    [{"results": [{"dataset": {"name": ["GSM8K"], "type": {"a": 1}}, "metrics": [
        {"type": {"x": [1]}, "value": {"nested": "garbage"}}, {"value": [90]}, {"value": float("nan")},
        {"value": True}, {"value": "90.5%", "verifyToken": ["x"], "verified": "true"}]}]}],
])
def test_hostile_model_index(index: object) -> None:
    claims = claims_from_card({"model-index": index}, "", 1, B)
    assert all(isinstance(c, Claim) for c in claims)
    if isinstance(index, list) and len(index) == 1 and isinstance(index[0], dict) and "results" in index[0] and \
            isinstance(index[0]["results"], list):
        assert [(c.value, c.percent, c.has_verify_token, c.verified_flag, c.name) for c in claims] == [
            (90.5, 90.5, False, False, "")]


def test_huge_model_index_is_bounded() -> None:
    metric = {"type": "acc", "value": 50.0}
    index = [{"results": [{"dataset": {"type": "gsm8k"}, "metrics": [metric] * 100}] * 100}]
    start = time.perf_counter()
    claims = claims_from_card({"model-index": index}, "", 1, B)
    assert len(claims) == MAX_CLAIMS
    assert time.perf_counter() - start < 2


def test_long_strings_are_capped() -> None:
    index = [{"results": [{"dataset": {"name": "G" * 100_000}, "source": {"url": "u" * 10_000},
                           "metrics": [{"type": "t" * 5000, "value": 1.5}]}]}]
    (c,) = claims_from_card({"model-index": index}, "", 1, B)
    assert len(c.name) <= 200 and len(c.metric or "") <= 200 and len(c.source_url or "") <= 200


def test_huge_table_and_long_line() -> None:
    rows = "\n".join(f"| GSM8K | {n % 100}.5 |" for n in range(10_000))
    body = "| Benchmark | Score |\n|---|---|\n" + rows + "\n\n" + "|" * 1_000_000 + "\n" + "x" * 1_000_000
    start = time.perf_counter()
    claims = claims_from_card({}, body, 10, B)
    assert time.perf_counter() - start < 3
    assert len(claims) == 200  # at most 200 rows read per table
    assert claims[0].line == 12 and claims[-1].line == 211
    wide = "|" + "|".join(["GSM8K"] * 5000) + "|\n|" + "---|" * 5000 + "\n|" + "1|" * 5000 + "\n"
    assert len(claims_from_card({}, wide, 1, B)) == 0  # a line over 2,000 characters is never a table row
    wide_ok = "| M |" + "|".join(["GSM8K"] * 100) + "|\n|" + "---|" * 101 + "\n| m |" + "1|" * 100 + "\n"
    assert len(claims_from_card({}, wide_ok, 1, B)) == 29  # at most 30 cells per row


def test_separator_only_rows_and_code_that_is_no_table_are_ignored() -> None:
    body = "```\nx = a | b\ny = c | d\n```\n| a | b |\n|---|---|\n|---|---|\n"
    assert claims_from_card({}, body, 1, B) == []


# -------------------------------------------------------------------------------------------- corpus

def corpus_counts(folder: Path = CORPUS) -> tuple[int, int, int]:
    """(cards read, cards that carry at least one claim, of those the cards with only self-reported claims:
    none carries a verifyToken). Runs every card through `claims_from_card`."""
    read = with_claims = self_only = 0
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            card = parse_card(text, path.name)
        except InputError:
            card = None
        fields = card.fields if card else {}
        body = card.body if card else text
        claims = claims_from_card(fields, body, body_start(text, body) if card else 1, B, card_text=text)
        read += 1
        if claims:
            with_claims += 1
            if not any(c.has_verify_token for c in claims):
                self_only += 1
    return read, with_claims, self_only


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no corpus cards in tests/fixtures/corpus")
def test_every_corpus_card_runs() -> None:
    start = time.perf_counter()
    read, with_claims, self_only = corpus_counts()
    assert read == len(list(CORPUS.glob("*.md"))) and read > 0
    assert 0 < self_only <= with_claims <= read
    assert time.perf_counter() - start < 30


def test_category_column_is_not_a_benchmark() -> None:
    """DeepSeek-R1's table: `Category | Benchmark (Metric) | model...`: "Math" in the first column is a category,
    the benchmark is in the second."""
    body = ("| Category | Benchmark (Metric) | Claude | DeepSeek R1 |\n|---|---|---|---|\n"
            "| Math | AIME 2024 (Pass@1) | 16.0 | **79.8** |\n| | MATH-500 (Pass@1) | 78.3 | **97.3** |\n")
    claims = claims_from_card({}, body, 100, B, model_name="deepseek-ai/DeepSeek-R1")
    assert [(c.benchmark, c.value, c.line, c.column) for c in claims] == [
        ("aime_2024", 79.8, 102, "DeepSeek R1 (model column)"), ("math_500", 97.3, 103, "DeepSeek R1 (model column)")]
    first = claims_from_card({}, body, 100, B)
    assert [(c.benchmark, c.value, c.column) for c in first] == [
        ("aime_2024", 16.0, "Claude (first numeric column)"), ("math_500", 78.3, "Claude (first numeric column)")]


# -- independent only when it agrees; contradicted otherwise, with both numbers (issue 19 item 6) ---------------

def test_a_claim_is_independent_only_when_an_independent_value_agrees() -> None:
    from policy.evidence.claims import agreement

    assert agreement(claim("gsm8k", 40.0), [independent("gsm8k", 38.0, 38.0)], "org/model", None)[0] == "independent"
    verdict, row = agreement(claim("gsm8k", 90.0), [independent("gsm8k", 38.0, 38.0)], "org/model", None)
    assert verdict == "contradicted" and row is not None and row.value == 38.0
    # worse than measured by more than the tolerance contradicts too (an under-claim)
    assert agreement(claim("gsm8k", 20.0), [independent("gsm8k", 38.0, 38.0)], "org/model", None)[0] == "contradicted"
    # the nearest of several values decides; another model, benchmark or pinned revision is not compared
    rows = [independent("gsm8k", 10.0, 10.0), independent("gsm8k", 88.0, 88.0)]
    assert agreement(claim("gsm8k", 90.0), rows, "org/model", None)[0] == "independent"
    assert agreement(claim("gsm8k", 90.0), [independent("gsm8k", 88.0, 88.0, model="other/m")], "org/model",
                     None) == (None, None)
    assert agreement(claim("gsm8k", 90.0), [independent("gsm8k", 88.0, 88.0, revision="abc")], "org/model",
                     "def") == (None, None)
    assert classify(claim("gsm8k", 90.0), None, contradicted=True) == "contradicted"
    assert classify(claim("gsm8k", 90.0), True, contradicted=True) == "verified"  # the Hub's word comes first


def test_the_claims_view_shows_the_independent_value_beside_each_judged_claim() -> None:
    from policy.evidence.collect import claims_view
    from policy.model.facts import ModelFacts

    card = {"model-index": [{"name": "m", "results": [
        {"task": {"type": "text-generation"}, "dataset": {"name": "GSM8K", "type": "openai/gsm8k"},
         "metrics": [{"type": "accuracy", "value": 90.0}]},
        {"task": {"type": "text-generation"}, "dataset": {"name": "MMLU", "type": "cais/mmlu"},
         "metrics": [{"type": "accuracy", "value": 61.0}]}]}]}
    node = ModelFacts(id="org/model", card=card)
    view = claims_view(node, [independent("gsm8k", 38.0, 38.0), independent("mmlu", 60.0, 60.0)])
    rows = {r["benchmark"]: r for r in view.rows()}
    assert (rows["gsm8k"]["class"], rows["gsm8k"]["independent_value"]) == ("contradicted", 38.0)
    assert (rows["mmlu"]["class"], rows["mmlu"]["independent_value"]) == ("independent", 60.0)
    assert "evals.csv row 3" in rows["gsm8k"]["independent_source"]


@pytest.mark.parametrize(("written", "expected"), [
    ("MATH Lvl 5 (4-Shot)", "math_lvl5"), ("Math Level 5", "math_lvl5"), ("lighteval/MATH-Hard", "math_lvl5"),
    ("GPQA (0-shot)", "gpqa"), ("Idavidrein/gpqa", "gpqa"), ("GPQA Diamond", "gpqa_diamond"),
    ("HumanEval+", "humaneval_plus"), ("HumanEval", "humaneval"), ("MBPP+", "mbpp_plus"), ("MBPP", "mbpp"),
    ("DROP (3-shot F1)", "drop"), ("AlpacaEval 2.0", "alpaca_eval"), ("MT-Bench", "mt_bench"),
    ("DS-1000", "ds1000"),
    ("hendrycks/competition_math", None),  # the parent set's id names no subset: a card's name decides
    ("LiveCodeBench (self repair)", None),  # another LiveCodeBench task: not its code-generation score
])
def test_the_open_llm_leaderboard_and_code_benchmarks_resolve(written: str, expected: str | None) -> None:
    bench = B.resolve(written)
    assert (bench.id if bench else None) == expected
    if expected is not None:
        assert B.mentioned(f"<td>{written}</td><td>1</td>")


def test_a_table_that_names_no_benchmark_is_not_mentioned() -> None:
    assert not B.mentioned("<tr><td>Params</td><td>Context length</td><td>Token count</td></tr><td>8B</td>")


def test_a_result_table_pasted_in_a_code_fence_is_read() -> None:
    body = "\n".join([
        "# Results", "", "```", "|    Tasks    |Version|Filter|n-shot|Metric|Value |   |Stderr|",
        "|-------------|------:|------|-----:|------|-----:|---|-----:|",
        "|gsm8k        |      3|strict|     5|acc   |0.6210|±  |0.0134|", "```", "",
        "```python", "x = a | b", "```"])
    claims = claims_from_card({}, body, 10, B)
    assert [(c.benchmark, c.value, c.line) for c in claims] == [("gsm8k", 0.621, 15)]


HTML_TABLE = """<table>
  <tr><td><strong>Category</strong></td><td><strong>Benchmark</strong></td>
      <td><strong>acme-7b</strong></td><td><strong>Other 7B</strong></td></tr>
  <tr><td rowspan="2">General</td><td>MMLU (5-shot)</td><td>66.6</td><td>45.7</td></tr>
  <tr><td>Winogrande (5-shot)</td><td>76.1</td><td>73.3</td></tr>
  <tr><td colspan="2">GSM-8K (8-shot, CoT)</td><td>79.6</td><td>25.7</td></tr>
</table>
"""


def test_an_html_table_is_read_with_its_spans_expanded() -> None:
    # the rowspan of "General" must not shift Winogrande's scores one column left (76.1 is acme-7b's, not 73.3)
    claims = claims_from_card({}, "# Results\n\n" + HTML_TABLE, 20, B, model_name="acme/acme-7b")
    assert [(c.benchmark, c.value, c.line, c.column) for c in claims] == [
        ("mmlu", 66.6, 25, "acme-7b (model column)"), ("winogrande", 76.1, 26, "acme-7b (model column)"),
        ("gsm8k", 79.6, 27, "acme-7b (model column)")]
    # a comparison table with no column of this model's is no claim of its
    assert claims_from_card({}, HTML_TABLE, 1, B, model_name="acme/third-9b") == []
    # hostile spans are bounded; a table that never closes is no table
    assert claims_from_card({}, '<table><tr><td rowspan="999999999">x</td></tr></table>', 1, B) == []
    assert claims_from_card({}, "<table><tr><td>MMLU</td><td>5", 1, B) == []


def table(body: str, model_name: str | None = "acme/ours-7b") -> list[tuple[str, float, str | None]]:
    return [(c.benchmark, c.value, c.column) for c in claims_from_card({}, body, 1, B, model_name=model_name)]


def test_benchmarks_across_the_header_are_read_from_the_model_s_row() -> None:
    rows = "| Model | MMLU | GSM8K |\n|---|---|---|\n| {} | 65.2 | 54.1 |\n| Llama-2-7b | 45.3 | 14.6 |\n"
    assert table(rows.format("**This model**")) == [("mmlu", 65.2, "This model (model row)"),
                                                    ("gsm8k", 54.1, "This model (model row)")]
    assert table(rows.format("Ours")) == [("mmlu", 65.2, "Ours (model row)"), ("gsm8k", 54.1, "Ours (model row)")]
    linked = rows.format("[acme/ours-7b](https://huggingface.co/acme/ours-7b)")  # an org-prefixed link text
    assert table(linked) == [("mmlu", 65.2, "acme/ours-7b (model row)"), ("gsm8k", 54.1, "acme/ours-7b (model row)")]
    assert table(rows.format("Mistral-7B")) == []  # two rows, neither the model's: a comparison, nothing read


def test_a_name_marked_ours_is_the_model_only_when_it_is_its_name() -> None:
    body = ("| Benchmark | Llama 2 7B | **Ours 7B** (ours) | **Ours 1B** (ours) |\n|---|---|---|---|\n"
            "| MMLU | 45.3 | 65.2 | 30.1 |\n| GSM8K | 14.6 | 54.1 | 20.0 |\n")
    assert table(body) == [("mmlu", 65.2, "Ours 7B (ours) (model column)"),
                           ("gsm8k", 54.1, "Ours 7B (ours) (model column)")]
    assert table(body, "acme/ours-13b") == []  # the card's other sizes, not this model: never read as its claim
    two = "| Benchmark | Ours | Ours |\n|---|---|---|\n| MMLU | 65.2 | 30.1 |\n"
    assert table(two) == []  # two columns labelled "Ours": whose is which cannot be told


def test_one_column_tables_and_footnote_marks() -> None:
    assert table("| MMLU |\n|---|\n| 65.2 |\n") == [("mmlu", 65.2, "row 1 (first numeric row)")]
    body = ("| Benchmark | acme/ours-7b |\n|---|---|\n| GSM8K<sup>1</sup> | 54.1[^a] |\n"
            "| MMLU[^2] | 65.2<sup>†</sup> |\n")
    column = "acme/ours-7b (model column)"
    assert table(body) == [("gsm8k", 54.1, column), ("mmlu", 65.2, column)]
    html = ("<table><tr><th>Benchmark</th><th>Ours</th></tr><tr><td>GSM8K<sup>1</sup></td><td>54.1</td></tr>"
            "</table>")
    assert table(html) == [("gsm8k", 54.1, "Ours (model column)")]


def test_every_score_of_the_model_s_column_is_read_known_benchmark_or_not() -> None:
    body = ("| Benchmark | Acme-7B-Ins | Llama-2-7B |\n|---|---|---|\n| MMLU | 65.2 | 45.3 |\n| BoolQ | 83.3 | 77.4 |\n"
            "| Context length | 32768 | 4096 |\n")
    got = [(c.benchmark, c.name, c.value) for c in claims_from_card({}, body, 1, B, model_name="acme/Acme-7B-Instruct")]
    assert got == [("mmlu", "MMLU", 65.2), ("boolq", "BoolQ", 83.3)]  # "Ins" is Instruct; a context length no score
    unknown = "| Benchmark | Acme-7B | Other |\n|---|---|---|\n| CLIcK | 43.8 | 40.1 |\n| KMMLU | 35.2 | 30.0 |\n"
    assert [(c.name, c.value) for c in claims_from_card({}, unknown, 1, B, model_name="acme/Acme-7B")] == [
        ("CLIcK", 43.8), ("KMMLU", 35.2)]  # no benchmark known, but the column is labelled with the model's name


def test_a_table_of_the_model_s_architecture_or_energy_is_not_read_as_claims() -> None:
    spec = "| | Acme-7B | Acme-1B |\n|---|---|---|\n| d_model | 4096 | 2048 |\n| num layers | 32 | 16 |\n"
    assert claims_from_card({}, spec, 1, B, model_name="acme/Acme-7B") == []
    carbon = ("| Model | GPU Type | Power (W) | Carbon Emissions (tCO2eq) |\n|---|---|---|---|\n"
              "| Acme-7B | A100 | 400 | 75.05 |\n")
    assert claims_from_card({}, carbon, 1, B, model_name="acme/Acme-7B") == []


def test_a_harness_table_double_spaced_with_continuation_rows() -> None:
    rows = ["|    Task     |Version| Metric |Value |   |Stderr|", "|-------------|------:|--------|-----:|---|-----:|",
            "|agieval_lsat_ar|      0|acc     |0.5529|±  |0.0145|",
            "|             |       |acc_norm|0.5870|±  |0.0144|",
            "|boolq        |      1|acc     |0.8599|±  |0.0061|"]
    body = "```\n\n" + "\n\n".join(rows) + "\n\n```\n"  # every row followed by a blank line
    got = [(c.name, c.metric, c.value, c.line) for c in claims_from_card({}, body, 1, B, model_name="acme/m")]
    assert got == [("agieval_lsat_ar", "acc", 0.5529, 7), ("agieval_lsat_ar", "acc_norm", 0.587, 9),
                   ("boolq", "acc", 0.8599, 11)]


def test_a_metric_written_after_the_benchmark_name_is_not_part_of_it() -> None:
    for name, bench in [("MMLU-Pro (EM)", "mmlu_pro"), ("GPQA Diamond pass@1", "gpqa_diamond"),
                        ("IF-Eval (Prompt Strict)", "ifeval"), ("DROP (F1)", "drop"), ("MATH-500 pass@1", "math_500"),
                        ("OBQA", "openbookqa"), ("ARC-e", "arc_easy"), ("BoolQ", "boolq"), ("MGSM", "mgsm")]:
        assert getattr(B.resolve(name), "id", None) == bench, name
    # a rating is a raw-scale benchmark's metric: a percentage has none
    assert B.resolve("Codeforces (Rating)").id == "codeforces"  # type: ignore[union-attr]
    assert B.resolve("MMLU (Rating)") is None and B.resolve("Acme (Rating)") is None


def test_an_html_table_s_claim_is_at_its_value_s_line_and_a_heading_can_name_the_other_variant() -> None:
    table = ("<table>\n <tr>\n  <td>Benchmark\n  </td>\n  <td>Acme 7B\n  </td>\n </tr>\n <tr>\n  <td>MMLU (5-shot)\n"
             "  </td>\n  <td>66.6\n  </td>\n </tr>\n</table>\n")
    body = "### Base pretrained models\n\n" + table
    (c,) = claims_from_card({}, body, 1, B, model_name="acme/Acme-7B")
    assert (c.benchmark, c.value, c.line) == ("mmlu", 66.6, 13)  # the line of "66.6", not of its <tr>
    tuned = "### Instruction tuned models\n\n" + table  # the base model's card, the instruct model's results
    assert claims_from_card({}, tuned, 1, B, model_name="acme/Acme-7B") == []
    assert [c.value for c in claims_from_card({}, tuned, 1, B, model_name="acme/Acme-7B-Instruct")] == [66.6]
    pipe = "## Chat model results\n\n| Benchmark | Acme 7B |\n|---|---|\n| MMLU | 61.0 |\n"
    assert claims_from_card({}, pipe, 1, B, model_name="acme/Acme-7B") == []
    assert [c.value for c in claims_from_card({}, pipe.replace("Chat model", "Evaluation"), 1, B,
                                              model_name="acme/Acme-7B")] == [61.0]


def test_a_row_linked_to_the_model_s_hub_page_shots_in_a_name_and_a_category_corner() -> None:
    rows = ("|        | MMLU | GSM8K |\n|---|---|---|\n"
            "|[Acme Iter2](https://huggingface.co/acme/Acme-8B-Iter2) | 60.1 | 70.2 |\n"
            "|[Acme Iter3](https://huggingface.co/acme/Acme-8B-Iter3) | 61.5 | 71.9 |\n")
    assert table(rows, "Acme-8B-Iter3") == [("mmlu", 61.5, "Acme Iter3 (model row)"),
                                           ("gsm8k", 71.9, "Acme Iter3 (model row)")]
    assert table(rows, "other/Acme-8B-Iter3") == []  # the link names another org's repo: not this model's row
    shots = "| English Benchmark | **Value** |\n|---|---|\n| ARC-Challenge-25shots | 59.73 |\n| MMLU-5shots | 58.37 |\n"
    assert [(b, v) for b, v, _ in table(shots, "acme/m")] == [("arc_challenge", 59.73), ("mmlu", 58.37)]
    corner = "| supercategory | Acme-7B | Other |\n|---|---|---|\n| Culture | 43.77 | 29.74 |\n"
    assert table(corner, "acme/Acme-7B") == [(None, 43.77, "Acme-7B (model column)")]


def test_only_whole_words_of_a_heading_name_a_variant() -> None:
    table = "| Benchmark | Acme 7B |\n|---|---|\n| MMLU | 61.0 |\n"
    for heading in ("## Comparison with ChatGPT", "## Knowledge database results", "## Results"):
        assert [c.value for c in claims_from_card({}, f"{heading}\n\n{table}", 1, B, model_name="acme/Acme-7B")] \
            == [61.0], heading
    assert claims_from_card({}, f"## SFT model\n\n{table}", 1, B, model_name="acme/Acme-7B") == []
    assert [c.value for c in claims_from_card({}, f"## SFT model\n\n{table}", 1, B,
                                              model_name="acme/Acme-7B-it")] == [61.0]


def test_review_findings_on_the_table_reader() -> None:
    """Found by review: the model's own variant words, headings in code, blank labels, long labels, many tables."""
    t = "| Benchmark | chatglm3-6b-base |\n|---|---|\n| MMLU | 61.0 |\n"
    assert [c.value for c in claims_from_card({}, "## Base model evaluation\n\n" + t, 1, B,
                                              model_name="THUDM/chatglm3-6b-base")] == [61.0]
    sft = "| Benchmark | Acme-7B-SFT |\n|---|---|\n| MMLU | 61.0 |\n"
    assert [c.value for c in claims_from_card({}, "## SFT results\n\n" + sft, 1, B,
                                              model_name="acme/Acme-7B-SFT")] == [61.0]
    fenced = "```sh\n# Chat model\npython run.py\n```\n\n" + t.replace("chatglm3-6b-base", "Acme-7B")
    assert [c.value for c in claims_from_card({}, fenced, 1, B, model_name="acme/Acme-7B")] == [61.0]
    blank = "| Benchmark | Acme-7B |\n|---|---|\n| MMLU | 70 |\n| | 65 |\n"
    assert [(c.name, c.value) for c in claims_from_card({}, blank, 1, B, model_name="acme/Acme-7B")] == [("MMLU", 70)]
    grouped = ("| Category | Benchmark | Acme-7B |\n|---|---|---|\n| Knowledge | MMLU | 70 |\n"
               "| **Average** | | 61.4 |\n")
    assert [(c.name, c.value) for c in claims_from_card({}, grouped, 1, B, model_name="acme/Acme-7B")] == [
        ("MMLU", 70), ("Average", 61.4)]
    # hostile sizes that quadratic passes took tens of seconds over (the speed is benchmarks/'s to measure)
    long_label = ("<table><tr><th>Benchmark</th><th>" + "*" * 20_000 + "x</th></tr><tr><td>MMLU</td><td>61.0</td>"
                  "</tr></table>")  # an HTML cell has no line limit
    assert [c.value for c in claims_from_card({}, long_label, 1, B, model_name="acme/Acme-7B")] == [61.0]  # one column
    assert claims_from_card({}, "<table>mmlu</table>\n" * 20_000, 1, B, model_name="acme/Acme-7B") == []


def test_html_tables_are_found_in_one_pass() -> None:
    """An unclosed `<table` repeated through a card made a backtracking pattern try every start to the end."""
    from policy.evidence.claims import _table_spans

    body = "<table>a</table> x <TABLE class=t>b</table > <table>c" + "<table " * 1000
    assert [body[a:b] for a, b in _table_spans(body)] == ["<table>a</table>", "<TABLE class=t>b</table >"]
    assert claims_from_card({}, "<table mmlu " * 40_000, 1, B, model_name="acme/m") == []


# -- the registry's reach: suites' subtasks, metrics after a name, a table's categories (issue 19) ---------------

@pytest.mark.parametrize(("written", "expected"), [
    ("agieval_sat_math", ("agieval", "sat_math")), ("AGI Eval LSAT AR", ("agieval", "LSAT AR")),
    ("AGI Eval SAT Math (CoT)", ("agieval", "SAT Math")),
    ("bigbench_causal_judgement", ("bigbench", "causal_judgement")),
    ("BigBench Logical Deduction", ("bigbench", "Logical Deduction")), ("truthfulqa_mc2", ("truthfulqa", "mc2")),
    ("mmlu_high_school_physics", ("mmlu", "high_school_physics")), ("GPQA Main", ("gpqa", "Main")),
    ("AGIEval", ("agieval", None)), ("BFCL v2", ("bfcl", "v2")),
    # the longest name that starts the text decides: BIG-Bench Hard is not a subtask of BIG-bench
    ("BigBench Hard CoT (0-shot)", ("bbh", None)),
    # a hyphen joins another benchmark's name; a benchmark that is no suite has no subtasks; an average is none
    ("MMLU-ProX", None), ("MMLU-Redux", ("mmlu_redux", None)), ("LiveCodeBench (self repair)", None),
    ("HumanEval Multi", None), ("agieval_average", None), ("MMLU Overall", None),
])
def test_a_suite_s_subtask_resolves_to_the_suite_with_the_subtask_kept(written: str, expected: object) -> None:
    found = B.lookup(written)
    assert ((found.benchmark.id, found.subtask) if found else None) == expected


@pytest.mark.parametrize(("written", "expected", "metric"), [
    ("SimpleQA (Correct)", "simpleqa", "Correct"), ("FRAMES (Acc.)", "frames", "Acc."),
    ("AlpacaEval2.0 (LC-winrate)", "alpaca_eval", "LC-winrate"), ("ArenaHard (GPT-4-1106)", "arena_hard", "GPT-4-1106"),
    ("SWE Verified (Resolved)", "swe_bench_verified", "Resolved"), ("C-Eval (EM)", "ceval", "EM"),
    ("MMLU-Redux (EM)", "mmlu_redux", "EM"), ("CLUEWSC (EM)", "cluewsc", "EM"),
    ("AIME 2024 cons@64", "aime_2024", "cons@64"), ("CodeForces rating", "codeforces", "rating"),
    ("Codeforces (Percentile)", "codeforces", "Percentile"), ("DocVQA<sub>test</sub>", "docvqa", "test"),
    ("Video-MME<br>w/o subs", "video_mme", "w/o subs"), ("GSM8K", "gsm8k", None),
])
def test_a_metric_after_a_name_resolves_to_the_benchmark_with_the_metric_kept(written: str, expected: str,
                                                                               metric: str | None) -> None:
    found = B.lookup(written)
    assert found is not None and (found.benchmark.id, found.subtask, found.metric) == (expected, None, metric)
    assert B.resolve("SimpleQA (Rating)") is None  # a rating is a raw-scale benchmark's metric only


@pytest.mark.parametrize(("written", "expected"), [
    ("AIME 25", "aime_2025"), ("AIME 2025", "aime_2025"), ("MathArena/aime_2025", "aime_2025"),
    ("HMMT Feb 25", "hmmt_feb_2025"), ("ARC (25-shot)", "arc_challenge"), ("Arena-Hard", "arena_hard"),
    ("SWE-verified", "swe_bench_verified"), ("princeton-nlp/SWE-bench_Verified", "swe_bench_verified"),
    ("C-SimpleQA", "chinese_simpleqa"), ("CMMLU", "cmmlu"), ("ceval/ceval-exam", "ceval"), ("KMMLU-HARD", "kmmlu_hard"),
    ("Social IQA (5-shot)", "siqa"), ("CommonSenseQA (7-shot)", "commonsenseqa"), ("SQuAD (1-shot)", "squad"),
    ("RefCOCO+<br>(val)", "refcoco_plus"), ("RefCOCO<br>(val)", "refcoco"),
    ("Average", None), ("Avg.", None), ("Overall", None), ("Aider", None), ("Multilingual MMLU", None),
])
def test_new_benchmarks_and_aliases(written: str, expected: str | None) -> None:
    assert getattr(B.resolve(written), "id", None) == expected


def test_subtasks_must_be_true_or_false() -> None:
    bench = {"id": "a", "name": "A", "source": "https://a", "higher_is_better": True, "scale": "percent"}
    assert load_benchmarks({"schema_version": 1, "benchmarks": [{**bench, "subtasks": True}]}).items[0].subtasks
    with pytest.raises(ValueError, match="subtasks must be true or false"):
        load_benchmarks({"schema_version": 1, "benchmarks": [{**bench, "subtasks": "yes"}]})


def _parts(body: str, model: str = "acme/Acme-7B") -> list[tuple[str | None, str | None, float]]:
    return [(c.benchmark, c.subtask, c.value) for c in claims_from_card({}, body, 1, B, model_name=model)]


def test_category_columns_are_the_benchmark_the_heading_or_caption_names() -> None:
    table = "| Model | Avg. | STEM | Humanities |\n|---|---|---|---|\n| Acme-7B | 70.1 | 65.2 | 75.3 |\n"
    assert _parts("#### C-Eval\n\n" + table) == [(None, None, 70.1), ("ceval", "STEM", 65.2),
                                                 ("ceval", "Humanities", 75.3)]  # the average is no category
    # without a heading or caption naming the benchmark, a category names nothing
    assert _parts("## Results\n\n" + table) == [(None, None, 70.1), (None, None, 65.2), (None, None, 75.3)]
    assert _parts(table) == [(None, None, 70.1), (None, None, 65.2), (None, None, 75.3)]
    assert _parts("## Math\n\n" + table)[1] == (None, None, 65.2)  # "Math" is a topic, not the MATH benchmark
    # a table that names another benchmark: its other labels are not the heading's categories
    mixed = "| Model | STEM | GSM8K |\n|---|---|---|\n| Acme-7B | 65.2 | 50.0 |\n"
    assert _parts("#### C-Eval\n\n" + mixed) == [(None, None, 65.2), ("gsm8k", None, 50.0)]
    # a caption line right above the table names it too; rows of categories as well as columns
    rows = "| Languages | Acme-7B |\n|---|---|\n| German | 69.6 |\n| **Average** | 70.0 |\n"
    assert _parts("RULER: a retrieval-based benchmark for long context\n" + rows) == [
        ("ruler", "German", 69.6), (None, None, 70.0)]
    # a heading that only says how the table is cut defers to the one enclosing it; another topic does not
    cut = "| supercategory | category | Acme-7B |\n|---|---|---|\n| Culture | Economy | 61.02 |\n"
    assert _parts("#### CLIcK (Cultural and Linguistic Intelligence in Korean)\n\n##### Accuracy by category\n"
                  + cut) == [("click", "Culture / Economy", 61.02)]
    assert _parts("#### CLIcK\n\n##### Safety review\n" + cut) == [(None, None, 61.02)]


def test_a_subtask_s_score_is_not_judged_as_the_benchmark_s() -> None:
    """A card's "STEM" column of MMLU is not its MMLU score: neither inconsistent with the model-index nor compared
    with an independent MMLU value."""
    card = {"model-index": [{"name": "m", "results": [
        {"task": {"type": "text-generation"}, "dataset": {"name": "MMLU", "type": "cais/mmlu"},
         "metrics": [{"type": "acc", "value": 60.0}]}]}]}
    body = "## MMLU\n\n| Model | STEM | Humanities |\n|---|---|---|\n| Acme-7B | 80.0 | 81.0 |\n"
    claims = claims_from_card(card, body, 10, B, model_name="acme/Acme-7B")
    assert [(c.benchmark, c.subtask) for c in claims] == [("mmlu", None), ("mmlu", "STEM"), ("mmlu", "Humanities")]
    ev = claim_evidence("acme/Acme-7B", None, claims, [independent("mmlu", 60.0, 60.0, model="acme/Acme-7B")],
                        benchmarks=B)
    assert "claim-inconsistent" not in codes(ev) and "claim-exceeds-independent" not in codes(ev)
    # the same numbers as the benchmark's own score would be both
    whole = [claims[0], *(dataclasses.replace(c, subtask=None) for c in claims[1:])]
    ev = claim_evidence("acme/Acme-7B", None, whole, [independent("mmlu", 60.0, 60.0, model="acme/Acme-7B")],
                        benchmarks=B)
    assert "claim-inconsistent" in codes(ev) and "claim-exceeds-independent" in codes(ev)


# --- results written as lines of text -------------------------------------------------------------------------

TRAINER = """# acme/tuned

It achieves the following results on the evaluation set:
- Loss: 0.4695
- Rewards/accuracies: 0.7188

## Model description
- Note: 12
"""


def test_the_trainer_list_of_evaluation_set_metrics_is_read() -> None:
    claims = claims_from_card({}, TRAINER, 5, B)
    assert [(c.name, c.metric, c.value, c.line, c.origin) for c in claims] == [
        ("evaluation set Loss", "Loss", 0.4695, 8, "card-text"),
        ("evaluation set Rewards/accuracies", "Rewards/accuracies", 0.7188, 9, "card-text")]
    assert all(c.benchmark is None for c in claims)  # an evaluation set is no known benchmark


def test_an_average_below_a_table_of_the_models_scores_is_read() -> None:
    body = ("## AGIEval\n```\n|Task|Version|Metric|Value|\n|---|---:|---|---:|\n"
            "|agieval_sat_math|0|acc|0.4000|\n```\n\nAverage: 44.05\n")
    claims = claims_from_card({}, body, 1, B)
    average = [c for c in claims if c.origin == "card-text"]
    assert [(c.name, c.value, c.line, c.benchmark) for c in average] == [("AGIEval Average", 44.05, 8, None)]
    assert any(c.origin == "card-table" for c in claims)


@pytest.mark.parametrize("body", [
    "Average: 44.05\n",  # no table above it
    "|Model|Size|\n|---|---|\n|a|7B|\n\nAverage: 44.05\n",  # a table with no score of the model's
    "|Task|Metric|Value|\n|---|---|---:|\n|gsm8k|acc|0.5|\n\nSome words.\nMore words.\n\nAverage: 44.05\n",  # too far
])
def test_an_average_that_belongs_to_no_table_of_scores_is_not_read(body: str) -> None:
    assert [c for c in claims_from_card({}, body, 1, B) if c.origin == "card-text"] == []


def test_a_benchmark_on_a_line_of_its_own_and_its_parts() -> None:
    body = "**IFEval**: 72.64\n\n**MT_Bench**: Turn 1 - 8.3875, Turn 2 - 8.00625, Average - 8.196875\n"
    claims = claims_from_card({}, body, 1, B)
    assert [(c.benchmark, c.value, c.line) for c in claims] == [
        ("ifeval", 72.64, 1), ("mt_bench", 8.3875, 3), ("mt_bench", 8.00625, 3), ("mt_bench", 8.196875, 3)]


@pytest.mark.parametrize("body", [
    "Our model reaches 72.6 on IFEval, ahead of Llama 3 8B (66.1).\n",  # a sentence: numbers may be anyone's
    "**IFEval**: 72.64 (Llama 3 8B: 68.1)\n",  # another model's number on the line
    "**Context length**: 8192\n",  # not a benchmark
    "```\nIFEval: 72.64\n```\n",  # code
    "- Loss: 0.4695\n",  # a list without the Trainer's sentence
    "### Llama-3-8B-Base\n**IFEval**: 55.1\n",  # under another variant's heading
])
def test_lines_that_are_not_the_models_result_are_not_read(body: str) -> None:
    assert claims_from_card({}, body, 1, B, model_name="Llama-3-8B-Instruct") == []
