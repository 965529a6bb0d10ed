"""The text report (issue 8): verdict first, decisive findings first with their citations and remediations,
waivers with who, why and until when, the policy file and intended use, the shas evaluated; a concise mode; a
batch summary that names the models in each group and says a shared note once; 80 columns; colour only when
asked for."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policy.model.vocab import GRADE_MEANINGS
from tests.cli.test_cli import POLICY, WAIVER, student_repo
from tests.conftest import CARDS, card
from tests.hubsim import HubSim, make_card

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cards"
ANSI = re.compile("\x1b\\[[0-9;]*m")
VERDICT_WORDS = ("PASS", "FAIL", "REVIEW", "ERROR")
LINK = re.compile(r" *(https?://|/)\S+")  # links and paths are never cut: the one kind of line that may be longer


def reports(*targets: Path, cards: Path = CARDS, policy: Path | None = None) -> list[Any]:
    """Real reports: the cards evaluated offline by the engine, as `policycheck check` does."""
    from policy.pipeline.check import CheckOptions, iter_check

    return list(iter_check([str(t) for t in targets], CheckOptions(cards=(cards,), offline=True,
                                                                   policy_file=policy)))


def text(results: list[Any], **kw: Any) -> str:
    from policy.render.text import render_text

    return render_text(results, **kw)


def block(out: str, start: str) -> list[str]:
    """The lines of one target's report (from its verdict line to the next rule)."""
    lines = out.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(start))
    j = next((k for k in range(i + 1, len(lines)) if set(lines[k]) == {"─"}), len(lines))
    return lines[i:j]


# -- per target ------------------------------------------------------------------------------------------------
def test_decisive_findings_come_first_ordered_by_kind_then_severity() -> None:
    (r,) = reports(card("bartowski/Codestral-22B-v0.1-GGUF"))
    by_rule = {f.rule: f for f in r.findings}
    error, review = by_rule["nonproduction-license"], by_rule["ancestor-unresolved"]
    warning = dataclasses.replace(error, rule="a-warning-violation", severity="warning")
    note = dataclasses.replace(error, rule="a-note-violation", severity="note")
    evidence = dataclasses.replace(review, rule="some-evidence", kind="evidence", severity="note")
    # the engine's order scrambled: the renderer orders by what decides
    r = dataclasses.replace(r, findings=(evidence, note, review, warning, error))
    lines = text([r]).splitlines()

    def at(s: str) -> int:  # the line that is exactly `s` (headings, finding lines)
        return next(i for i, line in enumerate(lines) if line.strip() == s)

    assert lines[0].startswith("FAIL  bartowski/Codestral-22B-v0.1-GGUF  license ")
    assert at("violations (3)") < at("error  nonproduction-license") < at("warning  a-warning-violation") \
        < at("note  a-note-violation") < at("needs review (1)") < at("warning  ancestor-unresolved") \
        < at("evidence (needs review) (1)") < at("note · evidence  some-evidence") < at("lineage") \
        < at("obligations (3)")
    assert lines[2].startswith("  Not cleared for distribution: ")  # the verdict in a sentence, then the counts
    assert "  5 open finding(s) (1 error, 2 warning, 2 note), 3 obligation(s)" in lines[3:6]


def test_each_finding_has_its_citation_and_remediation() -> None:
    (r,) = reports(card("deepseek-ai/DeepSeek-R1-Distill-Llama-8B"))
    out = text([r])
    flat = " ".join(line.strip() for line in out.splitlines())
    for f in r.open_findings:
        c = f.citation
        assert f"{f.severity}  {f.rule}" in out
        meaning = GRADE_MEANINGS[c["grade"]]
        assert f"cited: {c['license']} {c['section']}: “{c['quote']}” [grade {c['grade']}: {meaning}]" in flat
        repo_commit, path = c["source"].split(":", 1)  # pinned, shown as `owner/repo@commit path`
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{7,40}", repo_commit), c["source"]
        assert f"source: {repo_commit} {path}" in flat
        assert f"fix: {' '.join(f.remediation.split())}" in flat
    # the citation comes right after the message, the remediation after it
    lines = out.splitlines()
    i = lines.index("  error  name-prefix-missing")
    assert lines[i + 1].startswith("    ") and "cited:" not in lines[i + 1]
    rest = lines[i + 1:]
    assert next(k for k, x in enumerate(rest) if "cited:" in x) < next(k for k, x in enumerate(rest) if "fix:" in x)


