"""The tree audit against what others wrote: a state file that is not its own, a planted or damaged one, one
in use or read-only, and listings that loop, drip fresh pages, carry megabytes of card data, lone surrogates or
ids the Hub cannot produce. Each runs the real CLI against hubsim, behind `tests/support/listingproxy.py`
where the listing itself is hostile."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim import HubSim, make_card
from tests.hubsim.plugin import make_hub_env
from tests.support.listingproxy import ListingProxy

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "policy.cli"]
LICENSEE_POLICY = REPO / "tests" / "support" / "licensee_policy.yaml"  # the licensee's figures, given
ROOT = "meta-llama/Llama-3.1-8B"
FAILING = "acme/relicensed-mit"  # MIT over a Llama 3.1 base: fail
PASSING = ["acme/Llama-3.1-8B-Instruct-ft", "acme/Llama-3.1-8B-GGUF"]
GRANDCHILD = "acme/Llama-3.1-8B-Instruct-ft-GGUF"


def _env(hub_url: str, hub: HubSim, tmp: Path, **extra: str) -> dict[str, str]:
    env = make_hub_env(hub, tmp / "hf")
    env.update(HF_ENDPOINT=hub_url, POLICYCHECK_CACHE=str(tmp / "cache"), POLICYCHECK_HUB_TIMEOUT="5",
               POLICYCHECK_HUB_ATTEMPTS="2", POLICYCHECK_HUB_MAX_WAIT="5", NO_COLOR="1", PYTHONPATH=str(REPO),
               **extra)
    return env


def tree(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "tree", ROOT, "--policy", str(LICENSEE_POLICY), "--format", "json", "-q", *args],
                          env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def add_tree(hub: HubSim) -> None:
    """A root, two passing children, a failing one, and a grandchild."""
    hub.add_model(ROOT, {"README.md": make_card({"license": "llama3.1", "pipeline_tag": "text-generation"})})
    for repo_id in PASSING:
        hub.add_model(repo_id, {"README.md": make_card({"license": "llama3.1", "base_model": ROOT})})
    hub.add_model(FAILING, {"README.md": make_card({"license": "mit", "base_model": ROOT})})
    hub.add_model(GRANDCHILD, {"README.md": make_card({"license": "llama3.1", "base_model": PASSING[0],
                                                       "base_model_relation": "quantized"})})


@pytest.fixture
def hub(hubsim: HubSim) -> HubSim:
    add_tree(hubsim)
    return hubsim


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr[-2000:]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name) and p != path)


# -- item 3: a file that is not policycheck's ------------------------------------------------------------------

@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_another_applications_sqlite_file_is_refused_unchanged(hub: HubSim, tmp_path: Path, journal: str) -> None:
    foreign = tmp_path / "bookmarks.sqlite"
    db = sqlite3.connect(foreign)
    db.execute(f"PRAGMA journal_mode={journal}")
    db.execute("CREATE TABLE bookmarks (url TEXT, title TEXT)")
    db.executemany("INSERT INTO bookmarks VALUES (?, ?)", [(f"https://example.org/{i}", f"page {i}")
                                                            for i in range(100)])
    db.commit()
    db.close()
    before = sha256(foreign)
    assert side_files(foreign) == []
    done = tree(_env(hub.url, hub, tmp_path), "--state", str(foreign))
    no_traceback(done)
    assert done.returncode == 2
    assert "not a policycheck audit state file" in done.stderr and "bookmarks" in done.stderr
    assert sha256(foreign) == before and side_files(foreign) == []
    assert hub.count("GET", "/api/models") == 0  # refused before any request


def test_a_file_that_is_not_sqlite_is_refused_unchanged(hub: HubSim, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a database\n" * 40)
    before = sha256(notes)
    done = tree(_env(hub.url, hub, tmp_path), "--state", str(notes))
    no_traceback(done)
    assert done.returncode == 2 and "is not a SQLite database" in done.stderr
    assert sha256(notes) == before and side_files(notes) == []


# -- item 5: a planted verdict ---------------------------------------------------------------------------------

def test_a_forged_pass_in_the_state_file_does_not_pass(hub: HubSim, tmp_path: Path) -> None:
    env = _env(hub.url, hub, tmp_path)
    state = tmp_path / "state.sqlite"
    first = tree(env, "--state", str(state))
    assert first.returncode == 1, first.stderr
    assert json.loads(first.stdout)["verdict"] == "fail"
    db = sqlite3.connect(state)
    db.execute("UPDATE evaluated SET verdict = 'pass', row = json_set(row, '$.verdict', 'pass')")
    db.commit()
    db.close()
    again = tree(env, "--state", str(state))
    no_traceback(again)
    doc = json.loads(again.stdout)
    assert again.returncode == 1 and doc["verdict"] == "fail"
    rows = {r["id"]: r for r in doc["rows"]}
    assert rows[FAILING]["verdict"] == "fail"
    assert doc["run"]["evaluated"] == 4  # every edited row (all of them: json_set rewrites each) judged again
    assert any("judged again" in p for p in doc["problems"])


def test_a_forged_pass_with_its_findings_removed_does_not_pass(hub: HubSim, tmp_path: Path) -> None:
    """Re-deriving the verdict from the row's findings cannot see a forger who removes the findings too: every
    row carries a MAC made with a key outside the state file, and a row without the right one is judged again."""
    env = _env(hub.url, hub, tmp_path)
    state = tmp_path / "state.sqlite"
    assert tree(env, "--state", str(state)).returncode == 1
    db = sqlite3.connect(state)
    db.execute("UPDATE evaluated SET verdict = 'pass', "
               "row = json_set(json_set(row, '$.verdict', 'pass'), '$.findings', json('[]')) WHERE id = ?",
               (FAILING,))
    db.commit()
    db.close()
    again = tree(env, "--state", str(state))
    no_traceback(again)
    doc = json.loads(again.stdout)
    assert again.returncode == 1 and {r["id"]: r for r in doc["rows"]}[FAILING]["verdict"] == "fail"
    assert doc["run"]["evaluated"] == 1


def test_a_state_file_from_another_key_is_judged_again_whole(hub: HubSim, tmp_path: Path) -> None:
    """A state file written by another user or machine (another key) is trusted in nothing: every descendant
    is listed and judged again, and the verdict is what the Hub says now."""
    state = tmp_path / "state.sqlite"
    theirs = {**_env(hub.url, hub, tmp_path), "POLICYCHECK_CACHE": str(tmp_path / "their-cache")}
    assert tree(theirs, "--state", str(state)).returncode == 1
    db = sqlite3.connect(state)
    db.execute("UPDATE evaluated SET verdict = 'pass', row = json_set(json_set(row, '$.verdict', 'pass'), "
               "'$.findings', json('[]'))")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'complete'")
    db.commit()
    db.close()
    mine = {**_env(hub.url, hub, tmp_path), "POLICYCHECK_CACHE": str(tmp_path / "my-cache")}
    again = tree(mine, "--state", str(state))
    no_traceback(again)
    doc = json.loads(again.stdout)
    assert again.returncode == 1 and doc["verdict"] == "fail"
    assert doc["run"]["evaluated"] == 4  # nothing reused
    key = tmp_path / "my-cache" / "state.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32


def test_an_unreadable_row_is_judged_again(hub: HubSim, tmp_path: Path) -> None:
    env = _env(hub.url, hub, tmp_path)
    state = tmp_path / "state.sqlite"
    first = tree(env, "--state", str(state))
    assert first.returncode == 1, first.stderr
    db = sqlite3.connect(state)
    db.execute("UPDATE evaluated SET row = '[1, 2, 3]' WHERE id = ?", (FAILING,))
    db.execute("UPDATE evaluated SET row = 'not json' WHERE id = ?", (PASSING[0],))
    db.execute("UPDATE discovered SET payload = '\"a string\"' WHERE id = ?", (GRANDCHILD,))
    db.commit()
    db.close()
    again = tree(env, "--state", str(state))
    no_traceback(again)
    doc = json.loads(again.stdout)
    assert again.returncode == 1 and doc["counts"] == json.loads(first.stdout)["counts"]
    assert doc["run"]["evaluated"] == 3 and {r["id"] for r in doc["rows"]} == {*PASSING, FAILING, GRANDCHILD}


# -- item 12: in use, read-only ----------------------------------------------------------------------------------

def test_a_second_audit_on_the_same_state_is_refused(hub: HubSim, tmp_path: Path) -> None:
    env = _env(hub.url, hub, tmp_path)
    state = tmp_path / "state.sqlite"
    hub.faults.hang(30, path="^/api/models$")  # the first audit waits on its first listing, holding the state
    first = subprocess.Popen([*CLI, "tree", ROOT, "--format", "json", "-q", "--state", str(state)], env=env,
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while hub.count("GET", "/api/models") == 0 and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        assert first.poll() is None and hub.count("GET", "/api/models") == 1
        second = tree(env, "--state", str(state))
        no_traceback(second)
        assert second.returncode == 2 and "in use by another audit" in second.stderr
    finally:
        first.kill()
        first.wait(timeout=30)
        hub.faults.clear()
    third = tree(env, "--state", str(state))  # the lock went with the killed process
    assert third.returncode == 1, third.stderr


def test_a_state_another_program_holds_locked_is_refused(hub: HubSim, tmp_path: Path) -> None:
    env = _env(hub.url, hub, tmp_path)
    state = tmp_path / "state.sqlite"
    assert tree(env, "--state", str(state)).returncode == 1
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"), str(state)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        done = tree({**env, "POLICYCHECK_STATE_BUSY_TIMEOUT": "0.5"}, "--state", str(state))
        no_traceback(done)
        assert done.returncode == 2 and "in use by another" in done.stderr
    finally:
        holder.kill()
        holder.wait(timeout=30)


def _without_root_override() -> None:
    """In the child, before exec: when the tests run as root, drop the capabilities that let root write through
    a file's mode (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER) from the bounding set, so the policycheck
    it runs is held to the modes as any user is; root keeps owning its files, so it still reads them."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(97)


