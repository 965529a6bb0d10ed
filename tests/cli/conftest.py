"""Fixtures of the command-line tests that run the real CLI in a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hubsim import HubSim, make_card
from tests.hubsim.plugin import make_hub_env

REPO = Path(__file__).resolve().parents[2]
CHILDREN = 4


@pytest.fixture
def small_tree_env(hubsim: HubSim, tmp_path: Path) -> dict[str, str]:
    """The environment of a `policycheck tree acme/root` against hubsim: the root and CHILDREN fine-tunes of
    it, all Apache-2.0 (a pass)."""
    hubsim.add_model("acme/root", {"README.md": make_card({"license": "apache-2.0"})})
    for n in range(CHILDREN):
        hubsim.add_model(f"acme/child-{n}", {"README.md": make_card({"license": "apache-2.0",
                                                                     "base_model": "acme/root"})})
    return {**make_hub_env(hubsim, tmp_path / "hf"), "POLICYCHECK_CACHE": str(tmp_path / "cache"), "NO_COLOR": "1",
            "PYTHONPATH": str(REPO)}
