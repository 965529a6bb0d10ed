"""Evidence end to end (`policycheck check` and `policycheck claims`) with the real client against hubsim:
evaluation claims judged against the Hub's own verification and an independent file, lineage stated in prose,
and the policy's requirements; each item in every output format with its method, confidence and source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim import HubSim, make_card

REPO = Path(__file__).resolve().parents[2]
GSM8K = {"type": "openai/gsm8k", "name": "GSM8K", "config": "main", "split": "test", "revision": "e53f048"}
SOURCE = {"name": "acme eval harness run", "url": "https://example.org/acme/evals"}


def index(value: float, *, verified: bool | None = None, token: str | None = None,
          source: bool = True) -> list[dict[str, Any]]:
    metric: dict[str, Any] = {"type": "accuracy", "value": value, "name": "accuracy"}
    if verified is not None:
        metric["verified"] = verified
    if token is not None:
        metric["verifyToken"] = token
    result: dict[str, Any] = {"task": {"type": "text-generation"}, "dataset": GSM8K, "metrics": [metric]}
    if source:
        result["source"] = SOURCE
    return [{"name": "m", "results": [result]}]


def card(meta: dict[str, Any], body: str = "# Model\n") -> dict[str, str]:
    return {"README.md": make_card({"license": "apache-2.0", "pipeline_tag": "text-generation", **meta}, body)}


def cli(env: dict[str, str], *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy.cli", *args], env={**env, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def check_json(env: dict[str, str], repo_id: str, *args: str) -> dict[str, Any]:
    done = cli(env, "check", repo_id, "--format", "json", *args)
    assert done.returncode in (0, 1, 3), done.stderr
    return json.loads(done.stdout)


def claims_json(env: dict[str, str], repo_id: str, *args: str) -> tuple[int, dict[str, Any]]:
    done = cli(env, "claims", repo_id, "--format", "json", *args)
    assert done.returncode in (0, 3), done.stderr
    return done.returncode, json.loads(done.stdout)


def codes(doc: dict[str, Any]) -> list[str]:
    return [e["code"] for e in doc["evidence"]]


@pytest.fixture
def env(hub_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**hub_env, "POLICYCHECK_CACHE": str(tmp_path / "cache"), "NO_COLOR": "1"}


def test_verified_true_without_a_token_is_evidence_in_every_format(hubsim: HubSim, env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    hubsim.add_model("acme/claims-verified", card({"model-index": index(91.0, verified=True)}))
    report = check_json(env, "acme/claims-verified")
    assert report["verdict"] == "review"
    (item,) = [e for e in report["evidence"] if e["code"] == "claim-verified-without-token"]
    assert item["method"] == "model-index" and item["confidence"] == "high" and item["source"]
    finding = next(f for f in report["findings"] if f["rule"] == "evaluation-claim-questionable")
    assert finding["kind"] == "evidence" and "verifyToken" in finding["message"]
    text = cli(env, "check", "acme/claims-verified").stdout
    assert "evidence (needs review)" in text and "model-index; high confidence" in text
    sarif = json.loads(cli(env, "check", "acme/claims-verified", "--format", "sarif").stdout)
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "evaluation-claim-questionable"]
    assert result["level"] == "warning"
    markdown = cli(env, "check", "acme/claims-verified", "--format", "markdown").stdout
    assert "Found beyond the card's declarations" in markdown and "| model-index | high |" in markdown
    html = cli(env, "check", "acme/claims-verified", "--format", "html").stdout
    assert '<table class="found">' in html and "<td>model-index</td><td>high</td>" in html


def test_only_the_hub_api_makes_a_claim_verified(hubsim: HubSim, env: dict[str, str]) -> None:
    hubsim.verify_tokens.add("hf-issued-token")
    hubsim.add_model("acme/claims-token", card({"model-index": index(91.0, verified=True, token="hf-issued-token")}))
    hubsim.add_model("acme/claims-forged", card({"model-index": index(91.0, verified=True, token="made-up")}))
    code, doc = claims_json(env, "acme/claims-token")
    assert [c["class"] for c in doc["claims"]] == ["verified"] and code == 0
    assert "claim-verified-without-token" not in codes(doc)
    code, doc = claims_json(env, "acme/claims-forged")
    assert [c["class"] for c in doc["claims"]] == ["self-reported"] and code == 3
    (item,) = [e for e in doc["evidence"] if e["code"] == "claim-verified-without-token"]
    assert "Hub's API does not count it as verified" in item["message"]


def test_yaml_and_body_tables_that_disagree(hubsim: HubSim, env: dict[str, str]) -> None:
    body = "# Model\n\n## Results\n\n| Benchmark | Score |\n|---|---|\n| GSM8K | 85.0 |\n"
    hubsim.add_model("acme/claims-disagree", card({"model-index": index(90.0)}, body))
    code, doc = claims_json(env, "acme/claims-disagree")
    (item,) = [e for e in doc["evidence"] if e["code"] == "claim-inconsistent"]
    assert "90" in item["message"] and "85" in item["message"] and code == 3
    table_line = make_card({"license": "apache-2.0", "pipeline_tag": "text-generation",
                            "model-index": index(90.0)}, body).splitlines().index("| GSM8K | 85.0 |") + 1
    assert f"card line {table_line}" in item["message"]


def test_a_fraction_and_a_percent_of_the_same_score_agree(hubsim: HubSim, env: dict[str, str]) -> None:
    body = "# Model\n\n| Benchmark | Score |\n|---|---|\n| GSM8K | 90.2 |\n"
    hubsim.add_model("acme/claims-scale", card({"model-index": index(0.902)}, body))
    code, doc = claims_json(env, "acme/claims-scale")
    assert [c["percent"] for c in doc["claims"]] == [pytest.approx(90.2), pytest.approx(90.2)]
    assert "claim-inconsistent" not in codes(doc) and code == 0


def test_a_claim_far_above_the_independent_value_is_review_with_both_numbers(hubsim: HubSim, env: dict[str, str],
                                                                             tmp_path: Path) -> None:
    hubsim.add_model("acme/claims-maths", card({"model-index": index(90.0)}))
    evals = tmp_path / "leaderboard.csv"
    evals.write_text("model,revision,benchmark,value,scale,source\n"
                     "acme/claims-maths,,gsm8k,0.38,fraction,Open LLM Leaderboard export 2025-03\n",
                     encoding="utf-8")
    code, doc = claims_json(env, "acme/claims-maths", "--evals", str(evals))
    (item,) = [e for e in doc["evidence"] if e["code"] == "claim-exceeds-independent"]
    assert code == 3 and "90.0%" in item["message"] and "38.0%" in item["message"]
    assert "Open LLM Leaderboard export 2025-03" in item["message"] and "leaderboard.csv" in item["message"]
    assert item["method"] == "independent-evals" and item["confidence"] == "high"
    report = check_json(env, "acme/claims-maths", "--evals", str(evals))
    assert report["verdict"] == "review"
    assert any(f["rule"] == "evaluation-claim-questionable" and "38.0%" in f["message"] for f in report["findings"])
    bad = tmp_path / "bad.csv"
    bad.write_text("model,revision,benchmark,value,scale,source\nacme/x,,gsm8k,lots,percent,s\n", encoding="utf-8")
    done = cli(env, "check", "acme/claims-maths", "--evals", str(bad))
    assert done.returncode == 2 and "bad.csv:1" in done.stderr


def test_a_teacher_named_only_in_the_prose_is_evidence_at_its_line(hubsim: HubSim, env: dict[str, str]) -> None:
    body = ("# Student 7B\n\nA compact reasoning model.\n\n## Training\n\n"
            "We distilled this model from DeepSeek-R1 on 800k reasoning traces.\n")
    hubsim.add_model("acme/student-7b", card({"base_model": "Qwen/Qwen2.5-7B"}, body))
    hubsim.add_model("Qwen/Qwen2.5-7B", card({"license": "apache-2.0"}))
    report = check_json(env, "acme/student-7b")
    (item,) = [e for e in report["evidence"] if e["code"] == "prose-undeclared-teacher"]
    text = make_card({"license": "apache-2.0", "pipeline_tag": "text-generation",
                      "base_model": "Qwen/Qwen2.5-7B"}, body).splitlines()
    line = next(i for i, t in enumerate(text, 1) if "distilled this model from DeepSeek-R1" in t)
    assert item["line"] == line and item["refers_to"] == "deepseek-ai/DeepSeek-R1"
    assert "DeepSeek-R1" in item["quote"] and len(item["quote"].split()) <= 25
    finding = next(f for f in report["findings"] if f["rule"] == "undeclared-lineage-in-prose")
    assert finding["kind"] == "evidence" and finding["line"] == line and report["verdict"] == "review"
    sarif = json.loads(cli(env, "check", "acme/student-7b", "--format", "sarif").stdout)
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "undeclared-lineage-in-prose"]
    # a Hub card is no file of the repository: the result sits on the policy file, and says the card's line
    assert result["properties"]["card_line"] == line and result["properties"]["url"].endswith("/README.md")


def test_the_policy_can_require_independent_evaluation_and_disclosed_lineage(hubsim: HubSim, env: dict[str, str],
                                                                            tmp_path: Path) -> None:
    hubsim.add_model("acme/claims-partner", card({"model-index": index(72.0)}))
    policy = tmp_path / "policycheck.yaml"
    policy.write_text("schema: policycheck/policy/v1\nrequirements:\n  independent_evaluation: error\n"
                      "  lineage_disclosure: warning\n", encoding="utf-8")
    report = check_json(env, "acme/claims-partner", "--policy", str(policy))
    rules = {f["rule"]: f for f in report["findings"]}
    assert rules["independent-evaluation-required"]["severity"] == "error"
    assert rules["independent-evaluation-required"]["kind"] == "violation" and report["verdict"] == "fail"
    assert rules["lineage-disclosure-required"]["severity"] == "warning"
    plain = check_json(env, "acme/claims-partner")
    assert not {"independent-evaluation-required", "lineage-disclosure-required"} & {
        f["rule"] for f in plain["findings"]}


def test_weights_identical_to_a_llama_repo_under_mit_are_evidence(hubsim: HubSim, env: dict[str, str],
                                                                 tmp_path: Path) -> None:
    weights = b"\x00safetensors-header" + bytes(range(256)) * 512  # served as an LFS file
    hubsim.add_model("meta-llama/Llama-3.1-8B", {**card({"license": "llama3.1"}), "model.safetensors": weights})
    hubsim.add_model("acme/relabel-8b", {**card({"license": "mit"}), "model.safetensors": weights})
    hubsim.add_model("acme/own-8b", {**card({"license": "mit"}), "model.safetensors": weights[::-1]})
    llama = hubsim.repo("meta-llama/Llama-3.1-8B")
    assert llama is not None
    sha = llama.files["model.safetensors"].sha256
    rules = tmp_path / "rules" / "evidence"
    rules.mkdir(parents=True)
    (rules / "fingerprints.yaml").write_text(
        "schema_version: 1\nfingerprints:\n"
        f"  - repo: meta-llama/Llama-3.1-8B\n    revision: {llama.sha}\n    license: llama3.1\n"
        f"    source: {hubsim.url}/meta-llama/Llama-3.1-8B/tree/{llama.sha}\n"
        f"    files: [{{path: model.safetensors, sha256: {sha}}}]\n", encoding="utf-8")
    hubsim.clear_log()
    report = check_json(env, "acme/relabel-8b", "--rules", str(tmp_path / "rules"))
    (item,) = [e for e in report["evidence"] if e["code"] == "weights-identical"]
    assert item["refers_to"] == "meta-llama/Llama-3.1-8B" and item["method"] == "file-fingerprint"
    assert "licensed llama3.1" in item["message"] and "declares mit" in item["message"]
    assert report["verdict"] == "review"
    assert any(f["rule"] == "undeclared-lineage-in-files" for f in report["findings"])
    assert not any(r.path.endswith(".safetensors") and "/resolve/" in r.path for r in hubsim.requests)  # no weights
    assert "weights-identical" not in codes(check_json(env, "acme/own-8b", "--rules", str(tmp_path / "rules")))


def test_fingerprint_prints_an_entry_the_checker_reads(hubsim: HubSim, env: dict[str, str], tmp_path: Path) -> None:
    weights = bytes(range(256)) * 64
    hubsim.add_model("meta-llama/Llama-3.1-8B", {**card({"license": "llama3.1"}), "model.safetensors": weights,
                                                 "config.json": "{}"})
    hubsim.add_model("acme/copy", {**card({"license": "mit"}), "model.safetensors": weights})
    done = cli(env, "fingerprint", "meta-llama/Llama-3.1-8B")
    assert done.returncode == 0, done.stderr
    assert "model.safetensors" in done.stdout and "config.json" not in done.stdout
    rules = tmp_path / "rules" / "evidence"
    rules.mkdir(parents=True)
    (rules / "fingerprints.yaml").write_text("schema_version: 1\nfingerprints:\n" + done.stdout, encoding="utf-8")
    report = check_json(env, "acme/copy", "--rules", str(tmp_path / "rules"))
    assert [e["refers_to"] for e in report["evidence"] if e["code"] == "weights-identical"] == [
        "meta-llama/Llama-3.1-8B"]


def test_a_gguf_whose_header_license_differs_from_its_card(hubsim: HubSim, env: dict[str, str]) -> None:
    from tests.scan.test_headers import STRING, U32, gguf

    header = gguf([("general.architecture", STRING, "llama"), ("general.license", STRING, "llama3.1"),
                   ("general.base_model.count", U32, 1),
                   ("general.base_model.0.repo_url", STRING, "https://huggingface.co/meta-llama/Llama-3.1-8B")],
                  tail=b"\x00" * (2 * 1024 * 1024))
    hubsim.add_model("meta-llama/Llama-3.1-8B", card({"license": "llama3.1"}))
    hubsim.add_model("acme/m-GGUF", {**card({"license": "mit"}), "m.Q4_K_M.gguf": header})
    hubsim.add_model("acme/ok-GGUF", {**card({"license": "llama3.1", "base_model": "meta-llama/Llama-3.1-8B"}),
                                      "m.Q4_K_M.gguf": header})
    hubsim.clear_log()
    report = check_json(env, "acme/m-GGUF")
    items = [e for e in report["evidence"] if e["code"] == "gguf-header-mismatch"]
    assert {e["data"].get("header_license") or e["data"].get("header_base") for e in items} == {
        "llama3.1", "meta-llama/Llama-3.1-8B"}
    assert all(e["method"] == "gguf-header" and e["confidence"] == "high" for e in items)
    assert any(f["rule"] == "undeclared-lineage-in-files" for f in report["findings"])
    ranges = [r for r in hubsim.requests if r.path.endswith("m.Q4_K_M.gguf")]
    assert ranges and all("range" in r.headers for r in ranges)  # the header only, never the whole file
    ok = check_json(env, "acme/ok-GGUF")
    assert not [e for e in ok["evidence"] if e["code"] == "gguf-header-mismatch"]


def test_a_config_architecture_unlike_the_declared_bases_is_a_low_confidence_note(hubsim: HubSim,
                                                                                  env: dict[str, str]) -> None:
    hubsim.add_model("meta-llama/Llama-3.1-8B", {**card({"license": "llama3.1"}),
                                                 "config.json": '{"model_type": "llama"}'})
    hubsim.add_model("acme/tuned", {**card({"license": "llama3.1", "base_model": "meta-llama/Llama-3.1-8B"},
                                           "# Llama-3.1-8B-tuned\n"),
                                    "config.json": '{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}'})
    hubsim.add_model("acme/same", {**card({"license": "llama3.1", "base_model": "meta-llama/Llama-3.1-8B"}),
                                   "config.json": '{"model_type": "llama"}'})
    report = check_json(env, "acme/tuned")
    (item,) = [e for e in report["evidence"] if e["code"] == "config-architecture-mismatch"]
    assert item["confidence"] == "low" and "'qwen2'" in item["message"] and "'llama'" in item["message"]
    note = next(f for f in report["findings"] if f["rule"] == "architecture-differs-from-base")
    assert note["kind"] == "note"
    assert not [e for e in check_json(env, "acme/same")["evidence"] if e["code"] == "config-architecture-mismatch"]


def test_a_tokenizer_of_another_family_than_the_declared_base(hubsim: HubSim, env: dict[str, str],
                                                              tmp_path: Path) -> None:
    llama_tok, qwen_tok = '{"model": "llama3 bpe"}', '{"model": "qwen2 bpe"}'
    hubsim.add_model("meta-llama/Llama-3.1-8B", {**card({"license": "llama3.1"}), "tokenizer.json": llama_tok})
    hubsim.add_model("Qwen/Qwen2.5-7B", {**card({"license": "apache-2.0"}), "tokenizer.json": qwen_tok})
    hubsim.add_model("acme/claims-qwen-base", {**card({"license": "apache-2.0", "base_model": "Qwen/Qwen2.5-7B"}),
                                               "tokenizer.json": llama_tok})
    hubsim.add_model("acme/honest", {**card({"license": "apache-2.0", "base_model": "Qwen/Qwen2.5-7B"}),
                                     "tokenizer.json": qwen_tok})
    entries = cli(env, "fingerprint", "meta-llama/Llama-3.1-8B").stdout
    assert 'family: "llama"' in entries and "git_oid:" in entries  # a regular file: its git blob id
    rules = tmp_path / "rules" / "evidence"
    rules.mkdir(parents=True)
    (rules / "fingerprints.yaml").write_text("schema_version: 1\nfingerprints:\n" + entries, encoding="utf-8")
    report = check_json(env, "acme/claims-qwen-base", "--rules", str(tmp_path / "rules"))
    (item,) = [e for e in report["evidence"] if e["code"] == "tokenizer-of-another-family"]
    assert item["refers_to"] == "meta-llama/Llama-3.1-8B" and item["confidence"] == "medium"
    assert "Qwen/Qwen2.5-7B (qwen)" in item["message"]
    assert any(f["rule"] == "undeclared-lineage-in-files" for f in report["findings"])
    honest = check_json(env, "acme/honest", "--rules", str(tmp_path / "rules"))
    assert not [e for e in honest["evidence"] if e["code"] == "tokenizer-of-another-family"]
