"""`python -m policy.cli`: the console script."""

import sys

from policy.cli.entry import main

sys.exit(main())