def test_waived_findings_say_who_why_and_until_when(run_cli: Any, tmp_path: Path) -> None:
    folder = student_repo(tmp_path, POLICY + WAIVER)
    result = run_cli("check", folder, "--today", "2026-11-24")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].startswith("PASS  acme/student")
    assert "  0 open finding(s), 1 waived, 4 obligation(s)" in lines
    i = lines.index("waived (1)")
    group = lines[i:lines.index("lineage")]
    assert group[1] == "  waived (error)  teacher-forbids-distillation"
    assert "    waived by legal@acme.example until 2026-12-31" in group
    assert "    why: license-acquired: Written permission from the partner, LEGAL-1234." in group
    assert "    source: Partner agreement ACME-17" in group
    assert any(line.startswith("    cited: ") and "§4.2" in line for line in group)
    assert any(line.startswith("    fix: ") for line in group)
    # once expired, the finding is open again and decisive, and the expiry is a finding of its own
    expired = run_cli("check", folder, "--today", "2027-01-15").out.splitlines()
    assert expired[0].startswith("FAIL") and "waived (1)" not in expired
    assert expired.index("  error  teacher-forbids-distillation") < expired.index("  warning  waiver-expired")


def test_policy_file_and_intended_use_are_shown(tmp_path: Path) -> None:
    (declared,) = reports(EXAMPLES / "Ultralytics__YOLOv8.md", cards=EXAMPLES)
    lines = text([declared]).splitlines()
    assert f"  policy file: {EXAMPLES.parent / 'policycheck.yaml'} (fails at error)" in lines
    assert "  intended use: commercial, distributed, hosted, competing (declared)" in lines
    assert lines.index("  intended use: commercial, distributed, hosted, competing (declared)") < \
        lines.index("violations (1)")  # the assumption the verdict rests on, before the findings

    lonely = tmp_path / "acme__m.md"
    lonely.write_text("---\nlicense: mit\n---\n# m\n", encoding="utf-8")
    (none,) = reports(lonely)
    out = text([none])
    assert "  policy file: none (fails at error)" in out
    assert "(assumed: none declared)" in " ".join(line.strip() for line in out.splitlines())
    assert "note: No intended use declared" in out  # a single target says its notes in place

    private = tmp_path / "private.yaml"
    private.write_text("schema: policycheck/policy/v1\nuse: {commercial: false, distributed: true, hosted: false}\n",
                       encoding="utf-8")
    (internal,) = reports(lonely, policy=private)
    out = text([internal])
    assert f"policy file: {private} (fails at error)" in " ".join(line.strip() for line in out.splitlines())
    assert "intended use: not commercial, distributed, not hosted" in out and "(declared)" in out


