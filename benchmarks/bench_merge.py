"""Benchmark: per-node cost of evaluating a wide Llama merge, 4,000 bases against 10, in-process.

    .venv/bin/python benchmarks/bench_merge.py [--sizes 10,4000] [--repeat 5] [--baseline CHECKOUT]

Each size builds one lineage: a subject `acme/Llama-merge` (llama3.1) merging N bases `acme/base-i`, each under
the Llama 3.1 license (whose licensor check walks the graph), and evaluates it with the core pack. The cost per
node is the median wall time of `evaluate` over --repeat runs divided by N. Target: the 4,000-base merge costs at
most 2x per node what the 10-base one does (linear, not quadratic).

--baseline runs the same measurement with the engine of another checkout of this project (for example a
`git worktree` of an older commit) in a subprocess, so both are printed side by side in one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(sizes: list[int], repeat: int) -> dict[int, float]:
    """Seconds per node (median over `repeat`) for each merge width, with the engine found on sys.path."""
    from policy.engine.evaluation import evaluate
    from policy.engine.loader import load_bundle
    from policy.model.facts import DeclaredLicense, Edge, Lineage, ModelFacts
    from policy.model.policyfile import Policy

    bundle = load_bundle(use_cache=False)
    out = {}
    for n in sizes:
        subject = ModelFacts(id="acme/Llama-merge", license=DeclaredLicense(("llama3.1",)),
                             card={"license": "llama3.1", "pipeline_tag": "text-generation"})
        nodes = {subject.id: subject}
        edges = []
        for i in range(n):
            base = ModelFacts(id=f"acme/base-{i}", license=DeclaredLicense(("llama3.1",)), card={"license": "llama3.1"})
            nodes[base.id] = base
            edges.append(Edge(subject.id, base.id, "merge", "card"))
        lineage = Lineage(subject=subject.id, nodes=nodes, edges=tuple(edges))
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            evaluate(lineage, bundle.packs, bundle.catalog, Policy(), dt.date(2026, 12, 1))
            times.append(time.perf_counter() - start)
        out[n] = statistics.median(times) / n
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,4000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline", type=Path, help="another checkout of policycheck to measure side by side")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # subprocess mode
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.json:
        print(json.dumps(measure(sizes, args.repeat)))
        return 0
    runs = {"this checkout": ROOT}
    if args.baseline:
        runs["baseline"] = args.baseline.resolve()
    print(f"{'engine':<14} " + " ".join(f"{f'{n} bases':>14}" for n in sizes) + f" {'ratio':>8}")
    for label, checkout in runs.items():
        env = {**os.environ, "PYTHONPATH": str(checkout), "POLICYCHECK_CACHE": tempfile.mkdtemp()}
        proc = subprocess.run([sys.executable, __file__, "--json", "--sizes", args.sizes, "--repeat",
                               str(args.repeat)], capture_output=True, text=True, env=env, cwd=checkout)
        if proc.returncode:
            print(f"{label}: failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        per_node = {int(k): v for k, v in json.loads(proc.stdout).items()}
        ratio = per_node[sizes[-1]] / per_node[sizes[0]]
        print(f"{label:<14} " + " ".join(f"{per_node[n] * 1e6:>11.0f} µs" for n in sizes) + f" {ratio:>7.2f}x")
    print(f"(seconds per node, median of {args.repeat}; target: the widest at most 2x the narrowest)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
