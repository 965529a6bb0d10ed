"""The EU AI Act documentation pack (`policycheck aiact`): the shipped data (schema, sources, quotes of 25 words at
most), the pack for a model with a declared teacher and for one with nothing declared, Markdown and HTML through
the sandboxed templates (HTML read back in headless Chromium), hostile card text, batches and exit codes."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from policy.documents.aiact import build_pack, load_data, parse_data
from policy.documents.aiact_output import render_aiact
from policy.errors import ConfigError
from policy.model.report import Report
from policy.pipeline.check import CheckOptions, iter_check
from tests.render.test_html import CHROMIUM, chromium

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cards"
R1_LLAMA = EXAMPLES / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"
TODAY = dt.date(2026, 12, 1)


def _report(target: Path, cards: Path = EXAMPLES) -> Report:
    [report] = iter_check([str(target)], CheckOptions(cards=(cards,), offline=True, today=TODAY))
    assert isinstance(report, Report)
    return report


def _items(pack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for s in pack["sections"] for i in s["entries"]}


@pytest.fixture(scope="module")
def r1_pack() -> dict[str, Any]:
    return build_pack(_report(R1_LLAMA))


# -- the data ---------------------------------------------------------------------------------------------------
def test_the_shipped_data_cites_every_entry_with_a_short_quote() -> None:
    data = load_data()
    entries = [*data.applicability, *data.items]
    assert len(data.items) >= 50
    for entry in entries:
        assert data.sources[entry["source"]]["url"].startswith("https://"), entry["id"]
    sections = {i["section"] for i in data.items}
    assert sections == {"technical-documentation", "downstream-information", "copyright-policy", "training-summary"}
    # Article 53(2) exempts (a) and (b) only: the copyright policy and the training summary are never exempt
    assert not any(i["open_source_exempt"] for i in data.items
                   if i["section"] in ("copyright-policy", "training-summary"))
    ids = {a["id"] for a in data.applicability}
    assert {"open-source-exemption-excludes-systemic-risk", "systemic-risk-presumption", "template-mandatory"} <= ids


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["items"][0].update(quote=" ".join(["word"] * 26)), "25 words"),
    (lambda d: d["items"][0].update(source="nowhere"), "unknown source"),
    (lambda d: d["items"][1].update(id=d["items"][0]["id"]), "used twice"),
    (lambda d: d["items"][0].update(fill="invented_fact"), "items/0/fill"),
    (lambda d: d["items"][0].pop("verified"), "verified"),
])
def test_bad_data_is_refused(change: Any, message: str) -> None:
    import yaml

    from policy.resources import rules_dir

    data = yaml.safe_load((rules_dir() / "aiact" / "gpai.yaml").read_text(encoding="utf-8"))
    broken = copy.deepcopy(data)
    change(broken)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_data(broken)
    parse_data(data)  # the untouched data passes


# -- a model with a declared teacher --------------------------------------------------------------------------
def test_a_distilled_model_names_its_teacher_and_base(r1_pack: dict[str, Any]) -> None:
    pack = r1_pack
    assert pack["status"] == "review"
    items = _items(pack)
    assert pack["counts"]["total"] == len(items) == len(load_data().items)
    assert pack["counts"]["filled"] + pack["counts"]["gaps"] == len(items)
    assert pack["counts"]["gaps"] == sum(i["status"] == "gap" for i in items.values())
    # the template's synthetic-data question names the teacher, with where that fact came from
    [generator] = items["summary-synthetic-generator-models"]["answers"]
    assert generator.startswith("outputs of deepseek-ai/DeepSeek-R1 trained deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    assert "curation" in generator and "github.com/deepseek-ai/DeepSeek-R1" in generator
    assert pack["synthetic_data"] == [generator]
    dependencies = items["summary-model-dependencies"]["answers"]
    assert any("finetune of meta-llama/Llama-3.1-8B (llama3.1" in d for d in dependencies)
    assert not any("DeepSeek-V3-Base" in d for d in dependencies)  # the teacher's base is not a dependency
    assert items["tech-doc-licence"]["answers"] == ["declared: mit", "resolved: MIT"]
    assert any("Llama 3.1 Acceptable Use Policy" in a for a in items["tech-doc-acceptable-use"]["answers"])
    # what a card never says stays a gap
    for gap in ("summary-crawled-data", "summary-tdm-reservations", "tech-doc-training-compute"
                if "tech-doc-training-compute" in items else "summary-data-size"):
        assert items[gap]["status"] == "gap" and items[gap]["answers"] == []
    # the assessments: the Llama 3.1 user threshold rules out the open-source exemption as the weights stand
    by_question = {a["question"]: a for a in pack["assessments"]}
    exemption = by_question["Open-source exemption (Article 53(2))"]
    assert exemption["answer"].startswith("Not a candidate") and "meta-llama/Llama-3.1-8B" in exemption["answer"]
    assert "open-source-licence-user-threshold-disqualifies" in {b["id"] for b in exemption["basis"]}
    assert by_question["Systemic risk (Article 51)"]["answer"].startswith("Unknown")
    assert "meta-llama/Llama-3.1-8B" in by_question["Who is the provider of a modified model"]["answer"]


def test_the_markdown_pack(r1_pack: dict[str, Any]) -> None:
    text = render_aiact([r1_pack], "markdown")
    head = text[:600]
    assert "**Status: REVIEW**" in head and "Not legal advice" in head
    assert text.count("### GAP: ") == r1_pack["counts"]["gaps"]
    assert text.count("### Draft: ") == r1_pack["counts"]["filled"]
    assert "outputs of deepseek-ai/DeepSeek-R1 trained" in text
    assert "(AI Act, <https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng>)" in text
    assert "## Which articles apply" in text and "systemic risks." in text


class Ids(HTMLParser):
    """Every element id and every same-page link (`href="#..."`) of a page, as an HTML5 checker sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: Counter[str] = Counter()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value is not None:
                self.ids[value] += 1
            if name == "href" and value and value.startswith("#"):
                self.links.append(value[1:])


