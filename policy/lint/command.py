"""`policycheck lint`: the command line of the card linter, without typer.

The pre-commit hook runs this on every commit, so it starts lean: `policy.cli.entry` dispatches `lint` here before
the typer application (~60 ms of imports) is loaded; `policycheck lint` through the typer app delegates here
too, so the options are defined once. The work itself is `policy.lint.run_lint`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from policy.errors import PolicyError, UsageError, combine_exit_codes


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"lint: {message} (see `policycheck lint -h`)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="policycheck lint", description=(
        "Lint model cards: metadata problems and rule findings at the line to change (offline by default). "
        "Exit codes: 0 clean, 1 a lint error or a violation (or an unresolved ancestor with --unresolved fail), "
        "3 review, 2 a card that cannot be read."))
    p.add_argument("cards_", nargs="+", metavar="CARD", help="model card files (README.md with YAML front matter)")
    p.add_argument("--offline", action="store_true", help="send no request (the default; as for `check`)")
    p.add_argument("--online", action="store_true", help="let ancestors that are not local be read from the Hub")
    p.add_argument("--unresolved", choices=("warn", "fail"), default="warn",
                   help="an ancestor that cannot be resolved offline: a warning (default) or a failure")
    p.add_argument("--cards", action="append", type=Path, default=[], metavar="DIR",
                   help="folder of local cards to resolve ancestors offline (repeatable)")
    p.add_argument("--policy", type=Path, help="policy file (default: policycheck.yaml found upward from the card)")
    p.add_argument("--rules", action="append", type=Path, default=[], metavar="DIR",
                   help="extra rule data: packs, catalog entries, curations (repeatable)")
    p.add_argument("--format", "-f", choices=("text", "json", "sarif"), default="text", help="output format")
    p.add_argument("--fix", action="store_true",
                   help="apply the safe fixes (license id case, misspelled keys, relation spelling) in place, then "
                        "report what is left")
    return p


def run(argv: Sequence[str]) -> int:
    """Parse `argv`, lint, write the output; the exit code. Raises PolicyError for the handler to report."""
    from policy.lint.checks import LintOptions, iter_text, json_document, run_lint, sarif_document
    from policy.textsafe import printable_lines

    args = parser().parse_args(list(argv))
    options = LintOptions(cards=tuple(args.cards), policy_file=args.policy, rules=tuple(args.rules),
                          online=args.online and not args.offline, unresolved=args.unresolved)
    results = run_lint(list(args.cards_), options, write=write_in_place if args.fix else None)
    codes: set[int] = set()

    def counted() -> Iterator[object]:
        for r in results:
            codes.add(r.exit_code)
            yield r

    if args.format == "text":
        for chunk in iter_text(counted()):  # type: ignore[arg-type]
            _out(printable_lines(chunk))
    else:
        from policy.render.json import dumps

        collected = list(counted())
        document = (json_document(collected, combine_exit_codes(codes)) if args.format == "json"  # type: ignore[arg-type]
                    else sarif_document(collected))  # type: ignore[arg-type]
        _out(dumps(document) + "\n")
    return combine_exit_codes(codes)


def write_in_place(path: str, data: bytes) -> None:
    """Replace a card with its fixed text: written beside it and renamed, keeping its permissions."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.policycheck-fix")
    try:
        tmp.write_bytes(data)
        shutil.copymode(target, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot write the fixed card ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
