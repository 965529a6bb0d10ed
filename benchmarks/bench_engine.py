"""Benchmark: (a) card evaluations per second in-process, on one core; (b) wall time of a whole
`policycheck check CARD --format json` process. Optionally side by side with a baseline checkout.

    python3 benchmarks/bench_engine.py [--cards DIR] [--seconds 2] [--rounds 7] [--runs 15]
    python3 benchmarks/bench_engine.py --baseline ../policycheck-old     # a second checkout, e.g. a worktree:
                                                                         # git worktree add --detach DIR COMMIT

(a) is measured twice: the engine alone (`evaluate` over lineages built beforehand) and the whole in-process
pipeline per card (read and parse the card, walk its lineage over local cards and curations, evaluate).
Targets: at least 2,000 card evaluations per second on one core; under 0.3 s wall per CLI check.

Method. Every measurement runs in a fresh subprocess whose working directory and `sys.path[0]` are the checkout
measured, so two checkouts never share imported modules. (a) runs `--rounds` times per checkout, each round a
worker process that warms up and then counts passes over all cards for `--seconds`; (b) runs `--runs` times
per checkout, after one untimed warm-up (it fills the validated-rules cache and the .pyc files, kept in a
temporary folder as an installed tool has them; `--no-pyc-cache` compiles each checkout on every run instead).
The machine may be shared and noisy, so the checkouts alternate (A B, B A, A B, ...: each drift hits both alike)
and the medians, min and max are printed with the ratios current / baseline. Both checkouts read the same card
folder (this checkout's fixtures by default); each uses its own rule packs and catalog.

The worker imports through a shim that tries the stage-folder module names (`policy.engine.evaluation`,
`policy.scan.lineage`, ...) and falls back to the flat layout older checkouts have (`policy.engine`,
`policy.lineage`, `policy.loader`, `policy.policyfile`), so any commit can be the baseline. The whole-process
check is `python -m policy.cli`, which both layouts provide (a module before, a package with `__main__` now).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 24)

# name -> modules to try, the stage-folder layout first, then the flat layout of older checkouts
SHIM: dict[str, tuple[str, ...]] = {
    "evaluate": ("policy.engine.evaluation", "policy.engine"),
    "load_bundle": ("policy.engine.loader", "policy.loader"),
    "InputError": ("policy.errors",),
    "Policy": ("policy.model.policyfile", "policy.policyfile"),
    "build_lineage": ("policy.scan.lineage", "policy.lineage"),
    "LocalSource": ("policy.scan.local",),
    "read_target": ("policy.scan.local",),
}


def shim_import(name: str) -> Any:
    errors = []
    for module in SHIM[name]:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            errors.append(f"{module}: {exc}")
    raise ImportError(f"{name} not found ({'; '.join(errors)})")


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


def worker(checkout: Path, cards: Path, seconds: float) -> int:
    """One round of (a) in this process, for the checkout at `checkout`; prints one JSON line."""
    sys.path.insert(0, str(checkout))
    import policy

    if not Path(policy.__file__).resolve().is_relative_to(checkout):
        print(f"bench_engine: imported policy from {policy.__file__}, not from {checkout}", file=sys.stderr)
        return 2
    evaluate, load_bundle, input_error = shim_import("evaluate"), shim_import("load_bundle"), shim_import("InputError")
    policy_cls, build_lineage = shim_import("Policy"), shim_import("build_lineage")
    local_source, read_target = shim_import("LocalSource"), shim_import("read_target")

    bundle = load_bundle()
    source = local_source([cards])
    paths = sorted(p for p in cards.glob("*.md") if p.name != "README.md")
    subjects, skipped = [], []
    for p in paths:
        try:
            subjects.append(read_target(str(p)))
        except input_error as exc:
            skipped.append(f"{p.name}: {exc.message}")
    lineages = [build_lineage(s, source, bundle.catalog, (bundle.curations,)) for s in subjects]
    pol = policy_cls()
    verdicts: dict[str, int] = {}
    for lin in lineages:
        v = evaluate(lin, bundle.packs, bundle.catalog, pol, TODAY).verdict
        verdicts[v] = verdicts.get(v, 0) + 1

    def engine_pass() -> None:
        for lin in lineages:
            evaluate(lin, bundle.packs, bundle.catalog, pol, TODAY)

    def pipeline_pass() -> None:
        for p in paths:
            try:
                subject = read_target(str(p))
            except input_error:
                continue
            lin = build_lineage(subject, source, bundle.catalog, (bundle.curations,))
            evaluate(lin, bundle.packs, bundle.catalog, pol, TODAY)

    engine_rate, engine_n = rate(engine_pass, seconds)
    pipeline_rate, pipeline_n = rate(pipeline_pass, seconds)
    print(json.dumps({
        "engine": engine_rate * len(lineages), "engine_passes": engine_n,
        "pipeline": pipeline_rate * len(subjects), "pipeline_passes": pipeline_n,
        "cards": len(subjects), "skipped": skipped, "verdicts": verdicts,
        "rules": sum(len(p.rules) for p in bundle.packs),
        "nodes_mean": statistics.mean(len(lin.nodes) for lin in lineages),
        "nodes_max": max(len(lin.nodes) for lin in lineages)}))
    return 0


def run_worker(checkout: Path, cards: Path, seconds: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(checkout), "--cards", str(cards),
           "--seconds", str(seconds)]
    proc = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench_engine: the worker for {checkout} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cli_env(checkout: Path, pycache: Path | None) -> dict[str, str]:
    """The whole process's environment: the checkout first on the path; its .pyc files under `pycache` (as an
    installed tool has them), or none (PYTHONDONTWRITEBYTECODE=1: the checkout compiled on every run)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env.update(PYTHONPATH=str(checkout), POLICYCHECK_CACHE=str(Path.home() / ".cache" / "policycheck-bench"))
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def time_cli(cmd: list[str], checkout: Path, pycache: Path | None) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=checkout, env=cli_env(checkout, pycache), capture_output=True, check=False)
    return time.perf_counter() - start, proc


