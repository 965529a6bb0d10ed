"""Citations a lawyer can check, in every format (issue 18 item 10).

One report carries both kinds of citation: license clauses (graded, pinned to the commit read) and a finding of
policycheck's own rule (ancestor-unresolved: Codestral's base is not among the cards). Every format must name the
pinned source, never a branch; explain the grade letters it shows; and show the own rule as policycheck's rule,
without a grade.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from policy.model.citations import cite_line, describe_source, grades_used
from policy.model.vocab import GRADE_MEANINGS
from policy.render.registry import REGISTRY, RenderOptions
from tests.conftest import card
from tests.render.test_text import reports


@pytest.fixture(scope="module")
def report() -> Any:
    (r,) = reports(card("bartowski/Codestral-22B-v0.1-GGUF"))
    assert any(f.rule == "ancestor-unresolved" for f in r.findings)
    assert any((f.citation or {}).get("grade") for f in r.findings)
    return r


def rendered(fmt: str, report: Any) -> str:
    out = REGISTRY["check"][fmt].renderer()([report], RenderOptions(fmt=fmt))
    out = out if isinstance(out, str | bytes) else (b"" if fmt == "junit" else "").join(out)
    return out.decode() if isinstance(out, bytes) else out


# -- the source, named ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "label", "url", "kind"), [
    ("meta-llama/llama-models@a9c89c4:models/llama3_1/LICENSE",
     "meta-llama/llama-models@a9c89c4 models/llama3_1/LICENSE",
     "https://github.com/meta-llama/llama-models/blob/a9c89c4/models/llama3_1/LICENSE", "pinned"),
    ("OpenTermsArchive/GenAI-versions@e0e1daa15f:Claude.ai/Commercial Terms.md",
     "OpenTermsArchive/GenAI-versions@e0e1daa15f Claude.ai/Commercial Terms.md",
     "https://github.com/OpenTermsArchive/GenAI-versions/blob/e0e1daa15f/Claude.ai/Commercial%20Terms.md", "pinned"),
    ("https://github.com/deepseek-ai/DeepSeek-R1/blob/0cf78561f1d51c84a21b2190626b21116d5c68bb/README.md",
     "deepseek-ai/DeepSeek-R1@0cf78561f1 README.md",
     "https://github.com/deepseek-ai/DeepSeek-R1/blob/0cf78561f1d51c84a21b2190626b21116d5c68bb/README.md", "pinned"),
    ("https://ai.google.dev/terms (Effective October 31, 2024)",
     "https://ai.google.dev/terms (Effective October 31, 2024)",
     "https://ai.google.dev/terms", "web"),
    ("the policy file", "the policy file", None, "text"),
])
def test_sources_are_named_by_what_they_pin(source: str, label: str, url: str | None, kind: str) -> None:
    s = describe_source(source)
    assert (s.label, s.url, s.kind) == (label, url, kind)


@pytest.mark.parametrize("branch", ["https://github.com/a/b/blob/main/LICENSE",
                                    "https://huggingface.co/Qwen/Qwen2.5-72B-Instruct/blob/main/LICENSE",
                                    "https://github.com/a/b/blob/master/docs/x.md"])
def test_a_branch_link_is_said_to_be_one(branch: str) -> None:
    s = describe_source(branch)
    assert s.kind == "branch" and s.url == branch and "not pinned to a commit" in s.label


def test_the_legend_lists_only_the_grades_used_strongest_first() -> None:
    cites = [{"grade": "S"}, None, {"grade": "V"}, {"grade": ""}, {"grade": "V"}]
    assert list(grades_used(cites)) == ["V", "S"]
    own = {"section": "§3 Lineage", "source": "x", "grade": "", "basis": "policycheck-rule", "rule": "r", "pack": "p"}
    assert cite_line(own) == "policycheck's own rule r (p pack), not a license clause: §3 Lineage (x)"
    assert cite_line({"section": "§2", "source": "o/r@abcdef1:L", "grade": "C"}, "MIT") == \
        f"MIT §2, o/r@abcdef1 L (grade C: {GRADE_MEANINGS['C']})"


# -- every format -----------------------------------------------------------------------------------------------

FORMATS = ("text", "json", "markdown", "html", "sarif", "junit")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_cites_pinned_sources_and_explains_its_grades(fmt: str, report: Any) -> None:
    out = rendered(fmt, report)
    assert "/blob/main/" not in out and "/blob/master/" not in out
    flat = " ".join(out.split())
    for grade, meaning in report.grades().items():
        assert meaning.replace("'", "&#39;" if fmt == "html" else "'") in flat or meaning in flat, (fmt, grade)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_shows_the_own_rule_as_policycheck_s_never_graded(fmt: str, report: Any) -> None:
    out = rendered(fmt, report)
    if fmt == "json":
        own = next(f for f in json.loads(out)["findings"] if f["rule"] == "ancestor-unresolved")
        assert own["citation"]["basis"] == "policycheck-rule" and own["citation"]["grade"] == ""
        assert set(json.loads(out)["grades"]) <= set(GRADE_MEANINGS)
        return
    if fmt == "sarif":
        rules = json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
        text = next(r for r in rules if r["id"] == "ancestor-unresolved")["help"]["text"]
    elif fmt == "junit":
        case = next(c for c in ET.fromstring(out).iter("testcase")
                    if "ancestor-unresolved" in ET.tostring(c, encoding="unicode"))
        text = ET.tostring(case, encoding="unicode")
        text = text[text.index("ancestor-unresolved"):]
    else:
        text = out[out.index("ancestor-unresolved"):]
    text = " ".join(text.split()).replace("&#39;", "'").replace("’", "'")
    window = text[:text.index("not a license clause") + 60]
    assert "policycheck's own rule" in window and "grade" not in window
