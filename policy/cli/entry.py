"""The `policycheck` console script: `lint` (the pre-commit hook's command) starts with its own module alone
(`policy.cli.lint`, no command-line framework), every other command with the whole command line
(`policy.cli.app`). Both end in the one handler of `policy.errors.guarded`."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["lint"]:
        from policy.cli.lint import main as lint
        from policy.errors import guarded

        return guarded(lambda: lint(args[1:]))
    from policy.cli.app import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
