"""Resumable audit state (policy/audit/state.py): round trip, survival of a killed writer, sha changes,
refusal of another audit's file, streamed rows."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from policy.audit.state import AuditState, StateError
from policy.scan.listing import Descendant

ROOT = "meta-llama/Llama-3.1-8B"
OPTIONS = {"relations": ["finetune", "quantized"], "max_depth": 3, "min_downloads": 0}
SHA = "a" * 40
REPO = Path(__file__).resolve().parents[2]


def child(i: int, depth: int = 1, sha: str | None = SHA) -> Descendant:
    return Descendant(id=f"org/m-{i:05d}", parent=ROOT, relation="finetune", inferred=False, depth=depth,
                      sha=sha, downloads=i, gated=False, card_data={"license": "mit", "base_model": ROOT},
                      tags=("license:mit", f"base_model:{ROOT}"), last_modified="2024-01-01T00:00:00+00:00")


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with AuditState(path, ROOT, OPTIONS, batch_size=3) as state:
        for i, depth in ((1, 2), (2, 1), (3, 1)):
            state.discovered(child(i, depth))
        state.discovered(Descendant(id="q/gguf", parent="org/m-00002", relation="quantized", inferred=True,
                                    depth=2, sha=None, downloads=0, gated="manual", card_data={}, tags=(),
                                    last_modified=None))
        state.record("org/m-00001", SHA, "fail", {"id": "org/m-00001", "verdict": "fail", "findings": [1]})
        state.record("org/m-00003", SHA, "pass", {"id": "org/m-00003", "verdict": "pass"})
        state.record("org/m-00002", SHA, "review", {"id": "org/m-00002", "verdict": "review"})
        assert state.known("org/m-00001") == child(1, 2)
    with AuditState(path, ROOT, dict(reversed(list(OPTIONS.items())))) as state:  # key order does not matter
        assert state.known("org/m-00001") == child(1, 2)
        assert state.known("q/gguf").gated == "manual" and state.known("nobody/x") is None
        assert state.finished("org/m-00001", SHA) == {"id": "org/m-00001", "verdict": "fail", "findings": [1]}
        assert [r["id"] for r in state.rows()] == ["org/m-00002", "org/m-00003", "org/m-00001"]  # depth, id
        assert state.counts() == {"discovered": 4, "evaluated": 3, "fail": 1, "pass": 1, "review": 1}
        state.record("org/m-00001", SHA, "pass", {"id": "org/m-00001", "verdict": "pass"})  # replaced
        assert state.counts()["evaluated"] == 3 and state.counts()["pass"] == 2
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    meta = dict(db.execute("SELECT key, value FROM meta"))
    assert meta["root"] == ROOT and meta["schema_version"] == "4" and meta["format"] == "policycheck tree-audit state"
    db.close()


def test_a_changed_sha_is_not_finished(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with AuditState(path, ROOT, OPTIONS) as state:
        state.discovered(child(1))
        state.record("org/m-00001", SHA, "pass", {"id": "org/m-00001"})
        state.record("org/m-00002", None, "review", {"id": "org/m-00002"})
    with AuditState(path, ROOT, OPTIONS) as state:
        assert state.finished("org/m-00001", SHA) is not None
        assert state.finished("org/m-00001", "b" * 40) is None  # the repo changed: evaluate again
        assert state.finished("org/m-00002", None) is None  # no sha: a change could not be seen
        assert state.finished("org/never", SHA) is None


def test_another_audits_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with AuditState(path, ROOT, OPTIONS) as state:
        state.record("org/m-00001", SHA, "pass", {"id": "org/m-00001"})
    with pytest.raises(StateError, match=f"belongs to an audit of {ROOT}, not google/gemma-2-9b"):
        AuditState(path, "google/gemma-2-9b", OPTIONS)
    with pytest.raises(StateError, match=r"other options \(max_depth differ\)"):
        AuditState(path, ROOT, {**OPTIONS, "max_depth": 5})
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="not a policycheck audit state file"):
        AuditState(junk, ROOT, OPTIONS)
    with AuditState(path, ROOT, OPTIONS) as state:  # the refusals changed nothing
        assert state.counts()["evaluated"] == 1


WRITER = """
import sys, time
from policy.audit.state import AuditState
state = AuditState(sys.argv[1], {root!r}, {options!r}, batch_size=10)
i = 0
while True:
    state.record(f"org/m-{{i:05d}}", {sha!r}, "pass", {{"id": f"org/m-{{i:05d}}", "n": i}})
    i += 1
    if i % 10 == 0:
        print(f"committed {{i}}", flush=True)
    if {stop} and i == {stop}:
        print("ready", flush=True)
        time.sleep(600)
