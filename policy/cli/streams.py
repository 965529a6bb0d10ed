"""The command line's terminal and streams, without the command-line framework (the pre-commit hook's
`lint` starts without it): colour and width, the writers of standard output and standard error, and
`--output` files."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from policy.errors import OutputClosed, OutputFailed, PolicyError


def terminal(output: Path | None, color: bool | None) -> tuple[bool, int]:
    """(colour, width) of text output. Colour only on a terminal and never under NO_COLOR
    (https://no-color.org) unless asked for; 80 columns unless the terminal says otherwise (COLUMNS or its
    size), never fewer than 60 nor more than 120."""
    import shutil  # not on the pre-commit hook's path, which never asks

    tty = output is None and sys.stdout is not None and sys.stdout.isatty()
    use_color = color if color is not None else tty and not os.environ.get("NO_COLOR")
    width = min(shutil.get_terminal_size((80, 24)).columns, 120) if tty or "COLUMNS" in os.environ else 80
    return use_color, max(width, 60)


@contextlib.contextmanager
def _writing_stdout() -> Iterator[None]:
    """Errors of writing standard output as the command line reports them: a reader that went away ends the
    run quietly (exit 141); anything else (a full disk, `> /dev/full`, a closed descriptor) is exit 2 with the
    reason."""
    if sys.stdout is None:  # started with standard output closed (`>&-`)
        raise OutputFailed.of(None)
    try:
        yield
    except BrokenPipeError:
        raise OutputClosed from None
    except OSError as exc:
        raise OutputFailed.of(exc) from None


def out(text: str) -> None:
    from policy.textsafe import encodable

    with _writing_stdout():
        sys.stdout.write(encodable(text))
        sys.stdout.flush()


def say(line: str) -> None:
    """One line of text output whose values come from rule data or cards: control characters made visible."""
    from policy.textsafe import printable

    out(printable(line) + "\n")


def table(headers: tuple[str, ...], rows: list[tuple[str, ...]], width: int, *, color: bool = False,
          first_max: int = 30) -> None:
    """Rows under a header row, in columns two spaces apart, within `width` columns (as `terminal` gives it).
    A first cell longer than `first_max` has the line to itself and the row goes on below it; the last column
    is wrapped at word boundaries and its lines stay in that column. The header is bold with colour (never under
    NO_COLOR, see `terminal`); cells come from rule data, so control characters in them are shown as escapes."""
    import textwrap

    from policy.textsafe import printable

    cells = [tuple(printable(c) for c in row) for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers[:-1])]
    if widths:
        widths[0] = min(widths[0], max(first_max, len(headers[0])))
    lead = sum(w + 2 for w in widths)
    room = max(width - lead, 16)

    def line(row: tuple[str, ...], bold: bool = False) -> None:
        first, *middle = row[:-1]
        if widths and len(first) > widths[0]:  # the line to itself; the row goes on below it
            out(first + "\n")
            first = ""
        wrapped = textwrap.wrap(row[-1], room, break_long_words=False, break_on_hyphens=False) or [""]
        head = "".join(cell.ljust(w + 2) for cell, w in zip((first, *middle), widths, strict=True))
        text = "\n".join([(head + wrapped[0]).rstrip(), *(" " * lead + w for w in wrapped[1:])])
        out((f"\x1b[1m{text}\x1b[0m" if bold else text) + "\n")

    line(headers, bold=color)
    for row in cells:
        line(row)


def err(text: str) -> None:
    """An error message for the terminal: its lines kept, control characters in them shown as escapes."""
    from policy.textsafe import printable_lines

    sys.stderr.write(printable_lines(text[:-1] if text.endswith("\n") else text) + "\n")


def _write_stdout(chunk: str | bytes) -> None:
    if isinstance(chunk, str):
        out(chunk)
        return
    with _writing_stdout():
        sys.stdout.flush()
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()


def _output_file(path: Path) -> contextlib.AbstractContextManager[BinaryIO]:
    """The file an `--output` path is written through. A regular file, or a path that does not exist yet, is
    replaced whole at the end (a half-written report never replaces a good one). Anything else that exists (a
    FIFO, a device such as /dev/null, a symbolic link such as /dev/stdout) is written in place, as `> path`
    would: replacing it would put a file where the FIFO, the device node or the link was. A link that points
    at nothing is not followed to create a file."""
    from policy.lint.inplace import replacing

    try:
        kind = os.lstat(path).st_mode
    except FileNotFoundError:
        return replacing(path)
    if stat.S_ISREG(kind):
        return replacing(path)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_TRUNC), "wb")


@contextlib.contextmanager
def open_output(path: Path | None) -> Iterator[Callable[[str | bytes], None]]:
    """A writer for the output: standard output, or an `--output` file (see `_output_file`). Text is written
    as UTF-8, a lone surrogate as U+FFFD (`textsafe.encodable`)."""
    from policy.textsafe import encodable

    if path is None:
        yield _write_stdout
        return

    def cannot(exc: OSError) -> PolicyError:
        return PolicyError(f"--output {path}: cannot write ({exc.strerror or exc})")

    with contextlib.ExitStack() as stack:
        try:
            fh = stack.enter_context(_output_file(path))
        except OSError as exc:
            raise cannot(exc) from None

        def write(chunk: str | bytes) -> None:
            try:
                fh.write(chunk if isinstance(chunk, bytes) else encodable(chunk).encode("utf-8"))
            except OSError as exc:
                raise cannot(exc) from None

        yield write
        try:
            stack.close()  # the rename of a replaced file: only an output written whole takes the path
        except OSError as exc:
            raise cannot(exc) from None
