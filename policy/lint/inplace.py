"""Replacing a file whole: a fixed card (`policycheck lint --fix`), and the command line's `--output` files.

The new text goes to a temporary file beside the target, created by `tempfile.mkstemp`: a random name opened
with O_EXCL (and O_NOFOLLOW), so a link a repository planted at any name is never opened, let alone written
through. The temporary gets the target's mode through its descriptor and is renamed over the target when it
is complete; on any failure it is removed and the target is left as it was. A rename replaces whatever is at
the target's name, a link included, and never writes into what a link points at.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from policy.errors import InputError


def _umask() -> int:
    """The process's umask, read where Linux shows it: setting it to read it back would, for an instant, give
    the files other threads create the wrong mode."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A file to write that replaces `path` whole when the block ends without an error. `path` is a regular
    file, whose mode the new one keeps, or does not exist yet (then it gets the mode `open` would give it). An
    OSError of the temporary or the rename is raised as it is: the caller says what could not be written."""
    try:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:64]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_in_place(path: str, data: bytes) -> None:
    """Replace a card with its fixed text, keeping its mode. A card that is a symbolic link is refused (exit 2
    for that card): a link in a cloned repository may point anywhere, and replacing the link with a file would
    change what the repository holds."""
    target = Path(path)
    try:
        kind = os.lstat(target).st_mode
        if stat.S_ISLNK(kind):
            raise InputError(f"{path}: not fixed: the card is a symbolic link, and lint --fix does not write "
                             "through links (fix the file it points to)")
        if not stat.S_ISREG(kind):
            raise InputError(f"{path}: not fixed: not a regular file")
        with replacing(target) as fh:
            fh.write(data)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the fixed card ({exc.strerror})") from None
