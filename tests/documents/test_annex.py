"""Contract annexes (`policycheck annex`, issue 8): the clause library and its selectors, parameters with
visible placeholders and file:line:col errors, Markdown and DOCX (read back with python-docx), values from
cards inert in both, template overrides, and the committed example kept current."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim import make_card

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CARD = EXAMPLES / "cards" / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"
PARAMS = EXAMPLES / "annex" / "params.yaml"
EXAMPLE_MD = EXAMPLES / "annex" / "DeepSeek-R1-Distill-Llama-8B.annex.md"
EXAMPLE_DOCX = EXAMPLES / "annex" / "DeepSeek-R1-Distill-Llama-8B.annex.docx"
COMMON = ("--offline", "--cards", EXAMPLES / "cards", "--today", "2026-12-01")
MODELS = ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "meta-llama/Llama-3.1-8B", "deepseek-ai/DeepSeek-R1",
          "deepseek-ai/DeepSeek-V3-Base")


def _annex(run_cli: Any, *args: Any, target: Path = CARD) -> Any:
    return run_cli("annex", target, *COMMON, *args)


def docx_text(path: Path) -> str:
    """Every paragraph and table cell of a .docx, one per line (what a reader of the document sees)."""
    import docx

    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    for section in document.sections:
        lines += [p.text for p in section.header.paragraphs]
    return "\n".join(lines)


def _md_plain(text: str) -> str:
    """Markdown source with its escapes removed (what a reader of the rendered page sees, roughly)."""
    return re.sub(r"\\([\\`*_{}\[\]<>()#+!|~-])", r"\1", text)


# -- the clause library ---------------------------------------------------------------------------------------
def test_clause_library_loads_with_purpose_and_selectors() -> None:
    from policy.documents.annex import load_library

    library = {c.id: c for c in load_library()}
    assert set(library) >= {"definitions", "no-distillation", "evaluation-integrity", "lineage-disclosure",
                            "attribution-naming", "use-restrictions", "scope-limits", "audit", "remedies",
                            "general"}
    for spec in library.values():
        assert spec.purpose and spec.title and spec.selected_by, spec.id
    for always in ("no-distillation", "evaluation-integrity", "lineage-disclosure", "audit", "remedies"):
        assert library[always].selected_by.get("always") is True
    assert set(library["attribution-naming"].selected_by["obligations"]) == {
        "attribution-display", "name-prefix", "notice-file", "license-copy"}
    assert "use-restrictions-passthrough" in library["use-restrictions"].selected_by["obligations"]
    assert {"no-distillation", "no-competing-models"} <= set(library["no-distillation"].emphasised_by["clauses"])


def _report(obligations: tuple[Any, ...] = (), findings: tuple[Any, ...] = ()) -> Any:
    from policy.model.report import PolicySummary, Report, Subject, SubjectLicense

    return Report(subject=Subject("acme/plain", revision="a" * 40,
                                  license=SubjectLicense(declared="apache-2.0", id="apache-2.0", known=True)),
                  verdict="pass", lineage=(), findings=findings, obligations=obligations, packs=(), evaluated=(),
                  date="2026-12-01", policy=PolicySummary())


def test_selection_follows_obligations_and_findings() -> None:
    from policy.documents.annex import build_annex, load_library
    from policy.model.report import Finding, Obligation

    library = load_library()
    plain = build_annex([_report()], {}, library)
    ids = [c["id"] for c in plain["clauses"]]
    assert "no-distillation" in ids and "evaluation-integrity" in ids and "lineage-disclosure" in ids
    assert "attribution-naming" not in ids and "use-restrictions" not in ids and "scope-limits" not in ids
    assert not next(c for c in plain["clauses"] if c["id"] == "no-distillation")["emphasised"]

    cite = {"section": "§5", "quote": "q", "source": "https://example.invalid/terms", "grade": "V"}
    obligation = Obligation(clause="attribution-display", source="acme/base", license="acme-terms",
                            text="Display “Made with Acme”.", citation=cite, params={"text": "Made with Acme"})
    finding = Finding(rule="teacher-forbids-distillation", title="t", severity="error", kind="violation",
                      model="acme/plain", ancestor="acme/teacher", via=("distillation",),
                      message="acme/plain was distilled from acme/teacher, whose terms forbid it",
                      remediation="", citation=cite, pack="core", clause="no-distillation", license="acme-terms")
    context = build_annex([_report((obligation,), (finding,))], {}, library,
                          license_names={"acme-terms": "Acme Model Terms"})
    clauses = {c["id"]: c for c in context["clauses"]}
    attribution = " ".join(p["text"] for p in clauses["attribution-naming"]["paragraphs"])
    assert "Made with Acme" in attribution and "Acme Model Terms §5" in attribution
    distillation = clauses["no-distillation"]
    assert distillation["emphasised"]
    text = " ".join(p["text"] for p in distillation["paragraphs"])
    assert "acme/teacher" in text and "whose terms forbid it" in text and "https://example.invalid/terms" in text


def test_a_broken_clause_file_is_reported_at_its_line(tmp_path: Path) -> None:
    from policy.documents.annex import load_library
    from policy.errors import ConfigError

    (tmp_path / "clauses").mkdir()
    bad = tmp_path / "clauses" / "audit.md"
    bad.write_text("---\nid: audit\ntitle: Audit\npurpose: p\nselected_by: {sometimes: true}\n"
                   "params: [no_such_param]\n---\nText.\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_library((tmp_path,))
    where = {(d.line, d.message.split("'")[1]) for d in info.value.diagnostics}
    assert (5, "sometimes") in where and (6, "no_such_param") in where
    assert all(d.file.endswith("audit.md") for d in info.value.diagnostics)


def test_clause_front_matter_positions_through_the_card_reader() -> None:
    """Clause files are read by the card reader (policy.scan.cards): keys, values, repeated keys, YAML and
    template errors at the same line:col as a direct positioned load gives them."""
    from policy.documents.annex import parse_clause
    from policy.errors import ConfigError

    text = ("---\nid: audit\ntitle: Audit\ntitle: Again\npurpose: ''\norder: x\nselected_by:\n  always: yes\n"
            "  tags: [a, 1]\n---\nLine one.\n{% if %}\n")
    with pytest.raises(ConfigError) as info:
        parse_clause(text, "audit.md", "audit")
    got = {(d.code, d.line, d.col) for d in info.value.diagnostics}
    assert got == {("duplicate-key", 4, 1), ("clause-file", 5, 10), ("clause-file", 6, 8),
                   ("clause-file", 9, 3), ("clause-template", 12, 1)}
    with pytest.raises(ConfigError) as info:
        parse_clause("---\nid: [audit\n---\nText.\n", "audit.md")
    ((diag),) = info.value.diagnostics
    assert (diag.code, diag.line) == ("yaml-syntax", 2)
    with pytest.raises(ConfigError, match="starts with YAML front matter"):
        parse_clause("\n---\nid: audit\n---\n", "audit.md")
    ok = parse_clause("---\nid: a\ntitle: A\npurpose: p\nselected_by: {always: true}\n---\nText.\n", "a.md", "a")
    assert (ok.body, ok.body_line) == ("Text.\n", 7)
    assert ok.side == "both"
    with pytest.raises(ConfigError) as info:
        parse_clause("---\nid: a\ntitle: A\npurpose: p\nside: buyer\nselected_by: {always: true}\n---\nT.\n",
                     "a.md", "a")
    ((diag),) = info.value.diagnostics
    assert (diag.code, diag.line, diag.col) == ("clause-file", 5, 7) and "provider, recipient, both" in diag.message


# -- Markdown --------------------------------------------------------------------------------------------------
def test_markdown_annex_shows_schedule_obligations_and_clauses(run_cli: Any) -> None:
    result = _annex(run_cli, "--party", "Acme GmbH", "--counterparty", "Example Labs Ltd")
    assert result.code == 1  # the checks' verdict (fail); the annex is written anyway
    out = result.out
    plain = _md_plain(out)
    assert out.startswith("# Annex [PARAMETER: agreement.annex]: Licensed Models")
    assert "DRAFT" in out and "not legal advice" in out.lower() and "counsel" in out
    assert "| Provider | Acme GmbH" in out and "| Recipient | Example Labs Ltd" in out
    for model in MODELS:
        assert model in plain, model
    assert "| A.1 | deepseek-ai/DeepSeek-R1-Distill-Llama-8B |" in plain
    assert "Llama 3.1 Community License Agreement" in plain
    # obligations flow with their citations; the concrete texts are named
    assert "Text to display: “Built with Llama”" in plain and "Required name prefix: “Llama”" in plain
    # cited pinned to the commit that was read, never a branch; the grade said in words
    assert "§1.b.i(B), meta-llama/llama-models@a9c89c4 models/llama3_1/LICENSE (grade V: read against the " \
        "licensor's own text)" in plain
    assert "/blob/main/" not in out and "/blob/master/" not in out
    assert "Llama 3.1 Acceptable Use Policy" in plain
    headings = re.findall(r"^### \d+\. (.+)$", out, re.M)
    assert headings[:4] == ["Definitions and precedence", "No unauthorised distillation and no competing models",
                            "Accurate and reproducible evaluation reporting",
                            "Lineage disclosure and notice of changes"]
    assert {"Attribution, notices and naming", "Use restrictions", "Records and audit rights",
            "Remedies, damages and termination", "Governing law and general terms"} <= set(headings)
    assert "no fabricated or selectively reported results" in plain
    assert "raw outputs" in plain and "evaluate independently" in plain
    # a parameter that is not set is a visible placeholder, never empty text
    assert "governed by [PARAMETER: governing_law]." in out
    assert "within [PARAMETER: cure_days] days" in out
    assert "governed by ." not in out and "within  days" not in out
    assert "parameter(s) not set" in result.err and "governing_law" in result.err
    # open findings are for counsel, outside the annex proper
    assert "Part E. For counsel" in out and "name-prefix-missing" in _md_plain(out)


def test_params_file_and_options_fill_the_parameters(run_cli: Any, tmp_path: Path) -> None:
    result = _annex(run_cli, "--params", PARAMS, "--param", "notice_days=45", "--governing-law",
                    "the laws of Austria")
    assert result.code == 1, result.err
    assert "[PARAMETER:" not in result.out and "not set" not in result.err
    assert "at least 45 days' written notice" in result.out  # the option overrides the file's 30
    assert "governed by the laws of Austria." in result.out
    assert "| Provider | Acme GmbH, Musterstraße 1" in result.out


def test_a_params_file_with_errors_is_exit_2_with_file_line_col(run_cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "annex.yaml"
    bad.write_text("schema: policycheck/annex/v1\nparty: {name: Acme GmbH}\nnotice_days: thirty\n"
                   "damages: {liquidated: EUR 1, penalty: EUR 2}\n", encoding="utf-8")
    result = _annex(run_cli, "--params", bad)
    assert result.code == 2
    assert f"{bad}:3:14: error[schema]: notice_days:" in result.err
    assert f"{bad}:4:30: error[schema]" in result.err and "penalty" in result.err
    assert result.out == ""
    syntax = tmp_path / "syntax.yaml"
    syntax.write_text("schema: policycheck/annex/v1\nparty: [unclosed\n", encoding="utf-8")
    result = _annex(run_cli, "--params", syntax)
    assert result.code == 2 and f"{syntax}:2:" in result.err


@pytest.mark.parametrize("args", [("--param", "no_such=1"), ("--param", "notice_days=-3"), ("--param", "x"),
                                  ("--format", "docx"), ("--params", "/no/such/file.yaml"),
                                  ("--templates", "/no/such/folder")])
def test_usage_and_parameter_errors_are_exit_2(run_cli: Any, args: tuple[str, ...]) -> None:
    result = _annex(run_cli, *args)
    assert result.code == 2, (result.code, result.err)
    assert result.out == ""


def test_a_huge_parameter_is_not_echoed_whole(run_cli: Any, tmp_path: Path) -> None:
    """A 50 MB value in a parameters file (and a long one on the command line) is quoted in at most ~80
    characters: in the message, in the diagnostic and in the code frame of its line."""
    big = tmp_path / "annex.yaml"
    big.write_text('schema: policycheck/annex/v1\ngoverning_law: "' + "A" * (50 * 1024 * 1024) + '"\n',
                   encoding="utf-8")
    result = _annex(run_cli, "--params", big)
    assert result.code == 2 and result.out == ""
    assert f"{big}:2:16: error[schema]: governing_law:" in result.err and "… is too long" in result.err
    assert len(result.err) < 2_000, len(result.err)
    long = "B" * 100_000
    for args in (("--param", f"governing_law={long}"), ("--param", f"notice_days={long}"), ("--param", long),
                 ("--param", f"{'x' * 100_000}=1"), ("--party", long), ("--templates", f"/{long}")):
        result = _annex(run_cli, *args)
        assert result.code == 2 and "Traceback" not in result.err, result.err[-500:]
        assert "B" * 80 not in result.err and "x" * 80 not in result.err and len(result.err) < 1_000, args[0]


def test_a_long_line_in_an_error_is_shown_around_its_column() -> None:
    from policy.diagnostics import FRAME_WIDTH, code_frame

    frame = code_frame("a: 1\nb: " + "A" * 1000 + "X" + "B" * 1000 + "\n", 2, 1004, 3)
    source, caret = frame.splitlines()[1:]
    assert source.startswith(" 2 | …") and source.endswith("…") and len(source) <= FRAME_WIDTH + 10
    assert source[caret.index("^")] == "X" and caret.endswith("^^^")
    assert code_frame("a: 1\nb: x\n", 2, 4) == " 1 | a: 1\n 2 | b: x\n   |    ^"


def test_an_unreadable_target_writes_no_annex(run_cli: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.md"
    broken.write_text("---\nlicense: [unclosed\n---\n", encoding="utf-8")
    out = tmp_path / "annex.md"
    result = run_cli("annex", CARD, broken, *COMMON, "--output", out)
    assert result.code == 2 and not out.exists() and "no annex written" in result.err


def test_annex_is_a_known_command(run_cli: Any) -> None:
    assert run_cli("anex").code == 2 and "did you mean 'annex'" in run_cli("anex").err
    assert run_cli("annex", "--help").code == 0


def test_distillation_clause_is_emphasised_by_a_no_distillation_term_in_the_lineage(run_cli: Any,
                                                                                    tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    policy = tmp_path / "policycheck.yaml"
    policy.write_text(
        "schema: policycheck/policy/v1\nmodels:\n  - id: partner/teacher-x\n    license: apache-2.0\n"
        "    clauses:\n      - type: no-distillation\n        applies_to: [outputs]\n"
        "        obligation: Do not train other models on teacher-x outputs.\n"
        "        citation: {section: \"§4.2\", quote: \"Licensee shall not use Outputs to train any model.\", "
        "source: \"Partner agreement ACME-17\", grade: policy}\n", encoding="utf-8")
    student = cards / "acme__student.md"
    student.write_text(make_card({"license": "apache-2.0", "teacher_model": "partner/teacher-x"}), encoding="utf-8")
    result = run_cli("annex", student, "--offline", "--cards", cards, "--policy", policy, "--today", "2026-12-01")
    assert result.code == 1, result.err
    assert re.search(r"^### 2\. No unauthorised distillation and no competing models \(heightened", result.out, re.M)
    clause = result.out.split("### 2.", 1)[1].split("### 3.", 1)[0]
    assert "- (a) partner/teacher-x: acme/student was trained on outputs of partner/teacher-x" in clause
    assert "Partner agreement ACME-17" in clause
    plain = run_cli("annex", CARD, *COMMON)
    assert "(heightened" not in plain.out  # DeepSeek-R1 (MIT) allows distillation: no emphasis


# -- DOCX ------------------------------------------------------------------------------------------------------
def test_docx_annex_read_back(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "annex.docx"
    result = _annex(run_cli, "--party", "Acme GmbH", "--counterparty", "Example Labs Ltd", "--format", "docx",
                    "--output", out)
    assert result.code == 1, result.err
    text = docx_text(out)
    assert "Provider: Acme GmbH" in text and "Recipient: Example Labs Ltd" in text
    for model in MODELS:
        assert model in text, model
    assert "No unauthorised distillation and no competing models" in text
    assert "for Distillation of any model other than the Licensed Models themselves" in text
    assert "Accurate and reproducible evaluation reporting" in text
    assert "shall not fabricate, falsify or selectively report Evaluation results" in text
    assert "Text to display: “Built with Llama”" in text
    assert "DRAFT" in text and "not legal advice" in text
    assert "governed by [PARAMETER: governing_law]." in text  # a missing parameter is a placeholder
    assert "{{" not in text and "{%" not in text  # every tag of the template was rendered


def test_docx_template_override(run_cli: Any, tmp_path: Path) -> None:
    from docx import Document

    user = tmp_path / "tpl"
    (user / "annex").mkdir(parents=True)
    (user / "clauses").mkdir()
    doc = Document()
    doc.add_paragraph("HOUSE STYLE {{ parties[0].name }}")
    doc.add_paragraph("{%p for c in clauses %}")
    doc.add_paragraph("{{ c.title }}")
    doc.add_paragraph("{%p for p in c.paragraphs %}")
    doc.add_paragraph("{{ p.number }}\t{{ p.text }}")  # a house template that types its numbers keeps them
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")
    doc.save(str(user / "annex" / "annex.docx"))
    (user / "clauses" / "audit.md").write_text(
        "---\nid: audit\ntitle: House audit clause\npurpose: ours\nselected_by: {always: true}\n---\n"
        "Audit on {{ params.audit.notice_days }} days.\n", encoding="utf-8")
    out = tmp_path / "annex.docx"
    result = _annex(run_cli, "--party", "Acme GmbH", "--format", "docx", "--output", out, "--templates", user)
    assert result.code == 1, result.err
    text = docx_text(out)
    assert "HOUSE STYLE Acme GmbH" in text and "House audit clause" in text
    assert "Records and audit rights" not in text and "Accurate and reproducible evaluation reporting" in text
    assert "\n1.1\tAudit on [PARAMETER: audit.notice_days] days.\n" in text
    md = _annex(run_cli, "--templates", user)
    assert "House audit clause" in md.out and "Audit on [PARAMETER: audit.notice_days] days." in md.out


# -- values from cards and parameters are data, in both formats -------------------------------------------------
EVIL = "<script>alert(1)</script>{{ 7*7 }}{% raw %}"


def test_card_and_parameter_values_render_inert(run_cli: Any, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "acme__base.md").write_text(make_card({"license": "other", "license_name": f"base {EVIL}"}),
                                         encoding="utf-8")
    child = cards / "acme__child.md"
    child.write_text(make_card({"license": "other", "license_name": f"evil {EVIL}\x1b[31m",
                                "base_model": "acme/base"}), encoding="utf-8")
    args = ("--offline", "--cards", cards, "--today", "2026-12-01", "--party", f"Acme {EVIL}",
            "--param", f"governing_law=law {EVIL}")
    md = run_cli("annex", child, *args)
    assert md.code in (1, 3), md.err
    assert "<script>" not in md.out and "\x1b" not in md.out and not re.search(r"script\\?>49", md.out)
    assert "\\<script\\>alert\\(1\\)\\</script\\>\\{\\{ 7\\*7 \\}\\}" in md.out  # shown as text, escaped
    assert "evil \\<script\\>" in md.out and "Acme \\<script\\>" in md.out and "law \\<script\\>" in md.out

    out = tmp_path / "evil.docx"
    result = run_cli("annex", child, *args, "--format", "docx", "--output", out)
    assert result.code in (1, 3), result.err
    with zipfile.ZipFile(out) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert "<script>" not in xml and "&lt;script&gt;alert(1)&lt;/script&gt;" in xml
    text = docx_text(out)
    assert not re.search(r"script>49", text)
    assert f"Acme {EVIL}" in text and f"law {EVIL}" in text  # the literal text, neither run nor dropped
    assert "evil <script>alert(1)</script>{{ 7*7 }}" in text and "\\x1b[31m" in text


INVISIBLE = {"\u061c": "\\u061c", "\u200e": "\\u200e", "\u200f": "\\u200f", "\ufeff": "\\ufeff",
             "\u200b": "\\u200b", "\u009b": "\\u009b"}


def test_invisible_and_bidi_marks_in_card_values_are_escaped_as_in_every_other_output(run_cli: Any,
                                                                                     tmp_path: Path) -> None:
    """The annex used its own sanitiser, which let the Arabic letter mark, the LTR/RTL marks and the BOM through
    (the text and HTML reports escape them) and wrote C1 as `\\x9b`: now one rule (policy.textsafe) for all."""
    cards = tmp_path / "cards"
    cards.mkdir()
    hidden = "evil" + "".join(f"{ch}{i}" for i, ch in enumerate(INVISIBLE))
    child = cards / "acme__child.md"
    child.write_text(make_card({"license": "other", "license_name": hidden}), encoding="utf-8")
    args = ("--offline", "--cards", cards, "--today", "2026-12-01")
    shown = "evil" + "".join(f"{escape}{i}" for i, escape in enumerate(INVISIBLE.values()))

    md = run_cli("annex", child, *args)
    assert md.code in (1, 3), md.err
    assert not any(ch in md.out for ch in INVISIBLE), [hex(ord(ch)) for ch in INVISIBLE if ch in md.out]
    assert shown in _md_plain(md.out)

    out = tmp_path / "annex.docx"
    result = run_cli("annex", child, *args, "--format", "docx", "--output", out)
    assert result.code in (1, 3), result.err
    text = docx_text(out)
    assert not any(ch in text for ch in INVISIBLE), [hex(ord(ch)) for ch in INVISIBLE if ch in text]
    assert shown in text


# -- the committed example --------------------------------------------------------------------------------------
def _example_args(out: Path, fmt: str, side: str = "provider") -> tuple[Any, ...]:
    return ("annex", "examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md", "--cards", "examples/cards",
            "--offline", "--today", "2026-12-01", "--params", "examples/annex/params.yaml", "--format", fmt,
            "--output", out, *(("--side", side) if side != "provider" else ()))


@pytest.mark.parametrize("side", ["provider", "recipient"])
def test_example_annex_is_current(side: str, run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/annex/ equals a fresh render of both sides (regenerate with `sh examples/regenerate.sh`). The DOCX
    is compared by its text as python-docx reads it back (zip timestamps differ between runs)."""
    monkeypatch.chdir(ROOT)
    stem = "DeepSeek-R1-Distill-Llama-8B" + ("" if side == "provider" else ".recipient")
    example_md, example_docx = EXAMPLES / "annex" / f"{stem}.annex.md", EXAMPLES / "annex" / f"{stem}.annex.docx"
    md, docx_out = tmp_path / "annex.md", tmp_path / "annex.docx"
    assert run_cli(*_example_args(md, "markdown", side)).code == 1
    assert run_cli(*_example_args(docx_out, "docx", side)).code == 1
    assert md.read_text(encoding="utf-8") == example_md.read_text(encoding="utf-8"), \
        "examples/annex is stale: run `sh examples/regenerate.sh`"
    assert docx_text(docx_out) == docx_text(example_docx), "examples/annex is stale: run `sh examples/regenerate.sh`"
    text = example_md.read_text(encoding="utf-8")
    assert "[PARAMETER:" not in text and "Acme GmbH" in text and "Example Labs Ltd" in text


