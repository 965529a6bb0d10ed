"""`policycheck lint CARD...`: card metadata problems and rule findings at the line to change (offline by
default).

The pre-commit hook runs this on every commit, so it starts lean: its command line is read with the standard
library's argparse, not the command-line framework of the other commands (that framework's import alone was a
sixth of the hook's time). `policy.cli.entry` runs `main` directly for `policycheck lint ...`; the full command
line (`policy.cli.app`) hands `lint` and its arguments to the same `main`, so there is one definition of the
command and its options.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from policy.cli.streams import open_output
from policy.errors import combine_exit_codes
from policy.render.registry import RenderOptions, formats, render

SUMMARY = "Lint model cards: metadata problems and rule findings at the line to change (offline by default)."
EXIT_CODES = ("Exit codes follow what is printed: 0 no error (warnings pass), 1 a lint error or a violation (or "
              "an unresolved ancestor with --unresolved fail), 2 a card or option that cannot be read; with "
              "--fail-on warning a warning fails too: 3 a review finding (a fact needed for a decision is "
              "missing), 1 any other warning. The model's name (for a license's naming rule) is taken from the "
              "card's repo's Hub remote origin, else the card's model-index name, else --id, else the folder "
              "name; messages about the name say which. Not legal advice.")


def _columns() -> int:
    """The help's width as `shutil.get_terminal_size` gives it (COLUMNS, the terminal, else 80), read without
    importing shutil (argparse would import it, and its compression modules, on every run of the hook)."""
    import os
    import sys

    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=max(_columns(), 40) - 2)


def _model_id(value: str) -> str:
    from policy.scan.ids import repo_id_problem

    problem = repo_id_problem(value if "/" in value else f"x/{value}")
    if problem:
        raise argparse.ArgumentTypeError(f"not a Hub repo id (org/name) or name: {problem}")
    return value


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="policycheck lint", description=SUMMARY, epilog=EXIT_CODES,
                                 allow_abbrev=False, formatter_class=_formatter)
    ap.add_argument("cards_", nargs="+", type=Path, metavar="CARD",
                    help="model card files (README.md with YAML front matter)")
    ap.add_argument("--offline", action="store_true", help="send no request (the default; as for `check`)")
    ap.add_argument("--online", action="store_true",
                    help="let ancestors that are not local be read from the Hub")
    ap.add_argument("--unresolved", choices=("warn", "fail"), default="warn",
                    help="an ancestor that cannot be resolved offline: a warning (default) or a failure")
    ap.add_argument("--fail-on", choices=("error", "warning"), default="error",
                    help="the least severe problem that fails the run: error (default: warnings pass) or warning")
    ap.add_argument("--id", dest="model_id", metavar="ORG/NAME", type=_model_id,
                    help="the model's Hub id (or name), used when the card's repo has no Hub remote origin and "
                    "its model-index names no model")
    ap.add_argument("--cards", action="append", type=Path, metavar="DIR", default=[],
                    help="folder of local cards to resolve ancestors offline (repeatable)")
    ap.add_argument("--policy", type=Path, metavar="FILE",
                    help="policy file (default: policycheck.yaml found upward from the card)")
    ap.add_argument("--rules", action="append", type=Path, metavar="DIR", default=[],
                    help="extra rule data: packs, catalog entries, curations (repeatable)")
    ap.add_argument("--format", "-f", choices=formats("lint"), default="text", help="output format")
    ap.add_argument("--notes", action="store_true", help="text: also show notes (risks that ask nothing of the "
                    "card, such as a license without a patent grant; JSON and SARIF always carry them)")
    ap.add_argument("--fix", action="store_true", help="apply the safe fixes (license id case, misspelled "
                    "keys, relation spelling) in place, then report what is left; a card that is a symbolic "
                    "link is not rewritten (exit 2)")
    return ap


def main(argv: Sequence[str]) -> int:
    """Run `policycheck lint` with the arguments after `lint`; the exit code of the batch's worst outcome."""
    args = parser().parse_args(list(argv))  # a usage error exits 2, as every command's does
    from policy.lint.checks import LintOptions, run_lint

    options = LintOptions(cards=tuple(args.cards), policy_file=args.policy, rules=tuple(args.rules),
                          online=args.online and not args.offline, unresolved=args.unresolved,
                          model_id=args.model_id, fail_on=args.fail_on)
    codes: set[int] = set()

    fixer: Callable[[str, bytes], None] | None = None
    if args.fix:  # the writer (and tempfile) is imported only when cards may be written
        from policy.lint.inplace import write_in_place as fixer

    def counted() -> Iterator[object]:
        for r in run_lint([str(c) for c in args.cards_], options, write=fixer):
            codes.add(r.exit_code)
            yield r

    with open_output(None) as write:
        for chunk in render("lint", args.format, counted(), RenderOptions(notes=args.notes)):
            write(chunk)
    return combine_exit_codes(codes)
