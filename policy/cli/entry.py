"""The `policycheck` console script: `lint` (the pre-commit hook's command) starts with its own module alone
(`policy.cli.lint`, no command-line framework), every other command with the whole command line
(`policy.cli.app`). Both end in the one handler of `policy.errors.guarded`."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

# The cyclic garbage collector's first generation is collected every 700 new container objects by default; a run
# makes tens of thousands at start-up (classes, functions, the rule bundle), nearly none of them garbage, and the
# collections that finds nothing were about 5% of the pre-commit hook's time. As mypy does, collect less often
# while a command runs (garbage is still collected; memory stays bounded by the input limits, not by the GC).
GC_THRESHOLD = (50_000, 20, 20)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        if args[:1] == ["lint"]:
            from policy.cli.lint import main as lint
            from policy.errors import guarded

            return guarded(lambda: lint(args[1:]))
        from policy.cli.app import main as cli_main

        return cli_main(args)
    finally:
        gc.set_threshold(*before)  # a caller's own (tests run commands in their process)


if __name__ == "__main__":
    sys.exit(main())
