"""Progress of a tree audit on standard error: a rich progress bar on a terminal (discovered, judged, rate,
elapsed), plain lines elsewhere (a CI log, a pipe): one at once when the audit starts, then at most one every
`every` seconds, and nothing under `--quiet`. Descendants a resumed or repeated audit did not judge again (their
verdict is kept in --state) are counted as "already judged". The bar has no total: the size of a tree is known
only at the end of its walk."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from policy.audit.tree import Progress


class ProgressDisplay:
    def __init__(self, root: str, *, stream: TextIO | None = None, enabled: bool = True, color: bool = False,
                 every: float = 5.0, clock: Callable[[], float] = time.monotonic, command: str = "tree") -> None:
        self.root = root
        self.command = command
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.every = every
        self._tty = enabled and self.stream.isatty()
        self._color = color
        self._clock = clock
        self._started = clock()
        self._last: float | None = None  # nothing written yet: the first line goes out at once
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressDisplay:
        if self._tty:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            console = Console(file=self.stream, no_color=not self._color, highlight=False)
            self._bar = Progress(TextColumn(f"[bold]{self.command}[/] {{task.description}}"), BarColumn(),
                                 TextColumn("{task.fields[line]}"), TimeElapsedColumn(),
                                 console=console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.root, total=None, line="")
        elif self.enabled:  # off a terminal the first line goes out at once, before the Hub's first answer
            self.stream.write(f"policycheck {self.command} {self.root}: started; a line at most every "
                              f"{self.every:g}s\n")
            self.stream.flush()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if not self._due(p, now, 0.1 if self._bar is not None else self.every):
            return
        self._last = now
        if self._bar is not None:
            self._bar.update(self._task, line=self.line(p, now), completed=p.evaluated + p.reused)
        else:
            self.stream.write(f"policycheck {self.command} {self.root}: {self.line(p, now)}\n")
            self.stream.flush()

    def _due(self, p: Progress, now: float, interval: float) -> bool:
        """The first line and the last are always written; the others at most once per `interval` seconds."""
        return p.done or self._last is None or now - self._last >= interval

    def line(self, p: Progress, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        if p.indexed and not p.discovered and not p.done:
            return f"indexing the Hub's listing: {p.indexed:,} parent links, {p.listings:,} pages"
        judged = p.evaluated + p.reused
        rate = judged / elapsed
        text = (f"{p.discovered:,}" + (f"/{p.total:,}" if p.total is not None else "") + f" discovered, "
                f"{judged:,} judged" + (f" ({p.reused:,} already judged)" if p.reused else "")
                + f", {rate:,.0f}/s" + (f", {p.listings:,} listings" if self.command == "tree" else ""))
        if not p.done:
            text += f", {self.eta(p, rate, p.listings / elapsed)}"
        if p.resumed:
            text += ", resumed"
        return text + (", done" if p.done else "")

    @staticmethod
    def eta(p: Progress, rate: float, listing_rate: float) -> str:
        """Time left: from the known total (--discovery index); else a lower bound, the nodes discovered but
        not listed yet at the listing rate so far (each listing may discover more)."""
        judged = p.evaluated + p.reused
        if p.total is not None:
            return f"ETA {_duration(max(0, p.total - judged) / rate)}" if rate > 0 else "ETA unknown"
        if listing_rate <= 0:
            return f"{p.to_list:,} to list"
        return f"{p.to_list:,} to list, ETA ≥ {_duration(p.to_list / listing_rate)}"


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m"
