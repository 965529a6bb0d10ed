"""Benchmark: audits from a Hub metadata snapshot (`--snapshot`), without the network.

    .venv/bin/python benchmarks/bench_snapshot.py [--snapshot FILE] [--runs 3]
                                                  [--trees 100 --per-tree 2000 --unrelated 20000] [--json OUT]

Without --snapshot, benchmarks/gen_snapshot.py writes one first (by default 220,100 models: 100 Llama-family trees
of 2,000 descendants and 20,000 unrelated models) and the verdicts it documents are compared with the audits'.
Then whole `policycheck` processes (the console script's entry, run by this Python), each --runs times:

- `tree meta-llama/Llama-family-000 --snapshot FILE --format json --output X -q`: one root's 2,000 descendants
  out of the snapshot. Target < 15 s.
- `hub-audit --snapshot FILE --format parquet --output X -q --state S`: every model of the snapshot, from a
  fresh state file each run. Targets < 180 s and a peak under 2 GB.
- the same `hub-audit` again over the state the previous run left (nothing changed; no target).

Each command also gets `--policy tests/support/licensee_policy.yaml` (the licensee's figures: without them every
Llama descendant is review, as in benchmarks/bench_tree.py). Nothing reaches a network: `HF_HUB_OFFLINE=1`,
`HF_HOME` and `POLICYCHECK_CACHE` in a temporary folder, Hub tokens dropped, and `HF_ENDPOINT` a closed loopback
port, so a request that slipped through fails at once instead of reaching the Hub. One `rules list` first warms
the validated-rules cache, as any later run finds it.

Measured per process: wall time (spawn to exit) and peak memory. The peak is the larger of
- the process's own high-water mark (VmHWM), written by the process at exit through a wrapper (`WRAP`); exact
  for that process. Not wait4's ru_maxrss: a child of this benchmark would be charged this benchmark's own peak
  (it holds DuckDB after generating the snapshot), and `/usr/bin/time -v` reports the max over a process tree,
  never a sum;
- the peak of the summed resident sets (VmRSS) of the process and all its descendants (worker processes, a
  DuckDB or other helper), sampled every 50 ms from /proc. This is the whole process tree's footprint: pages a
  forked worker still shares with its parent are counted in each process, so for a forked pool it is an upper
  bound, and a spike shorter than 50 ms may be missed (the main process's own share of it is not: its VmHWM is
  exact).
The table shows medians over the runs and the projection to the whole Hub's 2.2 million models: both figures
scaled linearly by 2,200,000 / rows (x10 for the default snapshot), a pessimistic guess for memory if the audit
streams.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.gen_snapshot import generate, root_id  # noqa: E402

POLICY = REPO / "tests" / "support" / "licensee_policy.yaml"
HUB_SIZE = 2_200_000  # models on the Hub (hub-api.md: the snapshot has about 2.2 million rows)
TREE_TARGET_S = 15.0
AUDIT_TARGET_S = 180.0
AUDIT_TARGET_MB = 2048.0
POLL_S = 0.05
PEAK_FILE_VAR = "POLICYCHECK_BENCH_PEAK_FILE"
# The measured process: policycheck's entry, which writes its own VmHWM (KiB) at exit.
WRAP = """
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as fh:
        kb = next(line.split()[1] for line in fh if line.startswith("VmHWM"))
    with open(os.environ["POLICYCHECK_BENCH_PEAK_FILE"], "w") as out:
        out.write(kb)
atexit.register(_peak)
from policy.cli.entry import main
sys.exit(main(sys.argv[1:]))
"""
# Variables that would let a child use a real token, a shared cache or a real Hub.
DROPPED_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
               "HF_XET_CACHE", "HF_ASSETS_CACHE", "HF_ENDPOINT", "HUGGINGFACE_CO_STAGING", "POLICYCHECK_CACHE")


@dataclass
class Measured:
    """One process: exit code ('timeout' when killed), wall seconds, its own peak, the tree's sampled peak."""

    code: int | str
    seconds: float
    self_mb: float
    tree_mb: float
    processes: int  # processes seen in its tree (itself included)
    stderr_tail: str = ""

    @property
    def peak_mb(self) -> float:
        return max(self.self_mb, self.tree_mb)


@dataclass
class Row:
    name: str
    runs: list[Measured] = field(default_factory=list)
    targets: str = ""
    target_s: float | None = None
    target_mb: float | None = None
    check: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_mb(self) -> float:
        return statistics.median(r.peak_mb for r in self.runs)

    @property
    def ok(self) -> bool:
        return all(r.code in (0, 1, 3) for r in self.runs)


# ---------------------------------------------------------------------------------------------------------------
# Measuring a process tree


