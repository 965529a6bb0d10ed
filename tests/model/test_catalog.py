"""The license catalog: identity, resolution, clause data and the choice-aware operators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policy.model import catalog as licenses
from policy.model.facts import DeclaredLicense

# The Hub's 83 license ids (hub-docs repositories-licenses.md, 2026-06).
HUB_IDS = [
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd",
    "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5",
    "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0",
    "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0", "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0",
    "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0",
    "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl",
    "apple-ascl", "apple-amlr", "mpl-2.0", "odc-by", "odbl", "openmdw-1.0", "openmdw-1.1", "openrail++",
    "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr",
    "deepfloyd-if-license", "fair-noncommercial-research-license", "llama2", "llama3", "llama3.1", "llama3.2",
    "llama3.3", "llama4", "grok2-community", "gemma", "unknown", "other",
]

# license_name values seen in real cards (the shared corpus INDEX.tsv) and what they must resolve to.
CORPUS_LICENSE_NAMES = {
    "ai2-impact-license-low-risk": "ai2-impact-license-low-risk", "tongyi-qianwen": "tongyi-qianwen",
    "qwen": "qwen", "mnpl": "mnpl", "mrl": "mrl", "qwen-research": "qwen-research",
    "flux-1-dev-non-commercial-license": "flux-1-dev-non-commercial-license", "deepseek": "deepseek",
    "gemma-terms-of-use": "gemma", "google-gemma-terms-of-use": "gemma", "katanemo-research": "katanemo-research",
    "exaone": "exaone", "llama3": "llama3", "microsoft-research-license": "microsoft-research-license",
    "gml": "gml", "stabilityai-ai-community": "stabilityai-ai-community",
    # issue 18: the Stability AI Non-Commercial Research Community License as SDXL-Turbo and Zero123 cards name it
    "sai-nc-community": "stabilityai-nc-research-community",
    "stabilityai-nc-research-community": "stabilityai-nc-research-community",
}

FULL_PROFILES = [
    "mit", "apache-2.0", "bsd-3-clause", "gpl-3.0", "agpl-3.0", "lgpl-3.0", "cc0-1.0", "cc-by-4.0",
    "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "openrail", "openrail++", "creativeml-openrail-m",
    "bigscience-openrail-m", "bigscience-bloom-rail-1.0", "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3",
    "llama4", "gemma", "deepseek", "qwen", "qwen-research", "tongyi-qianwen", "tongyi-qianwen-research", "mrl",
    "mnpl", "apple-ascl", "nvidia-open-model-license", "falcon-llm-license", "provider-openai",
    "provider-anthropic", "provider-google-gemini", "mpl-2.0", "cc-by-nd-4.0", "cc-by-nc-nd-4.0",
    "bigcode-openrail-m",
    # issue 18 (items 4, 5, 7): read against their primary texts
    "flux-1-dev-non-commercial-license", "stabilityai-ai-community", "stabilityai-nc-research-community",
    "cc-by-sa-3.0", "odbl", "odc-by", "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "c-uda",
    "provider-mistral", "provider-xai",
]


def resolve(bundle: Any, *values: str, name: str | None = None, link: str | None = None) -> licenses.ResolvedLicense:
    return bundle.catalog.resolve(DeclaredLicense(values=values, name=name, link=link))


def test_there_are_83_hub_ids() -> None:
    assert len(HUB_IDS) == len(set(HUB_IDS)) == 83


@pytest.mark.parametrize("hub_id", HUB_IDS)
def test_every_hub_id_resolves(bundle: Any, hub_id: str) -> None:
    entry = bundle.catalog.get(hub_id)
    assert entry is not None and entry.hub_id
    r = resolve(bundle, hub_id)
    if hub_id in ("other", "unknown"):
        assert not r.known  # never a permissive default
    else:
        assert r.known and r.ids == (hub_id,)


@pytest.mark.parametrize(("name", "expected"), sorted(CORPUS_LICENSE_NAMES.items()))
def test_corpus_license_names_resolve(bundle: Any, name: str, expected: str) -> None:
    r = resolve(bundle, "other", name=name)
    assert r.known and r.ids == (expected,), r.reason


@pytest.mark.parametrize("lid", FULL_PROFILES)
def test_full_profiles(bundle: Any, lid: str) -> None:
    entry = bundle.catalog.get(lid)
    assert entry is not None and entry.profile == "full" and entry.clauses


def test_every_clause_has_a_citation_within_25_words(bundle: Any) -> None:
    for entry in bundle.catalog.entries.values():
        for clause in entry.clauses:
            c = clause.citation
            assert c.section and c.source, (entry.id, clause.type)
            assert len(c.quote.split()) <= 25, (entry.id, clause.type)
            if c.grade in ("V", "C"):
                assert c.quote, f"{entry.id} {clause.type}: a verified clause quotes its text"
            if entry.status == "verified":
                assert c.grade in ("V", "C"), (entry.id, clause.type)


def test_unverified_facts_are_marked(bundle: Any) -> None:
    falcon = bundle.catalog.get("falcon-llm-license")
    assert falcon.status != "verified"
    assert any(c.citation.grade in ("S", "UNVERIFIED") for c in falcon.clauses)
    assert bundle.catalog.get("qwen").status != "verified"


def test_llama_distillation_clauses(bundle: Any) -> None:
    def clause(lid: str, kind: str) -> licenses.Clause | None:
        return next((c for c in bundle.catalog.get(lid).clauses if c.type == kind), None)

    assert clause("llama2", "no-distillation").params["except_derivatives_of"] == ["llama2"]
    assert clause("llama3", "no-distillation").params["except_derivatives_of"] == ["llama3"]
    assert clause("llama3.1", "no-distillation") is None  # removed in 3.1
    assert clause("llama3.1", "name-prefix").params["prefix"] == "Llama"
    assert "outputs" in clause("llama3.3", "name-prefix").applies_to
    assert clause("tongyi-qianwen", "no-distillation") is not None


def test_api_teachers_resolve_to_provider_terms(bundle: Any) -> None:
    assert bundle.catalog.api_terms("openai/gpt-4o") == "provider-openai"
    assert bundle.catalog.api_terms("anthropic/claude-3-5-sonnet") == "provider-anthropic"
    assert bundle.catalog.api_terms("google/gemini-1.5-pro") == "provider-google-gemini"
    assert bundle.catalog.api_terms("openai/clip-vit-large-patch14-336") is None  # a Hub repo, not the API
    assert bundle.catalog.api_terms("google/gemma-2-9b-it") is None
    # issue 18 item 7: providers of their own, and vendor-prefixed names resolved to the party to the contract
    assert bundle.catalog.api_terms("mistralai/mistral-large-latest") == "provider-mistral"
    assert bundle.catalog.api_terms("mistralai/Mistral-Large-Instruct-2411") is None  # open weights (MRL)
    assert bundle.catalog.api_terms("mistralai/Pixtral-12B-2409") is None
    assert bundle.catalog.api_terms("xai/grok-3") == "provider-xai"
    assert bundle.catalog.api_terms("xai-org/grok-2") is None  # open weights (grok2-community)
    assert bundle.catalog.api_terms("deepseek/deepseek-chat") == "provider-deepseek"
    assert bundle.catalog.api_terms("deepseek-ai/deepseek-coder-6.7b-instruct") is None
    for name in ("Azure OpenAI GPT-4", "AOAI GPT-3.5", "azure/gpt-4o", "azure-openai/gpt-35-turbo"):
        assert bundle.catalog.api_terms(name) == "provider-azure-openai", name
    for name in ("OpenAI GPT-4", "gpt-4o", "GPT-3.5-turbo", "ChatGPT"):
        assert bundle.catalog.api_terms(name) == "provider-openai", name
    assert bundle.catalog.api_terms("gpt2") is None  # the Hub's canonical GPT-2 repo


def test_resolution_paths(bundle: Any) -> None:
    assert resolve(bundle, "Apache-2.0").ids == ("apache-2.0",)  # SPDX spelling
    assert resolve(bundle, "other", link="https://mistral.ai/licences/MNPL-0.1.md").ids == ("mnpl",)
    assert not resolve(bundle).known and resolve(bundle).reason == "no license declared"
    r = resolve(bundle, "other", name="acme-custom")
    assert not r.known and "acme-custom" in r.reason
    assert not resolve(bundle, "no-such-license").known
    assert resolve(bundle, "mit", "apache-2.0").choices == (frozenset({"mit", "apache-2.0"}),)


def test_choice_aware_operators(bundle: Any) -> None:
    agpl = frozenset({"agpl-3.0"})
    either = resolve(bundle, "MIT OR AGPL-3.0")
    both = resolve(bundle, "mit AND agpl-3.0")
    assert either.known and both.known
    assert licenses.avoids(either, agpl) and not licenses.includes(either, agpl)
    assert not licenses.avoids(both, agpl) and licenses.includes(both, agpl)
    assert licenses.satisfiable_with(either, frozenset({"mit"}))
    assert not licenses.satisfiable_with(both, frozenset({"mit"}))
    unknown = resolve(bundle, "mystery")
    assert not licenses.avoids(unknown, agpl) and not licenses.includes(unknown, agpl)


def test_bad_expression_is_unknown_not_an_exception(bundle: Any) -> None:
    r = resolve(bundle, "mit OR (apache-2.0")
    assert not r.known


def _pairs(n: int, distinct: bool = True) -> str:
    """n ANDed OR-pairs of Hub ids: `(afl-3.0 OR agpl-3.0) AND (...)`, 2^n choices when the ids are distinct."""
    ids = [i for i in HUB_IDS if i not in ("other", "unknown")]
    return " AND ".join(f"({ids[2 * i]} OR {ids[2 * i + 1]})" if distinct else "(mit OR apache-2.0)"
                        for i in range(n))


@pytest.mark.parametrize("pairs", [20, 24])
def test_an_expression_with_too_many_choices_is_unknown_with_a_note(bundle: Any, pairs: int) -> None:
    """20 ANDed OR-pairs have 2^20 choices: listing them cost seconds and gigabytes; past the budget the
    expression is unknown (so review), and the reason says why."""
    import tracemalloc

    expression = _pairs(pairs)
    tracemalloc.start()
    try:
        r = bundle.catalog.resolve(DeclaredLicense(values=(expression,)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not r.known and r.choices == () and r.unknown_terms == (expression,)
    assert r.reason == (f"the license expression is too complex to evaluate: more than {licenses.MAX_CHOICES} "
                        "different sets of licenses would satisfy it")
    assert peak < 16 * 1024 * 1024, peak


def test_the_budget_counts_different_choices_not_terms(bundle: Any) -> None:
    """Repeating one pair does not multiply the choices (it did multiply the list the old expansion built)."""
    r = resolve(bundle, _pairs(24, distinct=False))
    assert r.known and set(r.choices) == {frozenset({"mit"}), frozenset({"apache-2.0"})}
    assert resolve(bundle, _pairs(8)).known and len(resolve(bundle, _pairs(8)).choices) == 2 ** 8
    several = resolve(bundle, *(f"{HUB_IDS[i]} OR {HUB_IDS[i + 1]}" for i in range(0, 40, 2)))
    assert not several.known and "too complex to evaluate" in several.reason  # values ANDed together


def test_deeply_nested_expression_is_unknown_not_a_crash(bundle: Any) -> None:
    nested = "".join("mit AND (" if i % 2 == 0 else "apache-2.0 OR (" for i in range(400)) + "mit" + ")" * 400
    r = resolve(bundle, nested)
    assert not r.known and "parentheses nested more than" in r.reason
    assert resolve(bundle, "(" * licenses.MAX_NESTING + "mit" + ")" * licenses.MAX_NESTING).known


def test_a_card_with_a_too_complex_license_is_review_with_the_note(run_cli: Any, tmp_path: Path) -> None:
    card = tmp_path / "acme__pairs.md"
    card.write_text(f"---\nlicense: \"{_pairs(24)}\"\n---\n# pairs\n", encoding="utf-8")
    result = run_cli("check", card, "--offline", "--format", "json")
    assert result.code == 3
    report = result.json()
    assert report["verdict"] == "review" and not report["subject"]["license"]["known"]
    [finding] = [f for f in report["findings"] if f["rule"] == "license-unknown"]
    assert "too complex to evaluate" in finding["message"]


def test_license_identified_from_its_text_only_for_other(bundle: Any) -> None:
    llama = "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024\n"
    declared = DeclaredLicense(values=("other",), text=llama, text_file="LICENSE")
    r = bundle.catalog.resolve(declared)
    assert r.known and r.ids == ("llama3.1",) and "LICENSE" in r.reason
    named = DeclaredLicense(values=("other",), name="acme-research-nc", text=llama, text_file="LICENSE")
    assert not bundle.catalog.resolve(named).known  # a name the card gives is not overridden
    body = "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nVersion\nDate\n... code under the Apache License, Version 2.0"
    assert bundle.catalog.by_text(body) == "llama3.1"  # only the title counts
    assert bundle.catalog.by_text("MIT License\nApache License, Version 2.0\n") is None  # ambiguous title
    assert bundle.catalog.by_text("Tongyi Qianwen RESEARCH LICENSE AGREEMENT\n...") == "tongyi-qianwen-research"
    assert bundle.catalog.by_text("Tongyi Qianwen LICENSE AGREEMENT\n...") == "tongyi-qianwen"
    assert bundle.catalog.by_text("Qwen RESEARCH LICENSE AGREEMENT") == "qwen-research"
    assert bundle.catalog.by_text("Some bespoke terms") is None
    assert bundle.catalog.needs_text(DeclaredLicense(values=("other",)))
    assert not bundle.catalog.needs_text(DeclaredLicense(values=("other",), name="custom-thing"))
    assert not bundle.catalog.needs_text(DeclaredLicense(values=("other",), name="deepseek"))
    assert not bundle.catalog.needs_text(DeclaredLicense(values=("mit",)))


def test_every_spdx_id_is_a_valid_spdx_license_id(bundle: Any) -> None:
    """SPDX ids are SPDX list ids or `LicenseRef-` followed by letters, digits, `.` and `-` only."""
    import re

    bad = {e.id: e.spdx for e in bundle.catalog.entries.values()
           if not re.fullmatch(r"LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9.+-]+", e.spdx)
           or (e.spdx.startswith("LicenseRef-") and "+" in e.spdx)}
    assert not bad
    assert bundle.catalog.entries["openrail++"].spdx == "LicenseRef-policycheck-openrail-plus-plus"
