"""The engine's own decisions: verdicts, review for unverified clauses, waivers, obligations, purity."""

from __future__ import annotations

import datetime as dt
from typing import Any

from policy.engine.evaluation import channel_of, evaluate, verdict
from policy.engine.ruletest import lineage_from_case
from policy.model.policyfile import policy_from_dict
from policy.model.report import Finding

TODAY = dt.date(2026, 11, 24)


def run(bundle: Any, case: dict[str, Any], policy: dict[str, Any] | None = None, today: dt.date = TODAY) -> Any:
    pol = policy_from_dict({"schema": "policycheck/policy/v1", **(policy or {})}, None, bundle.catalog.lookup)
    return evaluate(lineage_from_case(case, bundle.catalog, pol.models), bundle.packs, bundle.catalog, pol, today)


def finding(severity: str, kind: str = "violation", status: str = "open") -> Finding:
    return Finding("r", "t", severity, kind, "m", None, (), "msg", "", None, "core", status)


def test_verdict_ladder() -> None:
    assert verdict([]) == "pass"
    assert verdict([finding("warning")]) == "pass"
    assert verdict([finding("warning")], "warning") == "fail"
    assert verdict([finding("warning", "review")]) == "review"
    assert verdict([finding("warning", "review"), finding("error")]) == "fail"
    assert verdict([finding("error", status="waived")]) == "pass"
    assert verdict([finding("note")], "note") == "fail"


def test_channels() -> None:
    assert channel_of(("finetune", "quantized")) == "weights"
    assert channel_of(("quantized", "distillation", "finetune")) == "outputs"
    assert channel_of(("trained_on",)) == "data"
    assert channel_of(("trained_on", "distillation")) == "outputs"


def test_violation_on_an_unverified_clause_is_review_not_fail(bundle: Any) -> None:
    # Qwen LICENSE 2024 clauses are secondary-source only: a missing "Built with Qwen" is not a verified breach.
    case = {"model": {"id": "acme/student", "license": "apache-2.0"},
            "lineage": [{"parent": "Qwen/Qwen2.5-72B-Instruct", "relation": "finetune", "license": "other",
                         "license_name": "qwen"}]}
    report = run(bundle, case)
    assert report.verdict == "review"
    assert not any(f.kind == "violation" and f.severity == "error" for f in report.open_findings)
    drops = [f for f in report.findings if f.rule.startswith("derivative-drops")]
    assert drops and all(f.kind == "review" and "graded S" in f.message for f in drops)


def test_transitive_quantization_of_a_distillation(bundle: Any) -> None:
    case = {"model": {"id": "acme/Student-GGUF", "license": "apache-2.0"},
            "lineage": [{"parent": "acme/Student", "relation": "quantized", "license": "apache-2.0",
                         "pipeline_tag": "text-generation"},
                        {"child": "acme/Student", "parent": "meta-llama/Llama-2-70b-chat-hf",
                         "relation": "distillation", "license": "llama2"}]}
    report = run(bundle, case)
    (f,) = [f for f in report.findings if f.rule == "teacher-forbids-distillation"]
    assert f.ancestor == "meta-llama/Llama-2-70b-chat-hf" and f.via == ("quantized", "distillation")


def test_merge_with_two_bases_of_different_licenses(bundle: Any) -> None:
    case = {"model": {"id": "acme/merge", "license": "apache-2.0"},
            "lineage": [{"parent": "acme/a", "relation": "merge", "license": "apache-2.0"},
                        {"parent": "google/gemma-2-9b-it", "relation": "merge", "license": "gemma"}]}
    report = run(bundle, case)
    assert report.verdict == "fail"
    assert {f.ancestor for f in report.open_findings if f.severity == "error"} == {"google/gemma-2-9b-it"}
    assert {o.license for o in report.obligations} >= {"apache-2.0", "gemma"}


