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

Every row carries an HMAC made with the user's key (`state.key` in the cache folder, mode 0600, outside the
state file): rows that do not (planted, edited, or from another user's file) are judged or listed again.

A file belongs to one audit: opening it for another root, other options or another schema version is refused
with a `StateError` that says why, so a resumed run never mixes two audits.

The file is what a user named with `--state`, and what it holds was written by whoever could write it, so:
- before anything is written (before the journal mode is set), the file is read as it is (`immutable`, so not
  even a `-wal` or `-shm` file appears beside it): a file that is not SQLite, or a SQLite database with tables
  but without policycheck's `meta` and its `format` marker (another application's), is refused unchanged;
- one audit at a time: the file is locked (`flock`, released by the kernel when the process ends, however it
  ends) and a second audit is refused "in use by another audit"; a program that holds SQLite's own lock on it
  is waited for `busy_timeout` seconds, then refused the same way;
- a read-only file or folder, a full disk or a damaged file is a `StateError` (exit 2) that says which;
- rows are not trusted as they are (`verify`): a row that cannot be read back, or whose verdict is less severe
  than its own findings give (`policy.model.vocab.verdict_of`), is dropped, so its descendant is judged
  again; stored descendants and listings that cannot be read back are dropped and listed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from policy.errors import PolicyError
from policy.model.vocab import OUTCOME_RANK, VERDICTS, verdict_of
from policy.scan.listing import Descendant
from policy.textsafe import without_surrogates

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; SQLite's own lock still stops a second writer
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = 4
FORMAT = "policycheck tree-audit state"  # meta `format`: what makes a SQLite file policycheck's
_HEADER = b"SQLite format 3\x00"
MAX_STORED = 1024 * 1024  # characters of one stored row or payload read back (policycheck writes far less)
BUSY_TIMEOUT = 5.0  # seconds to wait for another program's SQLite lock (POLICYCHECK_STATE_BUSY_TIMEOUT)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, mac TEXT);
CREATE TABLE IF NOT EXISTS discovered (
    id TEXT PRIMARY KEY, parent TEXT NOT NULL, relation TEXT NOT NULL, depth INTEGER NOT NULL, sha TEXT,
    key TEXT, run INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL, mac TEXT);
CREATE INDEX IF NOT EXISTS discovered_parent ON discovered (parent, id);
CREATE TABLE IF NOT EXISTS listing (node TEXT NOT NULL, payload TEXT NOT NULL, mac TEXT);
CREATE INDEX IF NOT EXISTS listing_node ON listing (node);
CREATE TABLE IF NOT EXISTS listed (node TEXT PRIMARY KEY, error TEXT, mac TEXT);
CREATE TABLE IF NOT EXISTS evaluated (
    id TEXT PRIMARY KEY, sha TEXT, verdict TEXT NOT NULL, depth INTEGER NOT NULL, downloads INTEGER NOT NULL,
    license TEXT NOT NULL, spdx TEXT, row TEXT NOT NULL, mac TEXT);
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
    """The state file cannot be used for this audit (another root or options, not a state file, in use,
    read-only, ...)."""


