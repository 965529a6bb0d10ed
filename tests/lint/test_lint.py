"""`policycheck lint CARD...` (issue 9): metadata problems at file:line:col, rule findings at the card key that
caused them, exit codes, JSON/SARIF, and `--fix` round trips. No test reaches a network."""

from __future__ import annotations

import csv
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from policy.lint.checks import Fix, apply_fixes, lint_text, scan_front_matter
from tests.support.sarif_check import check_sarif

CORPUS = Path(__file__).parents[1] / "fixtures" / "corpus"
CORPUS_CARDS = CORPUS / "cards"

LLAMA_BASE = "---\nlicense: llama3.1\n---\n# Llama 3.1 8B (local stand-in)\n"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lint never waits on the network: any connection attempt fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"lint tried to open a network connection: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def problems(bundle: Any, text: str, exists: Any = None, repo_id: str | None = None) -> list[tuple[Any, ...]]:
    return [(p.diag.code, p.diag.line, p.diag.col, p.diag.severity)
            for p in lint_text(text, "README.md", bundle.catalog, exists, repo_id)]


def codes_at(bundle: Any, text: str, **kw: Any) -> dict[str, tuple[int, int]]:
    return {code: (line, col) for code, line, col, _ in problems(bundle, text, **kw)}


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


# --- each problem type at its line:col ------------------------------------------------------------------

def test_unknown_license_with_did_you_mean(bundle: Any) -> None:
    ps = lint_text("---\nlicense: apache2.0\n---\n", "README.md", bundle.catalog)
    p = next(p for p in ps if p.diag.code == "unknown-license")
    assert (p.diag.line, p.diag.col, p.diag.severity) == (2, 10, "error")
    assert "did you mean 'apache-2.0'" in p.diag.help and p.fix is None
    ps = lint_text("---\nlicense: mti\n---\n", "x.md", bundle.catalog)
    p = next(p for p in ps if p.diag.code == "unknown-license")
    assert "'mit'" in p.diag.help


def test_did_you_mean_reaches_catalog_aliases(bundle: Any) -> None:
    # `llama-3.1` is neither a Hub id nor a catalog alias; the close matches are.
    p = next(p for p in lint_text("---\nlicense: lama3.1\n---\n", "x.md", bundle.catalog)
             if p.diag.code == "unknown-license")
    assert "'llama3.1'" in p.diag.help


def test_license_id_case_and_not_hub_id(bundle: Any) -> None:
    assert codes_at(bundle, "---\nlicense: MIT\n---\n")["license-case"] == (2, 10)
    assert codes_at(bundle, "---\nlicense: 'Apache-2.0'\n---\n")["license-case"] == (2, 11)
    ps = lint_text("---\nlicense: Apache 2.0\n---\n", "x.md", bundle.catalog)
    p = next(p for p in ps if p.diag.code == "license-not-hub-id")
    assert "apache-2.0" in p.diag.help and p.fix is None  # not a case-only change: not a safe fix
    assert codes_at(bundle, "---\nlicense: mit\n---\n") == {}


def test_license_other_without_name_or_link(bundle: Any) -> None:
    assert codes_at(bundle, "---\nlicense: other\n---\n")["license-other-unnamed"] == (2, 10)
    assert "license-other-unnamed" not in codes_at(bundle, "---\nlicense: other\nlicense_name: acme-1.0\n---\n")


def test_license_link_to_a_missing_repo_file(bundle: Any) -> None:
    text = "---\nlicense: other\nlicense_name: acme-1.0\nlicense_link: LICENSE.md\n---\n"
    assert codes_at(bundle, text, exists=lambda rel: False)["license-link-missing"] == (4, 15)
    assert "license-link-missing" not in codes_at(bundle, text, exists=lambda rel: rel == "LICENSE.md")
    same_repo = ("---\nlicense: other\nlicense_name: acme-1.0\n"
                 "license_link: https://huggingface.co/acme/m/blob/main/LICENSE\n---\n")
    assert codes_at(bundle, same_repo, exists=lambda rel: False, repo_id="acme/m")["license-link-missing"] == (4, 15)
    # A link to another repo or site is not checked.
    assert "license-link-missing" not in codes_at(bundle, same_repo, exists=lambda rel: False, repo_id="acme/x")


