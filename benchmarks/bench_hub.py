"""Benchmark: check a lineage of 50 models through the loopback Hub emulator with 50 ms latency injected on
every request, fetching sequentially (one worker) versus with the scanner's pool.

    .venv/bin/python benchmarks/bench_hub.py [--latency 0.05] [--workers 8] [--repeat 3]

It imports the emulator from tests/hubsim, so it needs the test extras: run it with the environment the README's
test command sets up (`.venv/bin/python -m pip install -e '.[test]'`).

The lineage is a merge tree, the shape where fetching can overlap: the subject merges 7 models, each of which
merges 6 others (1 + 7 + 42 = 50 models). A pure chain cannot be fetched faster than one node after another,
whatever the pool. Each run starts with an empty Hub cache, so every node costs its requests (model info,
README HEAD and GET). Target: the pool at least 5x faster than sequential.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hubsim import HubSim, make_card  # noqa: E402
from tests.hubsim.plugin import make_hub_env  # noqa: E402


def build(hub: HubSim) -> str:
    level1 = [f"bench/a{i}" for i in range(7)]
    for i, parent in enumerate(level1):
        leaves = [f"bench/b{i}-{j}" for j in range(6)]
        for leaf in leaves:
            hub.add_model(leaf, {"README.md": make_card({"license": "apache-2.0"}, f"# {leaf}\n")})
        hub.add_model(parent, {"README.md": make_card({"license": "apache-2.0", "base_model": leaves},
                                                      f"# {parent}\n")})
    hub.add_model("bench/m0", {"README.md": make_card({"license": "apache-2.0", "base_model": level1}, "# m0\n")})
    return "bench/m0"


def run(hub: HubSim, subject: str, workers: int) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as hf_home:
        env = make_hub_env(hub, hf_home)
        env["POLICYCHECK_HUB_WORKERS"] = str(workers)
        hub.clear_log()
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "policy.cli", subject, "--format", "json"], env=env,
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode not in (0, 1, 3):
            raise SystemExit(proc.stderr)
        verdict = '"verdict": "' + proc.stdout.split('"verdict": "', 1)[1].split('"', 1)[0]
        return wall, len(hub.requests), verdict


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("POLICYCHECK_HUB_WORKERS", 16)))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with HubSim() as hub:
        subject = build(hub)
        hub.faults.latency(args.latency)
        results = {}
        for label, workers in (("sequential (1 worker)", 1), (f"pool ({args.workers} workers)", args.workers)):
            walls = []
            for _ in range(args.repeat):
                wall, requests, verdict = run(hub, subject, workers)
                walls.append(wall)
            results[label] = statistics.median(walls)
            print(f"{label:<24} median {results[label]:6.2f} s over {args.repeat} runs "
                  f"({requests} requests, {args.latency * 1000:.0f} ms each; {verdict})")
        seq, pool = results.values()
        print(f"speed-up: {seq / pool:.1f}x (50 models)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
