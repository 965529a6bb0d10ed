"""Test-only Hugging Face Hub emulator: a stdlib HTTP server serving repos from folders.

See README.md in this folder. Register the pytest fixtures with ``pytest_plugins = ["tests.hubsim.plugin"]``.
"""

import pytest

# The self-tests import helpers from the plugin before pytest registers it; let pytest rewrite its asserts.
pytest.register_assert_rewrite("tests.hubsim.plugin")

from .server import Faults, HubSim, Repo, RequestRecord, make_card  # noqa: E402

__all__ = ["Faults", "HubSim", "Repo", "RequestRecord", "make_card"]
