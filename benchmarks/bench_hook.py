"""Benchmark: the pre-commit hook's entry, `policycheck lint --offline`, as a whole process (interpreter start,
imports, rule data, the cards), on one card and on 50 cards in one invocation, side by side with the peer tool
`reuse lint-file` on the same files in the same run.

    .venv/bin/python -m pip install -e '.[bench]'      # reuse (the peer tool), from PyPI
    .venv/bin/python benchmarks/bench_hook.py [--runs 10] [--cards DIR] [--profile]

Set-up (a temporary folder, removed afterwards): a git repository laid out as a model repository would be, with
`models/NN-<name>/README.md` copied from the fixture cards (cycled to 50), each given a REUSE header
(`SPDX-FileCopyrightText` / `SPDX-License-Identifier: MIT` in an HTML comment after the front matter) and
`LICENSES/MIT.txt`, so that `reuse lint-file` has a compliant file to check, as in a repository that uses it.
HOME, XDG_CACHE_HOME and HF_HOME are temporary (an empty Hub cache; the rule-data cache is warmed by one untimed
run, which is reported as the cold start), HF_HUB_OFFLINE is unset and HF_ENDPOINT points at a loopback port
nobody listens on: only the hook's own --offline keeps it off the network.
Bytecode: an installed hook (pre-commit's own virtualenv, or any pip install) runs from .pyc files, so both tools
run with PYTHONDONTWRITEBYTECODE unset and PYTHONPYCACHEPREFIX in the temporary folder (the checkout gets no
__pycache__; the warm-up writes the .pyc files). `--no-pyc-cache` measures instead with PYTHONDONTWRITEBYTECODE=1
and no prefix, as in a shell that sets it: installed packages (reuse, typer, ...) still use their .pyc files, but
an editable checkout's own modules (policy/) are compiled from source on every run.

Method: the four commands run round-robin, `--runs` times each, after one untimed warm-up each; wall time of each
whole process (perf_counter around subprocess.run, output discarded); medians (and min/max) are printed with
the ratios. Targets: one card at most half of `reuse lint-file`'s time; 50 cards in one invocation under 1 s.
`--profile` adds `python -X importtime` of the one-card run: the slowest imports, cumulative.
The exit code is 0 when both targets are met, 1 when one is missed, 2 when a tool is missing or crashed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FIRST = "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"  # the one-card case: a Llama derivative, lineage curated
N_MANY = 50
SPDX_HEADER = "<!--\nSPDX-FileCopyrightText: 2026 Example Org\nSPDX-License-Identifier: MIT\n-->\n"
FRONT_MATTER_END = re.compile(r"\A(\ufeff?\s*---\r?\n.*?\r?\n---[ \t]*\r?\n)", re.S)


def tool(name: str) -> str | None:
    return shutil.which(name, path=str(BIN)) or shutil.which(name)


def with_header(text: str) -> str:
    """The card with a REUSE header right after its front matter (the front matter must stay at the top)."""
    match = FRONT_MATTER_END.match(text)
    if not match:
        return SPDX_HEADER + text
    return match.group(1) + SPDX_HEADER + text[match.end():]


def make_repo(root: Path, cards_dir: Path, env: dict[str, str]) -> list[str]:
    sources = sorted(p for p in cards_dir.glob("*.md") if p.name != "README.md")
    sources.sort(key=lambda p: p.name != FIRST)  # the one-card case first, the rest in name order
    if not sources:
        raise SystemExit(f"no cards in {cards_dir}")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, env=env, check=True)
    (root / "LICENSES").mkdir()
    (root / "LICENSES" / "MIT.txt").write_text(
        "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this "
        "software...\n", encoding="utf-8")
    names = []
    for i in range(N_MANY):
        src = sources[i % len(sources)]
        folder = root / "models" / f"{i:02d}-{src.stem.partition('__')[2] or src.stem}"
        folder.mkdir(parents=True)
        text = src.read_bytes().decode("utf-8", errors="surrogateescape")
        (folder / "README.md").write_bytes(with_header(text).encode("utf-8", errors="surrogateescape"))
        names.append(str((folder / "README.md").relative_to(root)))
    subprocess.run(["git", "add", "."], cwd=root, env=env, check=True)
    return names


def time_once(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          stdin=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start, proc.returncode


def import_profile(cwd: Path, env: dict[str, str], card: str, top: int = 20) -> None:
    """`python -X importtime` of the hook's one-card run: the slowest imports by cumulative time."""
    code = "import sys; from policy.cli.entry import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, "lint", "--offline", card], cwd=cwd,
                          env=env, capture_output=True, text=True, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), len(m.group(3)) // 2, m.group(4)))
    total = sum(c for c, _, depth, _ in rows if depth == 0)
    print(f"\n-X importtime of the one-card run: {total / 1e3:.0f} ms in top-level imports; slowest cumulative:")
    for cumulative, own, depth, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1e3:7.1f} ms (self {own / 1e3:6.1f})  {'  ' * depth}{name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10, help="timed runs of each command (default 10)")
    ap.add_argument("--cards", type=Path, default=ROOT / "tests" / "fixtures" / "cards",
                    help="folder of cards to copy (default: tests/fixtures/cards)")
    ap.add_argument("--profile", action="store_true", help="also print -X importtime of the one-card run")
    ap.add_argument("--no-pyc-cache", action="store_true", help="PYTHONDONTWRITEBYTECODE=1, no .pyc cache for an "
                    "editable checkout's modules (see above)")
    args = ap.parse_args()

    policycheck, reuse = tool("policycheck"), tool("reuse")
    if policycheck is None:
        print("bench_hook: policycheck not found: .venv/bin/python -m pip install -e .", file=sys.stderr)
        return 2
    if reuse is None:
        print("bench_hook: reuse not found: .venv/bin/python -m pip install -e '.[bench]'", file=sys.stderr)
        return 2
    if shutil.which("git") is None:
        print("bench_hook: git not found", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-hook-") as tmp:
        tmp_path = Path(tmp)
        home, repo = tmp_path / "home", tmp_path / "model-repo"
        for folder in (home / ".cache", home / "hf", repo):
            folder.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HF_", "POLICYCHECK_"))}
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), HF_HOME=str(home / "hf"),
                   HF_HUB_DISABLE_TELEMETRY="1", HF_ENDPOINT="http://127.0.0.1:9", GIT_CONFIG_NOSYSTEM="1",
                   NO_COLOR="1")
        env.pop("PYTHONPYCACHEPREFIX", None)
        if args.no_pyc_cache:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
        cards = make_repo(repo, args.cards, env)
        commands = {
            "policycheck lint --offline, 1 card": [policycheck, "lint", "--offline", cards[0]],
            "reuse lint-file, 1 card": [reuse, "lint-file", cards[0]],
            f"policycheck lint --offline, {N_MANY} cards": [policycheck, "lint", "--offline", *cards],
            f"reuse lint-file, {N_MANY} cards": [reuse, "lint-file", *cards],
        }
        cold, cold_code = time_once(commands["policycheck lint --offline, 1 card"], repo, env)  # fills the cache
        codes: dict[str, int] = {}
        for label, cmd in commands.items():  # warm-up (page cache, .pyc files), and the exit codes
            _, codes[label] = time_once(cmd, repo, env)
        if any(code not in (0, 1, 3) for code in codes.values()):
            for label, cmd in commands.items():
                if codes[label] not in (0, 1, 3):
                    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
                    print(f"bench_hook: {label} exited {codes[label]}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}",
                          file=sys.stderr)
            return 2
        walls: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(args.runs):
            for label, cmd in commands.items():
                walls[label].append(time_once(cmd, repo, env)[0])

        print(f"bench_hook: {N_MANY} cards from {args.cards} (one card: models/00-.../README.md = {FIRST}), "
              f"{args.runs} runs each, round-robin, on {os.cpu_count()} core(s); python {sys.version.split()[0]}; "
              f"{'no .pyc cache for the checkout' if args.no_pyc_cache else '.pyc cached'}")
        print(f"cold first run of the hook on one card (builds the validated rule-data cache): {cold:.3f} s "
              f"(exit {cold_code})")
        med = {label: statistics.median(w) for label, w in walls.items()}
        width = max(map(len, commands))
        for label, w in walls.items():
            print(f"  {label:<{width}}  median {med[label]:.3f} s   min {min(w):.3f}  max {max(w):.3f}   "
                  f"exit {codes[label]}")
        one = med["policycheck lint --offline, 1 card"] / med["reuse lint-file, 1 card"]
        many = med[f"policycheck lint --offline, {N_MANY} cards"]
        many_ratio = many / med[f"reuse lint-file, {N_MANY} cards"]
        ok_one, ok_many = one <= 0.5, many < 1.0
        print(f"ratio policycheck / reuse: 1 card {one:.2f} (target <= 0.50: {'met' if ok_one else 'MISSED'}); "
              f"{N_MANY} cards {many_ratio:.2f}")
        print(f"{N_MANY} cards in one invocation: {many:.3f} s (target < 1 s: {'met' if ok_many else 'MISSED'}); "
              f"per extra card {(many - med['policycheck lint --offline, 1 card']) / (N_MANY - 1) * 1e3:.1f} ms")
        if args.profile or not ok_one:
            import_profile(repo, env, cards[0])
        return 0 if ok_one and ok_many else 1


if __name__ == "__main__":
    raise SystemExit(main())
