"""Faults on the way to the Hub never make a silent pass, a hang or a wall of retry chatter (issue 7).

Everything runs `policycheck` in a subprocess with the real huggingface_hub client, against the loopback
emulator (tests/hubsim), a loopback port nobody listens on (no network), or a loopback socket that accepts
connections and never answers. No test reaches the internet.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim import HubSim, make_card

FAST = {"POLICYCHECK_HUB_BACKOFF": "0.05", "POLICYCHECK_HUB_ATTEMPTS": "3", "POLICYCHECK_HUB_TIMEOUT": "2"}
CHATTER = ("Retrying in", "[Retry", "thrown while requesting", "Traceback")


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.out)


def policycheck(env: dict[str, str], *args: str, timeout: float = 120) -> Run:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "policy.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    run = Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
    assert run.code != 4, run.err
    for noise in CHATTER:
        assert noise not in run.err, run.err  # the client's own retry log never reaches the terminal
    return run


def open_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["status"] == "open"]


@pytest.fixture
def no_network(hub_env: dict[str, str]) -> dict[str, str]:
    """The emulator's env with HF_ENDPOINT on a loopback port nobody listens on: every connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return {**hub_env, **FAST, "HF_ENDPOINT": f"http://127.0.0.1:{port}"}


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback endpoint that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


# -- a subject that was not read never passes -------------------------------------------------------------
@pytest.mark.parametrize("subject", ["meta-llama/Llama-3.1-8B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"])
def test_no_network_subject_from_curations_is_review_and_says_so(no_network: dict[str, str], subject: str) -> None:
    run = policycheck(no_network, subject, "--format", "json")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    assert report["subject"]["source"] == "curation" and report["subject"]["status"] == "unavailable"
    assert "cannot connect to the Hub" in report["subject"]["status_detail"]
    (row,) = [e for e in report["evaluated"] if e["id"] == subject]
    assert (row["source"], row["status"]) == ("curation", "unavailable")
    assert report["notices"] and "was not read" in report["notices"][0] and "--offline" in report["notices"][0]
    rules = {f["rule"]: f for f in open_findings(report)}
    assert rules["subject-card-not-read"]["kind"] == "review"

    text = policycheck(no_network, subject)
    lines = text.out.splitlines()
    assert text.code == 3 and lines[0].startswith(f"REVIEW  {subject}")
    assert "was not read" in " ".join(lines[1:4])  # the reason right under the verdict, not at the bottom
    assert "PASS" not in text.out


def test_hub_down_with_a_warm_cache_evaluates_the_cache(hubsim: HubSim, hub_env: dict[str, str],
                                                        no_network: dict[str, str]) -> None:
    hubsim.add_model("acme/base", {"README.md": make_card({"license": "apache-2.0"})})
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "apache-2.0", "base_model": "acme/base"})})
    online = policycheck({**hub_env, **FAST}, "acme/m", "--format", "json")
    assert online.code == 0, online.err
    assert online.json()["verdict"] == "pass"
    offline = policycheck({**hub_env, **FAST}, "acme/m", "--format", "json", "--offline").json()

    down = policycheck(no_network, "acme/m", "--format", "json")  # same HF_HOME, the Hub unreachable
    report = down.json()
    assert down.code == 0
    for key in ("verdict", "findings", "obligations"):
        assert report[key] == offline[key], key
    assert [{**e, "parent_source": "hub"} for e in report["lineage"]] == offline["lineage"]
    assert {e["parent_source"] for e in report["lineage"]} == {"cache"}  # the ancestor came from the cache too
    assert report["subject"]["source"] == "cache" and report["subject"]["revision"] == hubsim.repo("acme/m").sha
    day = online.json()["evaluated"][0]["retrieved_at"][:10]
    assert any(f"Hub unreachable; evaluated from the cache of {day}" in n for n in report["notes"])
    assert report["notices"] and "Hub unreachable" in report["notices"][0]


# -- no network is not a transient fault ------------------------------------------------------------------
def test_no_network_gives_up_at_once_with_one_line_suggesting_offline(tmp_path: Path,
                                                                      no_network: dict[str, str]) -> None:
    card = tmp_path / "acme__student.md"
    card.write_text(make_card({"license": "apache-2.0", "base_model": [f"acme/base-{i}" for i in range(5)]}),
                    encoding="utf-8")
    env = {**no_network, "POLICYCHECK_HUB_ATTEMPTS": "4", "POLICYCHECK_HUB_BACKOFF": "1"}  # retries would cost >4 s
    run = policycheck(env, "check", str(card), "--format", "json")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    unresolved = [f for f in open_findings(report) if f["rule"] == "ancestor-unresolved"]
    assert len(unresolved) == 5
    assert all("cannot connect to the Hub" in f["message"] and "--offline" in f["message"] for f in unresolved)
    assert run.seconds < 8, run.seconds  # no 4 s of retries per node (interpreter start-up included)
    assert run.err == ""


