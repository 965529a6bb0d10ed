"""The fuzz campaign (benchmarks/fuzz_cards.py) in small: a few dozen seeded mutants through `check` and
`lint --fix`, so that the script keeps working and its judge keeps judging. The full campaign (20,000 mutants)
is run by hand; its figures are quoted where the work is reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import fuzz_cards  # noqa: E402


def test_a_small_campaign_finds_nothing_and_reports_its_figures() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fuzz_cards.py"), "--count", "60",
                           "--batch", "60", "--seed", "3"], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fuzz_cards: 60 mutants" in proc.stdout and "failures: 0" in proc.stdout
    assert "fixes applied" in proc.stdout  # the seeded campaign reaches lint --fix's corrections


def test_the_judge_of_fixes_catches_a_byte_outside_a_fix() -> None:
    raw = "\ufeff---\r\nlicence: MIT\r\n---\r\n".encode()
    fixes = [{"line": 2, "col": 1, "old": "licence", "new": "license"}]
    assert fuzz_cards.expected_after_fixes(raw, fixes) == "\ufeff---\r\nlicense: MIT\r\n---\r\n".encode()
    rounds = [{"line": 2, "col": 1, "old": "licence", "new": "license"},
              {"line": 2, "col": 10, "old": "MIT", "new": "mit", "round": 2}]
    assert fuzz_cards.expected_after_fixes(raw, rounds) == "\ufeff---\r\nlicense: mit\r\n---\r\n".encode()
    with pytest.raises(ValueError):
        fuzz_cards.expected_after_fixes(raw, [{"line": 2, "col": 2, "old": "licence", "new": "license"}])


def test_mutants_are_reproducible() -> None:
    import random

    cards = [b"---\nlicense: mit\nbase_model: a/b\n---\n# card\n"]
    first = [fuzz_cards.mutant(cards, rng)[0] for rng in [random.Random(5)] for _ in range(20)]
    again = [fuzz_cards.mutant(cards, rng)[0] for rng in [random.Random(5)] for _ in range(20)]
    assert first == again and len(set(first)) > 10