def page_ids(html: str) -> Ids:
    parser = Ids()
    parser.feed(html)
    parser.close()
    return parser


def test_the_html_pack_has_unique_ids_and_its_links_resolve(r1_pack: dict[str, Any]) -> None:
    """The Nu validator rejects a duplicate id: an item's data id equals its section's (copyright-policy,
    training-summary), so sections and items are prefixed apart, and a batch prefixes each pack."""
    assert {s["id"] for s in r1_pack["sections"]} & set(_items(r1_pack))  # the data does share ids
    bare = build_pack(_report(EXAMPLES / "Qwen__Qwen2.5-14B.md"))
    for packs in ([r1_pack], [r1_pack, bare, r1_pack]):
        page = page_ids(render_aiact(packs, "html"))
        duplicates = sorted(i for i, n in page.ids.items() if n > 1)
        assert not duplicates, duplicates
        assert all(re.fullmatch(r"[A-Za-z][\w.:-]*", i) for i in page.ids)  # no spaces, starts with a letter
        assert page.links and all(link in page.ids for link in page.links)  # every #link has its target
        for s in r1_pack["sections"]:
            assert f"section-{s['id']}" in page.ids or f"p1-section-{s['id']}" in page.ids


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary found (sh tests/setup.sh installs it as root)")
def test_the_html_pack_in_headless_chromium(r1_pack: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "aiact.html"
    page.write_text(render_aiact([r1_pack], "html"), encoding="utf-8")
    dom = chromium(tmp_path, "dom", "--dump-dom", page.as_uri()).stdout
    assert "<title>EU AI Act documentation pack: deepseek-ai/DeepSeek-R1-Distill-Llama-8B</title>" in dom
    assert '<span class="status">REVIEW</span>' in dom and "Not legal advice." in dom
    assert len(re.findall(r'<div class="item gap"', dom)) == r1_pack["counts"]["gaps"]
    assert len(re.findall(r'<div class="item filled"', dom)) == r1_pack["counts"]["filled"]
    assert 'id="item-summary-synthetic-generator-models"' in dom and "outputs of deepseek-ai/DeepSeek-R1" in dom


def test_a_teachers_ancestry_does_not_decide_the_students_exemption() -> None:
    # R1-Distill-Qwen-7B: MIT on Apache-2.0 Qwen2.5-Math-7B weights, distilled from DeepSeek-R1, itself a fine-tune
    # of DeepSeek-V3-Base under the DeepSeek licence: that licence governs the teacher's weights, not the student's
    pack = build_pack(_report(EXAMPLES / "deepseek-ai__DeepSeek-R1-Distill-Qwen-7B.md"))
    exemption = pack["assessments"][0]
    assert exemption["answer"].startswith("A candidate, for a person to confirm") and pack["exemption_possible"]
    assert "DeepSeek-V3-Base" not in json.dumps(pack["sections"])
    assert [s for s in pack["synthetic_data"] if "DeepSeek-V3" in s] == []
    text = render_aiact([pack], "markdown")
    assert "exempts a qualifying open-source model without systemic risk from this item" in text


def test_items_are_filled_only_with_what_answers_them(tmp_path: Path, r1_pack: dict[str, Any]) -> None:
    # a declared dataset is not thereby publicly available; a repo's last change is not its release date
    (tmp_path / "acme__m.md").write_text("---\nlicense: apache-2.0\ndatasets: [acme/private-set]\n"
                                         "pipeline_tag: text-generation\nlibrary_name: transformers\n---\n# m\n")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "acme__private-set.md").write_text("---\nlicense: other\n---\n")
    report = _report(tmp_path / "acme__m.md", tmp_path)
    report = dataclasses.replace(report, subject=dataclasses.replace(report.subject,
                                                                     last_modified="2026-10-02T08:00:00+00:00"))
    items = _items(build_pack(report))
    assert items["summary-public-datasets"]["status"] == "gap"
    [declared] = items["tech-doc-training-data"]["answers"]
    assert declared.startswith("acme/private-set") and "publicly available is not checked" in declared
    for gap in ("summary-modalities", "downstream-io-max-size", "training-summary"):
        assert items[gap]["status"] == "gap", gap
    release = items["tech-doc-release-distribution"]
    assert release["status"] == "gap" and release["answers"] == []
    assert release["hints"] == ["2026-10-02 (the repository's last change: a proxy, not the release date)"]
    assert items["downstream-software-versions"]["answers"] == [
        "transformers (the card's library_name; its version is not declared)"]
    # where the lineage rules the exemption out, no item says it is exempt
    assert "exempts a qualifying open-source model" not in render_aiact([r1_pack], "markdown")


