"""Resumable state of a tree audit in one SQLite file (stdlib `sqlite3`).

Tables: `meta` (root id, schema version, the audit's options as canonical JSON, whether the walk completed),
`discovered` (one row per descendant found by the listing: id, parent, relation, depth, sha, the whole
`Descendant` as JSON), `listing` and `listed` (every child each node's listing returned, and which nodes were
listed to the end or failed, so a resumed walk does not list them again) and `evaluated` (one row per descendant
judged: id, the key it was judged at, verdict, depth, downloads, declared license, the output row as JSON).

WAL journal and `synchronous=NORMAL`: a committed batch survives a killed process (SIGKILL, Ctrl-C, a crash);
only a power loss or OS crash can lose the last commits. Writes are grouped in transactions of `batch_size`
writes, so a kill loses at most the current, uncommitted batch; `commit()` and `close()` (and leaving the
`with` block, even on an exception) commit what is pending.

A file belongs to one audit: opening it for another root, other options or another schema version is refused
with a `StateError` that says why, so a resumed run never mixes two audits.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from policy.errors import PolicyError
from policy.scan.listing import Descendant

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS discovered (
    id TEXT PRIMARY KEY, parent TEXT NOT NULL, relation TEXT NOT NULL, depth INTEGER NOT NULL, sha TEXT,
    key TEXT, run INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS discovered_parent ON discovered (parent, id);
CREATE TABLE IF NOT EXISTS listing (node TEXT NOT NULL, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS listing_node ON listing (node);
CREATE TABLE IF NOT EXISTS listed (node TEXT PRIMARY KEY, error TEXT);
CREATE TABLE IF NOT EXISTS evaluated (
    id TEXT PRIMARY KEY, sha TEXT, verdict TEXT NOT NULL, depth INTEGER NOT NULL, downloads INTEGER NOT NULL,
    license TEXT NOT NULL, spdx TEXT, row TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS evaluated_order ON evaluated (depth, id);
CREATE INDEX IF NOT EXISTS evaluated_top ON evaluated (verdict, downloads);
"""


# Depth-first pre-order: the path of ids from the root (joined by \x01, which sorts before any character of an
# id) orders each node right before its subtree, siblings by id.
_PREORDER = """
WITH RECURSIVE walk(id, path) AS (
    SELECT id, id FROM discovered WHERE parent = ?
    UNION ALL
    SELECT d.id, walk.path || char(1) || d.id FROM discovered AS d JOIN walk ON d.parent = walk.id
)
SELECT e.row FROM walk JOIN evaluated AS e ON e.id = walk.id ORDER BY walk.path
"""


# Descendants of a root in the Hub-wide index (`listing` rows, node = parent), each counted once: without a
# depth limit UNION over ids keeps the walk finite on cycles; with one, the depth bounds it.
_INDEX_SIZE = """
WITH RECURSIVE sub(id) AS (
    SELECT ?1
    UNION
    SELECT json_extract(l.payload, '$.id') FROM listing AS l JOIN sub ON l.node = sub.id
)
SELECT COUNT(*) FROM sub WHERE id != ?1
"""
_INDEX_SIZE_TO_DEPTH = """
WITH RECURSIVE sub(id, depth) AS (
    SELECT ?1, 0
    UNION
    SELECT json_extract(l.payload, '$.id'), sub.depth + 1 FROM listing AS l JOIN sub ON l.node = sub.id
    WHERE sub.depth < ?2
)
SELECT COUNT(DISTINCT id) FROM sub WHERE id != ?1
"""


class StateError(PolicyError):
    """The state file cannot be used for this audit (another root or options, not a state file, ...)."""


