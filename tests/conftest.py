"""Shared fixtures: corpus fixture cards, an isolated rule cache, and in-process CLI runs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.hubsim.plugin"]
# The inventory's fixture application has tests of its own (a conftest.py, a test file): data for the inventory,
# never collected here.
collect_ignore = ["fixtures/inventory_app"]

FIXTURES = Path(__file__).parent / "fixtures"
CARDS = FIXTURES / "cards"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Never read or write the developer's own rule cache or Hub token."""
    keys = ("POLICYCHECK_CACHE", "HF_HOME", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")
    old = {k: os.environ.get(k) for k in keys}
    os.environ["POLICYCHECK_CACHE"] = str(tmp_path_factory.mktemp("policycheck-cache"))
    os.environ["HF_HOME"] = str(tmp_path_factory.mktemp("hf-home"))
    os.environ.pop("HF_TOKEN", None)
    # In-process tests never reach a network: the Hub is offline for them. Hub tests run policycheck in a
    # subprocess pointed at the loopback emulator (tests/hubsim).
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    from policy.cli.app import main

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def bundle() -> Any:
    from policy.engine.loader import load_bundle

    return load_bundle()


def card(name: str) -> Path:
    path = CARDS / f"{name.replace('/', '__')}.md"
    assert path.is_file(), path
    return path
