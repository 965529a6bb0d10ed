"""Usage mistakes are usage errors (exit 2, one line, "did you mean"), never Hub lookups (issue 7)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CARDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("argv", "suggestion"), [
    (["licences"], "licenses"),
    (["rule", "list"], "rules"),
    (["chek", "x"], "check"),
    (["verison"], "version"),
])
def test_a_mistyped_command_is_a_usage_error_with_did_you_mean(run_cli: Any, argv: list[str],
                                                               suggestion: str) -> None:
    result = run_cli(*argv)
    assert result.code == 2 and result.out == ""
    (line,) = result.err.splitlines()
    assert f"did you mean '{suggestion}'?" in line
    assert "not available" not in line and "Hub" not in line.split("did you mean")[0]


def test_a_bare_word_is_not_taken_for_a_hub_id_but_check_reaches_it(run_cli: Any) -> None:
    result = run_cli("gpt2")
    assert result.code == 2
    assert "policycheck check gpt2" in result.err  # how a one-word legacy Hub id stays reachable
    explicit = run_cli("check", "gpt2", "--format", "json")  # offline in-process: looked up, then review
    assert explicit.code == 3
    assert explicit.json()["subject"]["id"] == "gpt2"


def test_shorthand_still_takes_hub_ids_and_files(run_cli: Any) -> None:
    assert run_cli("acme/not-here", "--format", "json").code == 3  # org/name: `check` implied
    card = CARDS / "deepseek-ai__DeepSeek-R1-Distill-Qwen-7B.md"
    assert run_cli(card, "--cards", CARDS, "--format", "json").code in (0, 1, 3)


def test_missing_cards_folder_is_exit_2(run_cli: Any, tmp_path: Path) -> None:
    card = CARDS / "deepseek-ai__DeepSeek-R1-Distill-Qwen-7B.md"
    result = run_cli("check", card, "--cards", tmp_path / "nope")
    assert result.code == 2 and result.out == ""
    assert f"--cards {tmp_path / 'nope'}: no such folder" in result.err
    a_file = run_cli("check", card, "--cards", card)
    assert a_file.code == 2 and "not a folder" in a_file.err


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_readme_setup_uses_a_virtual_environment_and_ci_runs_its_test_command() -> None:
    main_job, tests = _readme_commands()
    setup = (ROOT / "tests" / "setup.sh").read_text(encoding="utf-8")
    assert tests == "sh tests/setup.sh && .venv/bin/python -m pytest -q"
    for command in (main_job, setup):
        assert "-m venv .venv" in command  # works where the system Python refuses pip (PEP 668)
        assert "pip install" not in command.replace(".venv/bin/python -m pip install", "")
    assert ".venv/bin/policycheck check" in main_job
    assert "pip install -q -e '.[test]'" in setup  # the test extras (pytest, ruff) go into .venv
    # the HTML report's browser test needs Debian's chromium: installed when missing, as root, with apt-get
    assert "apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium" in setup
    assert 'id -u' in setup and "command -v chromium" in setup
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci  # CI runs exactly the README's test command
    assert 'export POLICYCHECK_CACHE="$PWD/.venv/policycheck-cache"' in ci
    bench = (ROOT / "benchmarks" / "bench_hub.py").read_text(encoding="utf-8")
    assert ".[test]" in bench.split('"""')[1]  # it imports tests/hubsim: needs the test extras


def test_bash_syntax_of_ci_run() -> None:
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], check=False).returncode == 0
    assert subprocess.run(["sh", "-n", str(ROOT / "tests" / "setup.sh")], check=False).returncode == 0


def test_version_and_short_help(run_cli: Any) -> None:
    from policy import __version__

    for flag in ("--version", "-V"):
        result = run_cli(flag)
        assert (result.code, result.out) == (0, f"policycheck {__version__}\n")
    result = run_cli("-h")
    assert result.code == 0 and "Commands:" in result.out and "lint" in result.out
    result = run_cli("check", "-h")
    assert result.code == 0 and "--format" in result.out


def test_lint_has_one_command_line_whichever_way_it_starts(run_cli: Any, capsys: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`lint` reads its own options (argparse, for the hook's start-up): the console script's fast path and the
    full command line give the same help, the same usage errors (exit 2) and the same results."""
    from policy.cli.entry import main as entry

    monkeypatch.setenv("COLUMNS", "80")
    full = run_cli("lint", "-h")
    assert full.code == 0 and full.out.startswith("usage: policycheck lint ") and "--unresolved" in full.out
    assert entry(["lint", "--help"]) == 0
    assert capsys.readouterr().out == full.out
    assert all(len(line) <= 80 for line in full.out.splitlines())
    bad = run_cli("lint", "--format", "nope", str(CARDS / "Qwen__Qwen2.5-1.5B.md"))
    assert bad.code == 2 and "invalid choice: 'nope'" in bad.err
    assert entry(["lint", "--bogus", str(CARDS / "Qwen__Qwen2.5-1.5B.md")]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    card = str(CARDS / "Qwen__Qwen2.5-1.5B.md")
    via_app = run_cli("lint", "--format", "json", card)
    assert entry(["lint", "--format", "json", card]) == via_app.code
    assert capsys.readouterr().out == via_app.out
