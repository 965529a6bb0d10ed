"""Benchmark: `policycheck tree` over generated trees, against hubsim with injected latency per request.

    .venv/bin/python benchmarks/bench_tree.py [--sizes 2000 20000] [--latency 0.03] [--baseline-sample 200]

For each size, a tree from tests/support/treegen.py (a Llama-3.1-licensed root; 60% children of the root, a few
popular fine-tunes with children of their own; mit/apache relabels, missing licenses, gated repos, merges with
an out-of-tree base, a CC BY-NC dataset, `license: other` children that need their LICENSE file, one repo gone
mid-walk) is served by hubsim on loopback, every request delayed by --latency seconds. One whole
`policycheck tree ROOT --format json` process runs against it; printed: wall time, peak memory (the
process's own high-water mark of its resident set, VmHWM), and the requests hubsim answered by kind (listing
pages, model_info, file downloads). Targets (issue 10): 2,000 in < 30 s and < 300 MB; 20,000 in < 5 min
with a peak under 1.5x the 2,000 run's.

Then the same audit with `--discovery index` (one pass over the Hub's whole listing instead of one listing
per node): its listing cost is ceil(models on the Hub / 1,000) pages, so on the emulator, which holds little
beyond the tree, it is a handful of requests; on the real Hub it is the Hub's size over 1,000 (see README).

Side by side, the baseline: what the same audit costs without the listing, i.e. `policycheck check` of each
descendant (model_info + README per child and per ancestor), measured over the first --baseline-sample
descendants of the smallest tree in the same run and quoted per descendant.
It sends nothing beyond loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.hubsim import HubSim  # noqa: E402
from tests.hubsim.plugin import make_hub_env  # noqa: E402
from tests.support.peak import PEAK_FILE_VAR, WRAP  # noqa: E402
from tests.support.treegen import generate  # noqa: E402

# The audit process reports its own peak (tests/support/peak.py: VmHWM written at exit; wait4 would charge it
# this process's peak, the emulator's whole tree in memory).
# The licensee's figures (Llama §2 tests monthly active users): without them every Llama descendant is review.
POLICY = REPO / "tests" / "support" / "licensee_policy.yaml"


def run(args: list[str], env: dict[str, str], timeout: float) -> tuple[float, float, int | str, str]:
    """(wall s, peak RSS MB, exit code or 'timeout', stdout) of one policycheck process."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, open(os.devnull, "wb") as null, \
            tempfile.NamedTemporaryFile(suffix=".peak") as peak_file:
        child_env = {**env, PEAK_FILE_VAR: peak_file.name}
        pid = os.posix_spawn(sys.executable, [sys.executable, "-c", WRAP, *args], child_env, file_actions=[
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, null.fileno(), 2)])
        outcome: int | str
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                outcome = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - start > timeout:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                outcome = "timeout"
                break
            time.sleep(0.02)
        wall = time.monotonic() - start
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
        reported = Path(peak_file.name).read_text(encoding="ascii").strip()
    return wall, int(reported) / 1024 if reported.isdigit() else float("nan"), outcome, text


def kinds(hub: HubSim) -> Counter[str]:
    c: Counter[str] = Counter()
    for r in hub.requests:
        if r.path == "/api/models":
            c["listing"] += 1
        elif r.path.startswith(("/api/models/", "/api/datasets/")):
            c["info"] += 1
        else:
            c["file"] += 1
    return c


