"""End to end through the CLI, in-process: the verdicts, exit codes and JSON contract a user relies on."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import CARDS, card

REPORT_KEYS = {"schema", "tool", "subject", "verdict", "lineage", "findings", "obligations", "packs"}


def open_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["status"] == "open"]


def test_r1_distill_llama_8b_fails_on_its_llama_base(run_cli: Any) -> None:
    result = run_cli("check", card("deepseek-ai/DeepSeek-R1-Distill-Llama-8B"), "--cards", CARDS, "--format", "json")
    assert result.code == 1
    report = result.json()
    assert REPORT_KEYS <= report.keys() and report["schema"] == "policycheck/report/v1"
    assert report["verdict"] == "fail"
    assert report["subject"]["license"] == {**report["subject"]["license"], "declared": "mit", "known": True}
    errors = [f for f in open_findings(report) if f["severity"] == "error"]
    assert {f["ancestor"] for f in errors} == {"meta-llama/Llama-3.1-8B"}
    assert {f["rule"] for f in errors} >= {"derivative-drops-license-terms", "name-prefix-missing"}
    for f in errors:
        assert f["citation"]["source"] and f["citation"]["section"] and f["citation"]["license"] == "llama3.1"
    edge = next(e for e in report["lineage"] if e["parent"] == "meta-llama/Llama-3.1-8B")
    assert (edge["relation"], edge["declared_in"], edge["parent_license"]) == ("finetune", "curation", "llama3.1")
    assert edge["citation"]["quote"].startswith("DeepSeek-R1-Distill-Llama-8B is derived from Llama3.1-8B-Base")


def test_r1_distill_qwen_7b_passes_with_apache_obligations(run_cli: Any) -> None:
    result = run_cli("check", card("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"), "--cards", CARDS, "--format", "json")
    report = result.json()
    assert (result.code, report["verdict"]) == (0, "pass"), open_findings(report)
    apache = {o["clause"] for o in report["obligations"] if o["license"] == "apache-2.0"}
    assert {"license-copy", "notice-file", "state-changes", "retain-notices"} <= apache
    assert all(o["from"] == "Qwen/Qwen2.5-Math-7B" for o in report["obligations"] if o["license"] == "apache-2.0")
    v3 = next(e for e in report["lineage"] if e["parent"] == "deepseek-ai/DeepSeek-V3-Base")
    assert v3["relicensed_by"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"


STUDENT = """\
---
license: apache-2.0
base_model: mistralai/Mistral-7B-v0.1
teacher_model: partner/teacher-x
---
# acme student
"""

POLICY = """\
schema: policycheck/policy/v1
use: {commercial: true, distributed: true, hosted: true}
models:
  - id: mistralai/Mistral-7B-v0.1
    license: apache-2.0
    license_citation: {section: card, source: "https://huggingface.co/mistralai/Mistral-7B-v0.1", grade: policy}
  - id: partner/teacher-x
    license: apache-2.0
    license_citation: {section: "§1", source: "Partner agreement ACME-17", grade: policy}
    clauses:
      - type: no-distillation
        applies_to: [outputs]
        params: {scope: any-model}
        obligation: Do not train other models on teacher-x outputs.
        citation: {section: "§4.2", quote: "Licensee shall not use Outputs to train any model.",
                   source: "Partner agreement ACME-17", grade: policy}
"""

WAIVER = """\
waivers:
  - rule: teacher-forbids-distillation
    model: acme/student
    ancestor: partner/teacher-x
    reason: license-acquired
    justification: Written permission from the partner, LEGAL-1234.
    approved_by: legal@acme.example
    expires: 2026-12-31
