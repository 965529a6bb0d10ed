"""A policycheck process's wall time and its own peak memory.

The peak is the kernel's high-water mark of the process's resident set since it exec'd (VmHWM), written by the
process itself at exit. wait4's ru_maxrss is no good for this: a child started by fork, vfork or posix_spawn is
charged its parent's peak when it execs, so under pytest every child would weigh what the test run weighs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PEAK_FILE_VAR = "POLICYCHECK_PEAK_FILE"  # where the wrapped process writes its peak (KiB)
WRAP = """
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as fh:
        kb = next(line.split()[1] for line in fh if line.startswith("VmHWM"))
    with open(os.environ["POLICYCHECK_PEAK_FILE"], "w") as out:
        out.write(kb)
atexit.register(_peak)
from policy.cli.entry import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass
class Measured:
    """One finished process: exit code (None when it was killed at the timeout), output, wall seconds, peak MiB
    (0 when it did not say)."""

    code: int | None
    out: str
    err: str
    seconds: float
    peak_mb: float


def run_policycheck(args: Sequence[str], env: Mapping[str, str], *, timeout: float,
                    cwd: Path | None = None) -> Measured:
    """`policycheck ARGS` (the console script's entry) in a subprocess; killed past `timeout` seconds."""
    with tempfile.NamedTemporaryFile(suffix=".peak", delete=False) as peak_file:
        peak_path = Path(peak_file.name)
    try:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", WRAP, *args], cwd=cwd,
                                env={**env, PEAK_FILE_VAR: str(peak_path)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        streams: dict[str, bytes] = {}
        readers = [threading.Thread(target=lambda n=n, f=f: streams.__setitem__(n, f.read()))
                   for n, f in (("out", proc.stdout), ("err", proc.stderr))]
        for reader in readers:
            reader.start()
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        seconds = time.monotonic() - start
        for reader in readers:
            reader.join()
        text = peak_path.read_text().strip() if peak_path.exists() else ""
        peak = int(text) / 1024 if text.isdigit() else 0.0
        return Measured(code, streams["out"].decode("utf-8", "replace"), streams["err"].decode("utf-8", "replace"),
                        seconds, peak)
    finally:
        os.unlink(peak_path)
