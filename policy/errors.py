"""The one error hierarchy of policycheck, the exit codes, and the one handler that maps errors to them.

Only the command line (`policy.cli.app`, `policy.lint.command`, through `guarded`) turns these into exit codes;
every other module raises them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policy.diagnostics import Diagnostic

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_ERROR = 2  # usage, configuration or input error
EXIT_REVIEW = 3
EXIT_INTERNAL = 4  # a bug in policycheck: please report it


class PolicyError(Exception):
    """Base of every error policycheck reports to the user (exit 2)."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics = tuple(diagnostics)


class ConfigError(PolicyError):
    """A rule pack, catalog entry, curation or policy file is invalid."""


class InputError(PolicyError):
    """A target (model card, folder, repo id) cannot be read or parsed."""


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer its reader left


class OutputClosed(Exception):
    """The reader of standard output went away (`policycheck ... | head`). Raised by the command line's writers
    in place of BrokenPipeError, which click would turn into exit 1."""


class OutputFailed(PolicyError):
    """Standard output cannot be written (a full disk, `> /dev/full`): exit 2 with the reason. Raised by the
    command line's writers in place of the OSError, which would be an internal error."""

    @classmethod
    def of(cls, exc: OSError | None) -> OutputFailed:
        reason = (exc.strerror or str(exc)) if exc is not None else "it is closed"
        return cls(f"cannot write standard output ({reason})")


class UsageError(PolicyError):
    """The command line is wrong."""


def combine_exit_codes(codes: Iterable[int]) -> int:
    """A batch exits with its worst outcome: internal error, input error, then fail, review, pass."""
    seen = set(codes)
    for code in (EXIT_INTERNAL, EXIT_ERROR, EXIT_FAIL, EXIT_REVIEW):
        if code in seen:
            return code
    return EXIT_PASS


READER_WAIT = 2.0  # seconds: how long an ending run waits for the reader of a pipe to take or refuse the rest


def _reader_left(wait: float = READER_WAIT) -> bool:
    """Whether standard output is a pipe whose reader went away before it read everything written
    (`policycheck ... | head -c1`). A short output fits in the pipe's buffer, so its writes succeed whether or
    not the reader stays; only the unread bytes left behind tell. Those are waited on (at most `wait` seconds,
    returning as soon as the reader has taken them): a reader that closes the pipe with them unread left, as
    EPIPE on a write would have said (exit 141); a reader that reads them, or is still there, did not."""
    import fcntl
    import io
    import os
    import select
    import stat
    import struct
    import termios
    import time

    if sys.stdout is None:
        return False
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return True
    except (OSError, ValueError):
        return False
    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR is always reported: the pipe has no reader left
        deadline = time.monotonic() + wait
        pause = 0.001
        while True:
            unread = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
            if unread == 0:  # all read, whether or not the reader has gone since
                return False
            if any(event & select.POLLERR for _fd, event in poller.poll(0)):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
    except (OSError, ValueError, io.UnsupportedOperation):  # not a descriptor (captured output), no FIONREAD
        return False


def guarded(command: Callable[[], int | None]) -> int:
    """Run a command; report a PolicyError as one line (plus its diagnostics) and its exit code, a bug as an
    internal error with the traceback. The only place errors become exit codes."""
    from policy.diagnostics import format_diagnostic
    from policy.textsafe import printable_lines

    def err(text: str) -> None:
        sys.stderr.write(printable_lines(text.rstrip("\n")) + "\n")

    def discard_stdout() -> None:
        """What is left in standard output's buffer goes nowhere: the interpreter's final flush must not fail
        again (it would print its own error and exit 120)."""
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # no descriptor (output captured in memory): there is no final flush to fail
            pass

    def stdout_failed(exc: Exception) -> bool:
        """Whether `exc` is an OSError of a library writing standard output (click's --help): the frame that
        raised it holds standard output. (policycheck's own writers raise OutputFailed.)"""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        return (isinstance(exc, OSError) and tb is not None and sys.stdout is not None
                and any(value is sys.stdout for value in tb.tb_frame.f_locals.values()))

    try:
        code = command()
        if code is None:
            code = EXIT_PASS
    except SystemExit as exc:  # typer/click end every command this way, usage errors with code 2
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    except PolicyError as exc:
        if isinstance(exc, OutputFailed) and sys.stdout is not None:
            discard_stdout()
        err(f"policycheck: {exc.message}")
        for d in exc.diagnostics:
            err(format_diagnostic(d))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except (BrokenPipeError, OutputClosed):  # the reader went away (`policycheck ... | head`): stop, say nothing
        discard_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug in policycheck, unless standard output failed under a library's write
        if stdout_failed(exc):
            discard_stdout()
            err(f"policycheck: {OutputFailed.of(exc).message}")
            return EXIT_ERROR
        import traceback

        err("policycheck: internal error; please report it with the traceback below")
        traceback.print_exc()
        return EXIT_INTERNAL
    if _reader_left():  # a short output fit in the pipe, and its reader left without reading it all
        discard_stdout()
        return EXIT_BROKEN_PIPE
    return code

