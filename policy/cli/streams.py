"""The command line's terminal and streams, without the command-line framework (the pre-commit hook's
`lint` starts without it): colour and width, the writers of standard output and standard error, and
`--output` files."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from policy.errors import OutputClosed, PolicyError


def terminal(output: Path | None, color: bool | None) -> tuple[bool, int]:
    """(colour, width) of text output. Colour only on a terminal and never under NO_COLOR
    (https://no-color.org) unless asked for; 80 columns unless the terminal says otherwise (COLUMNS or its
    size), never fewer than 60 nor more than 120."""
    import shutil  # not on the pre-commit hook's path, which never asks

    tty = output is None and sys.stdout.isatty()
    use_color = color if color is not None else tty and not os.environ.get("NO_COLOR")
    width = min(shutil.get_terminal_size((80, 24)).columns, 120) if tty or "COLUMNS" in os.environ else 80
    return use_color, max(width, 60)


def out(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed from None


def say(line: str) -> None:
    """One line of text output whose values come from rule data or cards: control characters made visible."""
    from policy.textsafe import printable

    out(printable(line) + "\n")


def err(text: str) -> None:
    """An error message for the terminal: its lines kept, control characters in them shown as escapes."""
    from policy.textsafe import printable_lines

    sys.stderr.write(printable_lines(text[:-1] if text.endswith("\n") else text) + "\n")


@contextlib.contextmanager
def open_output(path: Path | None) -> Iterator[Callable[[str | bytes], None]]:
    """A writer for the output: standard output, or a file written whole (a half-written report never
    replaces a good one: it goes to a temporary file that is renamed at the end)."""
    if path is None:
        def write_stdout(chunk: str | bytes) -> None:
            if isinstance(chunk, bytes):
                try:
                    sys.stdout.flush()
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.buffer.flush()
                except BrokenPipeError:
                    raise OutputClosed from None
            else:
                out(chunk)
        yield write_stdout
        return
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            yield lambda chunk: fh.write(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8"))
        os.replace(tmp, path)
    except OSError as exc:
        raise PolicyError(f"--output {path}: cannot write ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)