def test_unused_and_glob_waivers(bundle: Any) -> None:
    case = {"model": {"id": "acme/nc-1", "license": "cc-by-nc-4.0"}}
    waivers = [{"rule": "noncommercial-license", "model": "acme/nc-*", "reason": "legal-approved",
                "justification": "research deal", "approved_by": "legal", "expires": "2027-01-01"},
               {"rule": "license-denied", "model": "acme/nc-1", "reason": "false-positive",
                "justification": "x", "approved_by": "legal", "expires": "2027-01-01"},
               {"rule": "license-denied", "model": "other/*", "reason": "false-positive",
                "justification": "x", "approved_by": "legal", "expires": "2027-01-01"}]
    report = run(bundle, case, {"waivers": waivers})
    statuses = {(f.rule, f.status) for f in report.findings}
    assert ("noncommercial-license", "waived") in statuses
    unused = [f for f in report.findings if f.rule == "waiver-unused"]
    assert len(unused) == 1 and "license-denied" in unused[0].message  # the other/* waiver is not for this model
    assert report.verdict == "pass"


def test_obligations_are_listed_once_with_citations(bundle: Any) -> None:
    case = {"model": {"id": "acme/Llama-3.1-8B-x", "license": "llama3.1"},
            "lineage": [{"parent": "acme/Llama-3.1-8B-ft", "relation": "finetune", "license": "llama3.1"},
                        {"child": "acme/Llama-3.1-8B-ft", "parent": "meta-llama/Llama-3.1-8B",
                         "relation": "finetune", "license": "llama3.1"}]}
    report = run(bundle, case)
    # review only because the policy does not give the licensee's monthly active users (Llama 3.1 §2), said once
    assert report.verdict == "review"
    assert [f.rule for f in report.open_findings if f.kind != "note"] == ["licensee-figure-missing"]
    keys = [(o.clause, o.license) for o in report.obligations]
    assert len(keys) == len(set(keys))
    texts = {o.clause: o for o in report.obligations}
    assert texts["attribution-display"].params["text"] == "Built with Llama"
    assert all(o.citation["section"] and o.citation["source"] for o in report.obligations)


def test_engine_is_deterministic_and_does_not_mutate_inputs(bundle: Any) -> None:
    case = {"model": {"id": "acme/m", "license": "mit"},
            "lineage": [{"parent": "acme/agpl", "relation": "finetune", "license": "agpl-3.0"}]}
    pol = policy_from_dict({"schema": "policycheck/policy/v1"}, None, bundle.catalog.lookup)
    lineage = lineage_from_case(case, bundle.catalog)
    a = evaluate(lineage, bundle.packs, bundle.catalog, pol, TODAY).to_dict()
    b = evaluate(lineage, bundle.packs, bundle.catalog, pol, TODAY).to_dict()
    assert a == b and a["verdict"] == "fail" and a["date"] == "2026-11-24"


def test_relicensing_counts_only_when_every_path_goes_through_the_licensor(bundle: Any) -> None:
    v3 = {"license": "other", "license_name": "deepseek"}
    via_r1 = {"parent": "deepseek-ai/DeepSeek-R1", "relation": "merge", "license": "mit"}
    via_third_party = {"parent": "evil/V3-ft", "relation": "merge", "license": "mit"}
    for order in ([via_r1, via_third_party], [via_third_party, via_r1]):
        case = {"model": {"id": "acme/merge", "license": "mit"},
                "lineage": [*order,
                            {"child": "deepseek-ai/DeepSeek-R1", "parent": "deepseek-ai/DeepSeek-V3",
                             "relation": "finetune", **v3},
                            {"child": "evil/V3-ft", "parent": "deepseek-ai/DeepSeek-V3", "relation": "finetune"}]}
        report = run(bundle, case)
        assert report.verdict == "fail", order
        assert any(f.rule == "derivative-drops-use-restrictions" and f.ancestor == "deepseek-ai/DeepSeek-V3"
                   for f in report.open_findings)
    only_r1 = {"model": {"id": "acme/merge", "license": "mit"},
               "lineage": [via_r1, {"child": "deepseek-ai/DeepSeek-R1", "parent": "deepseek-ai/DeepSeek-V3",
                                    "relation": "finetune", **v3}]}
    assert run(bundle, only_r1).verdict == "pass"


