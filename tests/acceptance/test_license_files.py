"""A Hub repo whose LICENSE file is another license than its card declares (issue 19 item 7), through the loopback
Hub: the file is read pinned to the commit evaluated (and from the client's cache offline) and compared with the
catalog's license texts."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.test_legal_readings import open_findings
from tests.acceptance.test_licensee_and_task import policycheck
from tests.hubsim import HubSim, make_card


def test_a_hub_repo_whose_license_file_is_llama_3_1_while_its_card_says_mit(
        hubsim: HubSim, hub_env: dict[str, str], tmp_path: Path) -> None:
    llama = (Path(__file__).parents[1] / "fixtures" / "licenses" / "llama3.1-LICENSE").read_text(encoding="utf-8")
    hubsim.add_model("acme/relabelled", {"README.md": make_card({"license": "mit"}, "# Relabelled\n"),
                                         "LICENSE": llama})
    code, report = policycheck(hub_env, "check", "acme/relabelled", "--format", "json")
    assert (code, report["verdict"]) == (3, "review"), open_findings(report)
    (f,) = [f for f in open_findings(report) if f["rule"] == "license-file-contradicts-card"]
    assert "acme/relabelled's LICENSE is the Llama 3.1 Community License Agreement" in f["message"]
    assert "its card says mit" in f["message"]
    (e,) = [e for e in report["evidence"] if e["code"] == "license-file-differs"]
    assert e["data"]["license"] == "llama3.1" and e["data"]["similarity"] >= 0.99
    # offline, from the client's cache of that commit: the same answer, no request
    code, report = policycheck(hub_env, "check", "acme/relabelled", "--format", "json", "--offline")
    assert [e["code"] for e in report["evidence"] if e["code"].startswith("license-file")] == ["license-file-differs"]