def _read_only_run(env: dict[str, str], state: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*CLI, "tree", ROOT, "-q", "--state", str(state)], env=env, capture_output=True,
                          text=True, timeout=120, cwd=REPO, preexec_fn=_without_root_override)
    if done.returncode == 97:
        pytest.skip("running as root without CAP_SETPCAP: a read-only mode cannot hold root back here")
    return done


def test_a_read_only_state_file_or_folder_is_an_input_error(hub: HubSim, tmp_path: Path) -> None:
    env = _env(hub.url, hub, tmp_path)
    folder = tmp_path / "states"
    folder.mkdir()
    state = folder / "state.sqlite"
    assert tree(env, "--state", str(state)).returncode == 1
    before = sha256(state)
    state.chmod(0o444)
    done = _read_only_run(env, state)
    no_traceback(done)
    assert done.returncode == 2 and "read-only" in done.stderr and str(state) in done.stderr
    assert sha256(state) == before
    state.chmod(0o644)
    folder.chmod(0o555)  # SQLite keeps its journal beside the file: a read-only folder cannot hold it
    try:
        done = _read_only_run(env, state)
    finally:
        folder.chmod(0o755)
    no_traceback(done)
    assert done.returncode == 2 and "cannot write" in done.stderr and str(folder) in done.stderr
    assert sha256(state) == before