def _clause_titles(text: str) -> list[str]:
    return [line.split(". ", 1)[1] for line in text.splitlines() if line.startswith("### ") and ". " in line]


def test_the_two_sides_serve_their_own_party() -> None:
    provider = (EXAMPLES / "annex" / "DeepSeek-R1-Distill-Llama-8B.annex.md").read_text(encoding="utf-8")
    recipient = (EXAMPLES / "annex" / "DeepSeek-R1-Distill-Llama-8B.recipient.annex.md").read_text(encoding="utf-8")
    mine, theirs = _clause_titles(provider), _clause_titles(recipient)
    assert "No unauthorised distillation and no competing models" in mine
    assert "Records and audit rights" in mine and "Remedies, damages and termination" in mine
    for title in ("The Provider's warranties on licences, lineage and evaluation", "Findings to be cured before "
                  "delivery", "Indemnity against upstream licensors' claims", "The Recipient's remedies"):
        assert title in theirs and title not in mine, title
    assert not {"No unauthorised distillation and no competing models", "Records and audit rights"} & set(theirs)
    # the cure covenant names each open finding (notes excepted) with its cure
    cure = recipient[recipient.index("Findings to be cured before delivery"):]
    cure = cure[:cure.index("\n### ")]
    for rule in ("derivative-drops-license-terms", "name-prefix-missing"):
        assert f"Finding {rule};" in cure
    assert "To cure: Rename the model so that its name begins with “Llama”" in cure
    assert "no-patent-grant" not in cure  # a note asks for nothing
    # the provider's disclaimer of the lineage's accuracy is the recipient's warranty
    assert "it is not a warranty that the Lineage is complete" in provider
    assert "it is not a warranty" not in recipient and "The Provider warrants that statement" in recipient


