"""`policycheck check`: targets checked one by one in a session, each result yielded as soon as it is done; with an
inventory, the models of a code repository after them (policy/pipeline/inventory.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from policy.model.inventory import Inventory
from policy.model.report import Report, TargetError
from policy.pipeline.session import CheckOptions, Session

__all__ = ["CheckOptions", "check_targets", "iter_check"]


def iter_check(targets: Sequence[str], options: CheckOptions,
               inventory: Inventory | None = None) -> Iterator[Report | TargetError]:
    """Check targets one by one, then the models `inventory` selects (`check --inventory`), yielding each result as
    soon as it is done (a batch's memory stays flat)."""
    with Session(options) as session:
        yield from session.check_all(targets)
        if inventory is not None:
            from policy.pipeline.inventory import judge

            yield from judge(session, inventory)


def check_targets(targets: Sequence[str], options: CheckOptions) -> list[Report | TargetError]:
    return list(iter_check(targets, options))
