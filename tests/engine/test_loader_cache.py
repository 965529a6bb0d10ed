"""The validated-policy memo: a policy text is schema-checked once, an invalid one is never remembered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policy.engine.loader import load_policy
from policy.errors import ConfigError

VALID = "schema: policycheck/policy/v1\nuse: {commercial: false}\n"
INVALID = "schema: policycheck/policy/v1\nuse: {commercial: maybe}\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("POLICYCHECK_CACHE", str(folder))
    return folder


def test_a_valid_policy_is_validated_once(tmp_path: Path, cache: Path, bundle: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "policycheck.yaml"
    path.write_text(VALID)
    assert load_policy(path, bundle.catalog, bundle.packs).use["commercial"] is False
    assert len(list(cache.glob("policy-valid-*"))) == 1
    calls: list[str] = []
    import policy.schema

    monkeypatch.setattr(policy.schema, "validate", lambda *a, **k: calls.append("validate") or [])
    assert load_policy(path, bundle.catalog, bundle.packs).use["commercial"] is False
    assert calls == []  # remembered
    path.write_text(VALID + "fail_on: warning\n")  # another text is validated again
    load_policy(path, bundle.catalog, bundle.packs)
    assert calls == ["validate"]


def test_an_invalid_policy_is_never_remembered(tmp_path: Path, cache: Path, bundle: Any) -> None:
    path = tmp_path / "policycheck.yaml"
    path.write_text(INVALID)
    for _ in range(2):
        with pytest.raises(ConfigError) as info:
            load_policy(path, bundle.catalog, bundle.packs)
        assert any(d.line == 2 for d in info.value.diagnostics)
    assert not list(cache.glob("policy-valid-*"))
