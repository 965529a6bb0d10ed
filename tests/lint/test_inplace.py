"""`lint --fix` writes a card through a random, exclusive temporary file (policy/lint/inplace.py, issue 17): a link a
cloned repository planted at any temporary name is never written through, and a card that is itself a link is not
rewritten (exit 2 for that card; the batch goes on)."""

from __future__ import annotations

import itertools
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXABLE = "---\nlicence: MIT\n---\n# m\n"
FIXED = "---\nlicense: mit\n---\n# m\n"
VICTIM_TEXT = "export PATH=/usr/bin  # a shell profile\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A cloned repository with a card to fix, and a file outside it that a planted link points at."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "README.md").write_text(FIXABLE, encoding="utf-8")
    (tmp_path / "profile").write_text(VICTIM_TEXT, encoding="utf-8")
    return tmp_path / "repo"


@pytest.fixture
def guessed(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The temporary file's random name, known in advance (as if a repository guessed it)."""
    random_names = tempfile._get_candidate_names
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: itertools.chain(["guessed1"], random_names()))
    yield "guessed1"


def _fixed_without_leftovers(repo: Path, planted: list[Path]) -> None:
    assert (repo / "README.md").read_text(encoding="utf-8") == FIXED
    assert (repo.parent / "profile").read_text(encoding="utf-8") == VICTIM_TEXT
    assert sorted(repo.iterdir()) == sorted([repo / "README.md", *planted])


def test_fix_never_writes_through_a_link_at_the_old_temporary_name(run_cli: Any, repo: Path) -> None:
    planted = repo / ".README.md.policycheck-fix"
    planted.symlink_to(repo.parent / "profile")
    os.chmod(repo / "README.md", 0o640)
    result = run_cli("lint", "--fix", repo / "README.md")
    assert "README.md:2: fixed: licence -> license" in result.out, result.out + result.err
    _fixed_without_leftovers(repo, [planted])
    assert stat.S_IMODE((repo / "README.md").stat().st_mode) == 0o640


def test_fix_never_writes_through_a_link_at_its_random_temporary_name(run_cli: Any, repo: Path,
                                                                      guessed: str) -> None:
    planted = repo / f".README.md.{guessed}.tmp"
    planted.symlink_to(repo.parent / "profile")
    run_cli("lint", "--fix", repo / "README.md")
    _fixed_without_leftovers(repo, [planted])


def test_fix_refuses_a_card_that_is_a_link_and_goes_on_with_the_batch(run_cli: Any, repo: Path,
                                                                     tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text(FIXABLE, encoding="utf-8")
    link = repo / "MODEL_CARD.md"
    link.symlink_to(outside)
    result = run_cli("lint", "--fix", "-f", "json", link, repo / "README.md")
    assert result.code == 2, result.err
    refused, fixed = result.json()["files"]
    assert refused["exit_code"] == 2 and refused["error"]["message"] == (
        f"{link}: not fixed: the card is a symbolic link, and lint --fix does not write through links (fix the "
        "file it points to)")
    assert fixed["exit_code"] == 0 and len(fixed["fixes"]) == 2
    assert link.is_symlink() and outside.read_text(encoding="utf-8") == FIXABLE  # neither replaced nor written
    assert (repo / "README.md").read_text(encoding="utf-8") == FIXED  # the batch went on
    assert "Traceback" not in result.out + result.err
