"""pytest fixtures for the Hub emulator.  Register with ``pytest_plugins = ["tests.hubsim.plugin"]``.

The ``huggingface_hub`` client reads its environment at import time (hub-api.md §4.6), so run it in a
subprocess with ``hub_env``: ``run_client(script, hub_env)``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from .server import HubSim

__all__ = ["copy_card", "hub_env", "hubsim", "make_hub_env", "run_client", "run_client_json"]

# Variables that would make the client leave the sandbox: real tokens, shared caches, offline or staging modes.
_DROPPED_ENV = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_OIDC_RESOURCE",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_XET_CACHE",
    "HF_ASSETS_CACHE",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HUGGINGFACE_CO_STAGING",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN",
)


def make_hub_env(hub: HubSim, hf_home: str | os.PathLike[str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a subprocess that talks to ``hub`` with its cache in ``hf_home``."""
    env = dict(os.environ if base is None else base)
    for name in _DROPPED_ENV:
        env.pop(name, None)
    env.update(
        HF_ENDPOINT=hub.url,
        HF_HOME=str(hf_home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


@pytest.fixture
def hubsim(tmp_path: Path) -> Iterator[HubSim]:
    """A started ``HubSim`` over a fresh root (``<tmp_path>/hubsim``); fails the test if the emulator crashed."""
    with HubSim(tmp_path / "hubsim") as hub:
        yield hub
    if hub.server_errors:
        pytest.fail("hubsim internal errors:\n" + "\n".join(hub.server_errors), pytrace=False)


@pytest.fixture
def hub_env(hubsim: HubSim, tmp_path: Path) -> dict[str, str]:
    """Environment variables for running the real client in a subprocess against ``hubsim``."""
    return make_hub_env(hubsim, tmp_path / "hf")


def copy_card(
    hub: HubSim, repo_id: str, card_path: str | os.PathLike[str], *, repo_type: str = "model", **meta: Any
) -> Path:
    """Serve a corpus card file (e.g. ``shared/corpus/cards/org__name.md``) as ``README.md`` of ``repo_id``."""
    files = {"README.md": Path(card_path).read_bytes()}
    if repo_type == "dataset":
        return hub.add_dataset(repo_id, files, **meta)
    return hub.add_model(repo_id, files, **meta)


def run_client(
    script: str,
    env: Mapping[str, str],
    *,
    timeout: float = 120,
    check: bool = True,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c script`` (dedented) with ``env``; with ``check``, fail with its output on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"client script failed ({proc.returncode})\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def run_client_json(script: str, env: Mapping[str, str], **kwargs: Any) -> Any:
    """``run_client`` and parse the last line of stdout as JSON (print ``json.dumps(...)`` last)."""
    proc = run_client(script, env, **kwargs)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        pytest.fail(f"client script printed nothing\nstderr:\n{proc.stderr}")
    return json.loads(lines[-1])
