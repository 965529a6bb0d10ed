"""What every command of the command line shares: the option types, the exit codes of verdicts, the terminal
(colour, width) and the writers of standard output, standard error and `--output` files."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from policy.errors import EXIT_FAIL, EXIT_PASS, EXIT_REVIEW, OutputClosed, PolicyError
from policy.render.registry import formats

HELP = {"help_option_names": ["-h", "--help"]}

VERDICT_EXIT = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "review": EXIT_REVIEW}


class Format(str, Enum):
    text = "text"
    json = "json"


def choices(command: str) -> type[Enum]:
    """The --format choices of `command`, from the renderer registry (the only list of formats)."""
    members = {name: name for name in formats(command)}
    return Enum(f"{command.title()}Format", members, type=str)  # type: ignore[return-value]


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    note = "note"


RulesOpt = Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule data: a folder of packs, "
                                                      "catalog entries and curations (repeatable).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
FailOnOpt = Annotated[Severity | None, typer.Option("--fail-on", help="Lowest severity that fails "
                                                    "(default: error).")]
TodayOpt = Annotated[str | None, typer.Option("--today", help="Evaluate waivers as of this date "
                                              "(YYYY-MM-DD; default: today).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Re-validate rule data instead of using the "
                                          "validated cache.")]
EvalsOpt = Annotated[Path | None, typer.Option("--evals", metavar="FILE", help="Independent evaluation values "
                                               "(CSV or JSON rows: model, revision, benchmark, value, scale, "
                                               "source), e.g. a frozen leaderboard export; claims are judged "
                                               "against them. Never fetched.")]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Policy file (default: policycheck.yaml found "
                                                "upward from the target).")]
CardsOpt = Annotated[list[Path] | None, typer.Option("--cards", help="Folder of local cards to resolve ancestors "
                                                     "offline.")]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Send no request to the Hub.")]
RevisionOpt = Annotated[str | None, typer.Option("--revision", help="Pin Hub targets to this revision.")]
ColorOpt = Annotated[bool | None, typer.Option("--color/--no-color", help="Colour the text output (default: "
                                               "on a terminal, unless NO_COLOR is set).")]


def terminal(output: Path | None, color: bool | None) -> tuple[bool, int]:
    """(colour, width) of text output. Colour only on a terminal and never under NO_COLOR
    (https://no-color.org) unless asked for; 80 columns unless the terminal says otherwise (COLUMNS or its
    size), never fewer than 60 nor more than 120."""
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


def date(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a date (YYYY-MM-DD)", param_hint="--today") from None
