"""The inventory use case (policy/pipeline/inventory.py): API models told apart by the catalog, and every selected
model of the fixture application judged offline with its local cards and the application's policy file."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from policy.model.report import Report, TargetError
from policy.pipeline.inventory import InventoryOptions, judge, take
from policy.pipeline.session import CheckOptions, Session

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "inventory_app"
CARDS = ROOT / "tests" / "fixtures" / "inventory_cards"
TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    inventory = take(APP)
    with Session(CheckOptions(cards=(CARDS,), offline=True, today=TODAY)) as session:
        results = list(judge(session, inventory))
    assert not [r for r in results if isinstance(r, TargetError)]
    assert [r.subject.id for r in results] == [m.subject_id for m in inventory.selected()]  # type: ignore[union-attr]
    return {r.subject.id: r for r in results if isinstance(r, Report)}


def test_every_runtime_model_is_judged_and_only_those(reports: dict[str, Report]) -> None:
    assert len(reports) == 23
    assert "hf-internal-testing/tiny-random-gpt2" not in reports and "meta-llama/Llama-3.2-1B" not in reports


def test_the_policy_file_of_the_application_is_used(reports: dict[str, Report]) -> None:
    report = reports["Qwen/Qwen2.5-7B-Instruct"]
    assert report.policy.file and Path(report.policy.file).resolve() == (APP / "policycheck.yaml").resolve()
    assert report.policy.use["commercial"] and not report.policy.use["distributed"]


def test_a_non_commercial_model_fails_a_commercial_product(reports: dict[str, Report]) -> None:
    report = reports["CohereForAI/aya-expanse-8b"]
    assert report.verdict == "fail"
    assert "noncommercial-license" in {f.rule for f in report.findings}


def test_api_models_are_judged_by_their_providers_terms(reports: dict[str, Report]) -> None:
    for model_id, terms in (("openai/gpt-4o", "provider-openai"), ("anthropic/claude-3-5-sonnet-latest",
                                                                   "provider-anthropic"),
                            ("google/gemini-1.5-pro", "provider-google-gemini"),
                            ("mistral-api/mistral-large-latest", "provider-mistral")):
        report = reports[model_id]
        assert report.subject.license.id == terms, model_id
        assert [e.kind for e in report.evaluated if e.id == model_id] == ["api"]


def test_local_weights_are_judged_by_their_headers(reports: dict[str, Report]) -> None:
    tiny = reports["./models/tiny.gguf"]
    assert tiny.subject.license.id == "apache-2.0"
    assert [(e.parent, e.relation) for e in tiny.lineage] == [("Qwen/Qwen2.5-0.5B-Instruct", "quantized")]
    assert tiny.verdict == "pass"
    classifier = reports["./models/classifier"]
    assert classifier.subject.license.id == "mit"
    assert [(e.parent, e.relation) for e in classifier.lineage] == [("distilbert/distilbert-base-uncased",
                                                                     "finetune")]
    assert any(n.code == "inventory-weights" for n in classifier.subject.card_notes)


def test_hub_models_are_checked_with_their_cards(reports: dict[str, Report]) -> None:
    assert reports["Qwen/Qwen2.5-7B-Instruct"].verdict == "pass"
    zephyr = reports["HuggingFaceH4/zephyr-7b-beta"]
    assert [(e.parent, e.relation) for e in zephyr.lineage] == [("mistralai/Mistral-7B-v0.1", "finetune")]


def test_included_scopes_are_judged_too() -> None:
    inventory = take(APP, InventoryOptions(include=("test",)))
    assert "hf-internal-testing/tiny-random-gpt2" in {m.id for m in inventory.selected()}
    with Session(CheckOptions(cards=(CARDS,), offline=True, today=TODAY)) as session:
        tiny = [r for r in judge(session, replace(inventory, models=tuple(
            m for m in inventory.models if m.scope == "test")))]
    assert len(tiny) == 1 and isinstance(tiny[0], Report)
    assert tiny[0].verdict == "review"  # no card offline: never a pass on missing data


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def test_api_ids_in_configuration_are_api_models(tmp_path: Path) -> None:
    _write(tmp_path, {"settings.yaml": "teacher_model: openai/gpt-4o\nmodel: openai/whisper-large-v3\n",
                      "app.py": 'from openai import OpenAI\nOpenAI().chat.completions.create(model="gpt-4o")\n'})
    inventory = take(tmp_path)
    kinds = {m.id: m.kind for m in inventory.models}
    assert kinds == {"openai/gpt-4o": "api", "openai/whisper-large-v3": "hub"}  # open weights stay a Hub repo
    (gpt,) = [m for m in inventory.models if m.id == "openai/gpt-4o"]
    assert {loc.where for loc in gpt.locations} == {"settings.yaml:1", "app.py:2"}


def test_weights_without_a_license_and_ollama_library_models_are_review(tmp_path: Path) -> None:
    from tests.support.weights import gguf_bytes

    _write(tmp_path, {"w/model.gguf": gguf_bytes({"general.name": "x"}), "Modelfile": "FROM llama3.2:3b\n",
                      "openai.py": 'from openai import OpenAI\nOpenAI().audio.speech.create(model="tts-1-hd")\n'})
    inventory = take(tmp_path)
    assert {m.id: m.kind for m in inventory.models} == {"openai/tts-1-hd": "api", "w/model.gguf": "local-weights",
                                                        "ollama/llama3.2:3b": "ollama"}
    with Session(CheckOptions(offline=True, today=TODAY)) as session:
        results = {r.subject.id: r for r in judge(session, inventory) if isinstance(r, Report)}
    assert {k: r.verdict for k, r in results.items()} == {"openai/tts-1-hd": "review", "./w/model.gguf": "review",
                                                          "ollama/llama3.2:3b": "review"}
    assert "no provider terms" in results["openai/tts-1-hd"].evaluated[0].detail
    assert "Ollama library" in results["ollama/llama3.2:3b"].evaluated[0].detail


def test_a_hub_model_the_hub_does_not_serve_is_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policy.errors import InputError

    _write(tmp_path, {"config.yaml": "model: ollama/llama3\n"})
    inventory = take(tmp_path)

    def missing(self: Session, target: str, revision: str | None = None) -> None:
        raise InputError(f"{target}: repo not found on the Hub (or private without access)")

    monkeypatch.setattr(Session, "hub_subject", missing)
    with Session(CheckOptions(offline=True, today=TODAY)) as session:
        (report,) = list(judge(session, inventory))
    assert isinstance(report, Report) and report.verdict == "review"
    assert "the Hub does not serve it" in report.evaluated[0].detail