def process_children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc/<pid>/stat (this kernel may lack /proc/<pid>/task/<tid>/children)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:  # gone meanwhile
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_of(pid: int) -> list[int]:
    children = process_children()
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0  # gone, or a zombie (no VmRSS line)


def measure(args: list[str], env: dict[str, str], timeout: float, workdir: Path) -> Measured:
    """Run `policycheck ARGS` through `WRAP`; wall time, its own VmHWM and the tree's sampled summed VmRSS."""
    peak_file = workdir / "peak.kb"
    peak_file.unlink(missing_ok=True)
    seen: set[int] = set()
    tree_peak = 0
    with open(workdir / "stdout", "wb") as out, open(workdir / "stderr", "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", WRAP, *args], env={**env, PEAK_FILE_VAR: str(peak_file)},
                                stdout=out, stderr=err, cwd=workdir)
        code: int | str
        while True:
            pids = tree_of(proc.pid)
            seen.update(pids)
            tree_peak = max(tree_peak, sum(rss_kb(p) for p in pids))
            try:
                code = proc.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() - start > timeout:
                    proc.kill()
                    proc.wait()
                    code = "timeout"
                    break
        seconds = time.monotonic() - start
    text = peak_file.read_text(encoding="ascii").strip() if peak_file.exists() else ""
    self_mb = int(text) / 1024 if text.isdigit() else 0.0  # killed, or died before its exit handlers
    tail = (workdir / "stderr").read_text(encoding="utf-8", errors="replace")[-2000:]
    return Measured(code, seconds, self_mb, tree_peak / 1024, len(seen), tail)


# ---------------------------------------------------------------------------------------------------------------
# Checking what the audits said


def tree_check(output: Path, expected: Counter[str] | None) -> str:
    """The tree's verdict counts, and whether they are the generator's."""
    try:
        counts = json.loads(output.read_text(encoding="utf-8")).get("counts") or {}
    except (OSError, ValueError) as exc:
        return f"no JSON output ({exc.__class__.__name__})"
    got = {k: counts.get(k, 0) for k in ("pass", "fail", "review")}
    if expected is None:
        return f"counts {got}"
    return f"counts {got} " + ("= expected" if got == {k: expected.get(k, 0) for k in got} else
                               f"!= expected {dict(expected)}")


def audit_check(output: Path, expected: Counter[str] | None) -> str:
    """The audit's verdict counts (when its Parquet output has a `verdict` column), against the generator's."""
    import duckdb

    if not output.exists():
        return "no output"
    try:
        con = duckdb.connect()
        path = str(output).replace("'", "''")
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]
        if "verdict" not in names:
            return f"{len(names)} columns, no verdict column"
        got = dict(con.execute(f"SELECT verdict, count(*) FROM read_parquet('{path}') GROUP BY ALL").fetchall())
    except Exception as exc:  # the output is the audit's to define; report, do not fail the benchmark
        return f"output not read ({exc.__class__.__name__}: {str(exc)[:80]})"
    if expected is None:
        return f"verdicts {got}"
    same = all(got.get(k, 0) == expected.get(k, 0) for k in ("pass", "fail", "review"))
    return f"verdicts {got} " + ("= expected" if same else f"!= expected {dict(expected)}")


# ---------------------------------------------------------------------------------------------------------------


def offline_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp / "hf"), HF_ENDPOINT="http://127.0.0.1:9",
               HF_HUB_DISABLE_TELEMETRY="1", POLICYCHECK_CACHE=str(tmp / "cache"), NO_COLOR="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return env


