"""Progress of the tree audit (policy/cli/progress.py): plain lines off a terminal, a rich bar on one."""

from __future__ import annotations

import io

import pytest

from policy.audit.tree import Progress
from policy.cli.progress import ProgressDisplay


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """A monotonic clock that reads `now` seconds (since boot, as on a machine that has just started)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("since_boot", [0.0, 100.0, 7 * 86400.0])
def test_plain_lines_are_rate_limited_and_say_what_is_left(since_boot: float) -> None:
    out = io.StringIO()
    clock = Clock(since_boot)
    display = ProgressDisplay("meta-llama/Llama-3.1-8B", stream=out, every=3600, clock=clock)
    with display:
        p = Progress(discovered=10, evaluated=8, listings=5, to_list=40)
        clock.now += 1
        display(p)  # the first line is written at once, however long ago the machine booted
        clock.now += 60
        display(Progress(discovered=11, evaluated=9))  # within `every`: not written
        display(Progress(discovered=12, evaluated=12, reused=3, listings=13, done=True))  # the end always is
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("policycheck tree meta-llama/Llama-3.1-8B: 10 discovered, 8 judged")
    assert "40 to list, ETA ≥" in lines[0]
    assert lines[1].endswith("15 judged (3 unchanged), " + lines[1].split(", ")[2] + ", 13 listings, done")


def test_a_known_total_gives_an_eta() -> None:
    p = Progress(discovered=100, evaluated=100, total=400)
    assert ProgressDisplay.eta(p, rate=10.0, listing_rate=1.0) == "ETA 30s"
    assert ProgressDisplay.eta(Progress(total=7300), rate=1.0, listing_rate=1.0) == "ETA 2h01m"
    assert ProgressDisplay.eta(Progress(to_list=90), rate=1.0, listing_rate=0.0) == "90 to list"


def test_quiet_writes_nothing_and_a_terminal_gets_a_bar() -> None:
    out = io.StringIO()
    with ProgressDisplay("a/b", stream=out, enabled=False) as display:
        display(Progress(discovered=1, done=True))
    assert out.getvalue() == ""
    tty = Tty()
    with ProgressDisplay("a/b", stream=tty) as display:
        display(Progress(discovered=5, evaluated=5, listings=6, done=True))
    assert "a/b" in tty.getvalue() and "5 discovered" in tty.getvalue()
