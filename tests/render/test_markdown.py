"""`--format markdown` (issue 8): golden files of real corpus cards, batches with error sections, waivers, the
obligations checklist, `--templates` overrides, and card text that renders inert.

Golden files live in tests/golden/markdown/. A mismatch shows a unified diff; regenerate them with
`POLICYCHECK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/render/test_markdown.py` and review the diff.
The pack and catalog digests and the tool version are replaced by placeholders before the comparison, so an edit
of the rule data shows up in the goldens only where it changes what a report says.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import POLICY, WAIVER, student_repo
from tests.support.golden import check_golden as compare_golden

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parents[1] / "golden" / "markdown"
CARDS_REL = Path("tests/fixtures/cards")  # relative to ROOT: the documents show paths as given
TODAY = "2026-12-01"

# Real corpus cards, one per kind of outcome.
GOLDEN_CASES = {
    "deepseek-r1-distill-llama-8b": ["deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"],  # fail, failing edge
    "deepseek-r1-distill-qwen-7b": ["deepseek-ai__DeepSeek-R1-Distill-Qwen-7B.md"],  # pass, obligations
    "gemma-2-9b-it-simpo": ["princeton-nlp__gemma-2-9b-it-SimPO.md"],  # review: base not available offline
    "unsloth-deepseek-r1-gguf": ["unsloth__DeepSeek-R1-GGUF.md"],  # pass: same-licensor relicensing
    "batch": ["deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md", "Ultralytics__YOLOv8.md",
              "unsloth__Llama-3.3-70B-Instruct-GGUF.md", "no-such-card.md"],  # summary table + an error section
}

_DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


def normalise(text: str) -> str:
    from policy import __version__

    return _DIGEST.sub("<sha256>", text).replace(f"policycheck {__version__}", "policycheck <version>")


def render_markdown(run_cli: Any, *targets: str | Path, extra: tuple[str, ...] = ()) -> tuple[int, str]:
    result = run_cli("check", *targets, "--offline", "--format", "markdown", "--today", TODAY, *extra)
    return result.code, result.out


def check_golden(name: str, text: str) -> None:
    compare_golden(GOLDEN / f"{name}.md", text)


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_markdown_golden(name: str, run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    targets = (CARDS_REL / c for c in GOLDEN_CASES[name])
    code, out = render_markdown(run_cli, *targets, extra=("--cards", str(CARDS_REL)))
    assert code in (0, 1, 2, 3)
    assert str(ROOT) not in out  # no machine path: files are shown as given, relative to the working directory
    check_golden(name, normalise(out))


def test_golden_files_have_no_unused_leftovers() -> None:
    if GOLDEN.is_dir():
        assert {p.stem for p in GOLDEN.glob("*.md")} <= set(GOLDEN_CASES)


def test_the_report_reads_verdict_first_and_lists_everything(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out = render_markdown(run_cli, CARDS_REL / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md",
                                extra=("--cards", str(CARDS_REL)))
    assert code == 1
    section = out.split("\n## ", 1)[1]
    assert section.startswith("FAIL: deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    assert section.index("**Verdict: FAIL.**") < section.index("### Lineage") < section.index("### Findings") \
        < section.index("### Obligations") < section.index("### Evidence")
    lineage = section.split("### Lineage", 1)[1].split("###", 1)[0]
    assert "  - finetune of **meta-llama/Llama-3.1-8B**: license llama3.1" in lineage
    assert "    - finetune of **deepseek-ai/DeepSeek-V3-Base**" in lineage  # nested under DeepSeek-R1
    assert "**failing edge**" in lineage.split("meta-llama/Llama-3.1-8B", 1)[1].split("\n", 1)[0]
    findings = section.split("### Findings", 1)[1].split("### Obligations", 1)[0]
    assert findings.lstrip().startswith("#### Violations: error (2)\n\n- **error · derivative-drops-license-terms**")
    assert "you shall also include “Llama” at the beginning" in findings
    assert ("([meta-llama/llama-models@a9c89c4 models/llama3\\_1/LICENSE](<https://github.com/meta-llama/"
            "llama-models/blob/a9c89c4/models/llama3_1/LICENSE>), grade V)") in findings
    assert "- **V**: read against the licensor's own text" in section  # the legend of the grades shown
    assert "Remediation: Rename the model" in findings
    obligations = section.split("### Obligations", 1)[1].split("### Evidence", 1)[0]
    for group in ("Include or copy", "Display", "Name", "Pass on to recipients"):
        assert f"#### {group}" in obligations
    assert obligations.count("- [ ] ") == 7
    evidence = section.split("### Evidence", 1)[1]
    assert re.search(r"- Pack core \S+, sha256 [0-9a-f]{64}", evidence)
    assert re.search(r"- Catalog sha256: [0-9a-f]{64}", evidence)
    assert f"- Date: {TODAY}" in evidence and "Intended use:" in evidence and "not legal advice" in evidence
    assert "- Policy file: none (defaults)" in evidence
    assert "tests/fixtures/cards/deepseek-ai\\_\\_DeepSeek-R1-Distill-Llama-8B.md" in evidence


def test_policy_file_path_is_shown_relative(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    _, out = render_markdown(run_cli, "examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md",
                             extra=("--cards", "examples/cards"))
    assert "- Policy file: examples/policycheck.yaml" in out and str(ROOT) not in out


def test_waived_findings_have_their_own_section(run_cli: Any, tmp_path: Path) -> None:
    # the custom no-distillation scenario of tests/cli/test_cli.py, with the finding waived
    folder = student_repo(tmp_path, POLICY + WAIVER)
    code, out = render_markdown(run_cli, folder)
    assert code == 0 and "**Verdict: PASS.**" in out
    waived = out.split("### Waived findings", 1)[1].split("### Obligations", 1)[0]
    assert "teacher-forbids-distillation" in waived
    assert "Waived by legal@acme.example: reason license-acquired; justification: Written permission from the " \
           "partner, LEGAL-1234.; expires 2026-12-31" in waived
    assert "Partner agreement ACME-17" in waived  # a citation that is not a URL is shown as text
    findings = out.split("### Findings", 1)[1].split("### Waived findings", 1)[0]
    assert "teacher-forbids-distillation" not in findings  # waived findings are not among the open ones


def test_a_batch_is_one_document_with_a_summary_and_an_error_section(run_cli: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "acme__broken.md"
    broken.write_text("---\nlicense: [unclosed\n---\n", encoding="utf-8")
    good = ROOT / CARDS_REL / "deepseek-ai__DeepSeek-R1-Distill-Qwen-7B.md"
    code, out = render_markdown(run_cli, good, "acme__broken.md", extra=("--cards", str(ROOT / CARDS_REL)))
    assert code == 2
    assert out.count("\n# ") + out.startswith("# ") == 1 and out.startswith("# policycheck report: 2 targets")
    summary = out.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert "| 1 | PASS | deepseek-ai/DeepSeek-R1-Distill-Qwen-7B |" in summary
    assert "| 2 | ERROR | acme\\_\\_broken.md |" in summary
    error = out.split("## 2\\. ERROR: acme\\_\\_broken.md", 1)[1]
    assert "**Verdict: ERROR.**" in error and "acme\\_\\_broken.md:2:10: error yaml-syntax" in error
    assert str(tmp_path) not in out


def test_templates_dir_overrides_the_shipped_template(run_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.md.j2").write_text(
        "{% for t in targets %}{{ t.verdict_label }} {{ t.id }} {{ t.counts.open }}\n{% endfor %}", encoding="utf-8")
    result = run_cli("check", ROOT / CARDS_REL / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md", "--cards",
                     ROOT / CARDS_REL, "--offline", "--format", "markdown", "--templates", tmp_path)
    assert result.code == 1
    # 2 violations, 2 patent notes, and the licensee's monthly active users that no policy file gives (Llama §2)
    assert result.out == "FAIL deepseek-ai/DeepSeek-R1-Distill-Llama-8B 5\n"


HOSTILE = """\
---
license: other
license_name: "<script>alert(1)</script> {{ 7*7 }} | ](javascript:alert(1)) *x* `c` #h"
license_link: "javascript:alert(1)"
base_model: ["acme/<script>b</script>", "acme/y{{ 7*7 }}|](javascript:x)"]
tags: ["<img src=x onerror=alert(1)>"]
---
# {{ 7*7 }} <script>alert(3)</script>
"""


def hostile_card(tmp_path: Path) -> Path:
    cards = tmp_path / "cards"
    cards.mkdir()
    path = cards / "acme__x.md"
    path.write_text(HOSTILE, encoding="utf-8")
    return path


def test_card_text_renders_inert_in_markdown(run_cli: Any, tmp_path: Path) -> None:
    path = hostile_card(tmp_path)
    code, out = render_markdown(run_cli, path, extra=("--cards", str(path.parent)))
    assert code == 3
    # no raw HTML from the card: every `<` is escaped, except the template's own autolinks to cited sources
    assert not re.search(r"(?<!\\)<(?!https://)", out), re.findall(r".{20}(?<!\\)<(?!https://).{20}", out)
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in out
    assert "\\{\\{ 7\\*7 \\}\\}" in out and "{{" not in out  # shown, escaped; never evaluated
    assert "acme/y49" not in out and "</script> 49" not in out
    assert "](javascript" not in out and "\\]\\(javascript:" in out  # no link can be formed
    # `|` is escaped, so a value can never add a table cell; `*`, backticks and `#` are escaped as well
    assert "\\| \\]\\(javascript:alert\\(1\\)\\) \\*x\\* \\`c\\` \\#h" in out
    for line in out.splitlines():
        if line.startswith("| "):
            assert line.count(" | ") - line.count("\\| ") == 5  # every summary row keeps its six cells


def deep_chain(tmp_path: Path, n: int = 30) -> Path:
    """acme/m0 -> acme/m1 -> ... -> acme/m{n}: a lineage deeper than the indentation cap."""
    cards = tmp_path / "chain"
    cards.mkdir()
    for i in range(n):
        (cards / f"acme__m{i}.md").write_text(f"---\nlicense: mit\nbase_model: acme/m{i + 1}\n---\n", encoding="utf-8")
    (cards / f"acme__m{n}.md").write_text("---\nlicense: mit\n---\n", encoding="utf-8")
    return cards


def test_a_deep_lineage_renders_in_full_with_capped_indentation(run_cli: Any, tmp_path: Path) -> None:
    from policy.render.view import TREE_INDENT_CAP

    cards = deep_chain(tmp_path)
    code, out = render_markdown(run_cli, cards / "acme__m0.md", extra=("--cards", str(cards)))
    assert code in (0, 3)
    lineage = out.split("### Lineage", 1)[1].split("###", 1)[0]
    rows = [line for line in lineage.splitlines() if line.lstrip().startswith("- ")]
    deepest = max(int(m) for m in re.findall(r"acme/m(\d+)\*\*", lineage))
    assert len(rows) == deepest + 1 and deepest > TREE_INDENT_CAP  # every node, however deep
    assert max(len(r) - len(r.lstrip()) for r in rows) == 2 * TREE_INDENT_CAP
    assert f"(depth {deepest})" in rows[-1]


# Two Markdown list items on one line: a template tag that ate the newline between them ("none (defaults)- Intended
# use"). A list item starts a line; after text, "- " and a capital or `**` is the next item glued on.
_GLUED_ITEM = re.compile(r"[^\s|(-]- (?:\*\*|[A-Z])")


@pytest.mark.parametrize("folder", ["golden/markdown", "../examples/annex"])
def test_no_rendered_line_holds_two_list_items(folder: str) -> None:
    files = sorted((Path(__file__).parents[1] / folder).glob("*.md"))
    assert files
    glued = [(f.name, n, line) for f in files for n, line in enumerate(f.read_text("utf-8").splitlines(), 1)
             if line.lstrip().startswith("- ") and _GLUED_ITEM.search(line)]
    assert glued == []


def test_an_internal_error_is_said_in_words_in_a_document() -> None:
    """A bug's exception text is for the bug report (JSON, the text output): a document says what happened."""
    from policy.model.report import TargetError
    from policy.render.view import error_view

    error = TargetError("acme/m", "internal error while checking acme/m: KeyError: 'x' (please report it)",
                        frames=("Traceback (most recent call last):\n  ...",), internal=True)
    view = error_view(error)
    assert view["message"] == "The check of acme/m stopped on an internal error." and view["internal"]
    plain = TargetError("card.md", "card.md:3:1: not a YAML mapping")
    assert error_view(plain)["message"] == "card.md:3:1: not a YAML mapping"  # positioned errors stay as they are