def test_commit_shas_evaluated_are_shown(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("acme/base", {"README.md": make_card({"license": "apache-2.0"})})
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "apache-2.0", "base_model": "acme/base"})})
    shas = {repo: hubsim.repo(repo).sha for repo in ("acme/m", "acme/base")}  # type: ignore[union-attr]
    proc = subprocess.run([sys.executable, "-m", "policy.cli", "check", "acme/m"], env=hub_env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "commits evaluated (2):" in lines
    for repo, sha in shas.items():
        assert re.fullmatch(r"[0-9a-f]{40}", sha)
        assert f"  {repo} {sha}" in lines


def test_rows_without_a_sha_say_where_they_came_from() -> None:
    (r,) = reports(card("deepseek-ai/DeepSeek-R1-Distill-Llama-8B"))
    flat = " ".join(line.strip() for line in text([r]).splitlines())
    sources = ", ".join(sorted({e.source for e in r.evaluated}))
    assert f"commits evaluated: none; {len(r.evaluated)} model(s) without a commit sha (source: {sources})" in flat
    pinned = dataclasses.replace(r, evaluated=(dataclasses.replace(r.evaluated[0], revision="a" * 40),
                                              *r.evaluated[1:]))
    lines = text([pinned]).splitlines()
    i = lines.index("commits evaluated (1):")
    assert lines[i + 1:i + 3] == [f"  {r.subject.id}", f"    {'a' * 40}"]  # 84 columns: the sha wraps whole
    rest = ", ".join(sorted({e.source for e in r.evaluated[1:]}))
    assert f"  and {len(r.evaluated) - 1} model(s) without a commit sha (source: {rest})" in lines


# -- the batch ---------------------------------------------------------------------------------------------------
def _examples(run_cli: Any, *extra: str) -> Any:
    return run_cli("check", "--offline", "--cards", EXAMPLES, *sorted(EXAMPLES.glob("*.md")), *extra)


FAILS = ["Ultralytics/YOLOv8", "bartowski/Codestral-22B-v0.1-GGUF", "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
         "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "unsloth/DeepSeek-R1-Distill-Llama-8B-GGUF"]
# the gemma base is not available offline; the QuantFactory card says in prose what it quantizes (evidence)
REVIEWS = ["QuantFactory/Meta-Llama-3-8B-Instruct-GGUF", "princeton-nlp/gemma-2-9b-it-SimPO"]


def _summary_groups(out: str) -> dict[str, list[str]]:
    """The summary's groups: {verdict: [model ids]}, read back across the wrapped lines."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Summary: "))
    texts: dict[str, str] = {}
    current = None
    for line in lines[start + 1:]:
        m = re.match(r"  (\w+) \((\d+)\): (.*)", line)
        if m:
            current = m.group(1)
            texts[current] = m.group(3)
        elif current and line.startswith("      "):
            texts[current] += " " + line.strip()
        else:
            break
    return {k: v.split(", ") for k, v in texts.items()}


def test_summary_names_the_models_in_each_group(run_cli: Any) -> None:
    result = _examples(run_cli)
    assert "Summary: 18 targets: 5 fail, 2 review, 11 pass" in result.out
    groups = _summary_groups(result.out)
    assert list(groups) == ["fail", "review", "pass"]  # what needs action first
    assert sorted(groups["fail"]) == sorted(FAILS)
    assert groups["review"] == REVIEWS
    assert len(groups["pass"]) == 11 and "Qwen/Qwen2.5-1.5B" in groups["pass"]


def test_concise_is_one_line_per_target_with_the_decisive_finding(run_cli: Any) -> None:
    result = _examples(run_cli, "--concise")
    assert result.code == 1
    lines = result.out.splitlines()
    per_target = [line for line in lines if line.split()[0] in VERDICT_WORDS]
    assert len(per_target) == 18 and lines[:18] == per_target  # one line each, first, then the summary
    assert lines[18].startswith("Summary: 18 targets: ")
    assert max(len(line) for line in lines) <= 80
    by_id = {line.split()[1]: line for line in per_target}
    assert by_id["Ultralytics/YOLOv8"].startswith("FAIL    Ultralytics/YOLOv8  error license-denied: ")
    assert by_id["princeton-nlp/gemma-2-9b-it-SimPO"].split()[:4] == [
        "REVIEW", "princeton-nlp/gemma-2-9b-it-SimPO", "warning", "ancestor-unresolved:"]
    assert by_id["Qwen/Qwen2.5-1.5B"].rstrip() == "PASS    Qwen/Qwen2.5-1.5B"  # nothing decisive: nothing said
    assert any(line.endswith("…") for line in per_target)  # long findings are cut at the width
    assert _summary_groups(result.out)["review"] == REVIEWS
    assert "it is not legal advice" in lines[-1]


def test_concise_decisive_finding_is_the_most_severe_violation_else_a_review() -> None:
    def decisive(report: Any) -> Any:
        return report.decisive()

    (r,) = reports(card("bartowski/Codestral-22B-v0.1-GGUF"))
    by_rule = {f.rule: f for f in r.findings}
    warning = dataclasses.replace(by_rule["nonproduction-license"], rule="a-warning-violation", severity="warning")
    scrambled = dataclasses.replace(r, findings=(by_rule["ancestor-unresolved"], warning,
                                                 by_rule["nonproduction-license"]))
    assert decisive(scrambled).rule == "nonproduction-license"  # type: ignore[union-attr]
    line = text([scrambled], concise=True).splitlines()[0]
    assert line.startswith("FAIL    bartowski/Codestral-22B-v0.1-GGUF  error nonproduction-license: ")
    reviews_only = dataclasses.replace(r, findings=(by_rule["ancestor-unresolved"],), verdict="review")
    assert decisive(reviews_only).rule == "ancestor-unresolved"  # type: ignore[union-attr]
    waived = dataclasses.replace(by_rule["nonproduction-license"], status="waived")
    assert decisive(dataclasses.replace(r, findings=(waived,), verdict="pass")) is None


def test_a_note_every_report_carries_is_said_once_after_the_batch(tmp_path: Path) -> None:
    cards = []
    for name, lead in (("a", ""), ("b", "\n\n"), ("c", "")):
        path = tmp_path / f"acme__{name}.md"
        path.write_text(f"{lead}---\nlicense: mit\n---\n# {name}\n", encoding="utf-8")
        cards.append(path)
    results = reports(*cards, cards=tmp_path)
    shared = ("No intended use declared (policy file `use:`); assumed commercial, distributed, hosted and "
              "competing.")
    assert all(shared in r.notes for r in results)
    own = [n for n in results[1].notes if n != shared]
    assert own, results[1].notes  # acme/b has a note of its own (blank lines before its front matter)
    for concise in (False, True):
        out = text(results, concise=concise)
        flat = " ".join(line.strip() for line in out.splitlines())
        assert flat.count("No intended use declared") == 1
        assert "note (every report): " + shared in flat
        assert flat.index("Summary:") < flat.index("note (every report)") < flat.index("not legal advice")
    out = text(results)
    b = " ".join(line.strip() for line in block(out, results[1].verdict.upper() + "  acme/b"))
    assert f"note: {own[0][:30]}" in b  # the note unique to b stays with b
    assert "note:" not in " ".join(block(out, results[0].verdict.upper() + "  acme/a"))


def test_a_note_shared_by_only_some_reports_is_said_for_those() -> None:
    from policy.render.text import render_text

    (r,) = reports(card("Qwen/Qwen2.5-1.5B"))
    a = dataclasses.replace(r, subject=dataclasses.replace(r.subject, id="acme/a"), notes=("shared", "only a"))
    b = dataclasses.replace(r, subject=dataclasses.replace(r.subject, id="acme/b"), notes=("shared",))
    c = dataclasses.replace(r, subject=dataclasses.replace(r.subject, id="acme/c"), notes=("shared", "x"))
    d = dataclasses.replace(r, subject=dataclasses.replace(r.subject, id="acme/d"), notes=("x",))
    out = render_text([a, b, c, d])
    assert out.count("shared") == 1 and "note (acme/a, acme/b, acme/c): shared" in out
    assert "note: only a" in "\n".join(block(out, "PASS  acme/a"))
    assert "note: x" in "\n".join(block(out, "PASS  acme/c")) and "note: x" in "\n".join(block(out, "PASS  acme/d"))
    assert "every report" not in out
    single = render_text([a])
    assert "note: shared" in single and "note: only a" in single and "Summary" not in single


# -- layout -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("concise", [False, True])
def test_fits_80_columns_and_ends_with_the_disclaimer(run_cli: Any, concise: bool) -> None:
    result = run_cli("check", "--offline", "--cards", CARDS, *sorted(CARDS.glob("*.md")),
                     *(["--concise"] if concise else []))
    lines = result.out.splitlines()
    assert not [line for line in lines if len(line) > 80 and not LINK.fullmatch(line)]
    assert not [line for line in lines if line != line.rstrip()]
    assert lines[-2:] == ["policycheck reports what licenses and declared lineage say and where;",
                          "it is not legal advice. Findings marked review need a person to decide."]


def test_wider_and_narrower_widths_are_honoured() -> None:
    from policy.render.text import render_text

    results = reports(card("bartowski/Codestral-22B-v0.1-GGUF"), card("deepseek-ai/DeepSeek-R1-Distill-Llama-8B"))
    for width in (60, 80, 120):
        lines = render_text(results, width=width).splitlines()
        assert not [line for line in lines if len(line) > width and not LINK.fullmatch(line)]
        assert any(len(line) > width - 10 for line in lines)  # the room is used
        assert sum("not legal advice" in line for line in lines) == 1  # never split by the wrap


def test_long_words_are_cut_and_wide_characters_count_double() -> None:
    from policy.render.text import _cells, _wrap

    assert _cells("日本語") == 6 and _cells("abc") == 3
    lines = _wrap("see " + "x" * 200 + " end", 80, "    ", "      ")
    assert all(len(line) <= 80 for line in lines) and "".join(lines).count("x") == 200
    link = "https://example.com/" + "a" * 70  # 90 columns: never cut, less indent instead
    assert _wrap(f"source: {link}", 80, "    ", "      ") == ["    source:", link]
    path = "/tmp/" + "b" * 70  # 75 columns: moved left to fit
    assert _wrap(f"ERROR  {path}", 80, "", "       ") == ["ERROR", "     " + path]
    wide = _wrap("日本" * 60, 80, "  ")
    assert all(_cells(line) <= 80 for line in wide)


def test_colour_only_when_asked_for(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    results = reports(card("bartowski/Codestral-22B-v0.1-GGUF"), card("Qwen/Qwen2.5-1.5B"))
    plain = text(results)
    assert "\x1b" not in plain
    coloured = text(results, color=True)
    assert "\x1b[1;31mFAIL\x1b[0m" in coloured and "\x1b[1;32mPASS\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == plain  # the same text, only coloured
    assert "\x1b" not in text(results, concise=True) and "\x1b[" in text(results, concise=True, color=True)
    assert ANSI.sub("", text(results, concise=True, color=True)) == text(results, concise=True)
    # through the CLI: --color forces it, NO_COLOR and --no-color and a pipe leave it out
    assert "\x1b[" in run_cli("check", card("Qwen/Qwen2.5-1.5B"), "--cards", CARDS, "--color").out
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in run_cli("check", card("Qwen/Qwen2.5-1.5B"), "--cards", CARDS).out
    assert "\x1b" not in run_cli("check", card("Qwen/Qwen2.5-1.5B"), "--cards", CARDS, "--no-color").out


def test_hostile_values_stay_inert_in_every_mode(tmp_path: Path) -> None:
    forged = "\x1b[2K\r\x1b[32mPASS\x1b[0m  acme/forged\n\u009b31m\u202e"
    (r,) = reports(card("bartowski/Codestral-22B-v0.1-GGUF"))
    f = r.findings[0]
    hostile = dataclasses.replace(
        r, subject=dataclasses.replace(r.subject, id=f"acme/x{forged}"), notes=(forged,), notices=(forged,),
        findings=(dataclasses.replace(f, rule=forged, message=forged, remediation=forged,
                                      citation={"section": forged, "quote": forged, "source": forged,
                                                "grade": forged}),
                  dataclasses.replace(f, status="waived", waiver={"approved_by": forged, "reason": forged,
                                                                  "justification": forged, "expires": forged})),
        evaluated=(dataclasses.replace(r.evaluated[0], id=forged, revision=forged),))
    raw = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")
    for kw in ({}, {"concise": True}, {"color": True}, {"concise": True, "color": True}):
        out = text([hostile, hostile], **kw)
        plain = ANSI.sub("", out) if kw.get("color") else out
        assert not raw.search(plain), kw
        assert not any(line.lstrip().startswith("PASS") for line in plain.splitlines()), kw
        assert "\\x1b[32mPASS" in plain


def test_a_finding_of_policycheck_s_own_rule_is_shown_as_that_rule_never_as_a_graded_clause() -> None:
    # Codestral's base is not among the corpus cards: ancestor-unresolved is policycheck's rule, not a license's
    (r,) = reports(card("bartowski/Codestral-22B-v0.1-GGUF"))
    own = next(f for f in r.findings if f.rule == "ancestor-unresolved")
    assert own.citation["basis"] == "policycheck-rule" and not own.citation["grade"]
    out = text([r])
    lines = out.splitlines()
    i = lines.index("  warning  ancestor-unresolved")
    j = next(k for k in range(i + 1, len(lines)) if not lines[k].startswith("    "))
    joined = " ".join(line.strip() for line in lines[i + 1:j])
    assert "rule: policycheck's own rule ancestor-unresolved (core pack), not a license clause: §3 Lineage" in joined
    assert "basis: policycheck DESIGN: unresolved ancestors are review, never pass" in joined
    assert "cited:" not in joined and "[grade" not in joined
    # the license clauses of the same report keep their grade, said in words
    flat = " ".join(out.split())
    assert "[grade C: read against a verbatim copy of the text]" in flat or "[grade V: read against" in flat


def test_an_inherited_label_is_said_with_the_verdict(tmp_path: Path) -> None:
    """A fine-tune of a community model that is itself a mislabelled Llama derivative: the verdict sentence says the
    label is upstream too (a mitigation, and a question for the provider); a direct derivative gets no such line."""
    cards = {"meta-llama__Llama-3.1-8B.md": "license: llama3.1",
             "community__Llama-3.1-8B-tuned.md": "license: mit\nbase_model: meta-llama/Llama-3.1-8B",
             "acme__Llama-support-8b.md": "license: mit\nbase_model: community/Llama-3.1-8B-tuned",
             "acme__Llama-direct-8b.md": "license: mit\nbase_model: meta-llama/Llama-3.1-8B"}
    for name, meta in cards.items():
        (tmp_path / name).write_text(f"---\n{meta}\npipeline_tag: text-generation\n---\n# m\n", encoding="utf-8")
    inherited, direct = reports(tmp_path / "acme__Llama-support-8b.md", tmp_path / "acme__Llama-direct-8b.md",
                                cards=tmp_path)
    from policy.model.report import inherited_defect, plain_verdict

    assert inherited_defect(inherited).startswith("The same label is upstream: community/Llama-3.1-8B-tuned, ")
    assert inherited_defect(inherited) in plain_verdict(inherited)
    assert inherited_defect(direct) == "" and "upstream" not in plain_verdict(direct)
