"""Benchmark: (a) card evaluations per second in-process, on one core; (b) wall time of a whole
`policycheck check CARD --format json` process.

    python3 benchmarks/bench_engine.py [--cards DIR] [--seconds 3] [--runs 20]

(a) is measured twice: the engine alone (`evaluate` over a lineage built beforehand) and the whole in-process
pipeline per card (read and parse the card, walk its lineage over local cards and curations, evaluate).
Targets: at least 2,000 card evaluations per second on one core; under 0.3 s wall per CLI check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policy.engine.evaluation import evaluate  # noqa: E402
from policy.engine.loader import load_bundle  # noqa: E402
from policy.errors import InputError  # noqa: E402
from policy.model.policyfile import Policy  # noqa: E402
from policy.scan.lineage import build_lineage  # noqa: E402
from policy.scan.local import LocalSource, read_target  # noqa: E402

TODAY = dt.date(2026, 11, 24)


def rate(fn, seconds: float) -> tuple[float, int]:
    """Calls of `fn` per second over at least `seconds` (after one warm-up call)."""
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", type=Path, default=ROOT / "tests" / "fixtures" / "cards")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    bundle = load_bundle()
    source = LocalSource([args.cards])
    paths = sorted(p for p in args.cards.glob("*.md") if p.name != "README.md")
    subjects, skipped = [], []
    for p in paths:
        try:
            subjects.append(read_target(str(p)))
        except InputError as exc:
            skipped.append(f"{p.name}: {exc.message}")
    lineages = [build_lineage(s, source, bundle.catalog, (bundle.curations,)) for s in subjects]
    policy = Policy()
    verdicts: dict[str, int] = {}
    for lin in lineages:
        v = evaluate(lin, bundle.packs, bundle.catalog, policy, TODAY).verdict
        verdicts[v] = verdicts.get(v, 0) + 1
    print(f"cards: {len(subjects)} evaluated from {args.cards} ({len(skipped)} unreadable), verdicts {verdicts}")
    for s in skipped:
        print(f"  unreadable: {s}")
    print(f"lineage nodes per card: mean {statistics.mean(len(lin.nodes) for lin in lineages):.1f}, "
          f"max {max(len(lin.nodes) for lin in lineages)}")

    def engine_pass() -> None:
        for lin in lineages:
            evaluate(lin, bundle.packs, bundle.catalog, policy, TODAY)

    def pipeline_pass() -> None:
        for p in paths:
            try:
                subject = read_target(str(p))
            except InputError:
                continue
            lin = build_lineage(subject, source, bundle.catalog, (bundle.curations,))
            evaluate(lin, bundle.packs, bundle.catalog, policy, TODAY)

    per_pass, n = rate(engine_pass, args.seconds)
    print(f"(a) engine only:     {per_pass * len(lineages):8.0f} card evaluations/s on one core "
          f"({n} passes over {len(lineages)} cards)")
    per_pass, n = rate(pipeline_pass, args.seconds)
    print(f"(a) parse+walk+eval: {per_pass * len(subjects):8.0f} cards/s on one core ({n} passes)")

    target = str(paths[0])
    env = {**os.environ, "POLICYCHECK_CACHE": str(Path.home() / ".cache" / "policycheck-bench")}
    cmd = [sys.executable, "-m", "policy.cli", "check", target, "--cards", str(args.cards), "--offline",
           "--format", "json"]
    subprocess.run(cmd, env=env, capture_output=True, check=False)  # warm the validated-rules cache
    walls = []
    for _ in range(args.runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
        walls.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1, 3):
            print(proc.stderr.decode(), file=sys.stderr)
            return 1
    print(f"(b) CLI check of {Path(target).name}: median {statistics.median(walls):.3f} s, "
          f"min {min(walls):.3f} s, max {max(walls):.3f} s over {args.runs} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
