"""Test-only Hugging Face Hub emulator: a stdlib HTTP server serving repos from folders.

See README.md in this folder. Register the pytest fixtures with ``pytest_plugins = ["tests.hubsim.plugin"]``.
"""

from .server import Faults, HubSim, Repo, RequestRecord, make_card

__all__ = ["Faults", "HubSim", "Repo", "RequestRecord", "make_card"]