def alternating(rounds: int, labels: list[str]) -> list[str]:
    """A B, B A, A B, ...: each checkout goes first in every other round."""
    out: list[str] = []
    for r in range(rounds):
        out += labels if r % 2 == 0 else labels[::-1]
    return out


def spread(values: list[float], fmt: str) -> str:
    return (f"median {format(statistics.median(values), fmt)}  min {format(min(values), fmt)}  "
            f"max {format(max(values), fmt)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", type=Path, default=ROOT / "tests" / "fixtures" / "cards")
    ap.add_argument("--baseline", type=Path, help="a second checkout to measure side by side (e.g. a git worktree)")
    ap.add_argument("--seconds", type=float, default=2.0, help="seconds per (a) measurement (default 2)")
    ap.add_argument("--rounds", type=int, default=7, help="(a) worker processes per checkout (default 7)")
    ap.add_argument("--runs", type=int, default=15, help="(b) timed CLI runs per checkout (default 15; 0: skip (b))")
    ap.add_argument("--no-pyc-cache", action="store_true", help="(b) with PYTHONDONTWRITEBYTECODE=1: each checkout "
                    "compiled from source on every run (default: .pyc files in a temporary folder, as installed)")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cards = args.cards.resolve()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, inherited by every subprocess
    if args.worker is not None:
        return worker(args.worker.resolve(), cards, args.seconds)

    checkouts = {"current": ROOT}
    if args.baseline is not None:
        baseline = args.baseline.resolve()
        if not (baseline / "policy" / "__init__.py").is_file():
            print(f"bench_engine: {args.baseline} is not a policycheck checkout", file=sys.stderr)
            return 2
        checkouts["baseline"] = baseline
    labels = list(checkouts)
    for label, path in checkouts.items():
        commit = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip() or "?"
        print(f"{label:8}: {path} (commit {commit})")

    # (a) in-process rates, one worker process per round and checkout
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    for label in alternating(args.rounds, labels):
        results[label].append(run_worker(checkouts[label], cards, args.seconds))
    for label in labels:
        first = results[label][0]
        print(f"{label:8}: {first['cards']} cards from {cards} ({len(first['skipped'])} unreadable), "
              f"{first['rules']} rules, verdicts {first['verdicts']}, lineage nodes per card mean "
              f"{first['nodes_mean']:.1f} max {first['nodes_max']}")
    print(f"\n(a) engine only, card evaluations/s on one core ({args.rounds} rounds of {args.seconds:g} s each):")
    for label in labels:
        print(f"  {label:8}  {spread([r['engine'] for r in results[label]], '8.0f')}")
    print(f"(a) parse+walk+eval, cards/s on one core ({args.rounds} rounds of {args.seconds:g} s each):")
    for label in labels:
        print(f"  {label:8}  {spread([r['pipeline'] for r in results[label]], '8.0f')}")

    walls: dict[str, list[float]] = {label: [] for label in labels}
    if args.runs <= 0:  # (a) only
        return 0 if "baseline" not in checkouts else print_ratios(results, walls)

    # (b) whole `policycheck check` processes
    target = str(sorted(p for p in cards.glob("*.md") if p.name != "README.md")[0])
    cmd = [sys.executable, "-m", "policy.cli", "check", target, "--cards", str(cards), "--offline",
           "--format", "json"]
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        pycache = None if args.no_pyc_cache else Path(tmp)
        return whole_process(cmd, checkouts, labels, pycache, args.runs, results, Path(target).name)


def whole_process(cmd: list[str], checkouts: dict[str, Path], labels: list[str], pycache: Path | None, runs: int,
                  results: dict[str, list[dict[str, Any]]], name: str) -> int:
    walls: dict[str, list[float]] = {label: [] for label in labels}
    for label in labels:  # warm-up: the validated-rules cache, the .pyc files; and a sanity check
        _, proc = time_cli(cmd, checkouts[label], pycache)
        if proc.returncode not in (0, 1, 3) or not proc.stdout.lstrip().startswith(b"{"):
            print(f"bench_engine: {label} check exited {proc.returncode}:\n{proc.stderr.decode()[-3000:]}",
                  file=sys.stderr)
            return 1
    for label in alternating(runs, labels):
        walls[label].append(time_cli(cmd, checkouts[label], pycache)[0])
    print(f"(b) CLI check of {name}, wall seconds ({runs} runs each; "
          f"{'.pyc cached' if pycache else 'no .pyc: compiled from source on every run'}):")
    for label in labels:
        print(f"  {label:8}  {spread(walls[label], '.3f')}")

    return print_ratios(results, walls) if "baseline" in checkouts else 0


def print_ratios(results: dict[str, list[dict[str, Any]]], walls: dict[str, list[float]]) -> int:
    def ratio(values: dict[str, list[float]]) -> float:
        return statistics.median(values["current"]) / statistics.median(values["baseline"])

    print("\nratios current / baseline (medians):")
    print(f"  (a) engine only:      {ratio({k: [r['engine'] for r in v] for k, v in results.items()}):.2f}x "
          "the baseline's throughput")
    print(f"  (a) parse+walk+eval:  {ratio({k: [r['pipeline'] for r in v] for k, v in results.items()}):.2f}x "
          "the baseline's throughput")
    if walls["current"]:
        print(f"  (b) CLI check:        {ratio(walls):.2f}x the baseline's wall time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
