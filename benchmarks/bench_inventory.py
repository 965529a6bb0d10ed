"""Benchmark: `policycheck inventory` of a large tree, as whole processes.

    .venv/bin/python benchmarks/bench_inventory.py [TREE] [--runs 3] [--format json]

TREE defaults to the site-packages of the interpreter running this (tens of thousands of files in a full
environment). Each run is one `python -m policy.cli inventory TREE --format FORMAT` process (output to a
temporary file); its wall time and peak resident set (the child's ru_maxrss, from wait4) are measured, and the
inventory's own JSON says what was walked (entries, files read, bytes). The rule cache is built first, by one
untimed run on an empty folder. Printed: the tree's size, then per run and
as medians of --runs: wall seconds, files read per second, entries per second, peak RSS in MiB, models found.
Nothing is sent anywhere; the tree is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024


@dataclass
class Run:
    wall: float
    peak_mib: float
    code: int
    entries: int
    files_read: int
    bytes_read: int
    models: int
    skipped: int
    incomplete: str


def count_files(tree: Path) -> tuple[int, int]:
    """(files, bytes) under `tree`, symbolic links not followed."""
    files = size = 0
    stack = [str(tree)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        files += 1
                        size += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return files, size


def run_once(tree: Path, fmt: str, env: dict[str, str]) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"inventory.{fmt}"
        summary = Path(tmp) / "summary.json"
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "policy.cli", "inventory", str(tree), "--format", fmt,
                                 "--output", str(out)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.returncode not in (0, 3):
            raise SystemExit(f"policycheck inventory exited {proc.returncode}: {err[-2000:]}")
        if fmt != "json":  # the figures of the walk come from the JSON inventory
            subprocess.run([sys.executable, "-m", "policy.cli", "inventory", str(tree), "--format", "json",
                            "--output", str(summary)], cwd=ROOT, env=env, check=False, capture_output=True)
        data = json.loads((out if fmt == "json" else summary).read_text(encoding="utf-8"))
    s = data["summary"]
    return Run(wall, usage.ru_maxrss / 1024, proc.returncode, s["entries"], s["files_read"], s["bytes_read"],
               s["models"], s["skipped"], data.get("incomplete_reason") or "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", nargs="?", type=Path, default=Path(sysconfig.get_paths()["purelib"]),
                        help="the tree to inventory (default: this interpreter's site-packages)")
    parser.add_argument("--runs", type=int, default=3, help="whole processes to time (the median is printed)")
    parser.add_argument("--format", default="json", choices=("json", "text", "cyclonedx", "spdx3"))
    args = parser.parse_args(argv)
    tree = args.tree.resolve()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "POLICYCHECK_CACHE": tempfile.mkdtemp(prefix="bench-cache-")}
    files, size = count_files(tree)
    with tempfile.TemporaryDirectory() as empty:  # the rule cache is built once, as on any user's machine
        subprocess.run([sys.executable, "-m", "policy.cli", "inventory", empty], cwd=ROOT, env=env, check=False,
                       capture_output=True)
    print(f"tree: {tree}")
    print(f"      {files:,} files, {size / MiB:,.0f} MiB (symbolic links not followed)")
    runs = []
    for i in range(max(1, args.runs)):
        r = run_once(tree, args.format, env)
        runs.append(r)
        print(f"run {i + 1}: {r.wall:6.2f} s  {r.files_read / r.wall:8,.0f} files read/s  "
              f"{r.entries / r.wall:8,.0f} entries/s  peak {r.peak_mib:6.1f} MiB  exit {r.code}")
    last = runs[-1]
    wall = statistics.median(r.wall for r in runs)
    peak = statistics.median(r.peak_mib for r in runs)
    print(f"walked: {last.entries:,} entries (tool folders, caches and virtual environments inside not walked), "
          f"{last.files_read:,} files read ({last.bytes_read / MiB:,.1f} MiB), {last.skipped:,} skipped")
    print(f"found:  {last.models:,} models" + (f"; INCOMPLETE: {last.incomplete}" if last.incomplete else ""))
    print(f"median of {len(runs)}: {wall:.2f} s wall, {last.files_read / wall:,.0f} files read/s, "
          f"{last.entries / wall:,.0f} entries/s, {files / wall:,.0f} tree files/s, peak RSS {peak:.1f} MiB "
          f"(max {max(r.peak_mib for r in runs):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
