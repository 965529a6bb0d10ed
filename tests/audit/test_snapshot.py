"""Audits from a Hub metadata snapshot (policy/scan/snapshot.py, policy/audit/hub.py): `tree --snapshot` finds
the tree the listing walk finds, with no listing request; `hub-audit` judges every model of a snapshot; the
snapshot is cited; schema variants read alike; hostile rows are bounded; an interrupted hub audit resumes.

Snapshots are written in the shape of the Hub's `models.parquet` by tests/support/snapshotgen.py, from the same
repos the emulator serves (tests/support/treegen.py's tree)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim import HubSim
from tests.hubsim.plugin import make_hub_env
from tests.support.snapshotgen import model_row, snapshot_from_hubsim, write_snapshot
from tests.support.treegen import ROOT, Tree, generate

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "policy.cli"]
LICENSEE_POLICY = REPO / "tests" / "support" / "licensee_policy.yaml"
N = 240
COMPARED = ("parent", "relation", "inferred", "depth", "license", "spdx", "verdict", "reason", "rules")


def _env(hub: HubSim | None, tmp: Path, *, offline: bool = False) -> dict[str, str]:
    if hub is not None:
        env = make_hub_env(hub, tmp / "hf")
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "POLICYCHECK_"))}
        env.update(HF_HOME=str(tmp / "hf"), HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_DISABLE_TELEMETRY="1")
    env.update(POLICYCHECK_CACHE=str(tmp / "cache"), XDG_CACHE_HOME=str(tmp / "xdg"), NO_COLOR="1",
               PYTHONPATH=str(REPO), POLICYCHECK_HUB_TIMEOUT="5", POLICYCHECK_HUB_ATTEMPTS="2")
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return env


def cli(env: dict[str, str], *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO)


def tree_json(env: dict[str, str], *args: str | Path) -> dict[str, Any]:
    done = cli(env, "tree", ROOT, "--policy", LICENSEE_POLICY, "--format", "json", "-q", *args)
    assert done.returncode in (0, 1, 3), done.stderr
    return json.loads(done.stdout)


def listings(hub: HubSim) -> int:
    return sum(1 for r in hub.requests if r.path == "/api/models")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubSim, Tree, Path, Path]]:
    tmp = tmp_path_factory.mktemp("snapshot")
    with HubSim(tmp / "hub") as hub:
        tree = generate(hub, N)
        snapshot = tmp / "models.parquet"
        snapshot_from_hubsim(hub, snapshot)
        yield hub, tree, tmp, snapshot
        assert not hub.server_errors, hub.server_errors


def _rows(audit: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in audit["rows"]}


# -- tree --snapshot -------------------------------------------------------------------------------------------
def test_the_tree_from_a_snapshot_is_the_walked_tree_without_a_listing(
        served: tuple[HubSim, Tree, Path, Path]) -> None:
    hub, tree, tmp, snapshot = served
    env = _env(hub, tmp)
    walked = tree_json(env)
    hub.clear_log()
    from_snapshot = tree_json(env, "--snapshot", snapshot)
    assert listings(hub) == 0  # no listing request: the snapshot is the listing
    a, b = _rows(walked), _rows(from_snapshot)
    assert set(a) == set(b) == set(tree.nodes)
    for repo_id in a:
        assert {k: b[repo_id][k] for k in COMPARED} == {k: a[repo_id][k] for k in COMPARED}, repo_id
    assert from_snapshot["counts"] == walked["counts"]
    assert {r["source"] for r in b.values()} == {"snapshot", "hub"}  # `license: other` is fetched in full
    fetched = {r["id"] for r in b.values() if r["source"] == "hub"}
    assert fetched == {i for i, n in tree.nodes.items() if n.category == "other"}
    cite = from_snapshot["snapshot"]
    assert cite == {"source": "models.parquet", "revision": None, "path": "models.parquet",
                    "sha256": hashlib.sha256(snapshot.read_bytes()).hexdigest(), "rows": len(tree.nodes) + 2}


def test_verify_reads_each_descendant_from_the_hub_at_its_commit(served: tuple[HubSim, Tree, Path, Path],
                                                                  tmp_path: Path) -> None:
    hub, tree, _tmp, snapshot = served
    env = _env(hub, tmp_path)
    hub.clear_log()
    audit = tree_json(env, "--snapshot", snapshot, "--verify", "--depth", "1")
    assert listings(hub) == 0
    rows = _rows(audit)
    assert rows and {r["source"] for r in rows.values()} <= {"hub", "error"}
    for repo_id, row in rows.items():
        if repo_id in tree.gone:  # deleted since the snapshot: the Hub has no commit to give
            assert row["verdict"] == "review" and row["sha"] is None
        else:
            assert row["sha"] == hub.repo(repo_id).sha, repo_id  # pinned to the commit the Hub gave
    alone = cli(env, "tree", ROOT, "--verify")
    assert alone.returncode == 2 and "--snapshot" in alone.stderr


def test_a_tree_from_a_snapshot_runs_offline_and_says_what_it_could_not_fetch(
        served: tuple[HubSim, Tree, Path, Path], tmp_path: Path) -> None:
    _hub, tree, _tmp, snapshot = served
    env = _env(None, tmp_path, offline=True)
    audit = tree_json(env, "--snapshot", snapshot)
    rows = _rows(audit)
    assert set(rows) == set(tree.nodes)
    others = [rows[i] for i, n in tree.nodes.items() if n.category == "other"]
    assert others and all(r["verdict"] == "review" for r in others)  # its LICENSE file: not fetched, review
    assert all(rows[i]["verdict"] != "pass" for i, n in tree.nodes.items() if n.category == "nc-data")
    text = cli(env, "tree", ROOT, "--policy", LICENSEE_POLICY, "--snapshot", snapshot, "-q")
    assert "source: snapshot models.parquet" in " ".join(text.stdout.split())


def test_a_snapshot_on_the_hub_is_pinned_downloaded_once_and_cited(served: tuple[HubSim, Tree, Path, Path],
                                                                    tmp_path: Path) -> None:
    hub, _tree, _tmp, snapshot = served
    hub.add_dataset("acme/hub-stats", {"models.parquet": snapshot.read_bytes()})
    sha = hub.repo("acme/hub-stats", "dataset").sha
    env = _env(hub, tmp_path)
    spec = "hf://datasets/acme/hub-stats@main/models.parquet"
    hub.clear_log()
    audit = tree_json(env, "--snapshot", spec, "--depth", "1")
    assert listings(hub) == 0
    assert audit["snapshot"]["source"] == "acme/hub-stats"
    assert audit["snapshot"]["revision"] == sha
    assert audit["snapshot"]["sha256"] == hashlib.sha256(snapshot.read_bytes()).hexdigest()
    assert {r["depth"] for r in audit["rows"]} == {1}
    # offline, pinned to the commit: from the cache
    again = tree_json({**env, "HF_HUB_OFFLINE": "1"}, "--snapshot", f"hf://datasets/acme/hub-stats@{sha}/models.parquet",
                      "--depth", "1")
    assert _rows(again).keys() == _rows(audit).keys()
    unpinned = cli(env, "tree", ROOT, "--snapshot", "hf://datasets/acme/hub-stats/models.parquet")
    assert unpinned.returncode == 2 and "pinned to a revision" in unpinned.stderr
    missing = cli(env, "tree", ROOT, "--snapshot", "hf://datasets/acme/nothing@main/models.parquet")
    assert missing.returncode == 2 and "acme/nothing" in missing.stderr and "http" not in missing.stderr


# -- hub-audit -------------------------------------------------------------------------------------------------
def hub_audit(env: dict[str, str], snapshot: Path, *args: str | Path) -> tuple[int, dict[str, Any]]:
    done = cli(env, "hub-audit", "--snapshot", snapshot, "--policy", LICENSEE_POLICY, "--format", "json", "-q",
               *args)
    assert done.returncode in (0, 1, 3), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_a_hub_audit_judges_every_model_as_its_tree_does(served: tuple[HubSim, Tree, Path, Path],
                                                         tmp_path: Path) -> None:
    hub, tree, tmp, snapshot = served
    walked = _rows(tree_json(_env(hub, tmp)))
    code, audit = hub_audit(_env(None, tmp_path, offline=True), snapshot, "--workers", "2")
    rows = _rows(audit)
    assert code == 1 and audit["verdict"] == "fail"
    assert set(rows) == set(tree.nodes) | {ROOT, "mistralai/Mistral-7B-v0.1"}  # every model, roots too
    for repo_id, node in tree.nodes.items():
        # the same verdict as the tree audit's, and the same rules, except what only a fetch could tell
        if node.category == "other":  # its LICENSE file is not in a snapshot
            assert rows[repo_id]["verdict"] == "review"
        elif node.category == "nc-data":  # a models snapshot holds no dataset: review, saying so
            assert rows[repo_id]["verdict"] == walked[repo_id]["verdict"] == "review"
            assert rows[repo_id]["rules"] == ["ancestor-unresolved"]
            assert "not in the snapshot models.parquet" in rows[repo_id]["reason"]
        else:
            assert rows[repo_id]["verdict"] == walked[repo_id]["verdict"], repo_id
            assert rows[repo_id]["rules"] == walked[repo_id]["rules"], repo_id
    summary = audit
    verdicts = Counter(r["verdict"] for r in rows.values())
    assert summary["counts"] == {"selected": len(rows), "evaluated": len(rows), **{
        v: verdicts[v] for v in ("pass", "fail", "review")}}
    [llama] = [f for f in summary["families"] if f["family"] == ROOT]
    assert llama["models"] == len(tree.nodes) + 1 and llama["license"] == "llama3.1" and llama["in_snapshot"]
    relicensed = sum(1 for n in tree.nodes.values() if n.category in ("mit", "apache"))
    undeclared = sum(1 for n in tree.nodes.values() if n.category == "none")
    assert llama["different"] >= relicensed and llama["undeclared"] == undeclared
    pairs = {(p["root_license"], p["declared"]): p for p in summary["declared_vs_root"]}
    assert pairs[("llama3.1", "mit")]["same"] is False
    assert pairs[("llama3.1", "mit")]["fail"] == pairs[("llama3.1", "mit")]["count"]
    assert summary["snapshot"]["sha256"] == hashlib.sha256(snapshot.read_bytes()).hexdigest()
    top = summary["top_violations"]
    assert top == sorted(top, key=lambda r: -r["downloads"]) and all(r["verdict"] == "fail" for r in top)
    assert {r["rule"] for r in summary["by_rule"]} >= {"derivative-drops-license-terms", "name-prefix-missing"}
    # one worker gives the same rows
    _code, single = hub_audit(_env(None, tmp_path / "one", offline=True), snapshot, "--workers", "1")
    assert {i: (r["verdict"], r["rules"]) for i, r in _rows(single).items()} == {
        i: (r["verdict"], r["rules"]) for i, r in rows.items()}


def test_hub_audit_filters(served: tuple[HubSim, Tree, Path, Path], tmp_path: Path) -> None:
    _hub, tree, _tmp, snapshot = served
    env = _env(None, tmp_path, offline=True)
    _code, mit = hub_audit(env, snapshot, "--license", "MIT")
    assert {r["id"] for r in mit["rows"]} == {i for i, n in tree.nodes.items() if n.category == "mit"}
    _code, org = hub_audit(env, snapshot, "--author", "org01")
    assert {r["id"] for r in org["rows"]} == {i for i in tree.nodes if i.startswith("org01/")}
    _code, quantized = hub_audit(env, snapshot, "--relation", "quantized", "--min-downloads", "50000")
    assert quantized["rows"] and all(r["relation"] == "quantized" and r["downloads"] >= 50000
                                     for r in quantized["rows"])
    sub = next(i for i, n in tree.nodes.items() if any(m.parent == i for m in tree.nodes.values()))
    below = {i for i, n in tree.nodes.items() if n.parent == sub}
    below |= {i for i, n in tree.nodes.items() if n.parent in below}
    _code, rooted = hub_audit(env, snapshot, "--root", sub)
    assert {r["id"] for r in rooted["rows"]} == below | {sub}
    assert rooted["filters"]["root"] == sub
    shards = [hub_audit(env, snapshot, "--shard", f"{k}/3")[1] for k in (1, 2, 3)]
    ids = [{r["id"] for r in shard["rows"]} for shard in shards]
    _code, whole = hub_audit(env, snapshot)
    assert set().union(*ids) == {r["id"] for r in whole["rows"]} and sum(map(len, ids)) == len(whole["rows"])
    families = [{r["family"] for r in shard["rows"]} for shard in shards]
    assert not (families[0] & families[1] or families[0] & families[2] or families[1] & families[2])
    bad = cli(env, "hub-audit", "--snapshot", snapshot, "--shard", "4/3")
    assert bad.returncode == 2 and "--shard" in bad.stderr


def _many(tmp_path: Path, n: int = 6000) -> tuple[Path, int]:
    snapshot = tmp_path / "many.parquet"
    rows = [model_row("acme/base", {"license": "apache-2.0"})]
    rows += [model_row(f"org{i % 50}/m-{i:05d}", {"license": "apache-2.0" if i % 4 else "mit",
                                                   "base_model": "acme/base"}) for i in range(n)]
    return snapshot, write_snapshot(snapshot, rows)


def _stop_after(proc: subprocess.Popen[str], state: Path, rows: int, stop: Callable[[], None]) -> int:
    """Wait until the state file holds `rows` committed rows, then `stop()` the audit; the rows it held."""
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
                done = db.execute("SELECT COUNT(*) FROM evaluated").fetchone()[0]
        except sqlite3.Error:
            done = 0
        if done >= rows:
            stop()
            break
        time.sleep(0.02)
    return done


def test_ctrl_c_stops_a_parallel_hub_audit_cleanly(tmp_path: Path) -> None:
    snapshot, n = _many(tmp_path)
    state = tmp_path / "state.sqlite"
    proc = subprocess.Popen([*CLI, "hub-audit", "--snapshot", str(snapshot), "--state", str(state), "--workers",
                             "2", "--format", "json"], env=_env(None, tmp_path, offline=True), cwd=REPO, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    done = _stop_after(proc, state, 1000, lambda: os.killpg(proc.pid, signal.SIGINT))  # Ctrl-C: the whole group
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and 1000 <= done < n, (proc.returncode, done, err)
    assert "interrupted; run the same command again to resume" in err and "Traceback" not in err


def test_a_killed_hub_audit_resumes_without_judging_again(tmp_path: Path) -> None:
    snapshot, n = _many(tmp_path)
    env = _env(None, tmp_path, offline=True)
    state = tmp_path / "state.sqlite"
    args = [*CLI, "hub-audit", "--snapshot", str(snapshot), "--state", str(state), "--workers", "1", "-q",
            "--format", "json"]
    proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = _stop_after(proc, state, 1000, lambda: proc.send_signal(signal.SIGKILL))
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the audit ended before it could be killed"
    assert 1000 <= done < n
    resumed = cli(env, "hub-audit", "--snapshot", snapshot, "--state", state, "--workers", "1", "-q",
                  "--format", "json")
    assert resumed.returncode == 0, resumed.stderr  # apache-2.0 permits a derivative under other terms
    audit = json.loads(resumed.stdout)
    run = audit["run"]
    assert run["resumed"] and run["reused"] >= 1000 and run["reused"] + run["evaluated"] == n
    fresh = cli(env, "hub-audit", "--snapshot", snapshot, "--workers", "1", "-q", "--format", "json")
    assert _verdicts(audit) == _verdicts(json.loads(fresh.stdout))
    again = json.loads(cli(env, "hub-audit", "--snapshot", snapshot, "--state", state, "--workers", "1", "-q",
                           "--format", "json").stdout)
    assert again["run"]["evaluated"] == 0 and again["run"]["reused"] == n


def _verdicts(audit: dict[str, Any]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {r["id"]: (r["verdict"], tuple(r["rules"])) for r in audit["rows"]}


# -- schema tolerance and hostile rows ------------------------------------------------------------------------
def test_schema_variants_read_alike(served: tuple[HubSim, Tree, Path, Path], tmp_path: Path) -> None:
    hub, _tree, _tmp, snapshot = served
    env = _env(None, tmp_path, offline=True)
    _code, base = hub_audit(env, snapshot, "--workers", "1")
    variant = tmp_path / "variant.parquet"
    snapshot_from_hubsim(hub, variant, card_data_as="struct", siblings_as="strings", extra_columns=True)
    _code, other = hub_audit(env, variant, "--workers", "1")
    assert _verdicts(other) == _verdicts(base)
    dropped = tmp_path / "dropped.parquet"
    snapshot_from_hubsim(hub, dropped, drop_columns=("baseModels",))
    done = cli(env, "hub-audit", "--snapshot", dropped)
    assert done.returncode == 2 and "'baseModels'" in done.stderr, done.stderr
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 this is not parquet")
    done = cli(env, "tree", ROOT, "--snapshot", junk)
    assert done.returncode == 2 and "junk.parquet" in done.stderr and "Traceback" not in done.stderr


def test_hostile_rows_are_bounded(tmp_path: Path) -> None:
    rows = [
        model_row("acme/base", {"license": "apache-2.0"}),
        model_row("acme/huge", {"license": "apache-2.0", "base_model": "acme/base", "notes": "x" * 3_000_000}),
        model_row("acme/ctl", {"license": "apache-2.0\x1b[31m", "base_model": "acme/base",
                               "tags": ["\u202eevil", "<script>alert(1)</script>"]}),
        model_row("acme/cyc-a", {"license": "mit", "base_model": "acme/cyc-b"}),
        model_row("acme/cyc-b", {"license": "mit", "base_model": "acme/cyc-a"}),
        model_row("acme/self", {"license": "mit", "base_model": "acme/self"}),
        model_row("acme/orphan", {"license": "mit", "base_model": "gone/base"}),
    ]
    bad_id = model_row("acme/ok", {"license": "mit"})
    bad_id["id"] = "acme/\x1b[2Jbad id"
    rows.append(bad_id)
    snapshot = tmp_path / "hostile.parquet"
    write_snapshot(snapshot, rows)
    env = _env(None, tmp_path, offline=True)
    code, audit = hub_audit(env, snapshot, "--workers", "1")
    got = _rows(audit)
    assert code in (1, 3) and len(got) == len(rows)
    assert got["acme/huge"]["verdict"] == "review" and "larger than" in got["acme/huge"]["reason"]
    assert got["acme/ctl"]["verdict"] != "pass"
    for repo_id in ("acme/cyc-a", "acme/cyc-b"):
        assert got[repo_id]["verdict"] == "review" and "cycle" in got[repo_id]["reason"]
    assert got["acme/self"]["verdict"] != "pass"
    orphan = got["acme/orphan"]  # its base is not in the snapshot: review, and no claim about the family's license
    assert orphan["verdict"] == "review" and "not in the snapshot" in orphan["reason"]
    assert orphan["family"] == "gone/base" and orphan["same_as_family"] is None
    assert got["acme/\x1b[2Jbad id"]["verdict"] == "review" and got["acme/\x1b[2Jbad id"]["source"] == "error"
    text = cli(env, "hub-audit", "--snapshot", snapshot, "--workers", "1", "-q")
    assert "\x1b" not in text.stdout and "\u202e" not in text.stdout
    tree = cli(env, "tree", "acme/base", "--snapshot", snapshot, "-q", "--format", "json")
    ids = {r["id"] for r in json.loads(tree.stdout)["rows"]}
    assert ids == {"acme/huge", "acme/ctl"}  # the bad id is never followed