def test_a_host_name_that_does_not_resolve_gives_up_at_once(hub_env: dict[str, str]) -> None:
    host = "policycheck-no-such-host.invalid"  # RFC 2606: never resolves
    start = time.monotonic()
    try:
        socket.getaddrinfo(host, 80)
    except OSError:
        pass
    if time.monotonic() - start > 2:
        pytest.skip("this machine's resolver is slow to say no")
    run = policycheck({**hub_env, **FAST, "POLICYCHECK_HUB_ATTEMPTS": "4", "POLICYCHECK_HUB_BACKOFF": "1",
                       "HF_ENDPOINT": f"http://{host}"}, "acme/m", "--format", "json")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    (finding,) = open_findings(report)
    assert "does not resolve" in finding["message"] and "--offline" in finding["message"]
    assert run.seconds < 10, run.seconds


# -- a Hub that accepts connections and never answers -----------------------------------------------------
def test_never_answering_hub_costs_the_deadline_not_minutes(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("acme/top", {"README.md": make_card(
        {"license": "apache-2.0", "base_model": [f"acme/b{i}" for i in range(40)]})})
    hubsim.faults.hang(600, path=r"^/(api/models/)?acme/b\d+")
    deadline = 3
    env = {**hub_env, "POLICYCHECK_HUB_DEADLINE": str(deadline), "POLICYCHECK_HUB_TIMEOUT": "10",
           "POLICYCHECK_HUB_ATTEMPTS": "4"}
    run = policycheck(env, "acme/top", "--format", "json")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    unresolved = {f["ancestor"]: f["message"] for f in open_findings(report) if f["rule"] == "ancestor-unresolved"}
    assert set(unresolved) == {f"acme/b{i}" for i in range(40)}
    assert any("within the deadline of 3 s" in m for m in unresolved.values())
    assert run.seconds <= deadline + 5, run.seconds  # + start-up and rule load on a loaded machine (was 131 s)


def test_silent_endpoint_subject_is_review_within_the_deadline(hub_env: dict[str, str], silent_server: str) -> None:
    env = {**hub_env, "HF_ENDPOINT": silent_server, "POLICYCHECK_HUB_TIMEOUT": "10"}
    run = policycheck(env, "acme/m", "acme/n", "acme/o", "--format", "json", "--hub-deadline", "2")
    reports = run.json()
    assert run.code == 3 and [r["verdict"] for r in reports] == ["review"] * 3
    for report in reports:
        (finding,) = open_findings(report)
        assert finding["rule"] == "subject-unavailable"
    # a Hub that answered nothing within one target's deadline is down for the rest of the batch
    assert "answered nothing within the deadline" in open_findings(reports[-1])[0]["message"]
    assert run.seconds <= 2 + 5, run.seconds


def test_each_target_of_a_batch_gets_its_own_deadline(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    for name in ("a", "b"):
        hubsim.add_model(f"acme/{name}", {"README.md": make_card({"license": "mit"})})
    hubsim.faults.latency(1.2, path=r"^/api/models/acme/")
    env = {**hub_env, **FAST, "POLICYCHECK_HUB_DEADLINE": "2", "POLICYCHECK_HUB_TIMEOUT": "5"}
    run = policycheck(env, "acme/a", "acme/b", "--format", "json")
    assert [r["verdict"] for r in run.json()] == ["pass", "pass"]  # 2.4 s in all, 1.2 s per target


def test_deadline_default_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy.scan.hub import HubOptions

    assert HubOptions().run_deadline == 60
    monkeypatch.setenv("POLICYCHECK_HUB_DEADLINE", "7.5")
    assert HubOptions.from_env().run_deadline == 7.5


# -- speculative downloads never race the interpreter's exit ---------------------------------------------------
SPY_TEMPDIRS = """
import json, tempfile, threading

made = []
_real = tempfile.TemporaryDirectory


class Watched(_real):  # the standard library's class, only watched: who creates a temporary directory
    def __init__(self, *args, **kwargs):
        made.append(threading.current_thread().daemon)
        super().__init__(*args, **kwargs)


tempfile.TemporaryDirectory = Watched
from policy.scan.hub import HubOptions, HubSource

source = HubSource(HubOptions.from_env())
facts = [source.fetch_one(repo) for repo in ("acme/a", "acme/b")]
source.close()
print(json.dumps({"status": [f.status for f in facts], "made": made}))
"""


def test_no_temporary_directory_is_made_on_a_daemon_thread(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    # The client tests symlink support in a temporary directory on its first download into a repo's cache
    # folder. Made on the daemon thread of an early README download, that directory's clean-up at exit raced
    # the test whenever the run ended first (a 429 on model_info) and printed a traceback.
    from tests.hubsim.plugin import run_client_json

    for name in ("a", "b"):
        hubsim.add_model(f"acme/{name}", {"README.md": make_card({"license": "mit"})})
    out = run_client_json(SPY_TEMPDIRS, {**hub_env, **FAST, "POLICYCHECK_HUB_WORKERS": "4"})
    assert out["status"] == ["ok", "ok"]
    assert out["made"] and not any(out["made"]), out["made"]
