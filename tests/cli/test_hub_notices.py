"""The pre-push hook's `policycheck check` (policy/cli/check.py) without a network: a pass that rests on the
local cache or on curations says so first, in text as in JSON, instead of in the JSON's `evaluated` rows alone."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hubsim import HubSim, make_card
from tests.hubsim.plugin import make_hub_env

REPO = Path(__file__).resolve().parents[2]


def check(env: dict[str, str], card: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy.cli", "check", str(card), *args], env=env,
                          capture_output=True, text=True, timeout=120, cwd=REPO)


@pytest.fixture
def env(hubsim: HubSim, tmp_path: Path) -> dict[str, str]:
    return {**make_hub_env(hubsim, tmp_path / "hf"), "POLICYCHECK_CACHE": str(tmp_path / "cache"), "NO_COLOR": "1",
            "PYTHONPATH": str(REPO), "POLICYCHECK_HUB_ATTEMPTS": "1", "POLICYCHECK_HUB_TIMEOUT": "2"}


def down(env: dict[str, str]) -> dict[str, str]:
    with socket.socket() as s:  # a loopback port nobody listens on: every connection is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return {**env, "HF_ENDPOINT": f"http://127.0.0.1:{port}"}


def card(tmp_path: Path, base: str, license_: str) -> Path:
    path = tmp_path / "model" / "README.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(make_card({"license": license_, "base_model": base}, "# m\n"), encoding="utf-8")
    return path


def test_a_pass_from_the_cache_says_so_in_text_and_json(hubsim: HubSim, env: dict[str, str], tmp_path: Path) -> None:
    hubsim.add_model("acme/base", {"README.md": make_card({"license": "apache-2.0"})})
    target = card(tmp_path, "acme/base", "apache-2.0")
    up = check(env, target)
    assert up.returncode == 0 and "!" not in up.stdout.splitlines()[1], up.stdout  # the Hub answered: no notice
    text = check(down(env), target)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("PASS ")
    said = " ".join(" ".join(lines[1:4]).split())
    assert said.startswith("! Hub unreachable: 1 ancestor(s) read from the local cache instead, as last downloaded: "
                           "acme/base (cache of 20")
    report = json.loads(check(down(env), target, "-f", "json").stdout)
    assert report["verdict"] == "pass" and len(report["notices"]) == 1
    assert said.startswith("! " + report["notices"][0])  # the JSON's notice, word for word
    concise = check(down(env), target, "--concise")
    assert "! Hub unreachable: 1 ancestor(s)" in concise.stdout


def test_a_pass_from_curations_says_so_and_offline_does_not(env: dict[str, str], tmp_path: Path) -> None:
    target = card(tmp_path, "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "mit")  # a curated lineage
    text = check(down(env), target)
    assert text.returncode == 0, text.stderr
    said = " ".join(text.stdout.split())
    assert ("! Hub not read: 4 ancestor(s) evaluated from curated or policy-file facts only (cannot connect to "
            "the Hub") in said
    assert "and curations): deepseek-ai/DeepSeek-R1-Distill-Qwen-7B, Qwen/Qwen2.5-Math-7B," in said
    asked = check(down(env), target, "--offline")  # offline was asked for: nothing to warn about
    assert asked.returncode == 0 and "! " not in asked.stdout
    env_offline = check({**down(env), "HF_HUB_OFFLINE": "1"}, target)
    assert "! " not in env_offline.stdout
