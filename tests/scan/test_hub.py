"""The Hub scanner end to end: `policycheck` in a subprocess, the real huggingface_hub client, and the loopback
Hub emulator (tests/hubsim) serving real corpus cards. The client is never mocked or patched."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CARDS
from tests.hubsim import HubSim, make_card
from tests.hubsim.plugin import copy_card

FAST_RETRIES = {"POLICYCHECK_HUB_BACKOFF": "0.05", "POLICYCHECK_HUB_ATTEMPTS": "3", "POLICYCHECK_HUB_TIMEOUT": "2"}


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def policycheck(env: dict[str, str], *args: str, cwd: Path | None = None, timeout: float = 120) -> Run:
    proc = subprocess.run([sys.executable, "-m", "policy.cli", *args], env={**env, **FAST_RETRIES}, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode != 4, proc.stderr  # never an internal error
    assert "Traceback" not in proc.stderr, proc.stderr
    return Run(proc.returncode, proc.stdout, proc.stderr)


def serve_r1_family(hub: HubSim) -> None:
    """The six R1 distills (DeepSeek's card metadata), their Qwen/Llama bases and DeepSeek-R1 itself."""
    for path in CARDS.glob("deepseek-ai__DeepSeek-R1-Distill-*.md"):
        copy_card(hub, path.stem.replace("__", "/"), path, extra_files=["LICENSE", "model.safetensors"])
    copy_card(hub, "Qwen/Qwen2.5-14B", CARDS / "Qwen__Qwen2.5-14B.md")
    copy_card(hub, "Qwen/Qwen2.5-32B", CARDS / "Qwen__Qwen2.5-32B.md")
    # Qwen2.5-Math-1.5B/7B: same license and card shape as Qwen2.5-1.5B (their own cards are not in the corpus)
    copy_card(hub, "Qwen/Qwen2.5-Math-1.5B", CARDS / "Qwen__Qwen2.5-1.5B.md")
    hub.add_model("Qwen/Qwen2.5-Math-7B", {"README.md": make_card({"license": "apache-2.0"}, "# Qwen2.5-Math-7B\n")})
    # Meta's repos are gated: the license is read from model_info, the card body is not readable.
    copy_card(hub, "meta-llama/Llama-3.1-8B", CARDS / "NousResearch__Meta-Llama-3.1-8B.md", gated="manual")
    hub.add_model("meta-llama/Llama-3.3-70B-Instruct",
                  {"README.md": make_card({"license": "llama3.3"}, "# Llama 3.3\n")}, gated="manual")
    hub.add_model("deepseek-ai/DeepSeek-R1",
                  {"README.md": make_card({"license": "mit", "library_name": "transformers"}, "# DeepSeek-R1\n")})
    hub.add_model("deepseek-ai/DeepSeek-V3-Base", {"README.md": make_card(
        {"license": "other", "license_name": "deepseek", "license_link": "LICENSE-MODEL"}, "# V3\n")})


def findings(report: dict[str, Any], status: str = "open") -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["status"] == status]


