"""Benchmark: the text renderer against the JSON renderer, side by side in one run (issue 8).

    .venv/bin/python benchmarks/bench_render.py [--reports 10000] [--repeat 5] [--cards 2000] [--runs 3]

1. In-process: the example cards (examples/cards) and the fixture cards (tests/fixtures/cards) are evaluated
   once, offline; their reports are repeated to --reports reports. Then, over the same list, each renderer is
   timed --repeat times, alternating: the `check --format json` renderer (the streamed array), `render.text.iter_text`
   (full), and `iter_text(concise=True)`. The output is consumed (joined length), never printed. Medians, per
   report and in total, and the ratio text / JSON. Target: text within 2x JSON. With --old-text FILE, that
   version of policy/render/text.py is timed too (`git show HEAD:policy/render/text.py > /tmp/old_text.py`).
2. Whole processes: `policycheck check --offline --format json|text --cards LIB` over --cards generated cards
   (each a finetune of one of five local bases), alternating formats, --runs times each; stdout to /dev/null
   (text output is therefore without colour, at 80 columns). Median wall seconds and the ratio. With
   --baseline CHECKOUT (a copy of the tree at another commit) its text batch runs beside this one's.

Nothing leaves the machine (offline, HF_HOME and the rule cache in a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "cards"
FIXTURES = ROOT / "tests" / "fixtures" / "cards"


def build_reports(n: int) -> list[Any]:
    """`n` reports: the example and fixture cards evaluated once, offline, repeated."""
    from policy.model.report import Report
    from policy.pipeline.check import CheckOptions, iter_check

    targets = [str(p) for p in sorted(EXAMPLES.glob("*.md")) + sorted(FIXTURES.glob("*.md"))]
    reports = [r for r in iter_check(targets, CheckOptions(cards=(EXAMPLES, FIXTURES), offline=True))
               if isinstance(r, Report)]
    return [reports[i % len(reports)] for i in range(n)]


def time_it(fn: Callable[[], int]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def load_module(path: Path) -> Any:
    """Another version of the text renderer (e.g. `git show HEAD~1:policy/render/text.py > /tmp/old.py`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_old_text", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_process(n: int, repeat: int, old_text: Path | None = None) -> dict[str, float]:
    from policy.render.registry import render
    from policy.render.text import iter_text

    reports = build_reports(n)

    def json_batch() -> int:
        return sum(len(chunk) for chunk in render("check", "json", reports))

    cases: dict[str, Callable[[], int]] = {
        "json (streamed)": json_batch,
        "text (iter_text)": lambda: len("".join(iter_text(reports, width=80))),
        "text --concise": lambda: len("".join(iter_text(reports, width=80, concise=True))),
    }
    if old_text is not None:
        old = load_module(old_text)
        cases["text (--old-text)"] = lambda: len("".join(old.iter_text(reports, width=80)))
    times: dict[str, list[float]] = {k: [] for k in cases}
    for fn in cases.values():  # warm up: imports, regex compilation, caches
        fn()
    for _ in range(repeat):  # alternate, so drift in the machine's load hits every case alike
        for name, fn in cases.items():
            times[name].append(time_it(fn))
    return {name: statistics.median(ts) for name, ts in times.items()}


def write_batch(folder: Path, n: int) -> list[str]:
    lib = folder / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    for i in range(5):
        (lib / f"base__m{i}.md").write_text("---\nlicense: apache-2.0\npipeline_tag: text-generation\n---\n# b\n",
                                            encoding="utf-8")
    paths = []
    for i in range(n):
        path = folder / f"c{i:05d}.md"
        path.write_text(f"---\nlicense: mit\nbase_model: base/m{i % 5}\n---\n# card\n", encoding="utf-8")
        paths.append(str(path))
    return paths


def processes(n: int, runs: int, baseline: Path | None = None) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-render-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "POLICYCHECK_", "COLUMNS", "NO_COLOR"))}
    env.update(HF_HOME=str(tmp / "hf"), HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_OFFLINE="1",
               POLICYCHECK_CACHE=str(tmp / "cache"), PYTHONPATH=str(ROOT))
    paths = write_batch(tmp / "batch", n)

    def run(args: Sequence[str], checkout: Path = ROOT) -> float:
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "policy.cli", *args], cwd=checkout,
                       env={**env, "PYTHONPATH": str(checkout)}, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        return time.monotonic() - start

    common = ["check", "--offline", "--cards", str(tmp / "batch" / "lib")]
    cases: dict[str, tuple[list[str], Path]] = {
        "json": ([*common, *paths, "--format", "json"], ROOT),
        "text": ([*common, *paths, "--format", "text"], ROOT),
        "text --concise": ([*common, *paths, "--format", "text", "--concise"], ROOT)}
    if baseline is not None:
        cases["text (--baseline)"] = ([*common, *paths, "--format", "text"], baseline)
    for _args, checkout in cases.values():  # the validated rule cache is built before any timed run
        run([*common, paths[0], "--format", "json"], checkout)
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(runs):
        for name, (args, checkout) in cases.items():
            times[name].append(run(args, checkout))
    shutil.rmtree(tmp, ignore_errors=True)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=10000, help="reports rendered in-process")
    ap.add_argument("--repeat", type=int, default=5, help="repeats of each in-process case (median printed)")
    ap.add_argument("--cards", type=int, default=2000, help="generated cards in the whole-process batch (0: skip)")
    ap.add_argument("--runs", type=int, default=3, help="repeats of each whole-process case (median printed)")
    ap.add_argument("--old-text", type=Path, help="another text.py to time in-process beside this one")
    ap.add_argument("--baseline", type=Path, help="another checkout whose text batch is timed beside this one's")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

    print(f"1. in-process: {args.reports} reports, median of {args.repeat}")
    medians = in_process(args.reports, args.repeat, args.old_text)
    base = medians["json (streamed)"]
    for name, t in medians.items():
        print(f"  {name:<20} {t:8.3f} s  {t / args.reports * 1e3:7.3f} ms/report  {t / base:5.2f}x json")
    if args.cards:
        print(f"2. whole processes: policycheck check --offline over {args.cards} generated cards, "
              f"median of {args.runs}")
        walls = processes(args.cards, args.runs, args.baseline.resolve() if args.baseline else None)
        for name, t in walls.items():
            print(f"  {name:<20} {t:8.2f} s  {t / args.cards * 1e3:7.3f} ms/card    {t / walls['json']:5.2f}x json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
