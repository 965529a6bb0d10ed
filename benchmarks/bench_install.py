"""What installing the pre-commit hook costs: time, size and distributions of a fresh environment.

pre-commit installs a hook's repository into a new virtual environment with `pip install .`, which pulls the
core dependencies only. Before the output libraries became extras, the core was what `.[all]` is now (spdx-tools,
cyclonedx-python-lib and docxtpl were runtime dependencies), so the two variants measured side by side are:

    hook    pip install <wheel>          what pre-commit installs today
    before  pip install '<wheel>[all]'   the same set as the runtime dependencies before the split

Each run builds a fresh virtual environment per variant, in alternating order, and installs with
`--no-cache-dir` from the package index (as on a machine whose caches are empty), so the time includes the
downloads; the network and the machine are shared, so read the medians and the ratio, not one run.

    python benchmarks/bench_install.py --runs 5
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


def _size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            p = Path(dirpath, name)
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def _install(wheel: Path, extras: str, where: Path) -> tuple[float, int, int]:
    """Seconds to install, bytes of site-packages, distributions installed (pip and setuptools excluded)."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    spec = f"{wheel}[{extras}]" if extras else str(wheel)
    start = time.perf_counter()
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-cache-dir",
                           "--disable-pip-version-check", spec], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"pip install {spec} failed:\n{proc.stderr[-2000:]}")
    [site] = list((where / "lib").glob("python3*/site-packages"))
    dists = [d for d in site.glob("*.dist-info") if not d.name.startswith(("pip-", "setuptools-"))]
    return seconds, _size(site), len(dists)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    variants = {"hook": "", "before": "all"}
    results: dict[str, list[tuple[float, int, int]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp, "wheel")
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-cache-dir", "-w", str(wheels),
                        str(ROOT)], check=True, capture_output=True)
        [wheel] = list(wheels.glob("policycheck-*.whl"))
        for run in range(args.runs):
            order = list(variants) if run % 2 == 0 else list(reversed(variants))
            for name in order:
                where = Path(tmp, f"{name}-{run}")
                results[name].append(_install(wheel, variants[name], where))
                seconds, size, dists = results[name][-1]
                print(f"run {run + 1} {name:6} {seconds:6.1f} s {size / 1e6:6.1f} MB {dists:3} distributions",
                      flush=True)
                subprocess.run(["rm", "-rf", str(where)], check=True)
    med = {name: statistics.median(r[0] for r in rows) for name, rows in results.items()}
    print()
    for name, rows in results.items():
        print(f"{name:6} median {med[name]:5.1f} s (min {min(r[0] for r in rows):.1f}, max "
              f"{max(r[0] for r in rows):.1f}), {rows[0][1] / 1e6:.0f} MB, {rows[0][2]} distributions")
    print(f"hook/before: {med['hook'] / med['before']:.2f}x time, "
          f"{results['hook'][0][1] / results['before'][0][1]:.2f}x size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