def test_six_r1_distills_against_the_hub(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    serve_r1_family(hubsim)
    targets = [f"deepseek-ai/DeepSeek-R1-Distill-{n}" for n in
               ("Qwen-1.5B", "Qwen-7B", "Llama-8B", "Qwen-14B", "Qwen-32B", "Llama-70B")]
    run = policycheck(hub_env, "check", *targets, "--format", "json")
    reports = {r["subject"]["id"]: r for r in run.json()}
    assert run.code == 1
    for target in targets:
        report = reports[target]
        assert report["subject"]["source"] == "hub"
        assert report["subject"]["revision"] == hubsim.repo(target).sha
        if "Llama" in target:
            base = "meta-llama/Llama-3.1-8B" if target.endswith("8B") else "meta-llama/Llama-3.3-70B-Instruct"
            assert report["verdict"] == "fail"
            assert {f["ancestor"] for f in findings(report) if f["severity"] == "error"} == {base}
            edge = next(e for e in report["lineage"] if e["parent"] == base)
            assert edge["parent_status"] == "gated" and edge["resolved"]  # license from model_info
        else:
            assert report["verdict"] == "pass", findings(report)
            assert any(o["license"] == "apache-2.0" for o in report["obligations"])


def test_r1_distill_llama_8b_then_offline_without_a_request(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    serve_r1_family(hubsim)
    online = policycheck(hub_env, "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "--format", "json")
    report = online.json()
    assert (online.code, report["verdict"]) == (1, "fail")
    llama = [f for f in findings(report) if f["ancestor"] == "meta-llama/Llama-3.1-8B"]
    assert {f["rule"] for f in llama} >= {"derivative-drops-license-terms", "name-prefix-missing"}
    shas = {e["id"]: e["revision"] for e in report["evaluated"] if e["source"] == "hub"}
    subject = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
    assert shas[subject] == hubsim.repo(subject).sha
    assert all(e["retrieved_at"] for e in report["evaluated"] if e["source"] == "hub")

    # nothing is fetched twice in one run
    counts = Counter((r.method, r.path) for r in hubsim.requests)
    assert counts and max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]

    hubsim.clear_log()
    offline = policycheck(hub_env, "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "--format", "json", "--offline")
    assert hubsim.requests == []
    again = offline.json()
    assert offline.code == 1
    for key in ("verdict", "subject", "lineage", "findings", "obligations", "evaluated"):
        assert again[key] == report[key], key

    env_offline = {**hub_env, "HF_HUB_OFFLINE": "1"}
    assert policycheck(env_offline, "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "--format", "json").json()[
        "findings"] == report["findings"]
    assert hubsim.requests == []


def test_three_hop_chain_merge_gated_cycle_missing(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("meta-llama/Llama-2-70b-chat-hf", {"README.md": make_card({"license": "llama2"})},
                     gated="auto")
    hubsim.add_model("mistralai/Mistral-7B-v0.1", {"README.md": make_card(
        {"license": "apache-2.0", "pipeline_tag": "text-generation"})})
    hubsim.add_model("acme/student", {"README.md": make_card(
        {"license": "apache-2.0", "base_model": "mistralai/Mistral-7B-v0.1",
         "teacher_model": "meta-llama/Llama-2-70b-chat-hf"})})
    hubsim.add_model("acme/student-chat",
                     {"README.md": make_card({"license": "apache-2.0", "base_model": "acme/student"})})
    hubsim.add_model("acme/student-chat-GGUF", {"README.md": make_card(
        {"license": "apache-2.0", "base_model": "acme/student-chat"})}, extra_files=["student.Q4_K_M.gguf"])
    hubsim.add_model("google/gemma-2-9b-it", {"README.md": make_card({"license": "gemma"})}, gated="manual")
    hubsim.add_model("acme/merge", {"README.md": make_card(
        {"license": "apache-2.0", "base_model": ["mistralai/Mistral-7B-v0.1", "google/gemma-2-9b-it"]})})
    hubsim.add_model("acme/loop-a", {"README.md": make_card({"license": "mit", "base_model": "acme/loop-b"})})
    hubsim.add_model("acme/loop-b", {"README.md": make_card({"license": "mit", "base_model": "acme/loop-a"})})
    hubsim.add_model("acme/orphan", {"README.md": make_card({"license": "mit", "base_model": "acme/gone"})})

    run = policycheck(hub_env, "check", "acme/student-chat-GGUF", "acme/merge", "acme/loop-a", "acme/orphan",
                      "--format", "json")
    chain, merge, loop, orphan = run.json()

    (ban,) = [f for f in findings(chain) if f["rule"] == "teacher-forbids-distillation"]
    assert ban["ancestor"] == "meta-llama/Llama-2-70b-chat-hf"
    assert ban["via"] == ["quantized", "finetune", "distillation"]
    first = next(e for e in chain["lineage"] if e["child"] == "acme/student-chat-GGUF")
    assert (first["relation"], first["inferred"]) == ("quantized", True)  # from the .gguf file, as the Hub does

    assert merge["verdict"] == "fail"
    assert {e["relation"] for e in merge["lineage"]} == {"merge"}
    drops = [f for f in findings(merge) if f["rule"] == "derivative-drops-use-restrictions"]
    assert [f["ancestor"] for f in drops] == ["google/gemma-2-9b-it"]

    assert loop["verdict"] == "review"
    assert any(f["rule"] == "lineage-problem" and "cycle" in f["message"] for f in findings(loop))

    assert orphan["verdict"] == "review"
    (missing,) = [f for f in findings(orphan) if f["rule"] == "ancestor-unresolved"]
    assert missing["ancestor"] == "acme/gone" and "not found" in missing["message"]


def test_dataset_generated_by_a_teacher_with_a_no_distillation_clause(hubsim: HubSim,
                                                                      hub_env: dict[str, str]) -> None:
    hubsim.add_model("meta-llama/Llama-2-70b-chat-hf", {"README.md": make_card({"license": "llama2"})})
    hubsim.add_dataset("acme/synthetic-chats", {"README.md": make_card(
        {"license": "cc-by-4.0", "teacher_model": ["meta-llama/Llama-2-70b-chat-hf"]})})
    hubsim.add_model("acme/qwen-student", {"README.md": make_card(
        {"license": "apache-2.0", "datasets": ["acme/synthetic-chats"], "pipeline_tag": "text-generation"})})
    report = policycheck(hub_env, "acme/qwen-student", "--format", "json").json()
    (ban,) = [f for f in findings(report) if f["rule"] == "teacher-forbids-distillation"]
    assert ban["ancestor"] == "meta-llama/Llama-2-70b-chat-hf" and ban["via"] == ["trained_on", "distillation"]
    assert hubsim.count("GET", "/api/datasets/acme/synthetic-chats") == 1


def test_revision_pins_the_subject_and_is_recorded(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("acme/pinned", {"README.md": make_card({"license": "mit"})}, revisions=["v1.0"])
    report = policycheck(hub_env, "acme/pinned", "--revision", "v1.0", "--format", "json").json()
    sha = hubsim.repo("acme/pinned").sha
    assert report["subject"]["revision"] == sha and report["verdict"] == "pass"
    (node,) = [e for e in report["evaluated"] if e["id"] == "acme/pinned"]
    assert node["requested_revision"] == "v1.0"
    assert hubsim.count("GET", "/api/models/acme/pinned/revision/v1.0") == 1

    bad = policycheck(hub_env, "acme/pinned", "--revision", "nope", "--format", "json")
    assert bad.code == 2 and "revision 'nope' not found" in bad.json()["error"]["message"]


def test_missing_private_and_invalid_subjects_are_one_line_errors(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("acme/secret", {"README.md": make_card({"license": "mit"})}, private=True)
    run = policycheck(hub_env, "check", "acme/nothing-here", "acme/secret", "../../no-such-dir/x",
                      "https://evil.example/x", "--format", "json")
    assert run.code == 2
    nothing, secret, path, url = run.json()
    assert "not found on the Hub" in nothing["error"]["message"]
    assert "private without access" in secret["error"]["message"]
    assert "no such file or folder" in path["error"]["message"] and "is a URL" in url["error"]["message"]
    assert all("\n" not in r["error"]["message"] for r in (nothing, secret, path, url))
    assert not [r for r in hubsim.requests if "evil" in r.path or "no-such" in r.path]


def test_malformed_and_missing_cards(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    copy_card(hubsim, "lighteternal/stsb-xlm-r-greek-transfer", CARDS / "lighteternal__stsb-xlm-r-greek-transfer.md")
    hubsim.add_model("acme/broken", {"README.md": "---\nlicense: mit\nbase_model: [acme/a\n---\n"})
    hubsim.add_model("acme/child-of-broken", {"README.md": make_card({"license": "mit", "base_model": "acme/broken"})})
    hubsim.add_model("acme/no-readme", {"config.json": "{}"}, card_data={"license": "apache-2.0"})
    run = policycheck(hub_env, "check", "acme/broken", "acme/child-of-broken", "acme/no-readme",
                      "lighteternal/stsb-xlm-r-greek-transfer", "--format", "json")
    broken, child, no_readme, tabs = run.json()
    assert broken["verdict"] == "error" and "README.md:3:" in broken["error"]["message"]
    (finding,) = [f for f in findings(child) if f["rule"] == "ancestor-unresolved"]
    assert "invalid YAML" in finding["message"] and child["verdict"] == "review"
    assert no_readme["verdict"] == "pass" and no_readme["subject"]["license"]["declared"] == "apache-2.0"
    assert any(n["code"] == "no-readme" for n in no_readme["subject"]["card_notes"])
    assert tabs["subject"]["license"]["declared"] == "apache-2.0"
    assert any(n["code"] == "tabs-in-yaml" for n in tabs["subject"]["card_notes"])


def test_rate_limits_are_honoured(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"})})
    hubsim.faults.status(429, path=r"^/api/models/acme/m$", times=1, headers={"Retry-After": "1"})
    run = policycheck(hub_env, "acme/m", "--format", "json")
    assert run.json()["verdict"] == "pass"
    statuses = [r.status for r in hubsim.requests if r.path == "/api/models/acme/m"]
    assert statuses == [429, 200]

    hubsim.faults.clear()
    hubsim.add_model("acme/n", {"README.md": make_card({"license": "mit"})})
    hubsim.faults.status(429, path=r"^/api/models/acme/n$", headers={"RateLimit": '"api";r=0;t=3600'})
    run = policycheck(hub_env, "acme/n", "--format", "json")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    (finding,) = findings(report)
    assert finding["rule"] == "subject-unavailable" and "429" in finding["message"]
    assert hubsim.count("GET", "/api/models/acme/n") == 1  # a 1-hour wait is not honoured: give up at once


def test_server_errors_timeouts_and_truncation(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    for name in ("flaky", "down", "slow", "cut"):
        hubsim.add_model(f"acme/{name}", {"README.md": make_card({"license": "mit"}, f"# {name} " * 50)})
    hubsim.add_model("acme/top", {"README.md": make_card(
        {"license": "mit", "base_model": ["acme/flaky", "acme/down", "acme/slow", "acme/cut"]})})
    hubsim.faults.status(503, path=r"^/api/models/acme/flaky$", times=2)
    hubsim.faults.status(502, path=r"^/api/models/acme/down$")
    hubsim.faults.hang(5, path=r"^/api/models/acme/slow$")
    hubsim.faults.truncate(path=r"^/acme/cut/resolve/")
    run = policycheck(hub_env, "acme/top", "--format", "json", timeout=180)
    report = run.json()
    assert report["verdict"] == "review"
    problems = {f["ancestor"]: f["message"] for f in findings(report) if f["rule"] == "ancestor-unresolved"}
    assert set(problems) == {"acme/down", "acme/slow", "acme/cut"}  # flaky recovered after two 503s
    assert "502" in problems["acme/down"] and "gave up after 3 attempts" in problems["acme/down"]
    assert "no answer from the Hub for the model info of acme/slow within" in problems["acme/slow"]
    technical = {e["id"]: e.get("technical", "") for e in report["evaluated"]}
    assert "Timeout" in technical["acme/slow"]  # the exception's type: the JSON report's alone
    assert "README.md of acme/cut" in problems["acme/cut"]
    assert [r.status for r in hubsim.requests if r.path == "/api/models/acme/flaky"] == [503, 503, 200]


def test_connection_refused_is_review_not_a_traceback(hub_env: dict[str, str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**hub_env, "HF_ENDPOINT": f"http://127.0.0.1:{port}"}
    run = policycheck(env, "acme/m", "--format", "json")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    (finding,) = findings(report)
    assert "cannot connect to the Hub (" in finding["message"] and "http" not in finding["message"]
    (node,) = [e for e in report["evaluated"] if e["id"] == "acme/m"]
    assert f"endpoint http://127.0.0.1:{port}" in node["technical"]  # where it tried: in the JSON only


def test_token_is_sent_but_never_printed(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    token = "hf_policycheckSECRETtoken123"
    hubsim.add_model("acme/gated", {"README.md": make_card({"license": "llama3.1"})}, gated="manual")
    hubsim.add_model("acme/Llama-child", {"README.md": make_card({"license": "llama3.1", "base_model": "acme/gated"})})
    for fmt in ("json", "text"):
        run = policycheck({**hub_env, "HF_TOKEN": token}, "acme/Llama-child", "--format", fmt)
        assert token not in run.out and token not in run.err
    assert any(r.headers.get("authorization") == f"Bearer {token}" for r in hubsim.requests)
    assert {r.status for r in hubsim.requests if r.path.startswith("/acme/gated/resolve/")} == {403}


@pytest.mark.parametrize("env_var", [None, "HF_HUB_OFFLINE"])
def test_offline_without_cache_is_review(hubsim: HubSim, hub_env: dict[str, str], env_var: str | None) -> None:
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"})})
    env = {**hub_env, env_var: "1"} if env_var else hub_env
    args = ["acme/m", "--format", "json"] + ([] if env_var else ["--offline"])
    report = policycheck(env, *args).json()
    assert report["verdict"] == "review" and "not available offline" in findings(report)[0]["message"]
    assert hubsim.requests == []


def test_license_file_is_read_once_pinned_and_names_an_unknown_license(hubsim: HubSim,
                                                                      hub_env: dict[str, str]) -> None:
    # The subject's LICENSE is read pinned to its commit, once (the title for `license: other`, the whole text
    # compared with the catalog's: the same cached file); ancestors' files are not read.
    llama = "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024\n"
    hubsim.add_model("acme/Llama-custom", {"README.md": make_card({"license": "other"}),
                                           "LICENSE": llama})
    hubsim.add_model("acme/plain", {"README.md": make_card({"license": "mit"}), "LICENSE": "MIT License\n"})
    run = policycheck(hub_env, "check", "acme/Llama-custom", "acme/plain", "--format", "json")
    custom, plain = run.json()
    assert custom["subject"]["license"]["id"] == "llama3.1"
    assert "from the title of the repo's LICENSE" in custom["subject"]["license"]["reason"]
    assert plain["verdict"] == "pass"
    license_gets = [r.path for r in hubsim.requests if r.method == "GET" and r.path.endswith("/LICENSE")]
    assert license_gets == [f"/acme/Llama-custom/resolve/{hubsim.repo('acme/Llama-custom').sha}/LICENSE",
                            f"/acme/plain/resolve/{hubsim.repo('acme/plain').sha}/LICENSE"]
    hubsim.clear_log()
    offline = policycheck(hub_env, "acme/Llama-custom", "--offline", "--format", "json").json()
    assert offline["subject"]["license"]["id"] == "llama3.1" and hubsim.requests == []


def test_error_messages_never_carry_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy.scan.hub import _one_line

    monkeypatch.setenv("HF_TOKEN", "s3cr3t-token-value")
    text = _one_line(Exception("401 Authorization: Bearer hf_ABCdef12345 token=xyz hf_QWErty98765 s3cr3t-token-value"))
    assert "hf_ABCdef12345" not in text and "hf_QWErty98765" not in text and "s3cr3t-token-value" not in text
    assert "xyz" not in text


def test_a_long_retry_after_on_downloads_is_bounded(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"})})
    hubsim.faults.status(429, path=r"^/acme/m/resolve/", headers={"Retry-After": "20"})
    env = {**hub_env, "POLICYCHECK_HUB_MAX_WAIT": "1", "POLICYCHECK_HUB_TIMEOUT": "1"}
    proc = subprocess.run([sys.executable, "-m", "policy.cli", "acme/m", "--format", "json"],
                          env={**env, "POLICYCHECK_HUB_ATTEMPTS": "2", "POLICYCHECK_HUB_BACKOFF": "0.05"},
                          capture_output=True, text=True, timeout=60, check=False)
    report = json.loads(proc.stdout)
    assert (proc.returncode, report["verdict"]) == (3, "review")
    assert "README.md of acme/m" in findings(report)[0]["message"]


# -- hostile answers: every transfer bounded in time and size (tests/hubsim fault modes drip, endless, huge) ----------
DEADLINE = 2.0
BOUNDED = {**FAST_RETRIES, "POLICYCHECK_HUB_DEADLINE": str(DEADLINE)}


@dataclass
class Measured(Run):
    seconds: float
    peak_mb: float


def bounded_check(env: dict[str, str], *args: str) -> Measured:
    """`policycheck check ARGS --format json` in a subprocess that must exit by the Hub deadline + 5 s, with its
    wall time and its own peak memory (tests/support/peak.py: what the process itself saw, not wait4's figure,
    which charges a child its parent's peak)."""
    from tests.support.peak import run_policycheck

    run = run_policycheck(["check", *args, "--format", "json"], {**env, **BOUNDED}, timeout=DEADLINE + 5)
    if run.code is None:
        pytest.fail(f"policycheck did not exit within the Hub deadline ({DEADLINE:g} s) + 5 s")
    assert run.code != 4 and "Traceback" not in run.err, run.err
    assert run.peak_mb > 0, "the process did not report its peak"
    return Measured(run.code, run.out, run.err, run.seconds, run.peak_mb)


def partial_downloads(hf_home: Path) -> list[Path]:
    """Files the client left half-written in its cache (it writes `<blob>.<random>.incomplete`, then renames)."""
    return [p for p in hf_home.rglob("*") if p.is_file() and ".incomplete" in p.name]


def test_a_dripping_model_info_ends_by_the_deadline(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    """One byte every 0.5 s: no read times out, so only a total deadline ends it; the process used to write its
    report and then wait at exit for the worker still reading (minutes)."""
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"})})
    hubsim.faults.drip(0.5, path=r"^/api/models/acme/m")
    run = bounded_check(hub_env, "acme/m")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    (finding,) = findings(report)
    assert finding["rule"] == "subject-unavailable"
    assert "model info of acme/m did not arrive whole within the deadline of 2 s" in finding["message"]


def test_a_dripping_readme_is_stopped_and_its_partial_file_removed(hubsim: HubSim, hub_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"}, "# m\n" + "text " * 200)})
    hubsim.faults.drip(0.2, path=r"/README\.md$")
    run = bounded_check(hub_env, "acme/m")
    assert (run.code, run.json()["verdict"]) == (3, "review")
    assert "README.md of acme/m" in findings(run.json())[0]["message"]
    assert partial_downloads(tmp_path / "hf") == []


def test_an_endless_readme_stops_at_the_cap_and_leaves_nothing(hubsim: HubSim, hub_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"})})
    hubsim.faults.endless(path=r"/README\.md$")
    run = bounded_check({**hub_env, "POLICYCHECK_HUB_MAX_CARD_MB": "0.25"}, "acme/m")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    assert "README.md of acme/m is larger than 0.25 MB; not read (POLICYCHECK_HUB_MAX_CARD_MB)" in \
        findings(report)[0]["message"]
    assert partial_downloads(tmp_path / "hf") == []
    assert sum(p.stat().st_size for p in (tmp_path / "hf").rglob("*") if p.is_file()) < 64 * 1024


def test_a_readme_declared_too_large_is_not_downloaded(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"})})
    hubsim.faults.huge(5 * 1024 * 1024, path=r"/README\.md$")
    run = bounded_check({**hub_env, "POLICYCHECK_HUB_MAX_CARD_MB": "0.25"}, "acme/m")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    message = findings(report)[0]["message"]
    assert "README.md of acme/m is larger than 0.25 MB (the Hub declares 5 MB); not read" in message
    assert not [r for r in hubsim.requests if r.method == "GET" and r.path.endswith("/README.md")]  # HEAD only


def test_a_model_info_larger_than_the_cap_is_refused_while_it_streams(hubsim: HubSim,
                                                                      hub_env: dict[str, str]) -> None:
    """No Content-Length: the body is counted as it comes and dropped at the cap (the default cap, 16 MB, against
    a 64 MB body: the process stays far below the body's size)."""
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"})})
    hubsim.faults.huge(64 * 1024 * 1024, path=r"^/api/models/acme/m", declare=False)
    run = bounded_check(hub_env, "acme/m")
    report = run.json()
    assert (run.code, report["verdict"]) == (3, "review")
    assert "the model info of acme/m is larger than 16 MB; not read (POLICYCHECK_HUB_MAX_API_MB)" in \
        findings(report)[0]["message"]
    assert run.peak_mb < 200, run.peak_mb


def test_a_compressed_answer_that_was_not_asked_for_is_refused(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    """Its size after decoding cannot be bounded (a few KB of gzip can expand to gigabytes)."""
    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"})})
    hubsim.faults.status(200, path=r"^/api/models/acme/m", headers={"Content-Encoding": "gzip"})
    run = bounded_check(hub_env, "acme/m")
    assert run.json()["verdict"] == "review"
    assert "sent a compressed body (gzip) though none was asked for" in findings(run.json())[0]["message"]
    assert all(r.headers.get("accept-encoding") == "identity" for r in hubsim.requests if r.path.startswith("/api/"))


def test_eval_results_files_over_their_cap_are_not_downloaded(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    from policy.scan.local import MAX_EVAL_BYTES

    hubsim.add_model("acme/m", {"README.md": make_card({"license": "mit"}),
                                ".eval_results/big.yaml": "- task: x\n", ".eval_results/ok.yaml": "- task: y\n"})
    hubsim.faults.huge(4 * MAX_EVAL_BYTES, path=r"/\.eval_results/big\.yaml$")
    run = bounded_check(hub_env, "acme/m")
    assert run.code in (0, 3)
    gets = {r.path.rsplit("/", 1)[-1] for r in hubsim.requests if r.method == "GET" and ".eval_results" in r.path}
    assert gets == {"ok.yaml"}  # big.yaml: refused from the size its HEAD declares


def test_lone_surrogates_in_hub_json_never_crash_a_writer(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    """`"\\ud800"` is valid JSON that pairs with nothing: card data, config and tags carry it as the Hub would."""
    from urllib.request import urlopen

    hubsim.add_model("acme/m", {"config.json": '{"model_type": "llama\\ud800", "architectures": ["X\\udc00"]}'},
                     card_data={"license": "other", "license_name": "acme\ud800license", "tags": ["a\ud800"]})
    with urlopen(f"{hubsim.url}/api/models/acme/m?expand=cardData&expand=config") as answer:
        assert answer.read().count(b"\\ud800") >= 2  # the hostile input: JSON escapes of a lone surrogate
    for fmt in ("json", "sarif", "cyclonedx", "spdx-tv", "text"):
        run = policycheck(hub_env, "check", "acme/m", "--format", fmt)
        assert run.code in (0, 1, 3), (fmt, run.err)
    report = policycheck(hub_env, "check", "acme/m", "--format", "json").json()
    assert "license_name=acme\ufffdlicense" in report["subject"]["license"]["declared"]


def test_the_task_and_library_the_hub_computes_are_read_and_bounded(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    """model_info asks for the pipeline_tag and library_name the Hub computes (hub-api.md §7); a value that is no
    task or library id (hostile) is not taken, so nothing decides and the student stays review."""
    hubsim.add_model("meta-llama/Llama-2-70b-chat-hf", {"README.md": make_card({"license": "llama2"})})
    student = {"license": "apache-2.0", "teacher_model": "meta-llama/Llama-2-70b-chat-hf"}
    hubsim.add_model("acme/hub-tagged", {"README.md": make_card(student)}, pipeline_tag="text-generation")
    hubsim.add_model("acme/diffusers-student", {"README.md": make_card(student)}, library_name="diffusers")
    hubsim.add_model("acme/odd-tag", {"README.md": make_card(student)}, pipeline_tag="text-generation\n" + "x" * 300)
    run = policycheck(hub_env, "check", "acme/hub-tagged", "acme/diffusers-student", "acme/odd-tag", "--format",
                      "json")
    reports = {r["subject"]["id"]: r for r in run.json()}
    info = [r for r in hubsim.requests if r.path == "/api/models/acme/hub-tagged"]
    assert {"pipeline_tag", "library_name"} <= set(info[0].query["expand"])
    rules = {sid: {f["rule"] for f in findings(r)} for sid, r in reports.items()}
    assert "teacher-forbids-distillation" in rules["acme/hub-tagged"]
    assert not rules["acme/diffusers-student"] & {"teacher-forbids-distillation", "teacher-scope-unknown"}
    assert "teacher-scope-unknown" in rules["acme/odd-tag"]
    assert "x" * 100 not in json.dumps(reports["acme/odd-tag"]["findings"])


def test_closing_skips_a_thread_a_ctrl_c_left_unstarted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C can land between creating a worker or speculative thread and starting it; the run's close must
    still end the run (130), not fail joining a thread that never started (an internal error, exit 4)."""
    import threading

    from policy.scan.hub import HubOptions, HubSource, _DaemonPool

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    source = HubSource(HubOptions.from_env())
    never = threading.Thread(target=lambda: None, daemon=True)
    source._spawned.add(never)
    source._pool = _DaemonPool(1, "test")
    source._pool.threads.append(threading.Thread(target=lambda: None, daemon=True))
    source.close()  # before the fix: RuntimeError("cannot join thread before it is started")
    assert never.ident is None