def _canonical(options: Mapping[str, Any]) -> str:
    return json.dumps(dict(options), sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


class AuditState:
    """The state of one audit (`root` with `options`) in the SQLite file `path` (created when absent)."""

    def __init__(self, path: Path, root: str, options: Mapping[str, Any], *, batch_size: int = 500) -> None:
        self.path = Path(path)
        self.root = root
        self.batch_size = max(1, batch_size)
        self._options = _canonical(options)
        self._pending = 0
        self._closed = False
        self._run = 0
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the audit state file {self.path}: {exc}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._check_meta()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StateError(f"{self.path} is not a policycheck audit state file ({exc})") from None
        except StateError:
            self._db.close()
            raise

    def _check_meta(self) -> None:
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if not meta:
            self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)), ("root", self.root), ("options", self._options)])
            return
        where = f"the audit state file {self.path}"
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StateError(f"{where} has schema version {meta.get('schema_version')}, this policycheck writes "
                             f"{SCHEMA_VERSION}; use a new --state file")
        if meta.get("root") != self.root:
            raise StateError(f"{where} belongs to an audit of {meta.get('root')}, not {self.root}; "
                             "use another --state file")
        if meta.get("options") != self._options:
            old = json.loads(meta.get("options") or "{}")
            new = json.loads(self._options)
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise StateError(f"{where} was written with other options ({', '.join(changed)} differ); "
                             "use another --state file or the same options")

    # -- writes ------------------------------------------------------------------------------------------
    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            if not self._db.in_transaction:
                self._db.execute("BEGIN")
            self._db.execute(sql, params)
            self._pending += 1
            if self._pending >= self.batch_size:
                self._commit()

    def discovered(self, d: Descendant, key: str | None = None) -> None:
        """`d` was found by this run's walk; `key` is what its row is judged at (see `record`)."""
        self._write("INSERT OR REPLACE INTO discovered (id, parent, relation, depth, sha, key, run, payload) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (d.id, d.parent, d.relation, d.depth, d.sha, key, self._run, json.dumps(d.to_dict(),
                                                                                          default=_jsonable)))

    def key_of(self, repo_id: str) -> str | None:
        with self._lock:
            found = self._db.execute("SELECT key FROM discovered WHERE id = ?", (repo_id,)).fetchone()
        return found[0] if found else None

    def record(self, repo_id: str, sha: str | None, verdict: str, row: Mapping[str, Any]) -> None:
        """The row of `repo_id`, judged at `sha` (the caller's key: the repo's sha, or a digest of everything
        the verdict rests on)."""
        with self._lock:
            found = self._db.execute("SELECT depth FROM discovered WHERE id = ?", (repo_id,)).fetchone()
            depth = found[0] if found else int(row.get("depth") or 0)
            downloads = row.get("downloads")
            spdx = row.get("spdx")
            self._write("INSERT OR REPLACE INTO evaluated (id, sha, verdict, depth, downloads, license, spdx, row) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (repo_id, sha, verdict, depth, downloads if isinstance(downloads, int) else 0,
                         str(row.get("license") or ""), spdx if isinstance(spdx, str) else None,
                         json.dumps(dict(row), default=_jsonable)))

    def listing_child(self, node: str, d: Descendant) -> None:
        """One child in `node`'s listing (before any filter), written as it arrives."""
        self._write("INSERT INTO listing (node, payload) VALUES (?, ?)",
                    (node, json.dumps(d.to_dict(), default=_jsonable)))

    def listed(self, node: str) -> None:
        """`node`'s listing was read to the end (its children are the `listing_child` rows before this)."""
        self._write("INSERT OR REPLACE INTO listed (node, error) VALUES (?, NULL)", (node,))

    def listing_failed(self, node: str, reason: str) -> None:
        self._write("INSERT OR REPLACE INTO listed (node, error) VALUES (?, ?)", (node, reason))

    def listed_children(self, node: str) -> Iterator[Descendant] | None:
        """The children of a node listed to the end by an earlier, interrupted run, streamed; None to list it
        now (and what an interrupted listing of it left is dropped)."""
        with self._lock:
            found = self._db.execute("SELECT error FROM listed WHERE node = ?", (node,)).fetchone()
            if found is None or found[0] is not None:
                self._write("DELETE FROM listing WHERE node = ?", (node,))
                return None
        return self._children(node)

    def _children(self, node: str) -> Iterator[Descendant]:
        for payload in self._stream("SELECT payload FROM listing WHERE node = ? ORDER BY rowid", (node,)):
            yield Descendant.from_dict(json.loads(payload))

    def _stream(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[str]:
        """The first column of `sql`'s rows, a few hundred in memory at a time."""
        cursor = self._db.cursor()
        try:
            with self._lock:
                cursor.execute(sql, params)
            while True:
                with self._lock:
                    batch = cursor.fetchmany(256)
                if not batch:
                    return
                for (value,) in batch:
                    yield value
        finally:
            cursor.close()

    # -- the Hub-wide index (--discovery index) -------------------------------------------------------------
    def index_child(self, parent: str, d: Descendant) -> None:
        """One child of `parent` found in the Hub-wide listing."""
        self._write("INSERT INTO listing (node, payload) VALUES (?, ?)",
                    (parent, json.dumps(d.to_dict(), default=_jsonable)))

    def start_index(self) -> None:
        """Begin reading the Hub-wide listing (what an earlier run read of it is dropped)."""
        with self._lock:
            self._write("DELETE FROM listing", ())
            self._write("DELETE FROM listed", ())
            self._write("INSERT OR REPLACE INTO meta (key, value) VALUES ('index', 'partial')", ())
            self._commit()

    def end_index(self) -> None:
        with self._lock:
            self._write("INSERT OR REPLACE INTO meta (key, value) VALUES ('index', 'complete')", ())
            self._commit()

    def indexed_children(self, node: str) -> Iterator[Descendant]:
        """The children of `node` in the Hub-wide index (none: a leaf), streamed."""
        return self._children(node)

    def index_size(self, root: str, max_depth: int | None) -> int:
        """How many descendants of `root` the Hub-wide index holds (each once, to `max_depth`): the total a
        progress bar can count down from. Relation, limit and download filters can only make it smaller."""
        with self._lock:
            found = (self._db.execute(_INDEX_SIZE, (root,)) if max_depth is None
                     else self._db.execute(_INDEX_SIZE_TO_DEPTH, (root, max_depth)))
            return int(found.fetchone()[0])

    def meta(self, key: str) -> str | None:
        with self._lock:
            found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return found[0] if found else None

    def listing_failures(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(n, e) for n, e in self._db.execute(
                "SELECT node, error FROM listed WHERE error IS NOT NULL ORDER BY node")]

    @property
    def complete(self) -> bool:
        """The last run walked the whole tree (so a new run is a re-run, not a resumption)."""
        with self._lock:
            found = self._db.execute("SELECT value FROM meta WHERE key = 'complete'").fetchone()
        return bool(found and found[0] == "1")

    def start_walk(self) -> bool:
        """Begin a walk; True when it resumes an interrupted one. A re-run of a completed audit lists every
        node again (to see changed shas) but keeps the rows, which are reused where nothing changed."""
        with self._lock:
            resuming = not self.complete and any(
                self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None
                for table in ("listed", "discovered"))
            if not resuming:
                self._write("DELETE FROM listed", ())
                self._write("DELETE FROM listing", ())
            # Each walk has a number; a resumed walk keeps its own, so what it found before the interruption
            # counts as found by it.
            self._run = int(self.meta("run") or 0) + (0 if resuming else 1)
            self._write("INSERT OR REPLACE INTO meta (key, value) VALUES ('run', ?)", (str(self._run),))
            self._write("INSERT OR REPLACE INTO meta (key, value) VALUES ('complete', '0')", ())
            self._commit()
            return resuming

    def end_walk(self, *, prune: bool = True) -> None:
        """The walk reached its end: with `prune`, rows of descendants this run did not find (deleted, or no
        longer derived from the root) are dropped; the audit is complete."""
        with self._lock:
            if prune:
                self._write("DELETE FROM evaluated WHERE id IN (SELECT id FROM discovered WHERE run != ?)",
                            (self._run,))
                self._write("DELETE FROM discovered WHERE run != ?", (self._run,))
            self._write("INSERT OR REPLACE INTO meta (key, value) VALUES ('complete', '1')", ())
            self._commit()

    def _commit(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._pending = 0

    def commit(self) -> None:
        with self._lock:
            self._commit()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._commit()
            finally:
                self._db.close()

    def __enter__(self) -> AuditState:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()  # rows recorded are complete: keep them even when the audit was interrupted

    # -- reads -------------------------------------------------------------------------------------------
    def known(self, repo_id: str) -> Descendant | None:
        with self._lock:
            found = self._db.execute("SELECT payload FROM discovered WHERE id = ?", (repo_id,)).fetchone()
        return Descendant.from_dict(json.loads(found[0])) if found else None

    def finished(self, repo_id: str, sha: str | None) -> Mapping[str, Any] | None:
        """The row when `repo_id` was evaluated at `sha`; None when never, or at another sha. A row without
        a sha (the listing gave none) never counts as finished: a change could not be seen."""
        if sha is None:
            return None
        with self._lock:
            found = self._db.execute("SELECT sha, row FROM evaluated WHERE id = ?", (repo_id,)).fetchone()
        if found is None or found[0] != sha:
            return None
        return json.loads(found[1])

    def rows(self, order: str = "depth") -> Iterator[Mapping[str, Any]]:
        """Every evaluated row, streamed from the file (a few hundred rows in memory at a time): by depth then
        id, or (`preorder`) depth first, each node followed by its subtree, siblings by id."""
        if order not in ("depth", "preorder", "downloads"):
            raise ValueError(f"unknown order {order!r}")
        sql = {"depth": "SELECT row FROM evaluated ORDER BY depth, id",
               "downloads": "SELECT row FROM evaluated ORDER BY downloads DESC, id",
               "preorder": _PREORDER}[order]
        for text in self._stream(sql, (self.root,) if order == "preorder" else ()):
            yield json.loads(text)

    def top(self, verdict: str, n: int) -> list[Mapping[str, Any]]:
        """The `n` rows of `verdict` with the most downloads."""
        with self._lock:
            found = self._db.execute("SELECT row FROM evaluated WHERE verdict = ? ORDER BY downloads DESC, id "
                                     "LIMIT ?", (verdict, n)).fetchall()
        return [json.loads(r) for (r,) in found]

    def licenses(self) -> list[dict[str, Any]]:
        """Rows per declared license: license, spdx, count and the count of each verdict, most rows first."""
        with self._lock:
            found = self._db.execute(
                "SELECT license, spdx, COUNT(*), SUM(verdict = 'pass'), SUM(verdict = 'fail'), "
                "SUM(verdict = 'review') FROM evaluated GROUP BY license, spdx "
                "ORDER BY COUNT(*) DESC, license").fetchall()
        return [{"license": lic, "spdx": spdx, "count": n, "pass": p or 0, "fail": f or 0, "review": r or 0}
                for lic, spdx, n, p, f, r in found]

    def update_row(self, repo_id: str, change: Mapping[str, Any]) -> None:
        """Merge `change` into the row of `repo_id` (its verdict too, when `change` has one)."""
        with self._lock:
            found = self._db.execute("SELECT sha, row FROM evaluated WHERE id = ?", (repo_id,)).fetchone()
            if found is None:
                return
            row = {**json.loads(found[1]), **change}
            self.record(repo_id, found[0], str(row.get("verdict")), row)

    def counts(self) -> Mapping[str, int]:
        """`discovered`, `evaluated`, and the number of rows of each verdict."""
        with self._lock:
            out = {"discovered": self._db.execute("SELECT COUNT(*) FROM discovered").fetchone()[0],
                   "evaluated": self._db.execute("SELECT COUNT(*) FROM evaluated").fetchone()[0]}
            for verdict, n in self._db.execute("SELECT verdict, COUNT(*) FROM evaluated GROUP BY verdict "
                                               "ORDER BY verdict"):
                out[verdict] = n
        return out