def test_part_a_names_the_licence_stack_and_never_a_verdict() -> None:
    for name in ("DeepSeek-R1-Distill-Llama-8B.annex.md", "DeepSeek-R1-Distill-Llama-8B.recipient.annex.md"):
        text = (EXAMPLES / "annex" / name).read_text(encoding="utf-8")
        part_a = text[text.index("## Part A."):text.index("## Part B.")]
        assert ("Llama 3.1 Community License Agreement for the material of meta-llama/Llama-3.1-8B; MIT License for "
                "the Provider's own modifications, if any") in part_a
        assert "verdict" not in part_a.lower()
        # the same-licensor relicensing (DeepSeek-V3-Base's licence, through DeepSeek's own model) is said
        assert "deepseek-ai/DeepSeek-V3-Base \\(DeepSeek License Agreement v1.0\\) reaches it through" in part_a
        part_e = text[text.index("## Part E."):]
        assert "Labelled MIT, but a fine-tune of meta-llama/Llama-3.1-8B" in part_e  # the risk, for counsel


def test_a_one_time_licensee_test_is_not_worded_as_a_running_cap() -> None:
    text = (EXAMPLES / "annex" / "DeepSeek-R1-Distill-Llama-8B.annex.md").read_text(encoding="utf-8")
    limits = text[text.index("Limits of the upstream licences"):]
    limits = limits[:limits.index("\n### ")]
    assert "is met or not on that date alone" in limits
    assert "approaches or exceeds" not in limits  # no other (running) limit in this lineage