def _sql_error(path: Path, exc: sqlite3.Error) -> StateError:
    """What a SQLite error means for the user, by its result code: in use, cannot be written, full, damaged."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    where = f"the audit state file {path}"
    if primary in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
        return StateError(f"{where} is in use by another audit or program (its database is locked); wait for "
                          "it to finish or use another --state file")
    if primary in (3, 8, 10, 14):  # SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN
        return StateError(f"cannot write {where} ({exc}); the file and its folder {path.parent} must be "
                          "writable (SQLite keeps its journal beside the file)")
    if primary == 13:  # SQLITE_FULL
        return StateError(f"cannot write {where}: the disk is full")
    if primary in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB
        return StateError(f"{where} is damaged ({exc}); use a new --state file")
    return StateError(f"{where} cannot be used ({type(exc).__name__}: {exc})")


def _inspect(path: Path) -> dict[str, str] | None:
    """What `path` holds, read without writing a byte (not even a `-wal` or `-shm` file beside it): None when
    it is absent or empty (a new state), else policycheck's `meta`. Refuses a file that is not a regular file,
    not SQLite, or another application's database (tables, but not policycheck's `meta` and format marker)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read the audit state file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise StateError(f"{path} is not a regular file, so not a policycheck audit state file; give --state a "
                         "file name")
    # `immutable` reads the file as it is, with no lock and no journal files. A `-wal` beside it holds commits
    # the file does not have yet (an audit killed before its first checkpoint leaves an empty file and all its
    # rows there): then a plain read-only open, which reads them through it.
    wal = Path(f"{path}-wal").exists()
    if info.st_size == 0 and not wal:
        return None
    try:
        with path.open("rb") as f:
            header = f.read(len(_HEADER))
    except OSError as exc:
        raise StateError(f"cannot read the audit state file {path}: {exc.strerror or exc}") from None
    if header != _HEADER and info.st_size > 0:
        raise StateError(f"{path} is not a SQLite database, so not a policycheck audit state file; give --state "
                         "a new file name (it is not changed)")
    mode = "ro" if wal else "ro&immutable=1"
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode={mode}", uri=True)
    except sqlite3.Error as exc:
        raise _sql_error(path, exc) from None
    db.text_factory = _text
    try:
        tables = [str(name) for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 1000")]
        if not tables:
            return None
        meta: dict[str, str] = {}
        if "meta" in tables:
            with contextlib.suppress(sqlite3.Error):
                meta = {str(k): str(v) for k, v in db.execute("SELECT key, value FROM meta LIMIT 100")}
    except sqlite3.Error as exc:
        raise _sql_error(path, exc) from None
    finally:
        db.close()
    if meta.get("format") == FORMAT:
        return meta
    if "schema_version" in meta and "root" in meta:
        raise StateError(f"the audit state file {path} was written by an older policycheck (schema version "
                         f"{meta['schema_version'][:20]}); this one writes {SCHEMA_VERSION}: use a new --state file")
    shown = ", ".join(t[:40] for t in tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
    raise StateError(f"{path} is a SQLite database of another application (tables: {shown}), not a policycheck "
                     "audit state file; give --state a new file name (it is not changed)")


def _text(raw: bytes) -> str:
    """A TEXT value as read: SQLite stores whatever bytes it is given, and a value that is not UTF-8 (a planted
    row) is read with U+FFFD for what cannot be decoded, not refused with an error for the whole file."""
    return raw.decode("utf-8", "replace")


def _lock(path: Path) -> int:
    """Open (creating when absent) and lock `path` for this audit; the descriptor holds the lock until closed.
    Refuses a file that is read-only or locked by another audit."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except PermissionError:
        raise StateError(f"the audit state file {path} is read-only (or its folder is): policycheck writes its "
                         "progress there; give a writable --state file") from None
    except OSError as exc:
        raise StateError(f"cannot open the audit state file {path}: {exc.strerror or exc}") from None
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StateError(f"the audit state file {path} is in use by another audit; wait for it to finish "
                             "or use another --state file") from None
    return fd


def _busy_timeout() -> float:
    text = os.environ.get("POLICYCHECK_STATE_BUSY_TIMEOUT", "").strip()
    try:
        value = float(text) if text else BUSY_TIMEOUT
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise StateError(f"POLICYCHECK_STATE_BUSY_TIMEOUT must be a number of seconds, not {text[:40]!r}")
    return value


def _json_object(text: Any) -> dict[str, Any] | None:
    """A stored JSON object read back, lone surrogates replaced; None for anything else."""
    if not isinstance(text, str) or len(text) > MAX_STORED:
        return None
    try:
        value = json.loads(text)
        return without_surrogates(value) if isinstance(value, dict) else None
    except (ValueError, RecursionError):
        return None


def _descendant(text: Any) -> Descendant | None:
    """A stored descendant read back; None when it cannot be."""
    data = _json_object(text)
    if data is None:
        return None
    try:
        return Descendant.from_dict(data)
    except (ValueError, RecursionError):
        return None


def _row_trusted(repo_id: str, verdict: Any, text: Any, fail_on: str) -> bool:
    """A stored row can stand when it reads back as policycheck writes it and its verdict is at least as severe
    as its own findings give (`verdict_of` over their kinds and severities). A row may be more severe than
    its findings (a failed listing, an error while judging), never less: that is what a forged pass is."""
    row = _json_object(text)
    if row is None or row.get("id") != repo_id or row.get("verdict") != verdict or verdict not in VERDICTS:
        return False
    findings = row.get("findings") if row.get("findings") is not None else []
    if not isinstance(findings, list) or not all(
            isinstance(f, dict) and isinstance(f.get("kind"), str) and isinstance(f.get("severity"), str)
            for f in findings):
        return False
    derived = verdict_of(((f["kind"], f["severity"]) for f in findings if f.get("status") in (None, "open")),
                         fail_on)
    return OUTCOME_RANK[verdict] <= OUTCOME_RANK[derived]


def _canonical(options: Mapping[str, Any]) -> str:
    return json.dumps(dict(options), sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


# Every stored row carries a MAC (HMAC-SHA256 over the table's name and the row's values in this order) made
# with a key kept outside the state file, in the user's cache folder: a row that does not carry the right one
# (planted, edited, or written under another key) is not trusted and is judged, or listed, again. A state file
# copied from another machine is therefore audited again from scratch, which is the honest answer.
_MAC_COLUMNS = {
    "meta": ("key", "value"),
    "discovered": ("id", "parent", "relation", "depth", "sha", "key", "run", "payload"),
    "listing": ("node", "payload"),
    "listed": ("node", "error"),
    "evaluated": ("id", "sha", "verdict", "depth", "downloads", "license", "spdx", "row"),
}
KEY_FILE = "state.key"  # in the cache folder (POLICYCHECK_CACHE, else $XDG_CACHE_HOME/policycheck)


def _state_key() -> bytes:
    """The user's key for state-file MACs: 32 random bytes in the cache folder, created (mode 0600, never
    through a link) on first use. When the folder cannot hold it, a key for this run only: the rows it writes
    are then judged again by the next run, never trusted without a check."""
    from policy.refdata import cache_dir

    path = cache_dir() / KEY_FILE
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as fh:
                key = fh.read(64)
            return key if len(key) == 32 else os.urandom(32)
        except FileNotFoundError:
            pass
        except OSError:
            return os.urandom(32)
        key = os.urandom(32)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
            return key
        except FileExistsError:  # another audit made it at the same moment: read theirs
            continue
        except OSError:
            return key
    return os.urandom(32)


def _mac(key: bytes, table: str, values: tuple[Any, ...]) -> str:
    text = json.dumps([table, *values], ensure_ascii=True, default=str)
    return hmac.new(key, text.encode("ascii"), hashlib.sha256).hexdigest()


class AuditState:
    """The state of one audit (`root` with `options`) in the SQLite file `path` (created when absent)."""

    def __init__(self, path: Path, root: str, options: Mapping[str, Any], *, batch_size: int = 500,
                 busy_timeout: float | None = None) -> None:
        self.path = Path(path)
        self.root = root
        self.batch_size = max(1, batch_size)
        self._options = _canonical(options)
        self._pending = 0
        self._closed = False
        self._run = 0
        self._lock = threading.RLock()
        self._key = _state_key()
        if busy_timeout is None:
            busy_timeout = _busy_timeout()
        _inspect(self.path)  # refuses what is not policycheck's before anything is created, locked or written
        self._lock_fd = _lock(self.path)
        try:
            meta = _inspect(self.path)  # again, now that no other audit can be writing it
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                                       timeout=busy_timeout)
            self._db.text_factory = _text
        except BaseException:
            os.close(self._lock_fd)
            raise
        try:
            if meta is not None:
                self._check_meta(meta)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            if meta is None:
                self._db.executemany("INSERT INTO meta (key, value, mac) VALUES (?, ?, ?)", [
                    (k, v, _mac(self._key, "meta", (k, v))) for k, v in (
                        ("format", FORMAT), ("schema_version", str(SCHEMA_VERSION)), ("root", self.root),
                        ("options", self._options))])
            # Take SQLite's write lock once now, so that a program holding it (or a file SQLite cannot write)
            # is refused before the audit asks the Hub anything.
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._db.close()
            os.close(self._lock_fd)
            if isinstance(exc, sqlite3.Error):
                raise _sql_error(self.path, exc) from None
            raise

    def _check_meta(self, meta: Mapping[str, str]) -> None:
        where = f"the audit state file {self.path}"
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StateError(f"{where} has schema version {meta.get('schema_version')}, this policycheck writes "
                             f"{SCHEMA_VERSION}; use a new --state file")
        if meta.get("root") != self.root:
            raise StateError(f"{where} belongs to an audit of {meta.get('root')}, not {self.root}; "
                             "use another --state file")
        if meta.get("options") != self._options:
            old = _json_object(meta.get("options") or "{}") or {}
            new = json.loads(self._options)
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise StateError(f"{where} was written with other options ({', '.join(changed)} differ); "
                             "use another --state file or the same options")

    @contextlib.contextmanager
    def _sql(self) -> Iterator[None]:
        """SQLite errors as what they mean for the user (`StateError`), never an internal error."""
        try:
            yield
        except sqlite3.Error as exc:
            raise _sql_error(self.path, exc) from None

    # -- writes ------------------------------------------------------------------------------------------
    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock, self._sql():
            if not self._db.in_transaction:
                self._db.execute("BEGIN")
            self._db.execute(sql, params)
            self._pending += 1
            if self._pending >= self.batch_size:
                self._commit()

    def _put(self, table: str, values: tuple[Any, ...], *, replace: bool = True) -> None:
        """Insert a row of `table` (values in `_MAC_COLUMNS` order) with its MAC."""
        columns = _MAC_COLUMNS[table]
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        self._write(f"{verb} INTO {table} ({', '.join(columns)}, mac) VALUES ({', '.join('?' * len(columns))}, ?)",
                    (*values, _mac(self._key, table, values)))

    def _set_meta(self, key: str, value: str) -> None:
        self._put("meta", (key, value))

    def discovered(self, d: Descendant, key: str | None = None) -> None:
        """`d` was found by this run's walk; `key` is what its row is judged at (see `record`)."""
        self._put("discovered", (d.id, d.parent, d.relation, d.depth, d.sha, key, self._run,
                                 json.dumps(d.to_dict(), default=_jsonable)))

    def key_of(self, repo_id: str) -> str | None:
        with self._lock, self._sql():
            found = self._db.execute("SELECT key FROM discovered WHERE id = ?", (repo_id,)).fetchone()
        return found[0] if found else None

    def record(self, repo_id: str, sha: str | None, verdict: str, row: Mapping[str, Any]) -> None:
        """The row of `repo_id`, judged at `sha` (the caller's key: the repo's sha, or a digest of everything
        the verdict rests on)."""
        with self._lock, self._sql():
            found = self._db.execute("SELECT depth FROM discovered WHERE id = ?", (repo_id,)).fetchone()
            depth = found[0] if found else int(row.get("depth") or 0)
            downloads = row.get("downloads")
            spdx = row.get("spdx")
            self._put("evaluated", (repo_id, sha, verdict, depth, downloads if isinstance(downloads, int) else 0,
                                    str(row.get("license") or ""), spdx if isinstance(spdx, str) else None,
                                    json.dumps(dict(row), default=_jsonable)))

    def listing_child(self, node: str, d: Descendant) -> None:
        """One child in `node`'s listing (before any filter), written as it arrives."""
        self._put("listing", (node, json.dumps(d.to_dict(), default=_jsonable)), replace=False)

    def listed(self, node: str) -> None:
        """`node`'s listing was read to the end (its children are the `listing_child` rows before this)."""
        self._put("listed", (node, None))

    def listing_failed(self, node: str, reason: str) -> None:
        self._put("listed", (node, reason))

    def listed_children(self, node: str) -> Iterator[Descendant] | None:
        """The children of a node listed to the end by an earlier, interrupted run, streamed; None to list it
        now (and what an interrupted listing of it left is dropped)."""
        with self._lock, self._sql():
            found = self._db.execute("SELECT error FROM listed WHERE node = ?", (node,)).fetchone()
            if found is None or found[0] is not None:
                self._write("DELETE FROM listing WHERE node = ?", (node,))
                return None
        return self._children(node)

    def _children(self, node: str) -> Iterator[Descendant]:
        for payload in self._stream("SELECT payload FROM listing WHERE node = ? ORDER BY rowid", (node,)):
            d = _descendant(payload)
            if d is not None:  # `verify` dropped the listings that cannot be read back
                yield d

    def _stream(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[str]:
        """The first column of `sql`'s rows, a few hundred in memory at a time."""
        for row in self._stream_rows(sql, params):
            yield row[0]

    def _stream_rows(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        with self._sql():
            cursor = self._db.cursor()
        try:
            with self._lock, self._sql():
                cursor.execute(sql, params)
            while True:
                with self._lock, self._sql():
                    batch = cursor.fetchmany(256)
                if not batch:
                    return
                yield from batch
        finally:
            cursor.close()

    # -- the Hub-wide index (--discovery index) -------------------------------------------------------------
    def index_child(self, parent: str, d: Descendant) -> None:
        """One child of `parent` found in the Hub-wide listing."""
        self._put("listing", (parent, json.dumps(d.to_dict(), default=_jsonable)), replace=False)

    def start_index(self) -> None:
        """Begin reading the Hub-wide listing (what an earlier run read of it is dropped)."""
        with self._lock:
            self._write("DELETE FROM listing", ())
            self._write("DELETE FROM listed", ())
            self._set_meta("index", "partial")
            self._commit()

    def end_index(self) -> None:
        with self._lock:
            self._set_meta("index", "complete")
            self._commit()

    def indexed_children(self, node: str) -> Iterator[Descendant]:
        """The children of `node` in the Hub-wide index (none: a leaf), streamed."""
        return self._children(node)

    def index_size(self, root: str, max_depth: int | None) -> int:
        """How many descendants of `root` the Hub-wide index holds (each once, to `max_depth`): the total a
        progress bar can count down from. Relation, limit and download filters can only make it smaller."""
        with self._lock, self._sql():
            found = (self._db.execute(_INDEX_SIZE, (root,)) if max_depth is None
                     else self._db.execute(_INDEX_SIZE_TO_DEPTH, (root, max_depth)))
            return int(found.fetchone()[0])

    def meta(self, key: str) -> str | None:
        with self._lock, self._sql():
            found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return found[0] if found else None

    def listing_failures(self) -> list[tuple[str, str]]:
        with self._lock, self._sql():
            return [(n, e) for n, e in self._db.execute(
                "SELECT node, error FROM listed WHERE error IS NOT NULL ORDER BY node")]

    @property
    def complete(self) -> bool:
        """The last run walked the whole tree (so a new run is a re-run, not a resumption)."""
        with self._lock, self._sql():
            found = self._db.execute("SELECT value FROM meta WHERE key = 'complete'").fetchone()
        return bool(found and found[0] == "1")

    def verify(self, fail_on: str) -> int:
        """Drop what the file holds that cannot be trusted, before a walk uses it: rows that cannot be read back
        or whose verdict is less severe than their findings give (with `fail_on`, the threshold they were
        judged at), descendants that cannot be read back (with their rows), and the kept listings of nodes
        with an entry that cannot (those nodes are listed again; a Hub-wide index is read again), and every
        row whose MAC is not this user's (planted or edited: `_MAC_COLUMNS`). Their descendants are judged
        again when the walk finds them. Returns how many rows and descendants were dropped."""
        with self._lock:
            bad_rows = [repo_id for repo_id, verdict, text in self._stream_rows(
                "SELECT id, verdict, row FROM evaluated") if not _row_trusted(repo_id, verdict, text, fail_on)]
            bad_rows += [values[0] for values in self._unsigned("evaluated")]
            bad_found = [repo_id for repo_id, text in self._stream_rows("SELECT id, payload FROM discovered")
                         if (d := _descendant(text)) is None or d.id != repo_id]
            bad_found += [values[0] for values in self._unsigned("discovered")]
            bad_nodes = sorted({node for node, text in self._stream_rows("SELECT node, payload FROM listing")
                                if _descendant(text) is None}
                               | {values[0] for table in ("listing", "listed") for values in self._unsigned(table)})
            # What the walk's own bookkeeping says (complete, the index read whole, the run, what was kept):
            # an entry without its MAC falls back to the safe default (not complete, read again).
            for key in {values[0] for values in self._unsigned("meta")} & {"complete", "index", "kept", "run"}:
                self._write("DELETE FROM meta WHERE key = ?", (key,))
                if key == "index":
                    self._set_meta("index", "partial")
            for repo_id in {*bad_rows, *bad_found}:
                self._write("DELETE FROM evaluated WHERE id = ?", (repo_id,))
            for repo_id in bad_found:
                self._write("DELETE FROM discovered WHERE id = ?", (repo_id,))
            for node in bad_nodes:
                self._write("DELETE FROM listing WHERE node = ?", (node,))
                self._write("DELETE FROM listed WHERE node = ?", (node,))
            if bad_nodes and self.meta("index") is not None:
                self._set_meta("index", "partial")
            self._commit()
        return len({*bad_rows, *bad_found})

    def _unsigned(self, table: str) -> list[tuple[Any, ...]]:
        """The rows of `table` (their `_MAC_COLUMNS` values) whose MAC is not the one this user's key gives."""
        columns = ", ".join(_MAC_COLUMNS[table])
        return [tuple(row[:-1]) for row in self._stream_rows(f"SELECT {columns}, mac FROM {table}")
                if not isinstance(row[-1], str)
                or not hmac.compare_digest(row[-1], _mac(self._key, table, tuple(row[:-1])))]

    def start_walk(self, kept: str = "") -> bool:
        """Begin a walk; True when it resumes an interrupted one. A re-run of a completed audit lists every
        node again (to see changed shas) but keeps the rows, which are reused where nothing changed. `kept`
        says what the walk keeps of each listing entry (its card fields): listings an interrupted walk kept
        otherwise are not resumed from."""
        with self._lock, self._sql():
            resuming = not self.complete and self.meta("kept") == kept and any(
                self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None
                for table in ("listed", "discovered"))
            if not resuming:
                self._write("DELETE FROM listed", ())
                self._write("DELETE FROM listing", ())
                self._set_meta("kept", kept)
            # Each walk has a number; a resumed walk keeps its own, so what it found before the interruption
            # counts as found by it.
            run = self.meta("run") or "0"
            self._run = (int(run) if run.isdigit() and len(run) < 10 else 0) + (0 if resuming else 1)
            self._set_meta("run", str(self._run))
            self._set_meta("complete", "0")
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
            self._set_meta("complete", "1")
            self._commit()

    def _commit(self) -> None:
        with self._sql():
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
                os.close(self._lock_fd)  # only now: closing it earlier would drop SQLite's own locks too

    def __enter__(self) -> AuditState:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()  # rows recorded are complete: keep them even when the audit was interrupted

    # -- reads -------------------------------------------------------------------------------------------
    def known(self, repo_id: str) -> Descendant | None:
        with self._lock, self._sql():
            found = self._db.execute("SELECT payload FROM discovered WHERE id = ?", (repo_id,)).fetchone()
        return _descendant(found[0]) if found else None

    def finished(self, repo_id: str, sha: str | None) -> Mapping[str, Any] | None:
        """The row when `repo_id` was evaluated at `sha`; None when never, or at another sha. A row without
        a sha (the listing gave none) never counts as finished: a change could not be seen."""
        if sha is None:
            return None
        with self._lock, self._sql():
            found = self._db.execute("SELECT sha, row FROM evaluated WHERE id = ?", (repo_id,)).fetchone()
        if found is None or found[0] != sha:
            return None
        return _json_object(found[1])

    def finished_keys(self) -> Iterator[tuple[str, str]]:
        """(id, key) of every row: what a run that judges many models checks at once."""
        for repo_id, key in self._stream_rows("SELECT id, sha FROM evaluated WHERE sha IS NOT NULL"):
            yield str(repo_id), str(key)

    def families(self, n: int) -> tuple[list[dict[str, Any]], int]:
        """The `n` largest families of a hub audit's rows (each row's `family`): models, how their declared license
        stands to the family root's (same, different, undeclared) and their verdicts; and how many families."""
        fam = "COALESCE(json_extract(row, '$.family'), id)"
        with self._lock, self._sql():
            found = self._db.execute(
                f"SELECT {fam} AS f, COUNT(*), SUM(license = ''), "
                "SUM(license <> '' AND json_extract(row, '$.same_as_family') = 0), "
                "SUM(verdict = 'pass'), SUM(verdict = 'fail'), SUM(verdict = 'review'), "
                "MAX(CASE WHEN id = " + fam + " THEN license END), MAX(CASE WHEN id = " + fam + " THEN spdx END), "
                "MAX(json_extract(row, '$.family_license')) "
                "FROM evaluated GROUP BY f ORDER BY COUNT(*) DESC, f LIMIT ?", (n,)).fetchall()
            total = self._db.execute(f"SELECT COUNT(DISTINCT {fam}) FROM evaluated").fetchone()[0]
        out = []
        for f, models, undeclared, different, p, fail, review, own, spdx, named in found:
            out.append({"family": f, "license": own if own is not None else (named or ""), "spdx": spdx,
                        "models": models, "same": models - (undeclared or 0) - (different or 0),
                        "different": different or 0, "undeclared": undeclared or 0, "pass": p or 0,
                        "fail": fail or 0, "review": review or 0})
        return out, int(total)

    def license_pairs(self, n: int) -> list[dict[str, Any]]:
        """The `n` most frequent (family root's license, declared license) pairs of a hub audit's rows that
        descend from something, with their verdicts."""
        with self._lock, self._sql():
            found = self._db.execute(
                "SELECT COALESCE(json_extract(row, '$.family_license'), '') AS root, license, spdx, "
                "COALESCE(json_extract(row, '$.same_as_family'), 0) AS same, COUNT(*), SUM(verdict = 'fail'), "
                "SUM(verdict = 'review') FROM evaluated WHERE json_extract(row, '$.family') <> id "
                "GROUP BY root, license, spdx, same ORDER BY COUNT(*) DESC, root, license LIMIT ?",
                (n,)).fetchall()
        return [{"root_license": root, "declared": lic, "spdx": spdx, "same": bool(same), "count": count,
                 "fail": fail or 0, "review": review or 0} for root, lic, spdx, same, count, fail, review in found]

    def rows(self, order: str = "depth") -> Iterator[Mapping[str, Any]]:
        """Every evaluated row, streamed from the file (a few hundred rows in memory at a time): by depth then
        id, or (`preorder`) depth first, each node followed by its subtree, siblings by id."""
        if order not in ("depth", "preorder", "downloads"):
            raise ValueError(f"unknown order {order!r}")
        sql = {"depth": "SELECT row FROM evaluated ORDER BY depth, id",
               "downloads": "SELECT row FROM evaluated ORDER BY downloads DESC, id",
               "preorder": _PREORDER}[order]
        for text in self._stream(sql, (self.root,) if order == "preorder" else ()):
            row = _json_object(text)
            if row is not None:  # `verify` dropped the rows that cannot be read back
                yield row

    def top(self, verdict: str, n: int) -> list[Mapping[str, Any]]:
        """The `n` rows of `verdict` with the most downloads."""
        with self._lock, self._sql():
            found = self._db.execute("SELECT row FROM evaluated WHERE verdict = ? ORDER BY downloads DESC, id "
                                     "LIMIT ?", (verdict, n)).fetchall()
        return [row for (text,) in found if (row := _json_object(text)) is not None]

    def licenses(self) -> list[dict[str, Any]]:
        """Rows per declared license: license, spdx, count and the count of each verdict, most rows first."""
        with self._lock, self._sql():
            found = self._db.execute(
                "SELECT license, spdx, COUNT(*), SUM(verdict = 'pass'), SUM(verdict = 'fail'), "
                "SUM(verdict = 'review') FROM evaluated GROUP BY license, spdx "
                "ORDER BY COUNT(*) DESC, license").fetchall()
        return [{"license": lic, "spdx": spdx, "count": n, "pass": p or 0, "fail": f or 0, "review": r or 0}
                for lic, spdx, n, p, f, r in found]

    def update_row(self, repo_id: str, change: Mapping[str, Any]) -> None:
        """Merge `change` into the row of `repo_id` (its verdict too, when `change` has one)."""
        with self._lock, self._sql():
            found = self._db.execute("SELECT sha, row FROM evaluated WHERE id = ?", (repo_id,)).fetchone()
            if found is None:
                return
            row = {**(_json_object(found[1]) or {"id": repo_id}), **change}
            self.record(repo_id, found[0], str(row.get("verdict")), row)

    def counts(self) -> Mapping[str, int]:
        """`discovered`, `evaluated`, and the number of rows of each verdict."""
        with self._lock, self._sql():
            out = {"discovered": self._db.execute("SELECT COUNT(*) FROM discovered").fetchone()[0],
                   "evaluated": self._db.execute("SELECT COUNT(*) FROM evaluated").fetchone()[0]}
            for verdict, n in self._db.execute("SELECT verdict, COUNT(*) FROM evaluated GROUP BY verdict "
                                               "ORDER BY verdict"):
                out[verdict] = n
        return out