# -- a model that declares nothing -----------------------------------------------------------------------------
def test_nothing_declared_is_gaps_everywhere(tmp_path: Path) -> None:
    card = tmp_path / "bare.md"
    card.write_text("---\n---\n")
    pack = build_pack(_report(card, tmp_path))
    items = _items(pack)
    filled = {k: i["answers"] for k, i in items.items() if i["status"] == "filled"}
    # only the model's own name, which is how it was asked for, is known; every other item is a gap
    assert set(filled) <= {k for k, i in items.items() if i["fill"] == "model_id"}
    assert all(a == ["bare", "no commit recorded (read from a local card)"] for a in filled.values())
    assert pack["counts"]["gaps"] == len(items) - len(filled)
    assert pack["synthetic_data"] == []
    exemption = pack["assessments"][0]
    assert exemption["answer"].startswith("Cannot tell")  # no licence: never a candidate by default
    for fmt in ("markdown", "html"):
        text = render_aiact([pack], fmt)
        assert "None declared" in text and "REVIEW" in text


# -- hostile text, batches and the command -----------------------------------------------------------------------
HOSTILE = """\
---
license: other
license_name: "<script>alert(1)</script> [x](javascript:alert(1)) {{ 7*7 }} | **bold**"
base_model: acme/base
datasets: ["acme/<img src=x onerror=alert(1)>"]
pipeline_tag: "text-generation\\u001b[31m"
---
# hostile
"""


def test_hostile_card_text_is_text_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "acme__hostile.md").write_text(HOSTILE)
    (tmp_path / "acme__base.md").write_text("---\nlicense: apache-2.0\n---\n")
    pack = build_pack(_report(tmp_path / "acme__hostile.md", tmp_path))
    html = render_aiact([pack], "html")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = render_aiact([pack], "markdown")
    assert "<script>" not in md and "](javascript:" not in md
    assert "\\{\\{ 7\\*7 \\}\\}" in md  # the template syntax in a card is shown, never run
    # control characters made visible (Markdown escapes the backslash once more)
    assert "\x1b" not in html + md and "text-generation\\x1b" in html and "text-generation\\\\x1b" in md
    data = json.loads(render_aiact([pack], "json"))
    assert data["schema"] == "policycheck/aiact-pack/v1"
    assert "<script>alert(1)</script>" in data["subject"]["license"]  # JSON keeps the data as data


def test_the_command_writes_packs_and_exits_review(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "pack.md"
    result = run_cli("aiact", "--offline", "--cards", EXAMPLES, "--today", "2026-12-01", R1_LLAMA,
                     EXAMPLES / "Qwen__Qwen2.5-1.5B.md", "-o", out)
    assert result.code == 3, result.err  # a draft for a person to complete, never a pass
    text = out.read_text(encoding="utf-8")
    assert text.count("# EU AI Act documentation pack: ") == 2
    assert "AI Act pack written for 2 model(s)" in result.err and "not legal advice" in result.err
    missing = run_cli("aiact", "--offline", "--cards", EXAMPLES, R1_LLAMA, tmp_path / "nope.md", "-f", "json")
    assert missing.code == 2  # a target that cannot be read is an error; the other pack is still written
    assert json.loads(missing.out)["subject"]["id"] == "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"


def test_a_hub_model_through_the_real_client(hubsim: Any, hub_env: dict[str, str]) -> None:
    import subprocess
    import sys

    from tests.hubsim import make_card

    hubsim.add_model("acme/teacher", {"README.md": make_card({"license": "apache-2.0"}, "# teacher\n")})
    hubsim.add_model("acme/student", {"README.md": make_card(
        {"license": "apache-2.0", "teacher_model": "acme/teacher", "pipeline_tag": "text-generation",
         "library_name": "transformers"}, "# student\n\nA small model.\n")})
    proc = subprocess.run([sys.executable, "-m", "policy.cli", "aiact", "acme/student", "-f", "json"], env=hub_env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr
    pack = json.loads(proc.stdout)
    sha = pack["subject"]["revision"]
    assert sha and len(sha) == 40 and pack["subject"]["source"] == "hub"
    items = _items(pack)
    assert items["summary-model-names"]["answers"] == ["acme/student", f"commit {sha}"]
    assert items["tech-doc-integration-means"]["answers"] == [
        f"https://huggingface.co/acme/student/blob/{sha}/README.md"]
    [generator] = items["summary-synthetic-generator-models"]["answers"]
    assert generator.startswith("outputs of acme/teacher trained acme/student (apache-2.0; from the card")
    assert items["tech-doc-release-distribution"]["status"] == "gap" and items["tech-doc-release-distribution"][
        "hints"]  # the Hub's last change, as a hint only
