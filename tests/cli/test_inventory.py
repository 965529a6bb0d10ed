"""`policycheck inventory PATH` and `policycheck check --inventory PATH` on the command line: exit codes, formats,
usage errors, and the judged AI-BOM of the fixture application, offline with its local cards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "inventory_app"
CARDS = ROOT / "tests" / "fixtures" / "inventory_cards"
OFFLINE = ("--offline", "--cards", str(CARDS), "--today", "2026-12-01")


def test_inventory_text(run_cli: Any) -> None:
    result = run_cli("inventory", APP)
    assert result.code == 0, result.err
    assert result.out.startswith("acme-assistant 1.4.0: 26 models (23 runtime, 1 test, 2 docs)")
    assert "    Modelfile:1  loaded  FROM of a Modelfile (tag Q4_K_M)" in result.out.splitlines()


def test_inventory_json_with_include(run_cli: Any) -> None:
    result = run_cli("inventory", APP, "--format", "json", "--include", "tests,docs")
    assert result.code == 0, result.err
    data = result.json()
    assert data["schema"] == "policycheck/inventory/v1" and data["summary"]["judged"] == 26
    assert data["summary"]["include"] == ["test", "docs"]


def test_inventory_bom_formats(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    assert run_cli("inventory", APP, "-f", "cyclonedx", "-o", out).code == 0
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(out.read_text(encoding="utf-8")) is None
    spdx = run_cli("inventory", APP, "-f", "spdx3")
    assert spdx.code == 0 and json.loads(spdx.out)["@graph"][0]["specVersion"] == "3.0.1"


@pytest.mark.parametrize(("args", "message"), [
    (("inventory", "missing-folder"), "missing-folder: no such folder"),
    (("inventory", str(APP / "config.yaml")), "not a folder"),
    (("inventory", str(APP), "--include", "benchmarks"), "--include takes tests and docs, not 'benchmarks'"),
    (("check", "--offline"), "give a target to check"),
    (("check", "x/y", "--include", "tests"), "--include goes with --inventory PATH"),
    (("check", "--inventory", "missing-folder"), "no such folder"),
])
def test_usage_errors(run_cli: Any, args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args)
    assert result.code == 2 and message in result.err, result.err


def test_an_incomplete_inventory_is_exit_3(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYCHECK_INVENTORY_MAX_FILES", "5")
    result = run_cli("inventory", APP)
    assert result.code == 3
    assert result.out.startswith("! incomplete: more than 5 files to read; models beyond that bound are not listed")
    check = run_cli("check", "--inventory", APP, "--concise", *OFFLINE)
    assert "is incomplete" in check.err and check.code in (1, 3)


def test_check_inventory_offline_with_local_cards(run_cli: Any) -> None:
    result = run_cli("check", "--inventory", APP, "--format", "json", *OFFLINE)
    assert result.code == 1, result.err  # a non-commercial model in a commercial product
    reports = result.json()
    assert len(reports) == 23
    verdicts = {r["subject"]["id"]: r["verdict"] for r in reports}
    assert verdicts["CohereForAI/aya-expanse-8b"] == "fail"
    assert {v for k, v in verdicts.items() if k != "CohereForAI/aya-expanse-8b"} == {"pass"}
    assert {Path(r["policy"]["file"]).resolve() for r in reports} == {(APP / "policycheck.yaml").resolve()}


def test_check_inventory_with_targets_and_included_tests(run_cli: Any) -> None:
    result = run_cli("check", "Qwen/Qwen2.5-0.5B-Instruct", "--inventory", APP, "--include", "tests", "--concise",
                     *OFFLINE)
    lines = result.out.splitlines()
    assert lines[0].split() == ["PASS", "Qwen/Qwen2.5-0.5B-Instruct"]  # the targets first, then the inventory
    assert any(line.split()[:2] == ["REVIEW", "hf-internal-testing/tiny-random-gpt2"] for line in lines)
    assert "25 targets" in result.out


def test_check_inventory_cyclonedx_ai_bom(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "ai-bom.json"
    result = run_cli("check", "--inventory", APP, "--format", "cyclonedx", "--output", out, *OFFLINE)
    assert result.code == 1, result.err
    text = out.read_text(encoding="utf-8")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    data = json.loads(text)
    assert data["metadata"]["component"]["name"] == "acme-assistant"
    (root,) = [d for d in data["dependencies"] if d["ref"] == data["metadata"]["component"]["bom-ref"]]
    assert len(root["dependsOn"]) == 23
