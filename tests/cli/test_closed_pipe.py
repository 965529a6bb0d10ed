"""A reader that goes away (`policycheck ... | head -c1`) is exit 141 for every command, under `pipefail` as a
shell reports a writer its reader left, whether the output is short (it fits in the pipe: the unread rest left
behind tells) or long (a write fails with EPIPE mid-output). A reader that reads everything gets the verdict."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CARDS = REPO / "tests" / "fixtures" / "cards"
CARD = CARDS / "NousResearch__Meta-Llama-3.1-8B.md"
CLI = f"{shlex.quote(sys.executable)} -m policy.cli"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "PYTHONPATH": str(REPO)}


def piped(args: str, reader: str = "head -c1", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f"set -o pipefail; {CLI} {args} | {reader} >/dev/null"],
                          capture_output=True, text=True, timeout=120, cwd=REPO, env=env or ENV)


COMMANDS = {
    "check": f"check {CARD} --cards {CARDS} --offline",
    "check json": f"check {CARD} --cards {CARDS} --offline -f json",
    "licenses": "licenses",
    "licenses ID": "licenses mit",
    "rules list": "rules list",
    "rules validate": "rules validate",
    "lint": f"lint {CARD} --cards {CARDS}",
    "claims": f"claims {CARD} --offline",
    "annex": f"annex {CARD} --cards {CARDS} --offline",
    "aiact": f"aiact {CARD} --cards {CARDS} --offline",
    "version": "version",
    "help": "--help",
    "check help": "check --help",
    "inventory": f"inventory {REPO / 'tests' / 'fixtures' / 'inventory_app'}",
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_reader_that_leaves_early_is_exit_141(name: str) -> None:
    done = piped(COMMANDS[name])
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr  # nor the final flush's
    assert "error" not in done.stderr.lower()


@pytest.mark.parametrize(("name", "code"), [("check", 3), ("licenses", 0), ("version", 0)])
def test_a_reader_that_reads_everything_gets_the_verdict(name: str, code: int) -> None:
    for reader in ("cat", "head -n 100000"):
        done = piped(COMMANDS[name], reader)
        assert (done.returncode, done.stderr) == (code, ""), (reader, done.stderr)


def test_a_long_output_stopped_mid_write_is_exit_141() -> None:
    cards = " ".join(str(p) for p in sorted(CARDS.glob("*.md")))
    full = subprocess.run(["bash", "-c", f"{CLI} check {cards} --cards {CARDS} --offline -f json | wc -c"],
                          capture_output=True, text=True, timeout=300, cwd=REPO, env=ENV)
    assert int(full.stdout) > 1 << 17  # more than a pipe holds: the writer meets EPIPE, not a full buffer
    done = piped(f"check {cards} --cards {CARDS} --offline -f json", "head -c 100")
    assert (done.returncode, done.stderr) == (141, "")


def test_tree_is_exit_141_too(small_tree_env: dict[str, str]) -> None:
    env = small_tree_env
    for fmt in ("text", "json"):
        assert piped(f"tree acme/root -q -f {fmt}", "cat", env).returncode == 0
        done = piped(f"tree acme/root -q -f {fmt}", env=env)
        assert (done.returncode, done.stderr) == (141, ""), done.stderr


def test_hub_audit_is_exit_141_too(tmp_path: Path) -> None:
    from tests.support.snapshotgen import model_row, write_snapshot

    snapshot = tmp_path / "models.parquet"
    write_snapshot(snapshot, [model_row("acme/base", {"license": "mit"}),
                              *(model_row(f"acme/m{i}", {"license": "mit", "base_model": "acme/base"})
                                for i in range(40))])
    env = {**ENV, "POLICYCHECK_CACHE": str(tmp_path / "cache")}
    for fmt in ("text", "json", "csv"):
        args = f"hub-audit --snapshot {snapshot} --workers 1 -q -f {fmt}"
        assert piped(args, "cat", env).returncode == 0
        done = piped(args, env=env)
        assert (done.returncode, done.stderr) == (141, ""), done.stderr
