"""A model the prose names as written but no list holds, resolved to its repo (issue 19 item 1): offline through
the local cards' file names, online through one search of the Hub's model listing per name (bounded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.acceptance.test_licensee_and_task import policycheck
from tests.hubsim import HubSim, make_card

STUDENT_BODY = "# Coder\n\nacme-coder-6.7b-instruct is a 6.7B model initialized from acme-coder-6.7b-base.\n"


def prose_items(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in report["evidence"] if e["code"].startswith("prose-undeclared")]


def test_offline_a_name_resolves_through_the_local_cards(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "acme__acme-coder-6.7b-base.md").write_text("---\nlicense: mit\n---\n# Base\n", encoding="utf-8")
    subject = cards / "acme__acme-coder-6.7b-instruct.md"
    subject.write_text("---\nlicense: mit\n---\n" + STUDENT_BODY, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "policy.cli", "check", str(subject), "--cards", str(cards),
                           "--offline", "--format", "json"], capture_output=True, text=True, timeout=120,
                          check=False)
    import json

    (item,) = prose_items(json.loads(proc.stdout))
    assert item["refers_to"] == "acme/acme-coder-6.7b-base" and item["data"]["resolved_by"] == "the local cards"
    assert "('acme-coder-6.7b-base' is acme/acme-coder-6.7b-base, by the local cards)" in item["message"]


def test_online_a_name_resolves_through_one_search_of_the_hub(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("acme/acme-coder-6.7b-base", {"README.md": make_card({"license": "mit"}, "# Base\n")})
    hubsim.add_model("someone/other-model", {"README.md": make_card({"license": "mit"}, "# Other\n")})
    hubsim.add_model("acme/acme-coder-6.7b-instruct", {"README.md": make_card({"license": "mit"}, STUDENT_BODY)})
    code, report = policycheck(hub_env, "check", "acme/acme-coder-6.7b-instruct", "--format", "json")
    assert code == 3 and report["verdict"] == "review"  # undeclared lineage in prose: review
    (item,) = prose_items(report)
    assert item["refers_to"] == "acme/acme-coder-6.7b-base"
    assert item["data"]["resolved_by"] == "the Hub's model search"
    searches = [r for r in hubsim.requests if r.path == "/api/models" and "search" in r.query]
    assert len(searches) == 1


def test_the_hub_is_searched_at_most_eight_times_per_target(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    body = "# Merge\n\n" + "\n\n".join(f"It is initialized from nobody-model-{i}b-base." for i in range(20)) + "\n"
    hubsim.add_model("acme/many", {"README.md": make_card({"license": "mit"}, body)})
    code, report = policycheck(hub_env, "check", "acme/many", "--format", "json")
    assert code == 3
    items = prose_items(report)
    assert len(items) == 20 and all(e["refers_to"] is None for e in items)  # reported as written
    searches = [r for r in hubsim.requests if r.path == "/api/models" and "search" in r.query]
    assert len(searches) == 8