def test_contradictory_license_keys(bundle: Any) -> None:
    text = "---\nlicense: apache-2.0\nlicense_name: yi-license\n---\n"
    ps = lint_text(text, "x.md", bundle.catalog)
    p = next(p for p in ps if p.diag.code == "license-conflict")
    assert (p.diag.line, p.diag.col) == (3, 15) and "yi-license" in p.diag.message


@pytest.mark.parametrize(("key", "right"), [("licence", "license"), ("License", "license"),
                                            ("base-model", "base_model"), ("basemodel", "base_model"),
                                            ("base_modle_relation", "base_model_relation"),
                                            ("Base_Model", "base_model"), ("teacher-model", "teacher_model")])
def test_misspelled_and_miscased_keys(bundle: Any, key: str, right: str) -> None:
    value = "finetune" if right == "base_model_relation" else "mit" if right == "license" else "acme/base"
    text = f"---\n# a comment\n{key}: {value}\n---\n"
    ps = [p for p in lint_text(text, "x.md", bundle.catalog) if p.diag.code == "misspelled-key"]
    assert len(ps) == 1
    p = ps[0]
    assert (p.diag.line, p.diag.col, p.diag.span, p.diag.severity) == (3, 1, len(key), "error")
    assert f"did you mean '{right}'" in p.diag.message
    assert p.fix == Fix(3, 1, key, right)


def test_misspelled_key_reported_when_the_right_key_is_present_but_not_renamed(bundle: Any) -> None:
    text = "---\nlicense: mit\nlicence: apache-2.0\n---\n"
    p = next(p for p in lint_text(text, "x.md", bundle.catalog) if p.diag.code == "misspelled-key")
    assert (p.diag.line, p.diag.col, p.diag.severity) == (3, 1, "warning")
    assert "also present (line 2)" in p.diag.message and p.fix is None


def test_unrelated_custom_keys_are_left_alone(bundle: Any) -> None:
    assert codes_at(bundle, "---\nlicense: mit\nmy_project_key: 1\nmodel_creator: acme\n---\n") == {}


def test_invalid_repo_ids_and_empty_lists(bundle: Any) -> None:
    text = ("---\nlicense: mit\nbase_model:\n  - acme/ok\n  - https://huggingface.co/acme/x\n"
            "teacher_model: ../../etc\ndatasets: []\n---\n")
    got = problems(bundle, text)
    assert ("invalid-repo-id", 5, 5, "error") in got
    assert ("invalid-repo-id", 6, 16, "error") in got
    assert ("empty-list", 7, 1, "warning") in got
    assert ("empty-list", 3, 1, "warning") in problems(bundle, "---\nlicense: mit\nbase_model:\n---\n")


def test_base_model_relation_outside_the_hubs_four(bundle: Any) -> None:
    ps = lint_text("---\nlicense: mit\nbase_model: acme/b\nbase_model_relation: distillation\n---\n", "x.md",
                   bundle.catalog)
    p = next(p for p in ps if p.diag.code == "relation-invalid")
    assert (p.diag.line, p.diag.col) == (4, 22) and p.fix is None
    assert "teacher_model" in p.diag.help
    ps = lint_text("---\nbase_model: acme/b\nbase_model_relation: quantization\n---\n", "x.md", bundle.catalog)
    p = next(p for p in ps if p.diag.code == "relation-invalid")
    assert p.fix == Fix(3, 22, "quantization", "quantized")
    assert "relation-invalid" not in codes_at(bundle, "---\nbase_model: a/b\nbase_model_relation: adapter\n---\n")


