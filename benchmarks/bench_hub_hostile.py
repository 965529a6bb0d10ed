"""Benchmark: `policycheck check` against a hostile Hub (tests/hubsim fault modes), bounded in time and memory.

    .venv/bin/python benchmarks/bench_hub_hostile.py [--deadline 10] [--size-mb 300] [--baseline CHECKOUT]

Each case serves one hostile answer from the loopback emulator and runs a whole `policycheck check ORG/NAME
--format json` process with POLICYCHECK_HUB_DEADLINE=--deadline and the default size caps. It prints the wall
time, the time beyond the deadline, the process's peak memory (its own rusage, from wait4), the exit code and
verdict, and the bytes left in the client's cache (partial downloads included). Targets: every case under
deadline + 5 s, under 1.5 GB, no traceback, never a pass.

Cases: a model_info, a README and a GGUF range read that drip one byte every 0.5 s; a README and a model_info
of --size-mb, with and without a declared Content-Length, and without end; sixteen bases whose model_info are
each --size-mb without a declared length, fetched in parallel (the worst case for memory: every worker reads
at once); a GGUF header whose license contradicts the card, followed by a 9 MiB array; Hub JSON with lone
surrogates. With --baseline (another checkout, e.g. `git worktree add --detach DIR COMMIT`) every case also
runs with that code, capped at deadline + 60 s and 4 GB of address space; a run cut short is printed as such.
The emulator is this checkout's; it sends nothing beyond loopback.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_limits import run  # noqa: E402

from tests.hubsim import HubSim, make_card  # noqa: E402
from tests.hubsim.plugin import make_hub_env  # noqa: E402

MB = 1024 * 1024
GGUF_LICENSE_THEN_ARRAY = (
    b"GGUF" + struct.pack("<IQQ", 3, 0, 3)
    + struct.pack("<Q", 15) + b"general.license" + struct.pack("<IQ", 8, 8) + b"llama3.1"
    + struct.pack("<Q", 21) + b"tokenizer.ggml.scores" + struct.pack("<IIQ", 9, 0, 9 * MB) + b"\0" * (9 * MB)
)


def _model(hub: HubSim, repo: str, **extra: bytes) -> None:
    hub.add_model(repo, {"README.md": make_card({"license": "mit"}, "# model\n"), **extra})


def cases(size: int) -> dict[str, Callable[[HubSim], str]]:
    def drip_info(hub: HubSim) -> str:
        _model(hub, "acme/m")
        hub.faults.drip(0.5, path=r"^/api/models/acme/m$")
        return "acme/m"

    def drip_readme(hub: HubSim) -> str:
        _model(hub, "acme/m")
        hub.faults.drip(0.5, path=r"/README\.md$")
        return "acme/m"

    def drip_gguf(hub: HubSim) -> str:
        _model(hub, "acme/m", **{"m.gguf": GGUF_LICENSE_THEN_ARRAY[:200] + b"\0" * 4096})
        hub.faults.drip(0.5, path=r"m\.gguf$")
        return "acme/m"

    def big(path: str, declare: bool) -> Callable[[HubSim], str]:
        def serve(hub: HubSim) -> str:
            _model(hub, "acme/m")
            hub.faults.huge(size, path=path, declare=declare)
            return "acme/m"
        return serve

    def endless(path: str) -> Callable[[HubSim], str]:
        def serve(hub: HubSim) -> str:
            _model(hub, "acme/m")
            hub.faults.endless(path=path)
            return "acme/m"
        return serve

    def sixteen_bases(hub: HubSim) -> str:
        bases = [f"acme/b{i:02d}" for i in range(16)]
        for base in bases:
            _model(hub, base)
        hub.add_model("acme/m", {"README.md": make_card({"license": "mit", "base_model": bases})})
        hub.faults.huge(size, path=r"^/api/models/acme/b\d\d$", declare=False)
        return "acme/m"

    def gguf_refused(hub: HubSim) -> str:
        _model(hub, "acme/m", **{"m.gguf": GGUF_LICENSE_THEN_ARRAY})
        return "acme/m"

    def surrogates(hub: HubSim) -> str:
        hub.add_model("acme/m", {"config.json": '{"model_type": "llama\\ud800"}'},
                      card_data={"license": "other", "license_name": "x\ud800", "tags": ["t\udc00"]})
        return "acme/m"

    info, readme = r"^/api/models/acme/m$", r"/README\.md$"
    mb = size // MB
    return {
        "model_info drips 1 B / 0.5 s": drip_info,
        "README drips 1 B / 0.5 s": drip_readme,
        "GGUF range read drips 1 B / 0.5 s": drip_gguf,
        f"README {mb} MB, declared": big(readme, True),
        f"README {mb} MB, undeclared": big(readme, False),
        "README without end": endless(readme),
        f"model_info {mb} MB, declared": big(info, True),
        f"model_info {mb} MB, undeclared": big(info, False),
        "model_info without end": endless(info),
        f"16 bases x model_info {mb} MB, undeclared": sixteen_bases,
        "GGUF: license, then a 9 MiB array": gguf_refused,
        "lone surrogates in Hub JSON": surrogates,
    }


def check(checkout: Path, env: dict[str, str], repo: str, timeout: float, baseline: bool,
          tmp: Path) -> tuple[float, float, int | str, str | None]:
    """Wall seconds, peak RSS (MB), exit code and verdict of one `policycheck check` process (bench_limits.run:
    wait4 for the child's own rusage; a baseline capped at 4 GB of address space)."""
    report = tmp / "report.json"
    wall, peak, code = run(checkout, ["check", repo, "--format", "json", "--output", str(report)], env,
                           timeout=timeout, mem_cap=4096 * MB if baseline else None)
    try:
        verdict = json.loads(report.read_text(encoding="utf-8")).get("verdict")
    except (OSError, ValueError):
        verdict = None
    return wall, peak, code, verdict


def cache_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deadline", type=float, default=10.0, help="POLICYCHECK_HUB_DEADLINE (s)")
    parser.add_argument("--size-mb", type=int, default=300, help="size of the large bodies")
    parser.add_argument("--baseline", type=Path, help="another checkout to run side by side")
    args = parser.parse_args()
    checkouts = [("this", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    print(f"deadline {args.deadline:g} s; columns: wall s, s beyond the deadline, peak MB, exit, verdict, "
          "bytes left in the cache")
    for name, serve in cases(args.size_mb * MB).items():
        for label, checkout in checkouts:
            with tempfile.TemporaryDirectory() as tmp, HubSim(Path(tmp) / "hub") as hub:
                repo = serve(hub)
                env = make_hub_env(hub, Path(tmp) / "hf")
                env["POLICYCHECK_HUB_DEADLINE"] = str(args.deadline)
                wall, peak, code, verdict = check(checkout, env, repo, args.deadline + (60 if label == "baseline"
                                                                                       else 30),
                                                  label == "baseline", Path(tmp))
                time.sleep(0.2)  # let a daemon download of the baseline finish writing, if it goes on
                left = cache_bytes(Path(tmp) / "hf" / "hub")
            print(f"{name:44s} {label:8s} {wall:6.1f} {wall - args.deadline:+6.1f} {peak:7.0f} {code!s:>7} "
                  f"{verdict!s:7s} {left:>11,}", flush=True)


if __name__ == "__main__":
    main()