"""


def student_repo(tmp_path: Path, policy: str) -> Path:
    folder = tmp_path / "acme" / "student"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(STUDENT)
    (folder / "model.safetensors").write_bytes(b"")
    (tmp_path / "policycheck.yaml").write_text(policy)
    return folder


def test_custom_no_distillation_clause_then_waiver_then_expiry(tmp_path: Path, run_cli: Any) -> None:
    folder = student_repo(tmp_path, POLICY)
    first = run_cli("check", folder, "--format", "json", "--today", "2026-11-24")
    assert first.code == 1
    finding = next(f for f in first.json()["findings"] if f["rule"] == "teacher-forbids-distillation")
    assert (finding["ancestor"], finding["status"]) == ("partner/teacher-x", "open")
    assert finding["citation"]["source"] == "Partner agreement ACME-17"

    (tmp_path / "policycheck.yaml").write_text(POLICY + WAIVER)
    waived = run_cli("check", folder, "--format", "json", "--today", "2026-11-24")
    report = waived.json()
    assert (waived.code, report["verdict"]) == (0, "pass")
    finding = next(f for f in report["findings"] if f["rule"] == "teacher-forbids-distillation")
    assert finding["status"] == "waived" and finding["waiver"]["approved_by"] == "legal@acme.example"

    expired = run_cli("check", folder, "--format", "json", "--today", "2027-01-15")
    report = expired.json()
    assert (expired.code, report["verdict"]) == (1, "fail")
    rules = {f["rule"]: f["status"] for f in report["findings"]}
    assert rules["teacher-forbids-distillation"] == "open" and rules["waiver-expired"] == "open"

    text = run_cli("check", folder, "--today", "2026-11-24")
    assert "waived" in text.out and "not legal advice" in text.out


def test_unreadable_card_is_exit_2_with_its_line_and_the_batch_goes_on(tmp_path: Path, run_cli: Any) -> None:
    broken = tmp_path / "acme__broken.md"
    broken.write_text("---\nlicense: mit\nbase_model: [acme/base\ndatasets: [x]\n---\n# broken\n")
    good = card("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B")
    result = run_cli("check", broken, good, "--cards", CARDS, "--format", "json")
    assert result.code == 2
    error, report = result.json()
    assert error["verdict"] == "error" and error["target"] == str(broken)
    (diag,) = error["error"]["diagnostics"]
    assert diag["file"] == str(broken) and diag["line"] >= 3
    assert report["verdict"] == "pass"
    text = run_cli("check", broken, good, "--cards", CARDS)
    assert f"{broken}:{diag['line']}:" in text.out and "PASS" in text.out and "Summary:" in text.out


def test_hub_id_not_available_offline_is_review(run_cli: Any) -> None:
    result = run_cli("acme/not-here", "--format", "json")
    assert result.code == 3
    (finding,) = open_findings(result.json())
    assert finding["rule"] == "subject-unavailable" and "not available offline" in finding["message"]


def test_hub_id_known_from_curations_offline(run_cli: Any) -> None:
    result = run_cli("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "--format", "json")
    report = result.json()
    assert result.code == 1
    assert {f["ancestor"] for f in open_findings(report) if f["severity"] == "error"} == {
        "meta-llama/Llama-3.3-70B-Instruct"}


def test_invalid_target_is_exit_2(run_cli: Any) -> None:
    result = run_cli("check", "../../etc/passwd-not-here", "--format", "json")
    assert result.code == 2 and "no such file or folder" in result.out
    typo = run_cli("check", "READMEE.md", "--format", "json")  # a file name is never taken for a Hub id
    assert typo.code == 2 and "READMEE.md: no such file or folder" in typo.out
    bad = run_cli("check", "acme/x?y=1", "--format", "json")
    assert bad.code == 2 and "not a valid Hub repo id" in bad.out


def test_fail_on_warning(tmp_path: Path, run_cli: Any) -> None:
    c = tmp_path / "acme__m.md"
    c.write_text("---\nlicence: mit\n---\n")
    assert run_cli("check", c).code == 0
    assert run_cli("check", c, "--fail-on", "warning").code == 1


def test_invalid_policy_file_is_exit_2_with_position(tmp_path: Path, run_cli: Any) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(textwrap.dedent("""\
        schema: policycheck/policy/v1
        use: {commercial: maybe}
        licenses: {deny: [no-such-license]}
        waivers:
          - {rule: no-such-rule, model: a/b, reason: because, justification: x, approved_by: y, expires: 2026-01-01}
        """))
    result = run_cli("check", card("Qwen/Qwen2.5-14B"), "--policy", policy)
    assert result.code == 2
    assert f"{policy}:2:" in result.err and "commercial" in result.err
    policy.write_text(policy.read_text().replace("maybe", "true").replace("because", "legal-approved"))
    result = run_cli("check", card("Qwen/Qwen2.5-14B"), "--policy", policy)
    assert result.code == 2
    assert f"{policy}:3:" in result.err and "unknown license id 'no-such-license'" in result.err
    assert f"{policy}:5:" in result.err and "unknown rule 'no-such-rule'" in result.err


def test_rules_and_licenses_commands(run_cli: Any) -> None:
    listed = run_cli("rules", "list")
    assert listed.code == 0 and "core/teacher-forbids-distillation" in listed.out
    validated = run_cli("rules", "validate")
    assert validated.code == 0 and validated.out.startswith("ok: ")
    tested = run_cli("rules", "test")
    assert tested.code == 0 and tested.out.strip().endswith(" passed, 0 failed")
    nc = run_cli("licenses", "--category", "non-commercial", "--format", "json")
    ids = {row["id"] for row in nc.json()}
    assert {"cc-by-nc-4.0", "qwen-research"} <= ids and "mit" not in ids


def test_licenses_id_shows_one_license_with_the_citation_of_each_clause(run_cli: Any) -> None:
    shown = run_cli("licenses", "llama3.1")
    assert shown.code == 0 and shown.out.startswith("llama3.1: Llama 3.1 Community License Agreement\n")
    assert "§1.b.i(A): “If you distribute or make available the Llama Materials" in shown.out
    assert ("source: meta-llama/llama-models@a9c89c4 models/llama3_1/LICENSE [grade V: read against the "
            "licensor's own text]") in " ".join(shown.out.split())  # wrapped to 80 columns
    as_json = run_cli("licenses", "Llama-3.1", "--format", "json").json()  # an alias names the entry too
    assert as_json["id"] == "llama3.1" and all(c["citation"]["section"] for c in as_json["clauses"])
    assert len(as_json["clauses"]) == int(shown.out.rstrip().rsplit("\n", 1)[-1].split()[0])
    identity = run_cli("licenses", "isc")
    assert "no clauses profiled: rules answer review for this license" in identity.out
    missing = run_cli("licenses", "no-such-license")
    assert missing.code == 2 and "no license 'no-such-license' in the catalog" in missing.err and not missing.out


def test_local_check_does_not_import_the_http_stack() -> None:
    script = ("import sys\nfrom policy.cli.app import main\n"
              f"code = main(['check', {str(card('Qwen/Qwen2.5-14B'))!r}, '--format', 'json'])\n"
              "print(code, 'huggingface_hub' in sys.modules, 'httpx2' in sys.modules, 'httpx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 False False False"


def test_console_script_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "policy.cli", "version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("policycheck ")


def test_the_main_job_gives_the_verdicts_the_examples_readme_promises(run_cli: Any) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    cards = sorted(str(p) for p in (examples / "cards").glob("*.md"))
    result = run_cli("check", "--offline", "--cards", examples / "cards", *cards, "--format", "json")
    verdicts = {r["subject"]["id"]: r["verdict"] for r in result.json()}
    assert result.code == 1
    fails = {"deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
             "unsloth/DeepSeek-R1-Distill-Llama-8B-GGUF", "Ultralytics/YOLOv8", "bartowski/Codestral-22B-v0.1-GGUF"}
    assert {k for k, v in verdicts.items() if v == "fail"} == fails
    assert {k for k, v in verdicts.items() if v == "review"} == {"princeton-nlp/gemma-2-9b-it-SimPO",
                                                                "QuantFactory/Meta-Llama-3-8B-Instruct-GGUF"}
    readme = (examples / "README.md").read_text()
    for model in fails:
        assert model.split("/")[1].split("-Distill-")[0] in readme


def test_text_output_fits_80_columns_and_leads_with_the_verdict(run_cli: Any) -> None:
    examples = Path(__file__).parents[2] / "examples" / "cards"
    result = run_cli("check", "--offline", "--cards", examples, *sorted(examples.glob("*.md")))
    lines = result.out.splitlines()
    assert lines and max(len(line) for line in lines) <= 80
    assert not [line for line in lines if line != line.rstrip()]
    firsts = [lines[0]] + [lines[i + 1] for i, line in enumerate(lines[:-1]) if set(line) == {"─"}]
    assert all(line.split()[0] in ("PASS", "FAIL", "REVIEW", "ERROR", "Summary:") for line in firsts)
    assert "it is not legal advice" in result.out
