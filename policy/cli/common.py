"""What every command of the command line shares: the option types, the exit codes of verdicts, the terminal
(colour, width) and the writers of standard output, standard error and `--output` files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from policy.errors import EXIT_FAIL, EXIT_PASS, EXIT_REVIEW
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


def date(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a date (YYYY-MM-DD)", param_hint="--today") from None


R = TypeVar("R")


def run_audit(what: str, state: Path | None, run: Callable[[], R]) -> R:
    """Run a resumable audit; Ctrl-C says how to resume it (with --state) and exits 130."""
    from policy.cli.streams import err

    try:
        return run()
    except KeyboardInterrupt:
        where = f"; run the same command again to resume from {state}" if state else (
            "; nothing was kept (give --state FILE to make an audit resumable)")
        err(f"policycheck: {what} interrupted{where}")
        raise typer.Exit(130) from None


def write_audit(command: str, fmt: str, data: Any, verdict: str, output: Path | None, color: bool,
                width: int) -> NoReturn:
    """Write an audit's output in `fmt` (streamed) and exit with its verdict's code."""
    from policy.cli.streams import open_output
    from policy.render.registry import RenderOptions, render

    with open_output(output) as write:
        for chunk in render(command, fmt, data, RenderOptions(color=color and fmt == "text", width=width)):
            write(chunk)
    raise typer.Exit(VERDICT_EXIT[verdict])
