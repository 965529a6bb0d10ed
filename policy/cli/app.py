"""The command line: a thin typer layer over one module per command (policy/cli/<command>.py); errors become
exit codes in one place (`policy.errors.guarded`).

    policycheck org/model            same as `policycheck check org/model` (also a card file or a folder)
    policycheck check TARGET...      card files, model folders or Hub ids; `check gpt2` for a one-word Hub id
    policycheck lint CARD... [--fix] card metadata problems and rule findings at the line to change
    policycheck tree org/model       audit every descendant of a Hub model (resumable with --state FILE)
    policycheck hub-audit --snapshot SOURCE   judge every model of a Hub metadata snapshot
    policycheck claims TARGET        a model's evaluation claims, judged (--evals FILE: independent values)
    policycheck inventory PATH       the models a code repository uses (check --inventory PATH judges them)
    policycheck annex MODEL...       a partner-agreement annex drafted from the checks
    policycheck aiact MODEL...       the EU AI Act documentation pack of a GPAI model's provider
    policycheck rules list|validate|test
    policycheck licenses [ID] [--category C]  the catalog; with an ID, one license's clauses and citations

Exit codes: 0 pass, 1 fail, 3 review, 2 usage/configuration/input error, 4 internal error.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from policy import __version__
from policy.cli import aiact, annex, check, claims, hub_audit, inventory, lint, rules, tree
from policy.cli.common import HELP
from policy.cli.streams import err, out
from policy.errors import EXIT_ERROR, EXIT_PASS

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None, context_settings=HELP,
                  help="policycheck: license and compliance checks for ML models and their lineage. "
                       "Not legal advice.")
rules_app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings=HELP,
                        help="List, validate and test rule packs.")


def _print_version(value: bool) -> None:
    if value:
        out(f"policycheck {__version__}\n")
        raise typer.Exit(EXIT_PASS)


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """policycheck: license and compliance checks for ML models and their lineage. Not legal advice."""


def version() -> None:
    """Print the version."""
    out(f"policycheck {__version__}\n")


# The command list of `policycheck --help` shows each command's `short_help`: click would otherwise cut the
# docstring's first sentence at 45 characters ("... the verdict decides..."). Each is short and whole.
app.command(short_help="Check models against the rule packs.")(check.check)


@app.command("lint", help=lint.SUMMARY, short_help="Lint model cards (the pre-commit hook).", add_help_option=False,
             context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def _lint(ctx: typer.Context) -> None:
    """`lint` reads its own options (policy.cli.lint, argparse): the pre-commit hook starts without typer."""
    raise typer.Exit(lint.main(ctx.args))


app.command(short_help="Draft a partner-agreement annex.")(annex.annex)
app.command(short_help="Draft the EU AI Act pack of a GPAI model.")(aiact.aiact)
app.command(short_help="Audit every descendant of a Hub model.")(tree.tree)
app.command("hub-audit", short_help="Audit a whole Hub snapshot.")(hub_audit.hub_audit)
app.command(short_help="List the models a code repository uses.")(inventory.inventory)
app.command(short_help="Judge a model's evaluation claims.")(claims.claims)
app.command(short_help="Record the weight hashes of a Hub repo.")(claims.fingerprint)
rules_app.command("list", short_help="List the rules of every pack.")(rules.rules_list)
rules_app.command("validate", short_help="Validate the rule data.")(rules.rules_validate)
rules_app.command("test", short_help="Run the packs' test cases.")(rules.rules_test)
app.add_typer(rules_app, name="rules", short_help="List, validate and test rule packs.")
app.command(short_help="List the license catalog, or one license.")(rules.licenses)
app.command(short_help="Print the version.")(version)


COMMANDS = frozenset({c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
                     | {g.name for g in app.registered_groups if g.name})
_BARE_WORD = re.compile(r"[A-Za-z0-9_-]+")  # no `/`, no `.`: a command name, not a Hub id (org/name) or a file


def _shorthand_problem(word: str) -> str | None:
    """`policycheck WORD ...` means `policycheck check WORD ...` only for an `org/name` id, a card file or a
    folder. A bare word is a usage error: a mistyped command (`licences`, `rule list`, `chek x`) must not turn
    into a Hub lookup. One-word legacy Hub ids (`gpt2`) are checked with `policycheck check gpt2`."""
    if not _BARE_WORD.fullmatch(word) or Path(word).exists():
        return None
    close = difflib.get_close_matches(word.lower(), sorted(COMMANDS), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" ({', '.join(sorted(COMMANDS))})."
    return f"'{word}' is not a command{hint} To check a one-word Hub id, run `policycheck check {word}`."


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. `policycheck org/model ...` is shorthand for `policycheck check org/model ...`."""
    from policy.errors import guarded

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] not in COMMANDS and not args[0].startswith("-"):
        problem = _shorthand_problem(args[0])
        if problem:
            err(f"policycheck: usage error: {problem}")
            return EXIT_ERROR
        args.insert(0, "check")
    return guarded(lambda: app(args=args, prog_name="policycheck", standalone_mode=True))


if __name__ == "__main__":
    sys.exit(main())
