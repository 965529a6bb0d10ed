"""The inventory's outputs (policy/render/inventory.py, inventory_bom.py) and the judged AI-BOM of
`check --inventory` (policy/render/cyclonedx.py with the application at its root): text and JSON, CycloneDX 1.6
validated by the library's strict validator and parsed back, SPDX 3.0.1 validated offline."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.model.bom import Bom
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from policy.model.inventory import INVENTORY_SCHEMA, Inventory, Location, ModelUse
from policy.model.report import Report
from policy.pipeline.check import CheckOptions, iter_check
from policy.pipeline.inventory import take
from policy.render.registry import RenderOptions, formats, render_to_string
from tests.support.spdx3_validate import validate

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "inventory_app"
CARDS = ROOT / "tests" / "fixtures" / "inventory_cards"
TODAY = dt.date(2026, 12, 1)
OPTIONS = RenderOptions(day=TODAY)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return take(APP)


def _valid_cyclonedx(text: str) -> Bom:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error
    return Bom.from_json(json.loads(text))  # type: ignore[attr-defined,no-any-return]


def test_the_formats_come_from_the_registry() -> None:
    assert formats("inventory") == ("text", "json", "cyclonedx", "spdx3")


def test_text(inventory: Inventory) -> None:
    text = render_to_string("inventory", "text", inventory, OPTIONS)
    lines = text.splitlines()
    assert lines[0].startswith("acme-assistant 1.4.0: 26 models (23 runtime, 1 test, 2 docs)")
    assert "check --inventory judges 23: the runtime models (--include tests,docs adds the others)" in text
    assert "  Qwen/Qwen2.5-7B-Instruct  [Hub]  configurable: HF_MODEL_ID" in lines
    assert "    app/chat.py:10  loaded  AutoTokenizer.from_pretrained (CHAT_MODEL from app/settings.py)" in lines
    assert "    README.md:4  docs  link to the Hub  (docs)" in lines
    assert "  models/tiny.gguf  [local weights]  license apache-2.0  base Qwen/Qwen2.5-0.5B-Instruct" in lines
    assert "test (1), not judged" in lines and "docs (2), not judged" in lines
    included = render_to_string("inventory", "text", replace(inventory, include=("test",)), OPTIONS)
    assert "test (1)" in included.splitlines() and "judges 24" in included


def test_json_is_versioned(inventory: Inventory) -> None:
    data = json.loads(render_to_string("inventory", "json", replace(inventory, include=("docs",)), OPTIONS))
    assert data["schema"] == INVENTORY_SCHEMA == "policycheck/inventory/v1"
    assert data["application"] == {"name": "acme-assistant", "version": "1.4.0", "root": str(APP)}
    assert data["complete"] is True and data["summary"]["models"] == 26 and data["summary"]["judged"] == 25
    assert data["summary"]["by_scope"] == {"runtime": 23, "test": 1, "docs": 2}
    models = {m["id"]: m for m in data["models"]}
    minilm = models["sentence-transformers/all-MiniLM-L6-v2"]
    assert (minilm["kind"], minilm["scope"], minilm["judged"], minilm["configurable"]) == ("hub", "runtime", True,
                                                                                          True)
    assert minilm["locations"][0] == {"file": "app/search.py", "line": 9, "column": 11, "use": "loaded",
                                      "scope": "runtime", "detail": minilm["locations"][0]["detail"],
                                      "setting": "EMBED_MODEL"}
    assert models["hf-internal-testing/tiny-random-gpt2"]["judged"] is False
    assert models["mistralai/Mixtral-8x7B-Instruct-v0.1"]["judged"] is True  # docs included
    tiny = models["models/tiny.gguf"]
    assert (tiny["license"], tiny["base_models"], tiny["files"]) == ("apache-2.0", ["Qwen/Qwen2.5-0.5B-Instruct"],
                                                                     ["models/tiny.gguf"])


def test_hostile_values_are_made_visible() -> None:
    evil = ModelUse(id="org/name\x1b[31m\u009b", kind="hub", locations=(
        Location("app/\u202ex.py", 3, "loaded", "runtime", "from_pretrained\n(forged line)"),))
    inventory = Inventory(root="repo\x07", name="app\x1b]0;title\x07", models=(evil,))
    text = render_to_string("inventory", "text", inventory, OPTIONS)
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "org/name\\x1b[31m\\u009b" in text and "from_pretrained\\n(forged line)" in text
    assert len([line for line in text.splitlines() if "forged" in line]) == 1
    data = render_to_string("inventory", "json", inventory, OPTIONS)
    # JSON keeps the value as it is, C1 controls escaped as the report's JSON escapes them
    assert "\u009b" not in data and json.loads(data)["models"][0]["id"] == "org/name\x1b[31m\u009b"


def test_cyclonedx_inventory(inventory: Inventory) -> None:
    text = render_to_string("inventory", "cyclonedx", inventory, OPTIONS)
    bom = _valid_cyclonedx(text)
    app = bom.metadata.component
    assert (app.name, app.version, app.type.value) == ("acme-assistant", "1.4.0", "application")
    components = {c.name: c for c in bom.components}
    assert set(components) == {m.id for m in inventory.models}
    assert components["Qwen/Qwen2.5-7B-Instruct"].scope.value == "required"
    assert components["hf-internal-testing/tiny-random-gpt2"].scope.value == "excluded"
    assert str(components["Qwen/Qwen2.5-7B-Instruct"].purl) == "pkg:huggingface/Qwen/Qwen2.5-7B-Instruct"
    assert components["openai/gpt-4o"].purl is None and components["openai/gpt-4o"].supplier.name == "openai"
    tiny = components["models/tiny.gguf"]
    assert [a.name for a in tiny.pedigree.ancestors] == ["Qwen/Qwen2.5-0.5B-Instruct"]
    assert [lic.id for lic in tiny.licenses] == ["Apache-2.0"]
    assert ("policycheck:inventory:location", "models/tiny.gguf (weights) GGUF header") in {
        (p.name, p.value) for p in tiny.properties}
    data = json.loads(text)
    (root,) = [d for d in data["dependencies"] if d["ref"] == "policycheck-application"]
    assert len(root["dependsOn"]) == 23  # the runtime models
    assert render_to_string("inventory", "cyclonedx", inventory, OPTIONS) == text  # the same bytes again


def test_spdx3_inventory(inventory: Inventory) -> None:
    text = render_to_string("inventory", "spdx3", inventory, OPTIONS)
    assert validate(text) == []
    graph = json.loads(text)["@graph"]
    by_id = {e.get("spdxId"): e for e in graph}
    sbom = next(e for e in graph if e["type"] == "software_Sbom")
    app = by_id[sbom["rootElement"][0]]
    assert (app["name"], app["software_primaryPurpose"]) == ("acme-assistant", "application")
    scopes = {by_id[r["to"][0]]["name"]: r["scope"] for r in graph
              if r["type"] == "LifecycleScopedRelationship" and r["from"] == app["spdxId"]}
    assert scopes["Qwen/Qwen2.5-7B-Instruct"] == "runtime"
    assert scopes["hf-internal-testing/tiny-random-gpt2"] == "test"
    assert scopes["mistralai/Mixtral-8x7B-Instruct-v0.1"] == "other"
    assert render_to_string("inventory", "spdx3", inventory, OPTIONS) == text


@pytest.fixture(scope="module")
def judged(inventory: Inventory) -> list[Any]:
    return list(iter_check([], CheckOptions(cards=(CARDS,), offline=True, today=TODAY), inventory=inventory))


def test_check_inventory_cyclonedx_is_the_products_ai_bom(inventory: Inventory, judged: list[Any]) -> None:
    assert all(isinstance(r, Report) for r in judged) and len(judged) == 23
    text = render_to_string("check", "cyclonedx", judged, RenderOptions(day=TODAY, application=inventory))
    bom = _valid_cyclonedx(text)
    assert bom.metadata.component.name == "acme-assistant"
    data = json.loads(text)
    (root,) = [d for d in data["dependencies"] if d["ref"] == "policycheck-application"]
    assert len(root["dependsOn"]) == 23
    components = {c["name"]: c for c in data["components"]}
    tiny = components["./models/tiny.gguf"]
    props = {(p["name"], p["value"]) for p in tiny["properties"]}
    assert ("policycheck:base:quantized", "Qwen/Qwen2.5-0.5B-Instruct") in props  # its lineage, judged
    assert ("policycheck:inventory:location", "deploy/Modelfile.local:2 (loaded) FROM of a Modelfile") in props
    assert "supplier" not in tiny and "purl" not in tiny  # a path of the repository, not a Hub repo
    gpt = components["openai/gpt-4o"]
    assert ("policycheck:api_model", "true") in {(p["name"], p["value"]) for p in gpt["properties"]}
    assert ("policycheck:verdict", "fail") in {(p["name"], p["value"]) for p in data["metadata"]["properties"]}
    assert all(c.get("scope") == "required" for c in components.values() if "policycheck:inventory:kind"
               in {p["name"] for p in c.get("properties", [])})
    zephyr = next(d for d in data["dependencies"] if d["ref"] == "HuggingFaceH4/zephyr-7b-beta")
    assert zephyr["dependsOn"] == ["mistralai/Mistral-7B-v0.1"]  # a judged lineage edge of a Hub model


def test_check_without_an_inventory_keeps_its_root(judged: list[Any]) -> None:
    one = json.loads(render_to_string("check", "cyclonedx", judged[:1], RenderOptions(day=TODAY)))
    assert one["metadata"]["component"]["name"] == "BAAI/bge-reranker-base"


def test_check_inventory_spdx3_has_the_application_at_its_root(inventory: Inventory, judged: list[Any]) -> None:
    text = render_to_string("check", "spdx3", judged, RenderOptions(day=TODAY, application=inventory))
    assert validate(text) == []
    graph = json.loads(text)["@graph"]
    by_id = {e.get("spdxId"): e for e in graph}
    sbom = next(e for e in graph if e["type"] == "software_Sbom")
    app = by_id[sbom["rootElement"][0]]
    assert (app["name"], app["software_primaryPurpose"]) == ("acme-assistant", "application")
    depends = [r for r in graph if r["type"] == "LifecycleScopedRelationship" and r["from"] == app["spdxId"]]
    assert len(depends) == 23 and {r["scope"] for r in depends} == {"runtime"}
