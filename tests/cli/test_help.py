"""The help (policy/cli/app.py): each command's line in `policycheck --help` is whole, not the docstring's first
sentence cut at 45 characters with "...", and every command that decides an exit code says which in its help."""

from __future__ import annotations

import re
from typing import Any

import pytest

from policy.cli.app import COMMANDS


def _commands(help_text: str) -> dict[str, str]:
    section = help_text.split("Commands:\n", 1)[1]
    return dict(re.findall(r"^  (\S+) +(.+)$", section, re.M))


@pytest.mark.parametrize("columns", ["80", "60", "200"])
def test_the_command_lists_are_whole_lines(run_cli: Any, monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    top = run_cli("--help")
    assert top.code == 0
    listed = _commands(top.out)
    assert set(listed) == COMMANDS
    rules = _commands(run_cli("rules", "--help").out)
    assert set(rules) == {"list", "validate", "test"}
    for name, line in {**listed, **rules}.items():
        assert not line.endswith("...") and line.endswith("."), (name, line)
    assert listed["check"] == "Check models against the rule packs."


@pytest.mark.parametrize("command", ["check", "tree", "lint", "annex", "aiact", "claims", "inventory"])
def test_every_command_that_decides_an_exit_code_says_which(run_cli: Any, command: str) -> None:
    shown = run_cli(command, "--help")
    assert shown.code == 0
    text = " ".join(shown.out.split())
    assert re.search(r"[Ee]xit (codes?\b|3\b)", text), text[:400]


def test_check_help_lists_every_exit_code(run_cli: Any) -> None:
    text = " ".join(run_cli("check", "--help").out.split())
    codes = text.split("Exit codes: ", 1)[1].split("Arguments:", 1)[0]
    for code, meaning in (("0", "pass"), ("1", "fail"), ("3", "review"), ("2", "usage"), ("4", "internal"),
                          ("141", "reader of the output went away")):
        assert re.search(rf"\b{code}\b[^;]*{meaning}|{meaning}[^;]*\b{code}\b", codes), (code, codes)
