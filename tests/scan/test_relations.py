"""One relation inference (policy/scan/relations.py): `check` and `tree` give a card the same relation to its
base model, each from the facts it has (DESIGN §3).

`check` reads a local card (or a model folder, with its files); the tree audit reads the Hub's listing (tags and
card data, no files) through `relation_of` (each descendant's row) and `listing_facts` (the lineage its verdict
is judged on). Before the one inference, a `lora`-tagged card was a finetune under `check` and an adapter under
`tree`, and a repo named `...-q4_k_m` was quantized under `check` and a finetune under `tree`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from policy.model.facts import HUB_RELATIONS, RELATION_KEYS, RELATIONS, WEIGHT_RELATIONS, ModelFacts
from policy.scan.lineage import card_edges, infer_relation
from policy.scan.listing import _descendant, listing_facts, relation_of
from policy.scan.relations import relation_to

BASE = "org/base"

CASES = {
    # a LoRA adapter whose card states no relation: tagged `lora`, no adapter_config.json at hand
    "lora-tag": ("acme/style-lora", {"license": "mit", "base_model": BASE, "tags": ["lora", "text-generation"]},
                 "adapter"),
    # a llama.cpp quantization known only by its name
    "quant-name": ("acme/model-7b-q4_k_m", {"license": "mit", "base_model": BASE}, "quantized"),
}


def card_text(fields: dict[str, Any]) -> str:
    lines = ["---"]
    for key, value in fields.items():
        lines.append(f"{key}: [{', '.join(value)}]" if isinstance(value, list) else f"{key}: {value}")
    return "\n".join([*lines, "---", "# a model", ""])


def listing_item(repo_id: str, card: dict[str, Any]) -> Any:
    """A `list_models(expand=...)` item as the client gives it, for a card that states no relation: the Hub's
    tags carry the card's tags and the bare `base_model:<id>` tag, and no `base_model:<relation>:<id>` tag."""
    tags = [*card.get("tags", []), f"base_model:{card['base_model']}", f"license:{card['license']}"]
    return SimpleNamespace(id=repo_id, card_data=SimpleNamespace(to_dict=lambda: dict(card)), tags=tags,
                           sha="a" * 40, downloads=10, gated=False, last_modified=None)


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_on_a_local_card_and_the_tree_audit_agree(case: str, run_cli: Any, tmp_path: Path) -> None:
    repo_id, fields, expected = CASES[case]
    # check, on a local card file
    card = tmp_path / f"{repo_id.replace('/', '__')}.md"
    card.write_text(card_text(fields), encoding="utf-8")
    result = run_cli("check", "--offline", "--cards", tmp_path, "--today", "2026-06-01", "-f", "json", card)
    assert result.code in (0, 1, 3), result.err
    (edge,) = [e for e in result.json()["lineage"] if e["parent"] == BASE]
    assert (edge["relation"], edge["inferred"]) == (expected, True)
    # tree: the descendant's row (relation_of, from the listing's tags and card data) ...
    d = _descendant(listing_item(repo_id, fields), BASE, 1)
    assert d is not None and (d.relation, d.inferred) == (expected, True)
    assert relation_of(BASE, d.tags, d.card_data, repo_id) == (expected, True)
    # ... and the lineage its verdict is judged on (listing_facts: no files, no card body)
    (tree_edge,) = [e for e in card_edges(listing_facts(d), lambda _: None) if e.parent == BASE]
    assert (tree_edge.relation, tree_edge.inferred) == (expected, True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_answer_from_card_data_alone(case: str) -> None:
    """Without the Hub's tags (a card file read by `check`) the card's own tags and the name decide."""
    repo_id, fields, expected = CASES[case]
    node = ModelFacts(id=repo_id, card=fields)
    assert infer_relation(node, 1) == (expected, True)
    assert listing_facts(_descendant(listing_item(repo_id, fields), BASE, 1)).hub_relation == expected


def test_precedence_declared_then_hub_then_inferred() -> None:
    card = {"base_model": BASE, "tags": ["lora"]}
    # the Hub's relation tag for this parent is declared, and wins over the card's tags
    assert relation_to(BASE, card=card, name="a/x", parents=1,
                       tags=(f"base_model:quantized:{BASE}",)) == ("quantized", False)
    assert relation_to(BASE, card=card, name="a/x", parents=1,
                       tags=("base_model:quantized:other/parent",)) == ("adapter", True)  # another parent's tag
    # the card's base_model_relation (any case) is declared
    assert relation_to(None, card={**card, "base_model_relation": " Merge "}, name="a/x", parents=1) == ("merge", False)
    # the Hub's model tree relation comes before our own inference, marked inferred (the Hub inferred it)
    assert relation_to(None, card=card, name="a/x", parents=1, hub_relation="finetune") == ("finetune", True)
    # a relation outside the Hub's four is no declaration
    assert relation_to(None, card={"base_model_relation": "distillation"}, name="a/x", parents=1) == ("finetune", True)


def test_inference_order_strongest_evidence_first() -> None:
    def infer(name: str = "a/x", parents: int = 1, **kw: Any) -> str:
        return relation_to(None, card=kw.pop("card", {}), name=name, parents=parents, **kw).relation

    assert infer(parents=2, files=("adapter_config.json",)) == "merge"
    assert infer(files=("adapter_config.json", "model.Q4_K_M.gguf")) == "adapter"  # a PEFT adapter, as the Hub says
    assert infer(name="a/qlora-4bit", tags=("peft",)) == "adapter"  # the peft library tag is the adapter's config
    assert infer(name="a/x", card={"library_name": "peft"}) == "adapter"
    assert infer(name="a/x-lora-GGUF", tags=("lora",)) == "quantized"  # a GGUF build of a LoRA merge
    assert infer(files=("gptq/quantize_config.json",)) == "quantized"
    assert infer(tags=("bitsandbytes",)) == "quantized"
    assert infer(name="org/Llama-3-8B-Instruct-AWQ") == "quantized"
    assert infer(name="mlx-community/plain") == "finetune"  # the name, not the org
    assert infer(card={"tags": ["Adapter"]}) == "adapter"
    assert infer(card={"tags": "lora"}) == "adapter"  # a single tag as a string
    assert infer(card={"tags": [["lora"]], "library_name": ["peft"]}) == "finetune"  # not text: not read


def test_relations_are_defined_once() -> None:
    from policy.cli.tree import Relation
    from policy.lint import checks
    from policy.render import sarif

    assert [r.value for r in Relation] == list(HUB_RELATIONS)
    assert set(HUB_RELATIONS) == WEIGHT_RELATIONS and WEIGHT_RELATIONS < RELATIONS
    assert checks.HUB_RELATIONS is HUB_RELATIONS and sarif.WEIGHT_RELATIONS is WEIGHT_RELATIONS
    assert set(RELATION_KEYS) == RELATIONS - WEIGHT_RELATIONS
    assert checks.RELATION_KEYS is RELATION_KEYS and sarif.RELATION_KEYS is RELATION_KEYS


def test_source_datasets_name_hub_datasets_only() -> None:
    from policy.scan.lineage import source_datasets

    assert source_datasets(["original", "extended|glue", "extended|tatsu-lab/alpaca", "acme/chats",
                            "other-wikipedia", "https://example.com/x", "acme/chats", 7, None]) == [
        "tatsu-lab/alpaca", "acme/chats"]
    assert source_datasets("Extended|acme/x") == ["acme/x"] and source_datasets(None) == []
    dataset = ModelFacts(id="acme/d", kind="dataset", card={"source_datasets": ["acme/d", "acme/src"]})
    assert [(e.parent, e.relation) for e in card_edges(dataset, lambda _: False)] == [("acme/src", "trained_on")]
    model = ModelFacts(id="acme/m", card={"source_datasets": ["acme/src"]})  # a model card's is not walked
    assert card_edges(model, lambda _: False) == []
