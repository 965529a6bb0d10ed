"""Benchmark: policycheck under hostile input and network faults, with this checkout and (optionally) another.

    .venv/bin/python benchmarks/bench_limits.py [--baseline CHECKOUT] [--cards 30000] [--deadline 10]

Each case runs whole `policycheck` processes (`python -m policy.cli.app`) and reads their wall time and peak memory
(the child's maximum resident set, from wait4). With --baseline (another checkout of this project, e.g. a
`git worktree` of an older commit) every case runs with both codes, side by side in one run; the baseline's
runs are capped (time and address space) so that a case it cannot survive is printed as such.

1. The alias-bomb card (tests/fixtures/hostile/alias_bomb.md, 460 bytes, nine levels of aliases): wall, peak.
2. Per-node cost of a 4,000-base Llama merge relative to a 10-base one (benchmarks/bench_merge.py). Target <= 2x.
3. Peak memory of a JSON batch of --cards generated cards (each with a base in --cards DIR), and of a tenth of
   it, to show it stays flat. Target < 200 MB at 30,000.
4. Time to a verdict with no network for a card with 5 Hub ancestors: HF_ENDPOINT on a loopback port nobody
   listens on (refused), and on a name that does not resolve. Target < 1 s (median of --runs).
5. A Hub that accepts connections and never answers, 40 ancestors, POLICYCHECK_HUB_DEADLINE=--deadline.
   Target: wall <= deadline + 2 s.
It sends nothing beyond loopback; the cases are bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
MB = 1024 * 1024


def run(checkout: Path, args: Sequence[str], env: dict[str, str], *, timeout: float,
        mem_cap: int | None = None) -> tuple[float, float, int | str]:
    """(wall seconds, peak RSS in MB, exit code or 'timeout'/'killed') of one policycheck process."""
    def limit() -> None:
        if mem_cap:
            resource.setrlimit(resource.RLIMIT_AS, (mem_cap, mem_cap))

    full_env = {**env, "PYTHONPATH": str(checkout)}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "policy.cli", *args], cwd=checkout, env=full_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=limit)
    outcome: int | str
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            outcome = os.waitstatus_to_exitcode(status)
            if outcome < 0 or outcome == 4:
                outcome = "crashed" if outcome < 0 else "exit 4"
            break
        if time.monotonic() - start > timeout:
            proc.kill()
            _, _, usage = os.wait4(proc.pid, 0)
            outcome = "timeout"
            break
        time.sleep(0.01)
    proc.returncode = 0  # reaped by wait4
    return time.monotonic() - start, usage.ru_maxrss / 1024, outcome


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "POLICYCHECK_"))}
    env.update(HF_HOME=str(tmp / "hf"), HF_HUB_DISABLE_TELEMETRY="1", POLICYCHECK_CACHE=str(tmp / "cache"),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return env


def write_card(path: Path, fields: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{fields}---\n# card\n", encoding="utf-8")
    return path


@contextmanager
def closed_port() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(256)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def show(label: str, wall: float, peak: float, outcome: int | str) -> None:
    print(f"  {label:<24} {wall:8.2f} s  {peak:8.1f} MB  {outcome!s}")


def median_of(runs: int, once: Callable[[], tuple[float, float, int | str]]) -> tuple[float, float, int | str]:
    """The median wall time of `runs` runs, their highest peak, and the last outcome."""
    results = [once() for _ in range(runs)]
    walls = sorted(r[0] for r in results)
    return walls[len(walls) // 2], max(r[1] for r in results), results[-1][2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path)
    ap.add_argument("--cards", type=int, default=30000)
    ap.add_argument("--deadline", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=5, help="repeats of the short cases (medians are printed)")
    args = ap.parse_args()
    checkouts = {"this checkout": ROOT}
    if args.baseline:
        checkouts["baseline"] = args.baseline.resolve()
    cap = {"this checkout": None, "baseline": 2048 * MB}
    tmp = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    env = base_env(tmp)

    def each(case: Callable[[str, Path], None]) -> None:
        for label, checkout in checkouts.items():
            case(label, checkout)

    for checkout in checkouts.values():  # build each checkout's rule cache first: no case pays for it
        run(checkout, ["rules", "validate"], env, timeout=120)

    print(f"1. alias-bomb card, checked offline (median of {args.runs} for this checkout)")
    each(lambda label, co: show(label, *median_of(args.runs if label == "this checkout" else 1, lambda: run(
        co, ["check", str(HOSTILE / "alias_bomb.md"), "--offline", "--format", "json"], env, timeout=60,
        mem_cap=cap[label]))))

    print("2. per-node cost of a 4,000-base merge relative to a 10-base one (in-process engine)")
    for label, checkout in checkouts.items():
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_merge.py"), "--json",
                               "--repeat", "3"], capture_output=True, text=True, cwd=checkout,
                              env={**env, "PYTHONPATH": str(checkout)})
        if proc.returncode:
            print(f"  {label:<16} failed")
            continue
        per_node = {int(k): v for k, v in json.loads(proc.stdout).items()}
        print(f"  {label:<16} {per_node[10] * 1e6:8.0f} µs/node (10)  {per_node[4000] * 1e6:8.0f} µs/node (4000)"
              f"  ratio {per_node[4000] / per_node[10]:.2f}x")

    print(f"3. JSON batch of generated cards, offline: peak memory ({args.cards} and {args.cards // 10} cards)")
    cards = tmp / "batch"
    for i in range(5):
        write_card(cards / "lib" / f"base__m{i}.md", "license: apache-2.0\npipeline_tag: text-generation\n")
    paths = [str(write_card(cards / f"c{i:05d}.md", f"license: mit\nbase_model: base/m{i % 5}\n"))
             for i in range(args.cards)]
    for n in (len(paths) // 10, len(paths)):
        each(lambda label, co, n=n: show(f"{label} ({n})", *run(
            co, ["check", "--offline", "--format", "json", "--cards", str(cards / "lib"), *paths[:n]], env,
            timeout=600, mem_cap=cap[label])))

    print("4. no network, a card with 5 Hub ancestors (time to a verdict)")
    subject = write_card(tmp / "five" / "acme__five.md",
                         "license: apache-2.0\nbase_model: [" + ", ".join(f"hub/m{i}" for i in range(5)) + "]\n")
    for name, endpoint in (("refused", None), ("no DNS", "http://hub.invalid")):
        with closed_port() as refused:
            hub_env = {**env, "HF_ENDPOINT": endpoint or refused}
            each(lambda label, co, hub_env=hub_env, name=name: show(f"{label} {name}", *median_of(
                args.runs, lambda: run(co, ["check", str(subject), "--format", "json"], hub_env, timeout=120))))

    print(f"5. a Hub that accepts and never answers, 40 ancestors, deadline {args.deadline:g} s")
    wide = write_card(tmp / "wide" / "acme__wide.md",
                      "license: apache-2.0\nbase_model: [" + ", ".join(f"hub/w{i}" for i in range(40)) + "]\n")
    with silent_server() as silent:
        each(lambda label, co: show(label, *run(
            co, ["check", str(wide), "--format", "json"],
            {**env, "HF_ENDPOINT": silent, "POLICYCHECK_HUB_DEADLINE": str(args.deadline)},
            timeout=max(180, args.deadline * 4))))
    print("(wall time, peak resident memory of the process, exit code: 0 pass, 1 fail, 3 review, 2 input error)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
