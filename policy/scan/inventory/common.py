"""What the readers of an inventory share: the bounds, what one reader finds, and the one way a file is read.

A repository is untrusted input: a file is opened without following a symbolic link, without waiting on a FIFO,
read only when it is a regular file, and never beyond a bound.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import replace

from policy.records import record

MiB = 1024 * 1024


@record
class Limits:
    """The bounds of one inventory. A file over `max_file_bytes` is skipped (and listed); the walk stops at
    `max_files` files read, `max_entries` directory entries or `max_total_bytes` read, and then says it is
    incomplete."""

    max_files: int = 100_000  # files read by a reader of their type
    max_entries: int = 2_000_000  # directory entries listed
    max_total_bytes: int = 2048 * MiB  # bytes read in all
    max_file_bytes: int = 2 * MiB  # one source, configuration or documentation file
    max_depth: int = 64  # folders below the root
    max_header_bytes: int = 8 * MiB  # the prefix of a GGUF file read for its header
    max_safetensors_header: int = 1 * MiB  # the JSON header of a safetensors file read whole below this
    max_skipped_listed: int = 200  # skipped files listed by name (the rest are counted)
    max_locations: int = 500  # locations kept per model (the rest are counted in a note)
    max_models: int = 20_000  # distinct models kept (a tree naming more is reported incomplete)
    max_pending: int = 100_000  # references through imported names waiting for the tree's modules

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The bounds, with `POLICYCHECK_INVENTORY_MAX_FILES`, `_MAX_ENTRIES`, `_MAX_FILE_MB` and `_MAX_TOTAL_MB`
        from the environment where set (a value that is not a positive number is ignored)."""
        env = os.environ if environ is None else environ
        changes: dict[str, int] = {}
        for name, field_, scale in (("MAX_FILES", "max_files", 1), ("MAX_ENTRIES", "max_entries", 1),
                                    ("MAX_FILE_MB", "max_file_bytes", MiB), ("MAX_TOTAL_MB", "max_total_bytes", MiB)):
            raw = env.get(f"POLICYCHECK_INVENTORY_{name}", "")
            try:
                value = float(raw)
            except ValueError:
                continue
            if value > 0:
                changes[field_] = max(1, int(value * scale))
        return replace(cls(), **changes) if changes else cls()


@record(slots=True)
class Found:
    """One reference a reader found: a model id (or a local weights path) at a place in a file."""

    id: str
    kind: str  # hub | api | local-weights | ollama
    line: int
    use: str
    detail: str = ""
    setting: str = ""
    column: int = 0
    cell: int = 0
    license: str | None = None  # local weights: the license their header or metadata declares
    base_models: tuple[str, ...] = ()  # local weights: bases their header or config names
    weight_file: str = ""  # local weights: the file this is (relative path)
    note: str = ""  # what could not be read of it


@record
class FileResult:
    """What a reader found in one file, and why it read only part of it (or none)."""

    found: tuple[Found, ...] = ()
    problems: tuple[tuple[str, int, int], ...] = ()  # (reason, line, column)
    pending: tuple[object, ...] = ()  # references to resolve once the whole tree is known (python.Pending)


EMPTY = FileResult()


@record(slots=True)
class Read:
    """A file's bytes, or why it was not read."""

    data: bytes = b""
    problem: str = ""
    size: int = 0
    truncated: bool = False  # only the first `limit` bytes (a header reader asked for a prefix)


def read_bounded(path: str, limit: int, *, prefix: bool = False) -> Read:
    """The bytes of a regular file, never following a symbolic link nor waiting on a FIFO. A file larger than
    `limit` is refused (`problem`), or with `prefix=True` its first `limit` bytes are returned (`truncated`)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return Read(problem=f"cannot be opened ({exc.strerror or exc})")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Read(problem="not a regular file")
        if info.st_size > limit and not prefix:
            return Read(problem=f"larger than {_size(limit)} ({_size(info.st_size)})", size=info.st_size)
        want = min(info.st_size, limit) if prefix else limit + 1
        parts: list[bytes] = []
        left = want
        while left > 0:
            part = os.read(fd, min(left, 1 * MiB))
            if not part:
                break
            parts.append(part)
            left -= len(part)
        data = b"".join(parts)
    except OSError as exc:
        return Read(problem=f"cannot be read ({exc.strerror or exc})")
    finally:
        os.close(fd)
    if not prefix and len(data) > limit:  # it grew while it was read
        return Read(problem=f"larger than {_size(limit)}", size=len(data))
    return Read(data=data, size=info.st_size, truncated=prefix and info.st_size > len(data))


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


def decode(data: bytes) -> str | None:
    """UTF-8 text (a BOM dropped), or None for a binary file (a NUL byte in its first 8 KB, or not UTF-8)."""
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