def count_rows(snapshot: Path) -> int:
    import duckdb

    path = str(snapshot).replace("'", "''")
    return int(duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snapshot", type=Path, help="an existing snapshot (default: generate one)")
    ap.add_argument("--root", help="the tree command's root (default: the generator's first root)")
    ap.add_argument("--runs", type=int, default=1, help="runs of each command; medians are reported")
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--per-tree", type=int, default=2000)
    ap.add_argument("--unrelated", type=int, default=20_000)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a run is killed")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (outputs, logs)")
    ap.add_argument("--json", type=Path, help="also write the measurements here")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    tmp = Path(tempfile.mkdtemp(prefix="bench-snapshot-"))
    try:
        return run(args, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path) -> int:
    expected_tree: Counter[str] | None = None
    expected_all: Counter[str] | None = None
    if args.snapshot is None:
        snapshot = tmp / "models.parquet"
        done = generate(snapshot, trees=args.trees, per_tree=args.per_tree, unrelated=args.unrelated)
        rows = done.rows
        expected_tree, expected_all = done.expected_first_tree, done.expected
        print(f"generated {rows:,} models in {done.seconds:.1f} s ({snapshot.stat().st_size / 1e6:.1f} MB)")
    else:
        snapshot = args.snapshot.resolve()
        rows = count_rows(snapshot)
        print(f"snapshot {snapshot}: {rows:,} models")
    root = args.root or root_id(0)
    env = offline_env(tmp)
    work = tmp / "work"
    work.mkdir()
    warm = measure(["rules", "list"], env, 300, work)
    if warm.code != 0:
        print(f"`policycheck rules list` failed ({warm.code}):\n{warm.stderr_tail}", file=sys.stderr)
        return 2

    tree_out, audit_out, state = tmp / "tree.json", tmp / "audit.parquet", tmp / "state.sqlite"
    common = ["--snapshot", str(snapshot), "-q", "--policy", str(POLICY)]
    tree_row = Row(f"tree {root}", targets=f"< {TREE_TARGET_S:.0f} s", target_s=TREE_TARGET_S)
    audit_row = Row("hub-audit", targets=f"< {AUDIT_TARGET_S:.0f} s, < {AUDIT_TARGET_MB / 1024:.0f} GB",
                    target_s=AUDIT_TARGET_S, target_mb=AUDIT_TARGET_MB)
    rerun_row = Row("hub-audit, re-run on its state")
    cold_row = Row(f"tree {root}, cold cache", targets=f"< {TREE_TARGET_S:.0f} s", target_s=TREE_TARGET_S)
    for i in range(args.runs):
        # a cache folder of its own: the snapshot's database is built (and the rules validated) in this run
        tree_out.unlink(missing_ok=True)
        cold_env = {**env, "POLICYCHECK_CACHE": str(tmp / f"cold-{i}")}
        cold_row.runs.append(measure(["tree", root, "--format", "json", "--output", str(tree_out), *common],
                                     cold_env, args.timeout, work))
        cold_row.check = tree_check(tree_out, expected_tree) if args.root is None else tree_check(tree_out, None)
        shutil.rmtree(tmp / f"cold-{i}", ignore_errors=True)
        tree_out.unlink(missing_ok=True)
        tree_row.runs.append(measure(["tree", root, "--format", "json", "--output", str(tree_out), *common],
                                     env, args.timeout, work))
        tree_row.check = tree_check(tree_out, expected_tree) if args.root is None else tree_check(tree_out, None)
        state.unlink(missing_ok=True)
        audit_out.unlink(missing_ok=True)
        audit = ["hub-audit", "--format", "parquet", "--output", str(audit_out), "--state", str(state), *common]
        audit_row.runs.append(measure(audit, env, args.timeout, work))
        audit_row.check = audit_check(audit_out, expected_all)
        audit_out.unlink(missing_ok=True)
        rerun_row.runs.append(measure(audit, env, args.timeout, work))
        rerun_row.check = audit_check(audit_out, expected_all)

    report(rows, [cold_row, tree_row, audit_row, rerun_row], args.runs)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "snapshot": str(snapshot), "results": [
            {"name": r.name, "seconds": r.seconds, "peak_mb": r.peak_mb, "check": r.check,
             "runs": [{**asdict(m), "stderr_tail": m.stderr_tail[-300:]} for m in r.runs]}
            for r in (cold_row, tree_row, audit_row, rerun_row)]}, indent=2), encoding="utf-8")
    return 0 if all(r.ok for r in (cold_row, tree_row, audit_row, rerun_row)) else 1


def report(rows: int, results: list[Row], runs: int) -> None:
    scale = HUB_SIZE / rows if rows else float("nan")
    print(f"\n{'command':<36} {'wall s':>8} {'peak MB':>8} {'procs':>5}  {'target':<26} "
          f"{'x' + format(scale, '.1f') + ' (2.2M models)':<24} exit")
    for r in results:
        verdict = ""
        if r.target_s is not None:
            fine = r.seconds < r.target_s and (r.target_mb is None or r.peak_mb < r.target_mb)
            verdict = "error" if not r.ok else "met" if fine else "MISSED"
        codes = ",".join(str(m.code) for m in r.runs)
        projected = f"{r.seconds * scale:,.0f} s, {r.peak_mb * scale:,.0f} MB"
        print(f"{r.name:<36} {r.seconds:>8.1f} {r.peak_mb:>8.0f} {max(m.processes for m in r.runs):>5}  "
              f"{(r.targets + ' ' + verdict).strip():<26} {projected:<24} {codes}")
    print(f"(medians of {runs} run{'s' if runs > 1 else ''}; peak = max(own VmHWM, sampled sum of VmRSS over the "
          f"process tree); projection linear in the number of models)")
    for r in results:
        if r.check:
            print(f"  {r.name}: {r.check}")
        failed = next((m for m in r.runs if m.code not in (0, 1, 3)), None)
        if failed is not None:
            print(f"  {r.name} exited {failed.code}; stderr ends:\n    "
                  + "\n    ".join(failed.stderr_tail.strip().splitlines()[-8:]))


if __name__ == "__main__":
    sys.exit(main())
