"""The validated-document memo of `policy.schema.validate(..., remember=True)`: an annex parameters file is
schema-checked once, a changed or invalid one is checked every time, and nothing is remembered by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import policy.schema
from policy.documents.annex import parse_params
from policy.errors import ConfigError
from policy.yamlload import MarkedYaml

ROOT = Path(__file__).resolve().parent.parent
PARAMS = (ROOT / "examples" / "annex" / "params.yaml").read_text(encoding="utf-8")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("POLICYCHECK_CACHE", str(folder))
    return folder


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The schema checks that actually ran."""
    seen: list[str] = []
    real = policy.schema._validate

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(policy.schema, "_validate", counting)
    return seen


def test_valid_parameters_are_checked_once(cache: Path, calls: list[str]) -> None:
    first = parse_params(PARAMS, "params.yaml")
    assert calls == ["annex"] and len(list(cache.glob("valid-*"))) == 1
    assert parse_params(PARAMS, "params.yaml") == first
    assert calls == ["annex"]  # remembered
    parse_params(PARAMS.replace("notice_days: 30", "notice_days: 31"), "params.yaml")
    assert calls == ["annex", "annex"]  # another document is checked again


def test_invalid_parameters_are_never_remembered(cache: Path, calls: list[str]) -> None:
    bad = PARAMS.replace("notice_days: 30", "notice_days: soon")
    for _ in range(2):
        with pytest.raises(ConfigError):
            parse_params(bad, "params.yaml")
    assert calls == ["annex", "annex"]
    assert not list(cache.glob("valid-*"))


def test_nothing_is_remembered_unless_asked(cache: Path, calls: list[str]) -> None:
    doc = MarkedYaml({"schema": "policycheck/policy/v1"})
    for _ in range(2):
        assert policy.schema.validate(doc, "policy", "policycheck.yaml") == []
    assert calls == ["policy", "policy"]
    assert not cache.exists() or not list(cache.glob("valid-*"))


def test_data_json_cannot_hold_exactly_is_checked_each_time(cache: Path, calls: list[str]) -> None:
    doc = MarkedYaml({"schema": "policycheck/policy/v1", "use": {1: True}})  # an integer key
    for _ in range(2):
        policy.schema.validate(doc, "policy", "policycheck.yaml", remember=True)
    assert calls == ["policy", "policy"]
    assert not cache.exists() or not list(cache.glob("valid-*"))
