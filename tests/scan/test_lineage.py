"""The lineage walk: sources, precedence, relation inference, transitivity, cycles and the depth bound."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policy.model.facts import OK, UNAVAILABLE, DeclaredLicense, ModelFacts
from policy.model.overlays import overlay_from_dict
from policy.scan.lineage import build_lineage, infer_relation
from policy.scan.local import LocalSource
from tests.conftest import CARDS


def model(mid: str, license: str | None = "mit", **card: Any) -> ModelFacts:
    fields = dict(card)
    return ModelFacts(id=mid, license=DeclaredLicense((license,) if license else ()), card=fields)


class DictSource:
    """An in-memory node source that counts fetches."""

    def __init__(self, nodes: Sequence[ModelFacts]) -> None:
        self.nodes = {n.id: n for n in nodes}
        self.fetched: list[str] = []

    def fetch_many(self, keys: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], ModelFacts]:
        out = {}
        for mid, kind in keys:
            self.fetched.append(mid)
            out[(mid, kind)] = self.nodes.get(mid) or ModelFacts(id=mid, kind=kind, status=UNAVAILABLE)
        return out


def test_relation_inference_as_the_hub_does() -> None:
    assert infer_relation(model("a/x", base_model_relation="quantized"), 1) == ("quantized", False)
    assert infer_relation(model("a/x"), 2) == ("merge", True)
    assert infer_relation(ModelFacts(id="a/x", files=("adapter_config.json",)), 1) == ("adapter", True)
    assert infer_relation(model("a/Llama-3-8B-GGUF"), 1) == ("quantized", True)
    assert infer_relation(ModelFacts(id="a/x", files=("model.Q4_K_M.gguf",)), 1) == ("quantized", True)
    assert infer_relation(model("a/x-4bit"), 1) == ("quantized", True)
    assert infer_relation(model("a/plain"), 1) == ("finetune", True)


def test_transitive_walk_records_declared_in_and_fetches_each_node_once(bundle: Any) -> None:
    # quantization of a fine-tune of a distillation, and a diamond (two paths to base)
    source = DictSource([
        model("o/ft", base_model="o/distilled"),
        model("o/distilled", base_model=["o/base"], teacher_model="o/teacher"),
        model("o/teacher", base_model="o/base"),
        model("o/base", license="apache-2.0"),
    ])
    subject = model("o/ft-GGUF", base_model="o/ft")
    lineage = build_lineage(subject, source, bundle.catalog, ())
    rel = {(e.child, e.parent): (e.relation, e.inferred, e.declared_in) for e in lineage.edges}
    assert rel[("o/ft-GGUF", "o/ft")] == ("quantized", True, "card")
    assert rel[("o/distilled", "o/teacher")] == ("distillation", False, "card")
    assert rel[("o/teacher", "o/base")][0] == "finetune"
    assert sorted(source.fetched) == ["o/base", "o/distilled", "o/ft", "o/teacher"]
    assert lineage.problems == ()


def test_cycle_is_reported_not_followed(bundle: Any) -> None:
    source = DictSource([model("c/b", base_model="c/a")])
    lineage = build_lineage(model("c/a", base_model="c/b"), source, bundle.catalog, ())
    (problem,) = lineage.problems
    assert problem.code == "cycle"
    assert problem.path == ("c/a", "c/b", "c/a")


def test_depth_bound(bundle: Any) -> None:
    chain = [model(f"d/m{i}", base_model=f"d/m{i + 1}") for i in range(1, 30)]
    lineage = build_lineage(model("d/m0", base_model="d/m1"), DictSource(chain), bundle.catalog, (), max_depth=5)
    assert [p.code for p in lineage.problems] == ["depth-exceeded"]
    assert lineage.nodes["d/m6"].status == UNAVAILABLE
    assert "d/m7" not in lineage.nodes


def test_curation_adds_lineage_and_license_for_unavailable_nodes(bundle: Any) -> None:
    subject = model("deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    lineage = build_lineage(subject, DictSource([]), bundle.catalog, (bundle.curations,))
    parents = {e.parent: (e.relation, e.declared_in) for e in lineage.parents(subject.id)}
    assert parents == {"meta-llama/Llama-3.1-8B": ("finetune", "curation"),
                       "deepseek-ai/DeepSeek-R1": ("distillation", "curation")}
    base = lineage.nodes["meta-llama/Llama-3.1-8B"]
    assert base.status == OK and base.source == "curation" and base.license.values == ("llama3.1",)
    assert lineage.nodes["deepseek-ai/DeepSeek-V3-Base"].license.name == "deepseek"


def test_card_facts_win_over_curations_and_policy_adds_edges(bundle: Any) -> None:
    subject = model("acme/student", license="apache-2.0", base_model="acme/base")
    curation = {"acme/student": overlay_from_dict(
        {"id": "acme/student", "license": "mit", "lineage": [{"parent": "acme/base", "relation": "adapter"}]},
        "curation")}
    policy = {"acme/student": overlay_from_dict(
        {"id": "acme/student", "lineage": [{"parent": "openai/gpt-4o", "relation": "distillation"}]}, "policy")}
    lineage = build_lineage(subject, DictSource([model("acme/base")]), bundle.catalog, (curation, policy))
    assert lineage.root.license.values == ("apache-2.0",)  # the card's own license stays
    edges = {e.parent: e for e in lineage.parents("acme/student")}
    assert (edges["acme/base"].relation, edges["acme/base"].declared_in) == ("adapter", "curation")
    assert edges["openai/gpt-4o"].parent_kind == "api" and edges["openai/gpt-4o"].declared_in == "policy"
    assert lineage.nodes["openai/gpt-4o"].license.values == ("provider-openai",)


def test_dataset_teacher_makes_a_distillation_ancestor(bundle: Any) -> None:
    dataset = ModelFacts(id="acme/synthetic", kind="dataset", license=DeclaredLicense(("cc-by-4.0",)),
                         card={"teacher_model": "partner/teacher-x"})
    source = DictSource([dataset, model("partner/teacher-x", license="apache-2.0")])
    lineage = build_lineage(model("acme/m", datasets=["acme/synthetic"]), source, bundle.catalog, ())
    rel = [(e.child, e.parent, e.relation) for e in lineage.edges]
    assert rel == [("acme/m", "acme/synthetic", "trained_on"), ("acme/synthetic", "partner/teacher-x", "distillation")]


def test_local_source_reads_flat_and_nested_layouts(tmp_path: Any) -> None:
    (tmp_path / "org" / "nested").mkdir(parents=True)
    (tmp_path / "org" / "nested" / "README.md").write_text("---\nlicense: mit\n---\n")
    (tmp_path / "org__flat.md").write_text("---\nlicense: apache-2.0\n---\n")
    (tmp_path / "org__broken.md").write_text("---\nlicense: [mit\n---\n")
    src = LocalSource([tmp_path, CARDS])
    assert src.fetch_one("org/nested", "model").license.values == ("mit",)
    assert src.fetch_one("org/flat", "model").license.values == ("apache-2.0",)
    broken = src.fetch_one("org/broken", "model")
    assert broken.status == "invalid" and "org__broken.md" in broken.status_detail
    assert src.fetch_one("org/absent", "model").status == UNAVAILABLE
    assert src.fetch_one("../../etc/passwd", "model").status == "invalid"
    assert src.fetch_one("Qwen/Qwen2.5-14B", "model").license.values == ("apache-2.0",)


def test_odd_card_values_do_not_crash_the_walk(bundle: Any) -> None:
    for tags in (5, True, "gguf", None, [None, 3]):
        subject = model("acme/x", base_model="acme/base", tags=tags)
        lineage = build_lineage(subject, DictSource([model("acme/base")]), bundle.catalog, ())
        assert [e.parent for e in lineage.edges] == ["acme/base"]


def test_a_card_naming_itself_as_its_base_is_a_lineage_problem(bundle: Any) -> None:
    """The self-edge is not walked (a model is not its own parent), and the report says so: review, not a pass
    on a lineage whose real base is not declared."""
    import datetime as dt

    from policy.engine.evaluation import evaluate
    from policy.model.policyfile import Policy

    subject = model("acme/m", license="apache-2.0", base_model=["acme/m", "acme/base"])
    lineage = build_lineage(subject, DictSource([model("acme/base", license="apache-2.0")]), bundle.catalog, ())
    assert [e.parent for e in lineage.edges] == ["acme/base"]
    (problem,) = lineage.problems
    assert (problem.code, problem.path) == ("self-reference", ("acme/m",))
    assert "acme/m names itself as its base model" in problem.message
    report = evaluate(lineage, bundle.packs, bundle.catalog, Policy(), dt.date(2026, 12, 1))
    assert report.verdict == "review"
    assert [f.rule for f in report.open_findings] == ["lineage-problem"]

    alone = build_lineage(model("acme/m", license="apache-2.0", base_model="acme/m"), DictSource([]),
                          bundle.catalog, ())
    assert alone.edges == () and [p.code for p in alone.problems] == ["self-reference"]
