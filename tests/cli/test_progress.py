"""Progress of the tree audit (policy/cli/progress.py): plain lines off a terminal, a rich bar on one."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from policy.audit.tree import Progress
from policy.cli.progress import ProgressDisplay
from tests.cli.conftest import CHILDREN

REPO = Path(__file__).resolve().parents[2]


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
    assert len(lines) == 3
    assert lines[0] == "policycheck tree meta-llama/Llama-3.1-8B: started; a line at most every 3600s"
    assert lines[1].startswith("policycheck tree meta-llama/Llama-3.1-8B: 10 discovered, 8 judged")
    assert "40 to list, ETA ≥" in lines[1]
    assert lines[2].endswith("15 judged (3 already judged), " + lines[2].split(", ")[2] + ", 13 listings, done")


def test_the_first_plain_line_is_written_on_entry_before_any_progress() -> None:
    out = io.StringIO()
    clock = Clock(50.0)
    with ProgressDisplay("a/b", stream=out, clock=clock) as display:
        assert out.getvalue() == "policycheck tree a/b: started; a line at most every 5s\n"  # before the Hub answers
        clock.now += 0.5
        display(Progress(discovered=1, evaluated=1, listings=1))  # the first progress line: at once
        clock.now += 1
        display(Progress(discovered=2, evaluated=2, listings=1))  # then rate-limited
        clock.now += 5
        display(Progress(discovered=3, evaluated=3, listings=2))
    lines = out.getvalue().splitlines()
    assert [line.split(": ", 1)[1].split(",")[0] for line in lines[1:]] == ["1 discovered", "3 discovered"]


def test_a_resumed_audit_says_already_judged() -> None:
    line = ProgressDisplay("a/b", stream=io.StringIO()).line(
        Progress(discovered=300, evaluated=44, reused=256, resumed=True), now=10.0)
    assert "300 judged (256 already judged)" in line and "unchanged" not in line and line.endswith(", resumed")


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
    assert "a/b" in tty.getvalue() and "5 discovered" in tty.getvalue() and "started;" not in tty.getvalue()


def test_a_repeated_audit_off_a_terminal_starts_at_once_and_says_already_judged(small_tree_env: dict[str, str],
                                                                               tmp_path: Path) -> None:
    env = small_tree_env
    state = tmp_path / "audit.sqlite"
    runs = [subprocess.run([sys.executable, "-m", "policy.cli", "tree", "acme/root", "--state", str(state)],
                           capture_output=True, text=True, timeout=120, cwd=REPO, env=env) for _ in range(2)]
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[0] == "policycheck tree acme/root: started; a line at most every 5s"
    assert "already judged" not in runs[0].stderr
    last = runs[1].stderr.splitlines()[-1]
    assert f"{CHILDREN} discovered, {CHILDREN} judged ({CHILDREN} already judged)" in last and last.endswith(", done")