def bench(n: int, latency: float, baseline_sample: int, timeout: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-tree-"))
    with HubSim(tmp / "hub") as hub:
        t0 = time.monotonic()
        tree = generate(hub, n)
        gen = time.monotonic() - t0
        env = {**make_hub_env(hub, tmp / "hf"), "POLICYCHECK_CACHE": str(tmp / "cache"), "PYTHONPATH": str(REPO)}
        run(["rules", "list"], env, 120)  # warm the validated-rules cache, as any second run finds it
        hub.faults.latency(latency)
        hub.clear_log()
        wall, peak, code, out = run(["tree", tree.root, "--format", "json", "-q", "--policy", str(POLICY),
                                     "--state", str(tmp / "state.sqlite")], env, timeout)
        req = kinds(hub)
        doc = json.loads(out) if code in (0, 1, 3) else {}
        result: dict[str, Any] = {"n": n, "generate_s": gen, "wall_s": wall, "peak_mb": peak, "exit": code,
                                  "requests": dict(req), "counts": doc.get("counts"),
                                  "expected": dict(tree.expected()), "internal_nodes": len(tree.internal)}
        # a re-run with nothing changed: every node listed again, nothing judged again
        hub.clear_log()
        wall2, peak2, code2, out2 = run(["tree", tree.root, "--format", "json", "-q", "--policy", str(POLICY),
                                         "--state", str(tmp / "state.sqlite")], env, timeout)
        doc2 = json.loads(out2) if code2 in (0, 1, 3) else {}
        result["rerun"] = {"wall_s": wall2, "peak_mb": peak2, "requests": dict(kinds(hub)), "run": doc2.get("run")}
        # the same audit discovering through one pass over the Hub's whole listing (--discovery index)
        hub.clear_log()
        fresh = {**env, "HF_HOME": str(tmp / "hf-index")}  # a cold client cache, as the first walk had
        wall3, peak3, code3, out3 = run(["tree", tree.root, "--format", "json", "-q", "--discovery", "index",
                                         "--policy", str(POLICY), "--state", str(tmp / "index.sqlite")], fresh, timeout)
        doc3 = json.loads(out3) if code3 in (0, 1, 3) else {}
        result["index"] = {"wall_s": wall3, "peak_mb": peak3, "requests": dict(kinds(hub)),
                           "counts": doc3.get("counts"), "models_on_hub": len(hub.indexed("models"))}
        if baseline_sample:
            ids = list(tree.nodes)[:baseline_sample]
            hub.clear_log()
            bwall, bpeak, bcode, _ = run(["check", *ids, "--format", "json", "--policy", str(POLICY)], env, timeout)
            result["baseline"] = {"sample": len(ids), "wall_s": bwall, "peak_mb": bpeak, "exit": bcode,
                                  "requests": dict(kinds(hub))}
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--latency", type=float, default=0.03, help="seconds added to every request")
    ap.add_argument("--baseline-sample", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    results = []
    for i, n in enumerate(sorted(args.sizes)):
        r = bench(n, args.latency, args.baseline_sample if i == 0 else 0, args.timeout)
        results.append(r)
        req = r["requests"]
        disc = req.get("listing", 0)
        print(f"{n:>6} descendants: wall {r['wall_s']:6.1f} s, peak {r['peak_mb']:6.1f} MB, exit {r['exit']}; "
              f"requests: {disc} listing ({disc / n:.3f} per descendant; {r['internal_nodes']} nodes have "
              f"children), {req.get('info', 0)} model_info, {req.get('file', 0)} file downloads")
        ok = r["counts"] and all(r["counts"][k] == r["expected"].get(k, 0) for k in ("pass", "fail", "review"))
        print(f"        counts {r['counts']} {'= expected' if ok else '!= expected ' + str(r['expected'])}")
        rr = r["rerun"]
        print(f"        re-run, nothing changed: wall {rr['wall_s']:6.1f} s, peak {rr['peak_mb']:6.1f} MB, "
              f"requests {rr['requests']}, {rr['run']}")
        ix = r["index"]
        print(f"        --discovery index: wall {ix['wall_s']:6.1f} s, peak {ix['peak_mb']:6.1f} MB, requests "
              f"{ix['requests']} ({ix['requests'].get('listing', 0)} listing pages for {ix['models_on_hub']:,} "
              f"models on the emulated Hub), counts {'same' if ix['counts'] == r['counts'] else ix['counts']}")
        if "baseline" in r:
            b = r["baseline"]
            per_tree = r["wall_s"] / n
            per_base = b["wall_s"] / b["sample"]
            breq = sum(b["requests"].values()) / b["sample"]
            treq = sum(req.values()) / n
            print(f"        baseline `check` of {b['sample']} descendants: wall {b['wall_s']:.1f} s "
                  f"({per_base * 1000:.0f} ms each vs {per_tree * 1000:.1f} ms in the audit, "
                  f"{per_base / per_tree:.0f}x), {breq:.1f} requests each vs {treq:.2f}")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        print(f"peak memory {large['n']} / {small['n']}: {large['peak_mb'] / small['peak_mb']:.2f}x "
              f"(target < 1.5x); wall per descendant {large['wall_s'] / large['n'] * 1000:.1f} ms vs "
              f"{small['wall_s'] / small['n'] * 1000:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
