"""The one error hierarchy of policycheck, and the exit codes the CLI maps it to.

Only `policy.cli` turns these into exit codes; every other module raises them.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class UsageError(PolicyError):
    """The command line is wrong."""
