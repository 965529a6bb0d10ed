"""`policycheck lint CARD...`: card metadata problems and rule findings at the line to change (offline by
default), on the same command-line framework as every other command.

The pre-commit hook runs this on every commit, so it starts lean: `policy.cli.entry` builds a one-command
application from this module alone (typer and this file) instead of the whole command line.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from policy.cli.common import HELP, open_output
from policy.errors import combine_exit_codes
from policy.render.registry import RenderOptions, formats, render

LintFormat = Enum("LintFormat", {name: name for name in formats("lint")}, type=str)  # type: ignore[misc]
TEXT = LintFormat("text")


class Unresolved(str, Enum):
    warn = "warn"
    fail = "fail"


def lint(
    cards_: Annotated[list[Path], typer.Argument(metavar="CARD...", help="Model card files (README.md with YAML "
                                                 "front matter).")],
    offline: Annotated[bool, typer.Option("--offline", help="Send no request (the default; as for "
                                          "`check`).")] = False,
    online: Annotated[bool, typer.Option("--online", help="Let ancestors that are not local be read from the "
                                         "Hub.")] = False,
    unresolved: Annotated[Unresolved, typer.Option("--unresolved", help="An ancestor that cannot be resolved "
                                                   "offline: a warning (default) or a failure.")] = Unresolved.warn,
    cards: Annotated[list[Path] | None, typer.Option("--cards", metavar="DIR", help="Folder of local cards to "
                                                     "resolve ancestors offline (repeatable).")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy file (default: policycheck.yaml found "
                                                "upward from the card).")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", metavar="DIR", help="Extra rule data: packs, "
                                                     "catalog entries, curations (repeatable).")] = None,
    format: Annotated[LintFormat, typer.Option("--format", "-f",  # type: ignore[valid-type]
                                               help="Output format.")] = TEXT,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the safe fixes (license id case, misspelled keys, "
                                      "relation spelling) in place, then report what is left.")] = False,
) -> None:
    """Lint model cards: metadata problems and rule findings at the line to change (offline by default).

    Exit codes: 0 clean, 1 a lint error or a violation (or an unresolved ancestor with --unresolved fail),
    3 review, 2 a card that cannot be read."""
    from policy.lint.checks import LintOptions, run_lint
    from policy.lint.inplace import write_in_place

    options = LintOptions(cards=tuple(cards or ()), policy_file=policy, rules=tuple(rules or ()),
                          online=online and not offline, unresolved=unresolved.value)
    codes: set[int] = set()

    def counted():  # type: ignore[no-untyped-def]
        for r in run_lint([str(c) for c in cards_], options, write=write_in_place if fix else None):
            codes.add(r.exit_code)
            yield r

    with open_output(None) as write:
        for chunk in render("lint", format.value, counted(), RenderOptions()):
            write(chunk)
    raise typer.Exit(combine_exit_codes(codes))


def standalone() -> typer.Typer:
    """An application with `lint` alone, for the pre-commit hook's fast start (its help reads as the full
    command line's: `policycheck lint [OPTIONS] CARD...`)."""
    app = typer.Typer(add_completion=False, rich_markup_mode=None, context_settings=HELP)
    app.command("lint")(lint)

    @app.callback()
    def _group() -> None:  # two levels, so the usage line names the command
        """policycheck: license and compliance checks for ML models and their lineage. Not legal advice."""

    return app