def test_front_matter_layout_problems(bundle: Any) -> None:
    assert codes_at(bundle, "\n\n---\nlicense: mit\n---\n")["front-matter-not-at-top"] == (1, 1)
    assert codes_at(bundle, "---\r\nlicense: mit\r\n---\r\n")["crlf"] == (1, 4)
    tabs = codes_at(bundle, "---\nlicense: mit\ntags:\n- a\nwidget:\n  - text: [\n\t\t\"x\"]\n---\n")
    assert tabs["tabs"] == (7, 1)
    assert codes_at(bundle, "\ufeff---\nlicense: mit\n---\n")["bom"] == (1, 1)
    assert codes_at(bundle, "# no metadata\n")["no-front-matter"] == (1, 1)
    assert codes_at(bundle, "---\nlicense:\n- mit\n---\n")["license-list"] == (2, 1)
    assert codes_at(bundle, "---\nlicense: mit\ntags: [a]\nlicense: mit\n---\n")["duplicate-key"] == (4, 1)


def test_scanner_positions_survive_quotes_comments_and_flow_lists() -> None:
    fm = scan_front_matter('---\n"license": "mit" # c\nbase_model: [ a/b, "c/d" ]\n---\n')
    assert fm is not None
    lic, base = fm.keys
    assert (lic.key.line, lic.key.col, lic.value.col, lic.value.text) == (2, 2, 13, "mit")
    assert [(s.col, s.text) for s in base.items] == [(15, "a/b"), (21, "c/d")]


# --- rule findings, exit codes, formats ----------------------------------------------------------------