# -- items 8, 10, 11, 15: hostile listings ---------------------------------------------------------------------

def _node_of(query: dict[str, list[str]]) -> str:
    return (query.get("filter") or [""])[0].removeprefix("base_model:")


def test_a_listing_whose_next_link_points_at_itself_ends(hub: HubSim, tmp_path: Path) -> None:
    def loop(query: dict[str, list[str]], items: list[Any], next_url: str | None) -> tuple[list[Any], str | None]:
        return items, proxy.self_url(query) if _node_of(query) == ROOT else next_url

    with ListingProxy(hub, loop) as proxy:
        state = tmp_path / "state.sqlite"
        started = time.monotonic()
        done = tree(_env(proxy.url, hub, tmp_path), "--state", str(state), timeout=60)
        took = time.monotonic() - started
        no_traceback(done)
        assert not proxy.errors
    doc = json.loads(done.stdout)
    assert took < 30 and proxy.listings < 40
    assert done.returncode == 3 and doc["verdict"] == "review" and doc["complete"] is False
    assert any("repeats itself" in p for p in doc["problems"])
    assert state.stat().st_size < 1_000_000


def test_the_hub_wide_index_whose_next_link_points_at_itself_ends(hub: HubSim, tmp_path: Path) -> None:
    def loop(query: dict[str, list[str]], items: list[Any], next_url: str | None) -> tuple[list[Any], str | None]:
        return items, proxy.self_url(query)

    with ListingProxy(hub, loop) as proxy:
        done = tree(_env(proxy.url, hub, tmp_path), "--discovery", "index", timeout=60)
        no_traceback(done)
    doc = json.loads(done.stdout)
    assert proxy.listings < 10 and done.returncode == 3 and doc["complete"] is False
    assert any("repeats itself" in p for p in doc["problems"])


