"""Resumable state of a tree audit in one SQLite file (stdlib `sqlite3`).

Tables: `meta` (root id, schema version, the audit's options as canonical JSON), `discovered` (one row per
descendant found by the listing: id, parent, relation, depth, sha, the whole `Descendant` as JSON) and
`evaluated` (one row per descendant judged: id, sha, verdict, depth, the output row as JSON).

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

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS discovered (
    id TEXT PRIMARY KEY, parent TEXT NOT NULL, relation TEXT NOT NULL, depth INTEGER NOT NULL, sha TEXT,
    payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluated (
    id TEXT PRIMARY KEY, sha TEXT, verdict TEXT NOT NULL, depth INTEGER NOT NULL, row TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS evaluated_order ON evaluated (depth, id);
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

    def discovered(self, d: Descendant) -> None:
        self._write("INSERT OR REPLACE INTO discovered (id, parent, relation, depth, sha, payload) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (d.id, d.parent, d.relation, d.depth, d.sha, json.dumps(d.to_dict(), default=_jsonable)))

    def record(self, repo_id: str, sha: str | None, verdict: str, row: Mapping[str, Any]) -> None:
        with self._lock:
            found = self._db.execute("SELECT depth FROM discovered WHERE id = ?", (repo_id,)).fetchone()
            depth = found[0] if found else int(row.get("depth") or 0)
            self._write("INSERT OR REPLACE INTO evaluated (id, sha, verdict, depth, row) VALUES (?, ?, ?, ?, ?)",
                        (repo_id, sha, verdict, depth, json.dumps(dict(row), default=_jsonable)))

    def _commit(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._pending = 0

    def commit(self) -> None:
        with self._lock:
            self._commit()

    def close(self) -> None:
        with self._lock:
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

    def rows(self) -> Iterator[Mapping[str, Any]]:
        """Every evaluated row, by depth then id, streamed from the file (one row in memory at a time)."""
        cursor = self._db.cursor()
        try:
            cursor.execute("SELECT row FROM evaluated ORDER BY depth, id")
            while True:
                with self._lock:
                    batch = cursor.fetchmany(256)
                if not batch:
                    return
                for (text,) in batch:
                    yield json.loads(text)
        finally:
            cursor.close()

    def counts(self) -> Mapping[str, int]:
        """`discovered`, `evaluated`, and the number of rows of each verdict."""
        with self._lock:
            out = {"discovered": self._db.execute("SELECT COUNT(*) FROM discovered").fetchone()[0],
                   "evaluated": self._db.execute("SELECT COUNT(*) FROM evaluated").fetchone()[0]}
            for verdict, n in self._db.execute("SELECT verdict, COUNT(*) FROM evaluated GROUP BY verdict "
                                               "ORDER BY verdict"):
                out[verdict] = n
        return out
