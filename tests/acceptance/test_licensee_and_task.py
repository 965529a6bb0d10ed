"""What the student is, and the licensee's own figures (issue 18, items 2 and 6), end to end through the CLI.

Item 2: clauses such as Llama 2 §1.b.v and Tongyi Qianwen §5(b) ("any other large language model") bind language-
model students only. The Hub computes a `pipeline_tag` for every model even when its card has none (hub-api.md §7):
through the loopback Hub (tests/hubsim, the real huggingface_hub client in a subprocess), a Qwen-based student of a
Llama 2 chat teacher whose base the Hub computes as text-generation fails on §1.b.v; the same cards offline, with
nothing saying what the student is, are review and say what is missing. A config.json beside a local card says it
too.

Item 6: the policy file's `licensee.monthly_active_users` and `licensee.annual_revenue_usd` against Llama §2 (700
million, tested once on the version's release date), Tongyi Qianwen §4 (100 million under commercial use) and a
revenue limit (a fixture catalog entry after Stability AI Community License §III, given with --rules).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.acceptance.test_legal_readings import COMMERCIAL, check, open_findings, write_card, write_policy
from tests.hubsim import HubSim, make_card

REVENUE_RULES = Path(__file__).resolve().parents[1] / "fixtures" / "rules" / "revenue-limit"
STUDENT = "acme/qwen-student"
TEACHER = "meta-llama/Llama-2-70b-chat-hf"
BASE = "Qwen/Qwen2.5-7B"
STUDENT_CARD = {"license": "apache-2.0", "base_model": BASE, "teacher_model": TEACHER}  # no pipeline_tag


def policycheck(env: dict[str, str], *args: str | Path) -> tuple[int, Any]:
    proc = subprocess.run([sys.executable, "-m", "policy.cli", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode not in (2, 4) and "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def by_rule(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in open_findings(report) if f["rule"] == rule]


# -- item 2: what the student is ----------------------------------------------------------------------------------

def test_a_student_whose_base_the_hub_computes_as_text_generation_fails_on_llama_2_1bv(
        hubsim: HubSim, hub_env: dict[str, str], tmp_path: Path) -> None:
    # Neither card states a pipeline_tag; the Hub computes the base's from its config.json.
    config = json.dumps({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"})
    hubsim.add_model(BASE, {"README.md": make_card({"license": "apache-2.0"}, "# Qwen2.5-7B\n"),
                            "config.json": config})
    hubsim.add_model(TEACHER, {"README.md": make_card({"license": "llama2"}, "# Llama 2\n")}, gated="manual")
    hubsim.add_model(STUDENT, {"README.md": make_card(STUDENT_CARD, "# A student\n")})
    policy = write_policy(tmp_path, COMMERCIAL)

    code, report = policycheck(hub_env, "check", STUDENT, "--policy", policy, "--format", "json")
    assert (code, report["verdict"]) == (1, "fail"), open_findings(report)
    (finding,) = by_rule(report, "teacher-forbids-distillation")
    assert finding["ancestor"] == TEACHER and finding["citation"]["section"] == "§1.b.v"
    assert "is a language model by the Hub's computed pipeline_tag text-generation of its weights ancestor " \
           f"{BASE}" in finding["message"]
    assert not by_rule(report, "teacher-scope-unknown")

    # The Hub's answer is kept with the cache: offline from the warm cache, the same fact decides.
    code, report = policycheck(hub_env, "check", STUDENT, "--policy", policy, "--format", "json", "--offline")
    assert (code, report["verdict"]) == (1, "fail"), open_findings(report)
    assert "the Hub's computed pipeline_tag text-generation" in by_rule(report, "teacher-forbids-distillation")[0][
        "message"]

    # The same cards offline, without the Hub: nothing says what the student is, so review, saying what is missing.
    cards = tmp_path / "cards"
    write_card(cards, BASE, {"license": "apache-2.0"})
    write_card(cards, TEACHER, {"license": "llama2"})
    subject = write_card(cards, STUDENT, STUDENT_CARD)
    code, report = check_offline(subject, cards, policy)
    assert (code, report["verdict"]) == (3, "review"), open_findings(report)
    (unknown,) = by_rule(report, "teacher-scope-unknown")
    assert unknown["ancestor"] == TEACHER and unknown["kind"] == "review"
    assert f"nothing says what kind of model {STUDENT} is: no pipeline_tag on its card or computed by the Hub " \
           "(read online only), no config.json architectures" in unknown["message"]
    assert not by_rule(report, "teacher-forbids-distillation")


def check_offline(subject: Path, cards: Path, policy: Path, *extra: str | Path) -> tuple[int, Any]:
    return policycheck({**_no_hub_env(), "HF_HOME": str(cards / ".no-hub-cache")}, "check", subject, "--cards", cards,
                       "--policy", policy, "--format", "json", "--offline", *extra)


def _no_hub_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}


def test_the_config_json_beside_a_local_card_says_what_the_student_is(tmp_path: Path, run_cli: Any) -> None:
    cards = tmp_path / "cards"
    write_card(cards, TEACHER, {"license": "llama2"})
    folder = tmp_path / "models" / "acme" / "student"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("---\n" + yaml.safe_dump({"license": "apache-2.0", "teacher_model": TEACHER})
                                      + "---\n# A student\n", encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}), encoding="utf-8")
    policy = write_policy(tmp_path, COMMERCIAL)
    code, report = check(run_cli, cards, folder, policy)
    assert (code, report["verdict"]) == (1, "fail"), open_findings(report)
    (finding,) = by_rule(report, "teacher-forbids-distillation")
    assert "is a language model by the config.json architectures LlamaForCausalLM." in finding["message"]

    # An image classifier's config.json puts the same student outside "any other large language model".
    (folder / "config.json").write_text(json.dumps({"architectures": ["ViTForImageClassification"]}),
                                        encoding="utf-8")
    code, report = check(run_cli, cards, folder, policy)
    assert not by_rule(report, "teacher-forbids-distillation") and not by_rule(report, "teacher-scope-unknown")


# -- item 6: the licensee's figures -------------------------------------------------------------------------------

def llama_fine_tune(folder: Path) -> Path:
    write_card(folder, "meta-llama/Llama-3.1-8B", {"license": "llama3.1", "pipeline_tag": "text-generation"})
    return write_card(folder, "acme/Llama-3.1-8B-support", {"license": "llama3.1",
                                                            "base_model": "meta-llama/Llama-3.1-8B"})


def test_llama_3_1_section_2_is_judged_from_the_licensees_monthly_active_users(tmp_path: Path,
                                                                               run_cli: Any) -> None:
    subject = llama_fine_tune(tmp_path)

    over = write_policy(tmp_path, COMMERCIAL, licensee={"monthly_active_users": 800_000_000})
    code, report = check(run_cli, tmp_path, subject, over)
    assert (code, report["verdict"]) == (1, "fail"), open_findings(report)
    (finding,) = [f for f in open_findings(report) if f["kind"] == "violation"]
    assert finding["rule"] == "licensee-over-license-limit" and finding["license"] == "llama3.1"
    assert finding["citation"]["section"] == "§2"
    assert finding["citation"]["source"] == "meta-llama/llama-models@a9c89c4:models/llama3_1/LICENSE"
    assert "on the Llama 3.1 version release date" in finding["citation"]["quote"]
    assert "in the calendar month before the Llama 3.1 version release date (23 July 2024), a test made once" \
           in finding["message"] and "licensee.monthly_active_users: 800 million" in finding["message"]
    assert report["policy"]["licensee"]["monthly_active_users"] == 800_000_000

    # Not given: review, once, naming the fact to add (the base and the subject both carry Llama 3.1).
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (3, "review"), open_findings(report)
    (missing,) = open_findings(report)
    assert missing["rule"] == "licensee-figure-missing" and missing["kind"] == "review"
    assert "add `licensee.monthly_active_users: N`" in missing["message"]
    assert any(o["clause"] == "mau-limit" for o in report["obligations"])

    # Under it: no finding. The duty stays listed, saying the test is made once, on the release date (§O.2).
    under = write_policy(tmp_path, COMMERCIAL, licensee={"monthly_active_users": 5_000_000})
    code, report = check(run_cli, tmp_path, subject, under)
    assert (code, report["verdict"]) == (0, "pass"), open_findings(report)
    (duty,) = [o for o in report["obligations"] if o["clause"] == "mau-limit"]
    assert "23 July 2024" in duty["text"] and "the test is made once, on that date" in duty["text"]


def test_tongyi_qianwen_section_4_binds_commercial_use_above_100_million(tmp_path: Path, run_cli: Any) -> None:
    write_card(tmp_path, "Qwen/Qwen-7B-Chat", {"license": "other", "license_name": "tongyi-qianwen",
                                              "pipeline_tag": "text-generation"})
    subject = write_card(tmp_path, "acme/qwen-chat-ft", {"license": "other", "license_name": "tongyi-qianwen",
                                                         "base_model": "Qwen/Qwen-7B-Chat"})
    figure = {"monthly_active_users": 150_000_000}
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, COMMERCIAL, licensee=figure))
    assert (code, report["verdict"]) == (1, "fail"), open_findings(report)
    (finding,) = [f for f in open_findings(report) if f["kind"] == "violation"]
    assert (finding["rule"], finding["citation"]["section"]) == ("licensee-over-license-limit", "§4")

    research = {**COMMERCIAL, "commercial": False}
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, research, licensee=figure))
    assert not by_rule(report, "licensee-over-license-limit") and not by_rule(report, "licensee-figure-missing")
    code, report = check(run_cli, tmp_path, subject, write_policy(tmp_path, research))
    assert not by_rule(report, "licensee-figure-missing")  # §4 asks nothing of non-commercial use


def test_a_revenue_limit_is_judged_from_the_licensees_annual_revenue(tmp_path: Path, run_cli: Any) -> None:
    """The mechanism for a revenue-limit clause, with a fixture catalog entry after Stability AI §III (--rules)."""
    write_card(tmp_path, "acme/community-base", {"license": "other", "license_name": "revenue-limit-fixture",
                                                 "pipeline_tag": "text-to-image"})
    subject = write_card(tmp_path, "acme/community-ft", {"license": "other", "license_name": "revenue-limit-fixture",
                                                         "base_model": "acme/community-base"})

    def run(policy: Path) -> tuple[int, Any]:
        result = run_cli("check", subject, "--cards", tmp_path, "--policy", policy, "--format", "json", "--offline",
                         "--rules", REVENUE_RULES)
        return result.code, result.json()

    code, report = run(write_policy(tmp_path, COMMERCIAL, licensee={"annual_revenue_usd": 2_500_000}))
    assert (code, report["verdict"]) == (1, "fail"), open_findings(report)
    (finding,) = by_rule(report, "licensee-over-license-limit")
    assert finding["citation"]["section"] == "§III" and "USD 2,500,000 in annual revenue" in finding["message"]

    code, report = run(write_policy(tmp_path, COMMERCIAL))
    assert (code, report["verdict"]) == (3, "review"), open_findings(report)
    (missing,) = by_rule(report, "licensee-figure-missing")
    assert "add `licensee.annual_revenue_usd: N`" in missing["message"]

    code, report = run(write_policy(tmp_path, COMMERCIAL, licensee={"annual_revenue_usd": 400_000}))
    assert (code, report["verdict"]) == (0, "pass"), open_findings(report)
    # A condition that holds for as long as the license is used stays listed.
    assert [o["clause"] for o in report["obligations"] if o["clause"] == "revenue-limit"] == ["revenue-limit"]


def test_the_licensees_figures_are_validated_with_their_position(tmp_path: Path, run_cli: Any) -> None:
    subject = llama_fine_tune(tmp_path)
    for value, problem in ((-1, "less than the minimum"), ("many", "is not of type 'integer'"),
                           (10**12, "greater than the maximum"), (True, "is not of type 'integer'")):
        policy = tmp_path / "policycheck.yaml"
        policy.write_text(yaml.safe_dump({"schema": "policycheck/policy/v1",
                                          "licensee": {"monthly_active_users": value}}), encoding="utf-8")
        result = run_cli("check", subject, "--cards", tmp_path, "--policy", policy, "--offline")
        assert result.code == 2, (value, result.err)
        assert f"{policy}:2:25:" in result.err and problem in result.err, result.err  # the value's position
