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


class UsageError(PolicyError):
    """The command line is wrong."""


def combine_exit_codes(codes: Iterable[int]) -> int:
    """A batch exits with its worst outcome: internal error, input error, then fail, review, pass."""
    seen = set(codes)
    for code in (EXIT_INTERNAL, EXIT_ERROR, EXIT_FAIL, EXIT_REVIEW):
        if code in seen:
            return code
    return EXIT_PASS


def guarded(command: Callable[[], int | None]) -> int:
    """Run a command; report a PolicyError as one line (plus its diagnostics) and its exit code, a bug as an
    internal error with the traceback. The only place errors become exit codes."""
    from policy.diagnostics import format_diagnostic
    from policy.textsafe import printable_lines

    def err(text: str) -> None:
        sys.stderr.write(printable_lines(text.rstrip("\n")) + "\n")

    try:
        code = command()
    except SystemExit as exc:  # typer/click end every command this way, usage errors with code 2
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    except PolicyError as exc:
        err(f"policycheck: {exc.message}")
        for d in exc.diagnostics:
            err(format_diagnostic(d))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except (BrokenPipeError, OutputClosed):  # the reader went away (`policycheck ... | head`): stop, say nothing
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
        return EXIT_BROKEN_PIPE
    except Exception:  # a bug in policycheck
        import traceback

        err("policycheck: internal error; please report it with the traceback below")
        traceback.print_exc()
        return EXIT_INTERNAL
    return EXIT_PASS if code is None else code