def test_deletion_has_its_own_period() -> None:
    from policy.documents.annex import parameter_names

    assert "deletion_days" in parameter_names() and "cure_days" in parameter_names()
    text = (EXAMPLES / "annex" / "DeepSeek-R1-Distill-Llama-8B.annex.md").read_text(encoding="utf-8")
    assert "| deletion\\_days | 30 |" in text


def test_docx_template_is_built_by_its_script(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_docx_template",
                                                  ROOT / "templates" / "annex" / "build_docx_template.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(tmp_path / "annex.docx")
    assert docx_text(built) == docx_text(ROOT / "templates" / "annex" / "annex.docx")
    # every part (styles, numbering, header, footer, document), not only the text: the script is the source
    with zipfile.ZipFile(built) as fresh, zipfile.ZipFile(ROOT / "templates" / "annex" / "annex.docx") as committed:
        assert fresh.namelist() == committed.namelist()
        stale = [n for n in fresh.namelist() if fresh.read(n) != committed.read(n)]
        assert not stale, f"templates/annex/annex.docx is stale ({', '.join(stale)}): run its build script"


def test_parameter_names_follow_the_schema() -> None:
    from policy.documents.annex import param_tree, parameter_names, placeholder

    names = parameter_names()
    assert {"party.name", "counterparty.name", "governing_law", "notice_days", "audit.notice_days",
            "evaluation.disclosure_days", "damages.liquidated", "damages.cap", "cure_days"} <= set(names)
    tree = param_tree({"notice_days": 30, "party": {"name": "Acme"}, "agreement": {"date": dt.date(2026, 1, 2)}})
    assert tree["notice_days"] == 30 and tree["party"]["name"] == "Acme"
    assert tree["governing_law"] == placeholder("governing_law") == "[PARAMETER: governing_law]"


def test_a_clause_of_the_other_side_on_request(run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "buyer.md"
    result = run_cli(*_example_args(out, "markdown", "recipient"), "--with-clause", "audit",
                     "--with-clause", "no-distillation")
    assert result.code == 1
    text = out.read_text(encoding="utf-8")
    titles = _clause_titles(text)
    assert "Records and audit rights" in titles and "No unauthorised distillation and no competing models" in titles
    assert "the Recipient may have an auditor of that description inspect the Provider's records" in text
    assert "the clause headed" not in text  # no reference to a clause this annex does not hold
    assert run_cli(*_example_args(out, "markdown", "recipient"), "--with-clause", "nope").code == 2


def test_no_annex_calls_a_model_compliant() -> None:
    """The annex is a draft for counsel that reports what licences and lineage say: it never calls a model
    compliant (a finding cured is shown as cured, not the model as compliant)."""
    for path in sorted((EXAMPLES / "annex").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        assert "compliant" not in text.lower(), path.name
        assert "DRAFT — NOT LEGAL ADVICE" in text and "not legal advice" in text.lower()