def test_wide_deep_merge_dag_is_linear_and_finds_distant_teachers(bundle: Any) -> None:
    lineage = []
    for level in range(12):  # 4 models per level, each merging all 4 of the next level: 4^12 paths
        for i in range(4):
            child = "acme/top" if level == 0 else f"acme/l{level}-{i}"
            if level == 0 and i:
                continue
            lineage += [{"child": child, "parent": f"acme/l{level + 1}-{j}", "relation": "merge", "license": "mit"}
                        for j in range(4)]
    lineage.append({"child": "acme/l12-3", "parent": "meta-llama/Llama-2-70b-chat-hf", "relation": "distillation",
                    "license": "llama2"})
    report = run(bundle, {"model": {"id": "acme/top", "license": "mit", "pipeline_tag": "text-generation"},
                          "lineage": lineage})
    (ban,) = [f for f in report.findings if f.rule == "teacher-forbids-distillation"]
    assert len(ban.via) == 13


def test_an_expired_waiver_does_not_mask_a_valid_one(bundle: Any) -> None:
    case = {"model": {"id": "acme/nc", "license": "cc-by-nc-4.0"}}
    common = {"rule": "noncommercial-license", "model": "acme/nc", "reason": "legal-approved",
              "justification": "x", "approved_by": "legal"}
    report = run(bundle, case, {"waivers": [{**common, "expires": "2026-01-01"}, {**common, "expires": "2027-06-30"}]})
    assert [f.status for f in report.findings if f.rule == "noncommercial-license"] == ["waived"]
    # not waiver-unused (CC BY-NC's missing patent grant is a note beside them)
    assert {f.rule for f in report.findings if f.kind != "note"} == {"noncommercial-license", "waiver-expired"}


def test_two_lineage_problems_are_two_findings(bundle: Any) -> None:
    case = {"model": {"id": "acme/a", "license": "mit"},
            "lineage": [{"parent": "acme/b", "relation": "finetune", "license": "mit"},
                        {"child": "acme/b", "parent": "acme/a", "relation": "finetune"},
                        {"parent": "acme/c", "relation": "merge", "license": "mit"},
                        {"child": "acme/c", "parent": "acme/d", "relation": "finetune", "license": "mit"},
                        {"child": "acme/d", "parent": "acme/c", "relation": "finetune"}]}
    assert len([f for f in run(bundle, case).findings if f.rule == "lineage-problem"]) == 2


def test_placeholders_inside_expressions_are_unknown_and_spdx_keeps_the_operator(bundle: Any) -> None:
    report = run(bundle, {"model": {"id": "acme/m", "license": "mit OR other"}})
    assert report.verdict == "review" and not report.subject.license.known
    report = run(bundle, {"model": {"id": "acme/m", "license": "mit OR agpl-3.0"}})
    assert report.subject.license.resolved == "MIT OR AGPL-3.0-only"


def test_a_clause_without_the_params_its_message_needs_does_not_crash(bundle: Any) -> None:
    case = {"model": {"id": "acme/student", "license": "mit"},
            "lineage": [{"parent": "partner/p", "relation": "finetune", "license": "mit"}]}
    policy = {"models": [{"id": "partner/p", "clauses": [{"type": "name-prefix", "applies_to": ["weights"],
                                                          "citation": {"section": "§1", "source": "contract",
                                                                       "grade": "policy"}}]}]}
    report = run(bundle, case, policy)
    (f,) = [f for f in report.findings if f.rule == "name-prefix-missing"]
    assert "could not be rendered" in f.message and report.verdict == "fail"


def test_card_summary_keeps_strings_only_and_bounds_everything() -> None:
    from policy.engine.evaluation import MAX_SUMMARY_ITEMS, MAX_SUMMARY_TEXT, card_summary
    from policy.model.facts import ModelFacts

    card = {"pipeline_tag": ["text-generation"], "language": ["en", {"x": 1}, 7, "en", " fr ", *("de",) * 5],
            "library_name": "t" * 10_000,
            "model-index": [{"name": "m", "results": [
                {"dataset": {"name": "MMLU", "type": "cais/mmlu", "split": "test"},
                 "metrics": [{"type": "accuracy", "value": 71.2}, {"type": "acc", "value": {"nested": 1}}]}]}]}
    summary = card_summary(ModelFacts("acme/m", card=card, config={"model_type": "llama",
                                                                   "architectures": ["A"] * 1000}))
    assert summary["task"] is None  # a list where the Hub defines a string is not read
    assert summary["languages"] == ["en", "fr", "de"]
    assert summary["library"] == "t" * MAX_SUMMARY_TEXT
    assert summary["model_type"] == "llama" and summary["architectures"] == ["A"]
    assert summary["evaluations"] == [{"name": "MMLU", "metric": "accuracy", "value": 71.2, "dataset": "cais/mmlu",
                                       "split": "test", "source": None}]
    many = card_summary(ModelFacts("acme/m", card={"language": [f"l{i}" for i in range(10_000)]}))
    assert len(many["languages"]) == MAX_SUMMARY_ITEMS
    assert card_summary(ModelFacts("acme/m", card={"model-index": "results"}))["evaluations"] == []
    assert not summary["has_text"] and card_summary(ModelFacts("acme/m", card_text="# m\n"))["has_text"]