def test_endless_fresh_pages_stop_at_the_page_cap_and_the_walk_deadline(hub: HubSim, tmp_path: Path) -> None:
    slow = [0.0]

    def endless(query: dict[str, list[str]], items: list[Any], next_url: str | None) -> tuple[list[Any], str | None]:
        if _node_of(query) != ROOT:
            return items, next_url
        time.sleep(slow[0])
        page = int((query.get("cursor") or ["0"])[0])
        fresh = [{"id": f"spam/m-{page:06d}-{i:04d}", "sha": "0" * 40, "tags": [f"base_model:{ROOT}"],
                  "cardData": {"license": "llama3.1", "base_model": ROOT}} for i in range(1000)]
        return fresh, proxy.self_url({**query, "cursor": [str(page + 1)]})

    # --relation adapter: the fresh fine-tunes are neither judged nor listed, so only the endless listing costs
    with ListingProxy(hub, endless) as proxy:
        env = _env(proxy.url, hub, tmp_path, POLICYCHECK_LISTING_MAX_PAGES="5")
        capped = tree(env, "--relation", "adapter", "--state", str(tmp_path / "capped.sqlite"), timeout=60)
        no_traceback(capped)
        doc = json.loads(capped.stdout)
        assert capped.returncode == 3 and doc["complete"] is False and proxy.listings == 6
        assert any("more than 5 pages" in p for p in doc["problems"]), doc["problems"]
        slow[0] = 0.5
        started = time.monotonic()
        stopped = tree(_env(proxy.url, hub, tmp_path), "--relation", "adapter", "--walk-deadline", "3",
                       "--state", str(tmp_path / "stopped.sqlite"), timeout=60)
        took = time.monotonic() - started
        no_traceback(stopped)
    doc = json.loads(stopped.stdout)
    assert stopped.returncode == 3 and doc["complete"] is False and took < 20
    assert any("deadline" in p for p in doc["problems"]), doc["problems"]


def test_megabytes_of_card_data_are_not_stored(hub: HubSim, tmp_path: Path) -> None:
    blob = "x" * 1_000_000

    def fat(query: dict[str, list[str]], items: list[Any], next_url: str | None) -> tuple[list[Any], str | None]:
        for item in items:
            card = item.setdefault("cardData", {})
            card.update({"model_description": blob * 3, "widget": [{"text": blob}] * 2,
                         "tags": [f"tag-{i}" for i in range(3_000)]})
            item["tags"] = [*item.get("tags", []), *(f"spam-{i}" for i in range(100_000))]
        return items, next_url

    with ListingProxy(hub, fat) as proxy:
        state = tmp_path / "state.sqlite"
        done = tree(_env(proxy.url, hub, tmp_path), "--state", str(state))
        no_traceback(done)
    doc = json.loads(done.stdout)
    assert done.returncode == 1 and doc["counts"]["evaluated"] == 4
    assert {r["id"]: r["verdict"] for r in doc["rows"]}[FAILING] == "fail"
    db = sqlite3.connect(state)
    biggest = max(n for (n,) in db.execute("SELECT length(payload) FROM discovered UNION ALL "
                                           "SELECT length(payload) FROM listing UNION ALL "
                                           "SELECT length(row) FROM evaluated"))
    db.close()
    assert biggest < 64 * 1024
    assert state.stat().st_size < 2_000_000


def test_lone_surrogates_and_impossible_ids_in_a_listing(hub: HubSim, tmp_path: Path) -> None:
    def planted(query: dict[str, list[str]], items: list[Any], next_url: str | None) -> tuple[list[Any], str | None]:
        if _node_of(query) != ROOT:
            return items, next_url
        for item in items:
            if item["id"] == FAILING:
                item["cardData"] = {**item.get("cardData", {}), "license": "mit\ud800", "license_name": "\udfff"}
                item["tags"] = [*item.get("tags", []), "x\ud800"]
        bad = [{"id": i, "tags": [f"base_model:{ROOT}"], "cardData": {"license": "mit"}}
               for i in ("evil/\ud800x", "../../etc/passwd", "https://evil.example/x", 42, None, "x" * 500)]
        return [*bad, *items], next_url

    with ListingProxy(hub, planted) as proxy:
        done = tree(_env(proxy.url, hub, tmp_path), "--state", str(tmp_path / "state.sqlite"))
        no_traceback(done)
        for fmt in ("text", "csv", "markdown", "sarif", "html"):
            shown = subprocess.run([*CLI, "tree", ROOT, "-q", "-f", fmt, "--state", str(tmp_path / "state.sqlite")],
                                   env=_env(proxy.url, hub, tmp_path), capture_output=True, text=True, timeout=120,
                                   cwd=REPO)
            no_traceback(shown)
            assert shown.returncode == 1, (fmt, shown.stderr)
    doc = json.loads(done.stdout)
    assert done.returncode == 1 and doc["counts"]["evaluated"] == 4
    rows = {r["id"]: r for r in doc["rows"]}
    assert set(rows) == {*PASSING, FAILING, GRANDCHILD}
    assert rows[FAILING]["verdict"] != "pass" and "\ufffd" in rows[FAILING]["license"]
    (note,) = [p for p in doc["problems"] if "cannot produce" in p]
    assert "6 entries" in note and "../../etc/passwd" in note