"""


def _writer(path: Path, stop: int) -> subprocess.Popen[str]:
    script = textwrap.dedent(WRITER.format(root=ROOT, options=OPTIONS, sha=SHA, stop=stop))
    return subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=REPO, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def _kill_when(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdout is not None
    try:
        for out in proc.stdout:
            if out.strip() == line:
                break
        else:
            pytest.fail(f"the writer ended before printing {line!r}")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _check_file(path: Path) -> list[int]:
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with AuditState(path, ROOT, OPTIONS) as state:
        numbers = [r["n"] for r in state.rows()]
        assert all(state.finished(f"org/m-{n:05d}", SHA) == {"id": f"org/m-{n:05d}", "n": n} for n in numbers)
    return numbers


def test_a_killed_writer_loses_at_most_the_open_batch(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    proc = _writer(path, stop=35)  # 3 batches committed, 5 rows pending when killed
    _kill_when(proc, "ready")
    assert _check_file(path) == list(range(30))


def test_a_writer_killed_while_busy_leaves_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    proc = _writer(path, stop=0)  # writes without pause until killed
    _kill_when(proc, "committed 300")
    numbers = _check_file(path)
    assert len(numbers) >= 300 and len(numbers) % 10 == 0  # whole batches only
    assert numbers == list(range(len(numbers)))
    with AuditState(path, ROOT, OPTIONS) as state:  # resumable: the next run appends
        state.record("org/m-99999", SHA, "fail", {"id": "org/m-99999", "n": 99999})
    assert _check_file(path)[-1] == 99999


def test_rows_are_streamed(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    filler = "x" * 200
    with AuditState(path, ROOT, OPTIONS, batch_size=5000) as state:
        for i in range(50_000):
            state.record(f"org/m-{i:05d}", SHA, "pass", {"id": f"org/m-{i:05d}", "n": i, "text": filler})
    with AuditState(path, ROOT, OPTIONS) as state:
        tracemalloc.start()
        try:
            count = 0
            last = -1
            for row in state.rows():
                assert row["n"] > last
                last = row["n"]
                count += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == 50_000
        assert peak < 2_000_000, peak  # the rows total over 12 MB of JSON; one fetch of 256 is in memory


def test_the_hub_wide_index_gives_children_and_a_finite_size_on_cycles(tmp_path: Path) -> None:
    with AuditState(tmp_path / "s.sqlite", ROOT, OPTIONS) as state:
        state.start_index()
        state.index_child(ROOT, child(1))
        state.index_child(ROOT, child(2))
        state.index_child("org/m-00001", child(3, depth=0))
        state.index_child("org/m-00003", child(1, depth=0))  # a cycle back to m-00001
        state.end_index()
        assert state.meta("index") == "complete"
        assert [d.id for d in list(state.indexed_children(ROOT))] == ["org/m-00001", "org/m-00002"]
        assert list(state.indexed_children("org/m-00002")) == []
        assert state.index_size(ROOT, None) == 3
        assert state.index_size(ROOT, 1) == 2
        state.start_index()  # a new pass drops the old one
        assert list(state.indexed_children(ROOT)) == [] and state.meta("index") == "partial"


# -- hostile state files -------------------------------------------------------------------------------------

def _foreign(path: Path, journal: str = "wal") -> str:
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA journal_mode={journal}")
    db.execute("CREATE TABLE meta (key TEXT, value TEXT)")  # a `meta` of its own: not policycheck's marker
    db.execute("CREATE TABLE moz_places (url TEXT)")
    db.executemany("INSERT INTO moz_places VALUES (?)", [(f"https://example.org/{i}",) for i in range(50)])
    db.commit()
    db.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_foreign_database_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "places.sqlite"
    before = _foreign(path)
    with pytest.raises(StateError, match=r"another application \(tables: meta, moz_places\), not a policycheck"):
        AuditState(path, ROOT, OPTIONS)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["places.sqlite"]  # no -wal, -shm or -journal
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).execute("PRAGMA user_version = 7").connection.close()  # SQLite, but no table
    with AuditState(empty, ROOT, OPTIONS) as state:  # an empty database is a new state
        state.record("org/m-00001", SHA, "pass", {"id": "org/m-00001", "verdict": "pass"})
    older = tmp_path / "older.sqlite"
    with AuditState(older, ROOT, OPTIONS):
        pass
    db = sqlite3.connect(older)
    db.execute("DELETE FROM meta WHERE key = 'format'")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="written by an older policycheck"):
        AuditState(older, ROOT, OPTIONS)
    with pytest.raises(StateError, match="not a regular file"):
        AuditState(tmp_path, ROOT, OPTIONS)


def test_one_audit_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first = AuditState(path, ROOT, OPTIONS)
    try:
        with pytest.raises(StateError, match="in use by another audit"):
            AuditState(path, ROOT, OPTIONS)
        first.record("org/m-00001", SHA, "pass", {"id": "org/m-00001", "verdict": "pass"})
    finally:
        first.close()
    with AuditState(path, ROOT, OPTIONS) as state:  # closed: free again
        assert state.counts()["evaluated"] == 1


def test_another_programs_sqlite_lock_is_in_use_not_an_internal_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with AuditState(path, ROOT, OPTIONS):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StateError, match="in use by another audit or program"):
            AuditState(path, ROOT, OPTIONS, busy_timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _row(repo_id: str, verdict: str, *findings: tuple[str, str]) -> dict[str, object]:
    return {"id": repo_id, "verdict": verdict, "findings": [{"rule": "r", "kind": k, "severity": s}
                                                           for k, s in findings]}


def test_verify_drops_rows_their_findings_do_not_bear_out(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    rows = {"a/fail": _row("a/fail", "fail", ("violation", "error")),
            "a/review": _row("a/review", "review", ("review", "warning")),
            "a/error": {**_row("a/error", "review"), "source": "error"},  # more severe than its findings: kept
            "a/warn": _row("a/warn", "pass", ("violation", "warning")),  # below --fail-on error: a pass
            "a/forged": _row("a/forged", "fail", ("violation", "error")),
            "a/forged-review": _row("a/forged-review", "review", ("violation", "error")),
            "a/not-object": _row("a/not-object", "pass"), "a/mismatch": _row("a/mismatch", "pass"),
            "a/surrogate": {**_row("a/surrogate", "pass"), "license": "mit"},
            "a/not-utf8": {**_row("a/not-utf8", "pass"), "license": "LICENSE"}}
    with AuditState(path, ROOT, OPTIONS) as state:
        for i, repo_id in enumerate(rows):
            state.discovered(child(i))
            state.record(repo_id, SHA, str(rows[repo_id]["verdict"]), rows[repo_id])
        state.listing_child("org/m-00001", child(7, depth=2))
        state.listed("org/m-00001")
        state.listing_child("org/m-00002", child(8, depth=2))
        state.listed("org/m-00002")
    db = sqlite3.connect(path)
    db.execute("UPDATE evaluated SET verdict = 'pass', row = json_set(row, '$.verdict', 'pass') "
               "WHERE id IN ('a/forged', 'a/forged-review')")
    db.execute("UPDATE evaluated SET row = '[\"a/not-object\"]' WHERE id = 'a/not-object'")
    db.execute("UPDATE evaluated SET verdict = 'fail' WHERE id = 'a/mismatch'")  # column and row disagree
    db.execute("UPDATE evaluated SET row = replace(row, '\"mit\"', '\"mit\\ud800\"') WHERE id = 'a/surrogate'")
    db.execute("UPDATE evaluated SET row = CAST(? AS TEXT) WHERE id = 'a/not-utf8'",  # SQLite stores any bytes
               (json.dumps(rows["a/not-utf8"]).encode().replace(b"LICENSE", b"\xff\xfe"),))
    db.execute("UPDATE discovered SET payload = '{\"id\": 1}' WHERE id = 'org/m-00003'")
    db.execute("UPDATE listing SET payload = 'null' WHERE node = 'org/m-00002'")
    db.commit()
    db.close()
    with AuditState(path, ROOT, OPTIONS) as state:
        read = {r["id"]: r for r in state.rows()}  # before verify: what was edited still reads back encodable
        assert read["a/surrogate"]["license"] == "mit\ufffd" and read["a/not-utf8"]["license"] == "\ufffd\ufffd"
        # Every edited row is dropped: by its findings (the forged ones) or, for all of them, by its MAC.
        assert state.verify("error") == 7
        kept = {r["id"]: r for r in state.rows()}
        assert set(kept) == {"a/fail", "a/review", "a/error", "a/warn"}
        assert state.known("org/m-00003") is None and state.known("org/m-00004") is not None
        assert [d.id for d in state.listed_children("org/m-00001") or ()] == ["org/m-00007"]
        assert state.listed_children("org/m-00002") is None  # listed again
        assert state.counts()["evaluated"] == 4
    with AuditState(path, ROOT, OPTIONS) as state:  # strict --fail-on: the warning violation is a fail now
        assert state.verify("warning") == 1 and state.finished("a/warn", SHA) is None


def test_descendants_read_back_are_checked() -> None:
    good = child(1).to_dict()
    assert Descendant.from_dict(good) == child(1)
    for bad in ([good], "x", {**good, "id": "https://evil.example/x"}, {**good, "parent": None},
                {**good, "relation": "distillation"}, {**good, "depth": "1"}, {**good, "card_data": ["x"]},
                {**good, "tags": "license:mit"}, {**good, "downloads": True}):
        with pytest.raises(ValueError):
            Descendant.from_dict(bad)
    odd = Descendant.from_dict({**good, "sha": "x" * 10_000, "gated": "yes", "last_modified": 5,
                                "card_data": {"license": "mit\ud800"}})
    assert odd.sha is None and odd.gated is False and odd.last_modified is None
    assert odd.card_data == {"license": "mit\ufffd"}