def test_the_report_is_final_when_evaluate_returns_it(bundle: Any) -> None:
    """The catalog digest, the scanner's read status and the weight files are inputs of the engine: nothing
    patches the Report afterwards, and the keys present only sometimes stay so."""
    from dataclasses import replace

    from policy.model.facts import ModelFacts
    from policy.model.report import WeightFile

    pol = policy_from_dict({"schema": "policycheck/policy/v1"}, None, bundle.catalog.lookup)
    lineage = lineage_from_case({"model": {"id": "acme/m", "license": "mit"}}, bundle.catalog, pol.models)

    def with_root(node: ModelFacts) -> Any:
        return replace(lineage, nodes={**lineage.nodes, node.id: node})

    plain = evaluate(lineage, bundle.packs, bundle.catalog, pol, TODAY)
    doc = plain.to_dict()
    assert "status" not in doc["subject"] and "weights" not in doc["subject"]
    assert plain.notices == () and doc["catalog"] == {"sha256": ""}

    hub = replace(lineage.root, source="hub", revision="b" * 40)
    weights = (WeightFile("model.safetensors", "a" * 64),)
    report = evaluate(with_root(hub), bundle.packs, bundle.catalog, pol, TODAY, catalog_digest="c" * 64,
                      scanned=hub, weights=weights)
    doc = report.to_dict()
    assert list(doc["subject"])[-4:] == ["card_lines", "weights", "status", "status_detail"]
    assert doc["subject"]["weights"] == [{"path": "model.safetensors", "sha256": "a" * 64}]
    assert (report.subject.source, report.subject.status, report.notices) == ("hub", "ok", ())
    assert doc["catalog"] == {"sha256": "c" * 64}

    # the card could not be read: evaluated from curated facts only, and the node row says what the scanner found
    scanned = ModelFacts("acme/m", source="hub", status="unavailable", status_detail="cannot connect to the Hub")
    report = evaluate(with_root(replace(lineage.root, source="curation")), bundle.packs, bundle.catalog, pol, TODAY,
                      scanned=scanned)
    assert (report.subject.source, report.subject.status) == ("curation", "unavailable")
    assert "was not read (cannot connect to the Hub)" in report.notices[0]
    assert [(e.status, e.detail) for e in report.evaluated if e.id == "acme/m"] == [
        ("unavailable", "cannot connect to the Hub")]

    # read from the warm cache: said first, as a notice and as a note
    cached = replace(lineage.root, source="cache", status_detail="Hub unreachable; read from the cache")
    report = evaluate(with_root(cached), bundle.packs, bundle.catalog, pol, TODAY, scanned=cached)
    assert report.subject.source == "cache" and report.notices == ("Hub unreachable; read from the cache",)
    assert report.notes[0] == "Hub unreachable; read from the cache"


def test_a_node_s_card_summary_is_worked_out_when_read_and_then_forgets_the_facts(monkeypatch: Any) -> None:
    """The text output and tree rows never read the summary; JSON and the AI-BOM formats get the same dict."""
    import policy.engine.evaluation as evaluation
    from policy.model.facts import ModelFacts

    calls: list[str] = []
    real = evaluation.card_summary

    def counting(node: ModelFacts) -> dict[str, Any]:
        calls.append(node.id)
        return real(node)

    monkeypatch.setattr(evaluation, "card_summary", counting)
    node = ModelFacts(id="acme/m", card={"pipeline_tag": "text-generation", "language": ["en", "de"]})
    evaluated = evaluation._evaluated(node)
    assert calls == []
    assert evaluated.to_dict()["card"] == real(node) and evaluated.card["languages"] == ["en", "de"]
    assert calls == ["acme/m"]  # once, whatever reads it after
    assert evaluated.card._node is None  # type: ignore[attr-defined]
