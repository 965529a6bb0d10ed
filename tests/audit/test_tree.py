"""The tree audit end to end (`policycheck tree`, policy/audit/tree.py): the real CLI and huggingface_hub client
against hubsim, over a generated tree of 2,000 descendants of a Llama-3.1-licensed root (tests/support/treegen.py).

Counts are asserted against each category's expected verdict; an audit killed mid-way resumes to the same
result; a re-run after one child changed fetches only that child; a failed listing is a review, never a pass."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim import HubSim, make_card
from tests.hubsim.plugin import make_hub_env
from tests.support.sarif_check import check_sarif
from tests.support.treegen import EXPECTED, GONE_REASON, ROOT, Tree, add_gone_faults, generate

REPO = Path(__file__).resolve().parents[2]
N = 2000
CLI = [sys.executable, "-m", "policy.cli"]
LICENSEE_POLICY = REPO / "tests" / "support" / "licensee_policy.yaml"  # the licensee's figures, given


def _env(hub: HubSim, tmp: Path) -> dict[str, str]:
    env = make_hub_env(hub, tmp / "hf")
    env.update(POLICYCHECK_CACHE=str(tmp / "cache"), POLICYCHECK_HUB_TIMEOUT="5", POLICYCHECK_HUB_ATTEMPTS="2",
               POLICYCHECK_HUB_MAX_WAIT="5", NO_COLOR="1", PYTHONPATH=str(REPO))
    return env


def tree_cmd(*args: str) -> list[str]:
    return [*CLI, "tree", ROOT, "--policy", str(LICENSEE_POLICY), *args]


def run(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tree_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def audit_json(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    done = run(env, "--format", "json", *args)
    assert done.returncode in (0, 1, 3), done.stderr
    return done.returncode, json.loads(done.stdout)


def model_info_requests(hub: HubSim) -> Counter[str]:
    """Per repo id, the `model_info` requests (GET /api/models/<org>/<name>[/revision/<rev>])."""
    out: Counter[str] = Counter()
    for r in hub.requests:
        parts = r.path.split("/")
        if r.path.startswith("/api/models/") and len(parts) >= 5:
            out["/".join(parts[3:5])] += 1
    return out


def listings(hub: HubSim) -> int:
    return sum(1 for r in hub.requests if r.path == "/api/models")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubSim, Tree, Path]]:
    tmp = tmp_path_factory.mktemp("tree")
    with HubSim(tmp / "hub") as hub:
        tree = generate(hub, N)
        yield hub, tree, tmp
        assert not hub.server_errors, hub.server_errors


@pytest.fixture(scope="module")
def first_run(big: tuple[HubSim, Tree, Path]) -> dict[str, Any]:
    hub, _tree, tmp = big
    hub.clear_log()
    code, doc = audit_json(_env(hub, tmp), "--state", str(tmp / "state.sqlite"))
    doc["_exit"] = code
    doc["_listings"] = listings(hub)
    doc["_model_info"] = model_info_requests(hub)
    return doc


def test_2000_descendants_are_judged_with_the_expected_verdicts(big: tuple[HubSim, Tree, Path],
                                                              first_run: dict[str, Any]) -> None:
    _hub, tree, _ = big
    doc = first_run
    expected = tree.expected()
    assert doc["counts"] == {"discovered": N, "evaluated": N, "pass": expected["pass"],
                             "fail": expected["fail"], "review": expected["review"]}
    assert expected["pass"] and expected["fail"] and expected["review"]
    assert doc["verdict"] == "fail" and doc["_exit"] == 1 and doc["complete"] is True
    rows = {r["id"]: r for r in doc["rows"]}
    assert set(rows) == set(tree.nodes)
    mismatched = [(i, tree.nodes[i].category, r["verdict"], r["reason"]) for i, r in rows.items()
                  if r["verdict"] != EXPECTED[tree.nodes[i].category]]
    assert not mismatched, mismatched[:5]
    for repo_id, node in tree.nodes.items():
        row = rows[repo_id]
        assert (row["parent"], row["depth"]) == (node.parent, node.depth)
        assert row["relation"] == node.relation
    # every relation and depth is present; gated descendants are judged from the listing's card data
    assert {r["relation"] for r in rows.values()} == {"finetune", "adapter", "merge", "quantized"}
    assert {r["depth"] for r in rows.values()} == {1, 2, 3}
    gated = [r for i, r in rows.items() if tree.nodes[i].category == "gated"]
    assert gated and all(r["gated"] == "manual" and r["verdict"] == "pass" and r["source"] == "listing"
                         for r in gated)
    # the repo gone mid-walk is a review row that says why, never a pass and never a crash
    (gone,) = tree.gone
    assert rows[gone]["verdict"] == "review" and GONE_REASON in rows[gone]["reason"]
    relicensed = [r for i, r in rows.items() if tree.nodes[i].category == "mit"]
    assert all(r["verdict"] == "fail" and r["findings"] and r["reason"] for r in relicensed)
    # the summary: declared licenses against the root's, top violations by downloads
    by_license = {entry["license"]: entry for entry in doc["licenses"]}
    assert by_license["llama3.1"]["same_as_root"] is True and by_license["mit"]["same_as_root"] is False
    assert by_license["mit"]["fail"] == by_license["mit"]["count"] == Counter(
        n.category for n in tree.nodes.values())["mit"]
    top = [r["downloads"] for r in doc["top_violations"]]
    fails = sorted((r["downloads"] for r in rows.values() if r["verdict"] == "fail"), reverse=True)
    assert top == fails[:10]


def test_discovery_uses_the_listing_not_one_request_per_child(big: tuple[HubSim, Tree, Path],
                                                             first_run: dict[str, Any]) -> None:
    _hub, tree, _ = big
    doc = first_run
    # one listing per node (the root and every descendant: the Hub's base_model tag is not transitive), plus a
    # second page for the root's 1,200 children
    assert doc["_listings"] == doc["requests"]["listing"] == N + 2
    # model_info only for what the listing cannot answer: the root, the out-of-tree base of the merges, and
    # the `license: other` children (whose LICENSE file decides); never for the other 1,900 descendants
    others = {i for i, n in tree.nodes.items() if n.category == "other"}
    fetched = set(doc["_model_info"])
    assert fetched == {ROOT, "mistralai/Mistral-7B-v0.1"} | others
    assert all(count == 1 for repo, count in doc["_model_info"].items() if repo in others)


def test_a_rerun_fetches_only_the_child_whose_sha_changed(big: tuple[HubSim, Tree, Path],
                                                         first_run: dict[str, Any]) -> None:
    hub, tree, tmp = big
    changed = sorted(i for i, n in tree.nodes.items() if n.category == "other" and i not in tree.gone
                     and i not in tree.internal)[0]
    node = tree.nodes[changed]
    hub.add_model(changed, {"README.md": make_card({"license": "other", "base_model": node.parent},
                                                   "# changed\n")}, downloads=node.downloads)
    hub.clear_log()
    code, doc = audit_json(_env(hub, tmp), "--state", str(tmp / "state.sqlite"))
    assert doc["run"] == {"resumed": False, "evaluated": 1, "reused": N - 1}
    assert set(model_info_requests(hub)) == {ROOT, changed}  # the root is read each run; nothing else
    assert doc["counts"] == first_run["counts"] and code == first_run["_exit"]
    before = {r["id"]: r for r in first_run["rows"]}
    after = {r["id"]: r for r in doc["rows"]}
    assert after[changed]["sha"] != before[changed]["sha"]
    assert {i for i in before if before[i] != after[i]} == {changed}


def test_a_killed_audit_resumes_to_the_same_result(big: tuple[HubSim, Tree, Path],
                                                  first_run: dict[str, Any]) -> None:
    hub, tree, tmp = big
    state = tmp / "killed.sqlite"
    env = _env(hub, tmp)
    hub.faults.latency(0.002, path="^/api/models$")  # a slower Hub, so that the kill lands mid-walk
    try:
        proc = subprocess.Popen(tree_cmd("--format", "json", "--state", str(state), "-q"), env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        evaluated = 0
        while time.monotonic() < deadline and proc.poll() is None:
            evaluated = _evaluated_rows(state)
            if evaluated >= 1500:  # past the root's 1,200 children: some nodes are listed to the end
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the audit ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        hub.faults.clear()
        add_gone_faults(hub, tree)
    kept = _evaluated_rows(state)
    assert 1500 <= kept < N
    hub.clear_log()
    code, doc = audit_json(env, "--state", str(state))
    assert doc["run"]["resumed"] is True and doc["run"]["reused"] >= kept - 1
    assert doc["run"]["evaluated"] <= N - kept + 1
    assert listings(hub) < first_run["_listings"]  # nodes listed to the end before the kill are not listed again
    assert code == first_run["_exit"] and doc["counts"] == first_run["counts"]
    assert doc["rows"] == first_run["rows"] or _differs_only_in(doc["rows"], first_run["rows"], tree)


def _differs_only_in(rows: list[dict[str, Any]], reference: list[dict[str, Any]], tree: Tree) -> bool:
    """The re-run test changed one child before this one ran; everything else must be identical."""
    a = {r["id"]: r for r in rows}
    b = {r["id"]: r for r in reference}
    diff = {i for i in b if a.get(i) != b[i]}
    return set(a) == set(b) and len(diff) <= 1 and all(tree.nodes[i].category == "other" for i in diff)


def _evaluated_rows(state: Path) -> int:
    if not state.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT COUNT(*) FROM evaluated").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


# -- a small tree for the rest ---------------------------------------------------------------------------------

@pytest.fixture
def small(hubsim: HubSim, tmp_path: Path) -> tuple[HubSim, Tree, dict[str, str]]:
    return hubsim, generate(hubsim, 100), _env(hubsim, tmp_path)


def test_a_failed_listing_is_a_review_of_that_node_and_of_the_audit(
        small: tuple[HubSim, Tree, dict[str, str]]) -> None:
    hub, tree, env = small
    node = sorted(tree.internal)[0]
    hub.faults.status(403, path="^/api/models$", query=f"filter=base_model:{re.escape(node)}(&|$)")
    code, doc = audit_json(env)
    rows = {r["id"]: r for r in doc["rows"]}
    assert rows[node]["verdict"] == "review" and "its children could not be listed" in rows[node]["reason"]
    assert "403" in rows[node]["reason"]
    assert doc["complete"] is False and any(node in p for p in doc["problems"])
    assert not any(r["parent"] == node for r in rows.values())
    assert doc["verdict"] in ("fail", "review") and code in (1, 3)


def test_a_failed_root_listing_is_never_a_pass(hubsim: HubSim, tmp_path: Path) -> None:
    hubsim.add_model(ROOT, {"README.md": make_card({"license": "llama3.1"})})
    hubsim.faults.status(503, path="^/api/models$")
    env = {**_env(hubsim, tmp_path), "POLICYCHECK_HUB_TIMEOUT": "1", "POLICYCHECK_HUB_ATTEMPTS": "1",
           "POLICYCHECK_HUB_MAX_WAIT": "1"}  # the client's own retries of a 503 outlast this deadline
    done = run(env, "--format", "json")
    doc = json.loads(done.stdout)
    assert done.returncode == 3 and doc["verdict"] == "review" and doc["counts"]["discovered"] == 0
    assert doc["problems"] and f"the children of {ROOT} could not be listed" in doc["problems"][0]
    assert doc["complete"] is False


def test_filters_depth_relation_limit_and_downloads(small: tuple[HubSim, Tree, dict[str, str]]) -> None:
    _hub, tree, env = small
    _, doc = audit_json(env, "--depth", "1")
    assert {r["depth"] for r in doc["rows"]} == {1}
    assert doc["counts"]["discovered"] == sum(1 for n in tree.nodes.values() if n.depth == 1)
    _, doc = audit_json(env, "--relation", "finetune", "--relation", "quantized")
    assert {r["relation"] for r in doc["rows"]} == {"finetune", "quantized"}
    reachable = {i for i, n in tree.nodes.items() if n.relation in ("finetune", "quantized")
                 and (n.parent == ROOT or tree.nodes[n.parent].relation in ("finetune", "quantized"))}
    assert {r["id"] for r in doc["rows"]} == reachable
    _, doc = audit_json(env, "--limit", "7")
    assert doc["counts"]["discovered"] == 7 and doc["complete"] is False
    assert any("--limit" in p for p in doc["problems"])
    _, doc = audit_json(env, "--min-downloads", "50000")
    assert doc["rows"] and all(r["downloads"] >= 50000 for r in doc["rows"])
    assert doc["counts"]["discovered"] == sum(1 for n in tree.nodes.values() if n.downloads >= 50000)


def test_every_format_from_the_cli(small: tuple[HubSim, Tree, dict[str, str]], tmp_path: Path) -> None:
    hub, tree, env = small
    state = tmp_path / "s.sqlite"
    text = run(env, "--state", str(state))
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert "fail" in lines[0].lower() and all(len(line) <= 80 for line in lines)
    assert "not legal advice" in text.stdout
    assert "100 discovered, 100 judged" in text.stderr  # plain progress lines off a terminal
    table = list(csv.DictReader(io.StringIO(run(env, "--state", str(state), "-f", "csv", "-q").stdout)))
    assert len(table) == 100 and {r["id"] for r in table} == set(tree.nodes)
    # every rule of a row, for a pivot by issue; links on the Hub the audit read (HF_ENDPOINT: the emulator)
    category = {i: n.category for i, n in tree.nodes.items()}
    for r in table:
        rules = r["rules"].split(";") if r["rules"] else []
        assert (r["verdict"] == "pass") == (rules == []), r
        assert r["url"] == f"{hub.url.rstrip('/')}/{r['id']}"
        if category[r["id"]] == "none":
            assert "license-missing" in rules and "declares no license" in r["reason"]
        if category[r["id"]] == "llama-unnamed":
            assert rules[0] == "name-prefix-missing" and "must begin with" in r["reason"]
    _code, doc = audit_json(env, "--state", str(state), "-q")
    assert doc["endpoint"] == hub.url.rstrip("/")
    flagged = [r for r in table if r["verdict"] != "pass"]
    by_rule = {x["rule"]: x["descendants"] for x in doc["by_rule"]}
    assert by_rule == Counter(rule for r in flagged for rule in r["rules"].split(";"))
    by_org = {x["org"]: (x["fail"], x["review"], x["pass"]) for x in doc["by_org"]}
    assert by_org == {org: tuple(sum(1 for r in table if r["id"].split("/")[0] == org and r["verdict"] == v)
                                 for v in ("fail", "review", "pass")) for org in {r["id"].split("/")[0] for r in table}}
    assert "by rule (" in text.stdout and "by organisation (" in text.stdout
    markdown = run(env, "--state", str(state), "-f", "markdown", "-q").stdout
    assert "not legal advice" in markdown and sum(1 for n in tree.nodes if n in markdown) == 100
    sarif = json.loads(run(env, "--state", str(state), "-f", "sarif", "-q").stdout)
    check_sarif(sarif, "tree")  # the schema and GitHub's ingestion rules (tests/support/sarif_check.py)
    results = sarif["runs"][0]["results"]
    expected = tree.expected()
    assert len(results) == expected["fail"] + expected["review"]
    out = tmp_path / "tree.html"
    done = run(env, "--state", str(state), "-f", "html", "-o", str(out), "-q")
    assert done.returncode == 1 and done.stdout == "" and "<table" in out.read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]*)"', out.read_text(encoding="utf-8"))
    assert hrefs and all(h.startswith(hub.url.rstrip("/") + "/") for h in hrefs)
    assert "<h2>By organisation</h2>" in out.read_text(encoding="utf-8")


def test_usage_errors(hubsim: HubSim, tmp_path: Path) -> None:
    env = _env(hubsim, tmp_path)
    bad = subprocess.run([*CLI, "tree", "not a repo"], env=env, capture_output=True, text=True, cwd=REPO,
                         timeout=60)
    assert bad.returncode == 2 and "repo id" in bad.stderr
    offline = subprocess.run(tree_cmd(), env={**env, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
                             cwd=REPO, timeout=60)
    assert offline.returncode == 2 and "HF_HUB_OFFLINE" in offline.stderr
    hubsim.add_model(ROOT, {"README.md": make_card({"license": "llama3.1"})})
    hubsim.add_model("google/gemma-2-9b", {"README.md": make_card({"license": "gemma"})})
    state = tmp_path / "s.sqlite"
    assert run(env, "--state", str(state), "-q").returncode == 0  # no descendants: nothing to fault
    other = subprocess.run([*CLI, "tree", "google/gemma-2-9b", "--state", str(state)], env=env,
                           capture_output=True, text=True, cwd=REPO, timeout=60)
    assert other.returncode == 2 and f"belongs to an audit of {ROOT}" in other.stderr
    missing = subprocess.run([*CLI, "tree", "nobody/nothing"], env=env, capture_output=True, text=True,
                             cwd=REPO, timeout=60)
    assert missing.returncode == 2 and "nobody/nothing" in missing.stderr


def test_ctrl_c_keeps_the_state_and_says_how_to_resume(small: tuple[HubSim, Tree, dict[str, str]],
                                                      tmp_path: Path) -> None:
    hub, _tree, env = small
    hub.faults.latency(0.05, path="^/api/models$")
    state = tmp_path / "s.sqlite"
    proc = subprocess.Popen(tree_cmd("--state", str(state)), env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and listings(hub) < 5:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    hub.faults.clear()
    assert proc.returncode == 130 and "interrupted" in err and str(state) in err and out == ""
    code, doc = audit_json(env, "--state", str(state))
    assert doc["run"]["resumed"] is True and doc["counts"]["discovered"] == 100 and code == 1


def test_the_hub_wide_index_finds_the_same_tree_with_a_few_requests(big: tuple[HubSim, Tree, Path],
                                                                   first_run: dict[str, Any]) -> None:
    hub, tree, tmp = big
    hub.clear_log()
    code, doc = audit_json(_env(hub, tmp), "--discovery", "index", "--state", str(tmp / "index.sqlite"))
    models = len(hub.indexed("models"))
    pages = -(-models // 1000)
    # one pass over the Hub's whole listing (here the emulator holds little beyond the tree), nothing per node
    assert listings(hub) == doc["requests"]["listing"] == pages <= N / 50
    assert code == first_run["_exit"] and doc["counts"]["discovered"] == N
    same = {r["id"]: (r["parent"], r["relation"], r["depth"]) for r in doc["rows"]}
    assert same == {r["id"]: (r["parent"], r["relation"], r["depth"]) for r in first_run["rows"]}
    assert all(r["verdict"] == EXPECTED[tree.nodes[r["id"]].category] for r in doc["rows"])


def test_the_card_fields_kept_are_those_the_rules_test() -> None:
    from types import SimpleNamespace

    from policy.audit.tree import rule_card_fields
    from policy.engine.conditions import Compiler
    from policy.scan.listing import CARD_FIELDS

    def packs(*conditions: dict[str, object]) -> list[SimpleNamespace]:
        compiler = Compiler(roots=frozenset({"model", "ancestor"}), license_lookup=lambda _: None, errors=[])
        rules = [SimpleNamespace(when=compiler.compile(c, ()), require=None) for c in conditions]
        assert not compiler.errors, compiler.errors
        return [SimpleNamespace(rules=rules)]

    assert rule_card_fields([]) == CARD_FIELDS
    kept = rule_card_fields(packs({"all": [{"model.card.export_control": {"exists": True}},
                                           {"not": {"ancestor.card.region": {"eq": {"ref": "model.card.home"}}}}]}))
    assert kept == CARD_FIELDS | {"export_control", "region", "home"}
    assert rule_card_fields(packs({"model.card": {"exists": True}})) is None  # the whole card: every field


def test_a_descendant_trained_on_a_dataset_gpt_4_wrote_is_review_in_the_audit(hubsim: HubSim, tmp_path: Path) -> None:
    """As `check` reads it (issue 19 item 4): the dataset's card says which model generated it, and the
    generator's terms reach the descendant through the dataset, as review."""
    hubsim.add_model(ROOT, {"README.md": make_card({"license": "llama3.1", "pipeline_tag": "text-generation"})})
    hubsim.add_dataset("acme/synthetic-chats", {"README.md": make_card(
        {"license": "cc-by-4.0"}, "# Chats\n\nThe responses were generated with GPT-4 through the OpenAI API.\n")})
    hubsim.add_model("acme/Llama-chat-8b", {"README.md": make_card(
        {"license": "llama3.1", "base_model": ROOT, "datasets": ["acme/synthetic-chats"],
         "pipeline_tag": "text-generation"}, "# Llama chat\n")})
    code, doc = audit_json(_env(hubsim, tmp_path))
    assert code == 3 and doc["verdict"] == "review"
    (row,) = [r for r in doc["rows"] if r["id"] == "acme/Llama-chat-8b"]
    assert row["verdict"] == "review", json.dumps(row)
    assert "rests on what acme/synthetic-chats's card says (stated in the dataset's card, line 6" in \
        json.dumps(row, ensure_ascii=False), row