def test_rule_finding_is_at_the_license_line_for_mit_over_llama(run_cli: Any, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    write(cards, "meta-llama__Llama-3.1-8B.md", LLAMA_BASE)
    card = write(tmp_path, "acme__Llama-3.1-8B-ft.md",
                 "---\n# our fine-tune\nlicense: mit\nbase_model: meta-llama/Llama-3.1-8B\n---\n# model\n")
    result = run_cli("lint", "--cards", cards, card)
    assert result.code == 1, result.out
    assert f"{card}:3:10: error[derivative-drops-license-terms]:" in result.out
    assert " 3 | license: mit" in result.out
    doc = run_cli("lint", "--cards", cards, "--format", "json", card).json()
    rules = {p["code"]: p for p in doc["files"][0]["problems"] if p["source"] == "rule"}
    assert (rules["derivative-drops-license-terms"]["line"], rules["derivative-drops-license-terms"]["col"]) == (3, 10)
    assert rules["derivative-drops-license-terms"]["severity"] == "error"
    assert "name-prefix-missing" not in rules  # the name begins with "Llama"
    # a finding the model's *name* must answer points at the base it comes from
    other = write(tmp_path, "acme__ft.md", "---\nlicense: llama3.1\nbase_model: meta-llama/Llama-3.1-8B\n---\n")
    doc = run_cli("lint", "--cards", cards, "--format", "json", other).json()
    name = next(p for p in doc["files"][0]["problems"] if p["code"] == "name-prefix-missing")
    assert (name["line"], name["col"], name["ancestor"]) == (3, 13, "meta-llama/Llama-3.1-8B")
    fixed = write(tmp_path, "acme__Llama-3.1-8B-ft.md",
                  "---\nlicense: llama3.1\nbase_model: meta-llama/Llama-3.1-8B\n---\n# model\n")
    assert run_cli("lint", "--cards", cards, fixed).code in (0, 3)


def test_rule_finding_from_the_shipped_curations(run_cli: Any) -> None:
    card = CORPUS_CARDS / "unsloth__DeepSeek-R1-Distill-Llama-8B-GGUF.md"
    result = run_cli("lint", "--format", "json", card)
    assert result.code == 1
    found = [p for p in result.json()["files"][0]["problems"] if p["code"] == "name-prefix-missing"]
    assert found and all(p["line"] > 1 for p in found)


def test_unresolvable_base_is_a_warning_unless_asked_to_fail(run_cli: Any, tmp_path: Path) -> None:
    card = write(tmp_path, "acme__m.md", "---\nlicense: apache-2.0\nbase_model: nobody/not-here-9\n---\n# m\n")
    result = run_cli("lint", card)
    assert result.code == 0, result.out
    assert f"{card}:3:13: warning[ancestor-unresolved]:" in result.out
    assert run_cli("lint", "--unresolved", "fail", card).code == 1
    assert run_cli("lint", "--offline", "--unresolved", "warn", card).code == 0


def test_a_licensee_figure_the_policy_does_not_give_is_shown_without_holding_up_the_card(run_cli: Any,
                                                                                         tmp_path: Path) -> None:
    """Llama 3.1 §2 tests the licensee's monthly active users: a fact of the policy file's, not the card's. The
    lint shows it and passes a correctly licensed card; `check` of the same card is review until the policy says it."""
    write(tmp_path, "meta-llama__Llama-3.1-8B.md", "---\nlicense: llama3.1\npipeline_tag: text-generation\n---\n")
    card = write(tmp_path, "acme__Llama-3.1-8B-ft.md", "---\nlicense: llama3.1\nbase_model: meta-llama/Llama-3.1-8B\n"
                 "---\n# m\n")
    result = run_cli("lint", "--cards", tmp_path, "--format", "json", card)
    assert result.code == 0, result.out
    (shown,) = [p for p in result.json()["files"][0]["problems"] if p["code"] == "licensee-figure-missing"]
    assert shown["severity"] == "warning" and shown["policy_fact"] is True and shown["line"] == 2
    assert run_cli("check", "--offline", "--cards", tmp_path, card).code == 3


def test_exit_codes(run_cli: Any, tmp_path: Path) -> None:
    clean = write(tmp_path, "acme__clean.md", "---\nlicense: mit\n---\n# ok\n")
    review = write(tmp_path, "acme__review.md", "---\nlicense: other\nlicense_name: acme-private-1.0\n---\n")
    broken = write(tmp_path, "acme__broken.md", "---\nlicense: [mit\n---\n")
    assert run_cli("lint", clean).code == 0
    # a warning-only run passes (the exit code follows what is printed), unless --fail-on warning
    warned = run_cli("lint", review)
    assert "0 error(s), 1 warning(s)" in warned.out and warned.code == 0, warned.out
    assert run_cli("lint", "--fail-on", "warning", review).code == 3
    crlf = write(tmp_path, "acme__crlf.md", "---\r\nlicense: mit\r\n---\r\n# ok\r\n")
    assert run_cli("lint", crlf).code == 0
    assert run_cli("lint", "--fail-on", "warning", crlf).code == 1
    result = run_cli("lint", broken)
    assert result.code == 2 and "acme__broken.md:" in result.out
    assert run_cli("lint", tmp_path / "missing.md").code == 2
    assert run_cli("lint", clean, broken).code == 2  # a batch exits with its worst outcome
    assert run_cli("lint", "--cards", tmp_path / "nope", clean).code == 2


HEAD_ONLY = re.compile(r"\S+:\d+:\d+: (error|warning|note)\[[\w-]+\]:|\S+:\d+: fixed: .*")


def fits_80_columns(out: str) -> bool:
    """Every line fits 80 columns, except a `file:line:col: severity[code]:` head whose path alone is too long
    (it is never broken: editors and CI parse it)."""
    return all(len(line) <= 80 or HEAD_ONLY.fullmatch(line) for line in out.splitlines())


def test_text_output_fits_80_columns(run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    long = "x" * 200
    write(tmp_path, "acme__m.md", f"---\nlicense: {long}\nbase_model: https://example.com/{long}\n---\n")
    monkeypatch.chdir(tmp_path)
    result = run_cli("lint", "acme__m.md")
    assert result.code == 1
    assert max(len(line) for line in result.out.splitlines()) <= 80, result.out
    assert "acme__m.md:2:10: error[unknown-license]: unknown license id" in result.out


def test_json_and_sarif(run_cli: Any, tmp_path: Path) -> None:
    card = write(tmp_path, "acme__m.md", "---\nlicence: MIT\n---\n")
    doc = run_cli("lint", "--format", "json", card).json()
    assert doc["schema"] == "policycheck/lint/v1" and doc["exit_code"] == 1
    f = doc["files"][0]
    assert {(p["code"], p["line"], p["col"]) for p in f["problems"]} >= {("misspelled-key", 2, 1),
                                                                          ("license-case", 2, 10)}
    assert {(x["old"], x["new"], x["applied"]) for x in f["fixes"]} == {("licence", "license", False),
                                                                         ("MIT", "mit", False)}
    sarif = json.loads(run_cli("lint", "--format", "sarif", card).out)
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["automationDetails"] == {"id": "policycheck/lint/"}
    results = sarif["runs"][0]["results"]
    region = next(r for r in results if r["ruleId"] == "misspelled-key")["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (2, 1)
    assert {r["ruleId"] for r in results} <= {d["id"] for d in sarif["runs"][0]["tool"]["driver"]["rules"]}


# --- --fix ----------------------------------------------------------------------------------------------

FIXABLE = ("\ufeff---\r\n"
           "# Licence: keep this comment as it is\r\n"
           "licence: 'MIT'   # the license\r\n"
           "base-model:\r\n"
           "  - \"acme/base\"  # quoted\r\n"
           "base_model_relation: Fine-Tune\r\n"
           "tags: [a, b]\r\n"
           "---\r\n"
           "# body with licence: MIT untouched\r\n")
FIXED = ("\ufeff---\r\n"
         "# Licence: keep this comment as it is\r\n"
         "license: 'mit'   # the license\r\n"
         "base_model:\r\n"
         "  - \"acme/base\"  # quoted\r\n"
         "base_model_relation: finetune\r\n"
         "tags: [a, b]\r\n"
         "---\r\n"
         "# body with licence: MIT untouched\r\n")


def test_fix_round_trip_is_byte_for_byte(run_cli: Any, tmp_path: Path) -> None:
    card = write(tmp_path, "acme__m.md", FIXABLE)
    result = run_cli("lint", "--fix", card)
    assert card.read_bytes() == FIXED.encode("utf-8")
    for line in (3, 3, 4, 6):
        assert f"{card}:{line}: fixed:" in result.out
    assert f"{card}:3: fixed: licence -> license" in result.out
    assert "error[misspelled-key]" not in result.out and "error[license-case]" not in result.out
    again = run_cli("lint", "--fix", card)
    assert card.read_bytes() == FIXED.encode("utf-8") and "fixed:" not in again.out


def test_fix_is_pure_and_leaves_unsafe_problems(bundle: Any) -> None:
    text = FIXABLE.replace("\ufeff", "")
    fixes = [p.fix for p in lint_text(text, "x.md", bundle.catalog) if p.fix]
    assert apply_fixes(text, fixes) == FIXED.replace("\ufeff", "")
    assert apply_fixes(FIXED, fixes) == FIXED  # stale fixes do not apply where the text differs
    # misspelled key beside the right one, a distill relation, a non-case license alias: no fix
    text = "---\nlicense: mit\nlicence: Apache 2.0\nbase_model_relation: distill\n---\n"
    assert [p.fix for p in lint_text(text, "x.md", bundle.catalog) if p.fix] == []


def test_fix_renames_only_the_first_of_two_misspellings(bundle: Any) -> None:
    text = "---\nlicence: mit\nLicense: mit\n---\n"
    fixes = [p.fix for p in lint_text(text, "x.md", bundle.catalog) if p.fix]
    assert fixes == [Fix(2, 1, "licence", "license")]


# A line of a multi-line quoted string or flow collection that starts at column 0 is text, not a key: the
# positions come from the YAML parser's marks (the card reader), never from a scan of the lines.
INSIDE = {
    "double-quoted": '---\nlicense: mit\ndescription: "first line\nbase-model: acme/base\n  end"\n---\n# m\n',
    "single-quoted": "---\nlicense: mit\ndescription: 'first line\nbase-model: acme/base'\n---\n# m\n",
    "flow-mapping": "---\nlicense: mit\nwidget: {text: hi,\nbase-model: acme/base}\n---\n# m\n",
    "flow-sequence": "---\nlicense: mit\nmetrics: [a,\nbase-model: acme/base]\n---\n# m\n",
}


@pytest.mark.parametrize("name", sorted(INSIDE))
def test_fix_never_edits_inside_a_multiline_string_or_flow_collection(bundle: Any, run_cli: Any, tmp_path: Path,
                                                                      name: str) -> None:
    text = INSIDE[name]
    assert problems(bundle, text) == []  # no misspelled key, no empty base-model: there is no such key
    card = write(tmp_path, "acme__m.md", text)
    run_cli("lint", "--fix", card)
    assert card.read_text(encoding="utf-8") == text


def test_fix_lands_on_the_key_not_on_the_same_text_inside_a_string(bundle: Any, run_cli: Any,
                                                                    tmp_path: Path) -> None:
    text = '---\ndescription: "first line\nlicense: MIT\n  end"\nlicense: MIT\n---\n# m\n'
    ps = lint_text(text, "x.md", bundle.catalog)
    assert [(p.diag.code, p.diag.line, p.diag.col, p.fix) for p in ps] == [
        ("license-case", 5, 10, Fix(5, 10, "MIT", "mit"))]
    card = write(tmp_path, "acme__m.md", text)
    run_cli("lint", "--fix", card)
    assert card.read_text(encoding="utf-8") == text.replace("license: MIT\n---", "license: mit\n---")


def test_rule_finding_points_at_the_key_not_at_text_inside_a_string(run_cli: Any, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    write(cards, "meta-llama__Llama-3.1-8B.md", LLAMA_BASE)
    card = write(tmp_path, "acme__Llama-3.1-8B-ft.md",
                 '---\ndescription: "fine-tuned from\nbase_model: our own\n  model"\nlicense: mit\n'
                 "base_model: meta-llama/Llama-3.1-8B\n---\n# model\n")
    doc = run_cli("lint", "--cards", cards, "--format", "json", card).json()
    found = {p["code"]: (p["line"], p["col"]) for p in doc["files"][0]["problems"]}
    assert found["derivative-drops-license-terms"] == (5, 10)
    assert "duplicate-key" not in found


def test_reader_spans_of_keys_values_and_items() -> None:
    fm = scan_front_matter("---\nlicense: &l !!str 'MIT'\nbase_model: [a/b,\n  \"c/d\"]\ntags:\n- *l\n- x\n"
                           "empty:\nblock: |\n  text\n---\n")
    assert fm is not None and (fm.open_line, fm.close_line) == (1, 11)
    lic, base, tags, empty, block = fm.keys
    assert (lic.value.line, lic.value.col, lic.value.text, lic.value.quote) == (2, 20, "MIT", "'")  # after &l !!str
    assert (lic.value.end_line, lic.value.end_col) == (2, 23)
    assert [(s.line, s.col, s.text) for s in base.items] == [(3, 14, "a/b"), (4, 4, "c/d")]  # a flow list on two lines
    assert [(s.line, s.col, s.text) for s in tags.items] == [(7, 3, "x")]  # an alias has no span of its own
    assert empty.empty and empty.value is None and not empty.is_list
    assert (block.value.line, block.value.col, block.value.quote) == (9, 8, "|")


# --- the corpus -----------------------------------------------------------------------------------------

CORPUS_PATHS = sorted(CORPUS_CARDS.glob("*.md"))


def test_corpus_is_complete() -> None:
    with open(CORPUS / "INDEX.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert {r["file"] for r in rows} == {p.name for p in CORPUS_PATHS}
    assert len(CORPUS_PATHS) >= 100


def test_lint_over_every_corpus_card_never_crashes(run_cli: Any) -> None:
    result = run_cli("lint", "--cards", CORPUS_CARDS, "--format", "json", *CORPUS_PATHS)
    assert result.code != 4, result.err
    doc = result.json()
    assert len(doc["files"]) == len(CORPUS_PATHS)
    for f in doc["files"]:
        assert f["exit_code"] in (0, 1, 2, 3), f
        for p in f["problems"]:
            assert p["line"] >= 1 and p["col"] >= 1, (f["file"], p)
    text = run_cli("lint", "--cards", CORPUS_CARDS, *CORPUS_PATHS)
    assert text.code == result.code
    assert fits_80_columns(text.out)


def _corpus_problems(run_cli: Any, name: str) -> list[dict[str, Any]]:
    doc = run_cli("lint", "--cards", CORPUS_CARDS, "--format", "json", CORPUS_CARDS / name).json()
    return doc["files"][0]["problems"]


def _index() -> list[dict[str, str]]:
    with open(CORPUS / "INDEX.tsv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _line_of(path: Path, prefix: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(prefix))


@pytest.mark.parametrize("row", [r for r in _index() if "(only if parser tolerates leading whitespace)"
                                 in r["declared_license"]], ids=lambda r: r["file"])
def test_corpus_leading_whitespace_trap(run_cli: Any, row: dict[str, str]) -> None:
    got = {(p["code"], p["line"], p["col"]) for p in _corpus_problems(run_cli, row["file"])}
    assert ("front-matter-not-at-top", 1, 1) in got


@pytest.mark.parametrize("row", [r for r in _index() if r["declared_license"].startswith('["')],
                         ids=lambda r: r["file"])
def test_corpus_list_where_a_string_is_expected(run_cli: Any, row: dict[str, str]) -> None:
    line = _line_of(CORPUS_CARDS / row["file"], "license:")
    got = {(p["code"], p["line"], p["col"]) for p in _corpus_problems(run_cli, row["file"])}
    assert ("license-list", line, 1) in got


@pytest.mark.parametrize("row", [r for r in _index() if r["declared_license"] == "(no front matter)"],
                         ids=lambda r: r["file"])
def test_corpus_no_front_matter(run_cli: Any, row: dict[str, str]) -> None:
    assert ("no-front-matter", 1) in {(p["code"], p["line"]) for p in _corpus_problems(run_cli, row["file"])}


def test_corpus_crlf_card(run_cli: Any) -> None:
    crlf = [p for p in CORPUS_PATHS if p.read_bytes().startswith(b"---\r\n")]
    assert any(p.name == "deepseek-ai__DeepSeek-V2-Chat-0628.md" for p in crlf)
    for path in crlf:
        got = {(p["code"], p["line"], p["col"]) for p in _corpus_problems(run_cli, path.name)}
        assert ("crlf", 1, 4) in got


def test_corpus_tabs_card(run_cli: Any) -> None:
    # INDEX.tsv: "(YAML parse error: while scanning for the next token)": tab-indented flow list at line 17;
    # libyaml reads it, strict parsers do not.
    row = next(r for r in _index() if r["declared_license"].startswith("(YAML parse error"))
    path = CORPUS_CARDS / row["file"]
    first_tab = next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "\t" in line)
    got = {(p["code"], p["line"], p["col"]) for p in _corpus_problems(run_cli, row["file"])}
    assert ("tabs", first_tab, 1) in got and first_tab == 17


def test_corpus_card_with_a_misspelled_key(run_cli: Any, tmp_path: Path) -> None:
    # No corpus card misspells a key; the same real card with `licence:` is found at its line, and fixed.
    src = CORPUS_CARDS / "deepseek-ai__DeepSeek-V2-Chat-0628.md"
    raw = src.read_bytes()
    card = write(tmp_path, src.name, raw.replace(b"\r\nlicense: other", b"\r\nlicence: other", 1))
    got = {(p["code"], p["line"], p["col"]) for p in _corpus_problems(run_cli, str(card))}
    assert ("misspelled-key", 2, 1) in got
    run_cli("lint", "--fix", card)
    assert card.read_bytes() == raw


def test_corpus_cards_are_unchanged_by_a_fix_free_run(run_cli: Any) -> None:
    before = {p: p.read_bytes() for p in CORPUS_PATHS}
    run_cli("lint", "--cards", CORPUS_CARDS, *CORPUS_PATHS)
    assert all(p.read_bytes() == b for p, b in before.items())


def test_policy_file_and_model_folder_are_honoured(run_cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "acme-model"
    write(folder, "README.md", "---\nlicense: mit\n---\n# m\n")
    policy = write(tmp_path, "policy.yaml", "schema: policycheck/policy/v1\nlicenses: {deny: [mit]}\n")
    assert run_cli("lint", folder).code == 0
    result = run_cli("lint", "--policy", policy, "--format", "json", folder)
    assert result.code == 1
    denied = next(p for p in result.json()["files"][0]["problems"] if p["code"] == "license-denied")
    assert (denied["line"], denied["col"], denied["severity"]) == (2, 10, "error")


def test_a_model_card_md_is_named_by_its_folder(tmp_path: Path) -> None:
    from policy.scan.local import card_id_from_path

    folder = tmp_path / "my checkouts" / "Llama-3.1-8B-Legal"  # a parent that is no Hub org
    folder.mkdir(parents=True)
    assert card_id_from_path(folder / "MODEL_CARD.md") == "Llama-3.1-8B-Legal"
    assert card_id_from_path(folder / "README.md") == "Llama-3.1-8B-Legal"


def test_prose_evidence_is_reported_at_the_line_it_quotes(run_cli: Any, tmp_path: Path) -> None:
    card = tmp_path / "README.md"
    card.write_text("---\nlicense: mit\n---\n# m\n\nSome words.\n\n  This model was distilled from "
                    "DeepSeek-R1 on our data.\n")
    result = run_cli("lint", "--offline", card)
    assert f"{card}:8:3: warning[undeclared-lineage-in-prose]" in result.out, result.out
    assert " 8 |   This model was distilled from DeepSeek-R1" in result.out


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    card = tmp_path / "README.md"
    card.write_text("---\nlicense: mit\nbase_model: [not a repo id]\n---\n# m\n")
    proc = subprocess.Popen([sys.executable, "-m", "policy.cli", "lint", "--offline", str(card)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head` having read what it wanted
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err  # 128 + SIGPIPE, as a shell reports it
    assert "Traceback" not in err and "internal error" not in err


def test_text_hides_risk_notes_unless_asked_and_says_how_many(run_cli: Any) -> None:
    """A risk note (a license without a patent grant) asks nothing of the card: the hook's text output counts
    it and leaves it out; --notes shows it; JSON always carries it."""
    from tests.conftest import CARDS

    card = CARDS / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"
    plain = run_cli("lint", "--offline", card)
    assert "note[" not in plain.out and "note(s) not shown (--notes)" in plain.out
    shown = run_cli("lint", "--offline", "--notes", card)
    assert "note[license-no-patent-grant]" in shown.out and "not shown" not in shown.out
    assert plain.code == shown.code
    doc = run_cli("lint", "--offline", "--format", "json", card).json()
    kinds = {p.get("kind") for f in doc["files"] for p in f["problems"]}
    assert "note" in kinds


def test_fix_applies_what_one_fix_makes_possible_in_the_same_run(run_cli: Any, tmp_path: Path) -> None:
    """Renaming `License:` makes its value's case fixable: both in one --fix run (in two rounds), so that a
    second run has nothing left to do (the fuzz campaign found the run that left half of it)."""
    card = tmp_path / "README.md"
    card.write_text("---\nLicense: LLAMA3.1\nlicence: apache-2.0\n---\n# m\n", encoding="utf-8")
    first = run_cli("lint", "--fix", "--format", "json", card).json()["files"][0]
    applied = [f for f in first["fixes"] if f["applied"]]
    assert [(f["old"], f["new"], f.get("round", 1)) for f in applied] == [("License", "license", 1),
                                                                          ("LLAMA3.1", "llama3.1", 2)]
    assert card.read_text(encoding="utf-8").startswith("---\nlicense: llama3.1\nlicence: apache-2.0\n")
    again = run_cli("lint", "--fix", "--format", "json", card).json()["files"][0]
    assert not any(f["applied"] for f in again["fixes"])


def test_sarif_passes_githubs_rules_from_a_subfolder(run_cli: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The schema and GitHub's ingestion rules (tests/support/sarif_check.py); paths from the repository root
    though the hook ran in a subfolder of it; no placeholder help URI."""
    (tmp_path / ".git").mkdir()
    sub = tmp_path / "cards"
    sub.mkdir()
    write(sub, "acme__m.md", "---\nlicence: MIT\nbase_model: [acme/a, acme/a]\n---\n")
    monkeypatch.chdir(sub)
    sarif = json.loads(run_cli("lint", "--format", "sarif", "acme__m.md").out)
    check_sarif(sarif, "lint")
    run = sarif["runs"][0]
    assert run["results"] and {loc["physicalLocation"]["artifactLocation"]["uri"]
                               for r in run["results"] for loc in r["locations"]} == {"cards/acme__m.md"}
    assert all("helpUri" not in rule for rule in run["tool"]["driver"]["rules"])
