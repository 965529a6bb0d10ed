"""The model's name `lint` checks a card under (the Hub remote origin, model-index, --id, the folder), said in the
message; the license placeholder TRL writes; the exit code of a warning-only run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from policy.lint.naming import (
    FOLDER,
    MAX_CONFIG_BYTES,
    MODEL_INDEX,
    OPTION,
    REMOTE,
    git_config_of,
    hub_id_from_url,
    name_model,
    origin_url,
)

BASE = "---\nlicense: llama3.1\npipeline_tag: text-generation\n---\n# Llama 3.1 8B (a local stand-in)\n"
CARD = ("---\nlicense: llama3.1\nbase_model: meta-llama/Llama-3.1-8B\npipeline_tag: text-generation\n{extra}---\n"
        "# Llama-acme-support-8b\n")
INDEX = "model-index:\n- name: {name}\n  results: []\n"
POLICY = "schema: policycheck/policy/v1\nlicensee: {monthly_active_users: 2000000}\n"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://huggingface.co/acme/Llama-acme-support-8b", "acme/Llama-acme-support-8b"),
    ("https://huggingface.co/acme/Llama-acme-support-8b.git", "acme/Llama-acme-support-8b"),
    ("https://user:hf_secret@huggingface.co/acme/Llama-x/", "acme/Llama-x"),
    ("https://hf.co/acme/Llama-x", "acme/Llama-x"),
    ("git@hf.co:acme/Llama-x", "acme/Llama-x"),
    ("git@hf.co:acme/Llama-x.git", "acme/Llama-x"),
    ("ssh://git@hf.co/acme/Llama-x", "acme/Llama-x"),
    ("https://huggingface.co/gpt2", "gpt2"),
    ("https://huggingface.co/datasets/acme/data", None),
    ("https://huggingface.co/spaces/acme/demo", None),
    ("git@hf.co:datasets/acme/data", None),
    ("https://github.com/acme/Llama-x", None),
    ("git@github.com:acme/Llama-x.git", None),
    ("https://huggingface.co.evil.example/acme/Llama-x", None),
    ("file:///srv/huggingface.co/acme/Llama-x", None),
    ("https://huggingface.co/acme/Llama-x/tree/main", None),
    ("https://huggingface.co/acme/" + "x" * 200, None),
])
def test_hub_id_from_url(url: str, expected: str | None) -> None:
    assert hub_id_from_url(url) == expected


def test_hub_id_from_the_hf_endpoint_host() -> None:
    url = "https://hub.corp.example/acme/Llama-x"
    assert hub_id_from_url(url) is None
    assert hub_id_from_url(url, "https://hub.corp.example") == "acme/Llama-x"
    assert hub_id_from_url("https://hub.corp.example/hf/acme/Llama-x", "https://hub.corp.example/hf") == "acme/Llama-x"
    assert hub_id_from_url("https://other.example/acme/Llama-x", "https://hub.corp.example") is None


def test_origin_url_reads_the_origin_remote_only() -> None:
    config = ('[core]\n\tbare = false\n[remote "upstream"]\n\turl = https://huggingface.co/meta/other\n'
              '# [remote "origin"]\n[remote "origin"]\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n'
              '\tURL = "https://huggingface.co/acme/Llama-x" ; a comment\n\turl = https://hf.co/acme/second\n')
    assert origin_url(config) == "https://huggingface.co/acme/Llama-x"
    assert origin_url('[remote "upstream"]\nurl = https://huggingface.co/a/b\n') is None
    assert origin_url("[remote.origin]\nurl = git@hf.co:a/b\n") == "git@hf.co:a/b"
    assert origin_url('[remote "Origin"]\nurl = git@hf.co:a/b\n') is None  # subsections are case-sensitive


def _repo(root: Path, origin: str | None) -> Path:
    (root / ".git").mkdir(parents=True)
    section = f'[remote "origin"]\n\turl = {origin}\n' if origin else ""
    (root / ".git" / "config").write_text(f"[core]\n\tbare = false\n{section}", encoding="utf-8")
    return root


def test_git_config_found_through_a_gitdir_file_and_bounded(tmp_path: Path) -> None:
    main = _repo(tmp_path / "main", "https://huggingface.co/acme/Llama-x")
    # a worktree: `.git` is a file pointing to .git/worktrees/<name>, whose commondir holds the config
    (main / ".git" / "worktrees" / "wt").mkdir(parents=True)
    (main / ".git" / "worktrees" / "wt" / "commondir").write_text("../..\n", encoding="utf-8")
    wt = tmp_path / "modelrepo"
    wt.mkdir()
    (wt / ".git").write_text(f"gitdir: {main / '.git' / 'worktrees' / 'wt'}\n", encoding="utf-8")
    found = git_config_of(wt)
    assert found is not None and found[0] == wt and origin_url(found[1]) == "https://huggingface.co/acme/Llama-x"

    huge = _repo(tmp_path / "huge", None)
    with (huge / ".git" / "config").open("a", encoding="utf-8") as f:
        f.write("# " + "x" * MAX_CONFIG_BYTES + '\n[remote "origin"]\n\turl = https://hf.co/a/b\n')
    assert git_config_of(huge) is None

    linked = tmp_path / "linked"
    (linked / ".git").mkdir(parents=True)
    os.symlink(main / ".git" / "config", linked / ".git" / "config")
    assert git_config_of(linked) is None  # a symbolic link is not followed


def _name(card: Path, option: str | None = None) -> Any:
    from policy.scan.cards import parse_card
    from policy.scan.local import card_id_from_path

    return name_model(card, parse_card(card.read_text(encoding="utf-8"), str(card)).fields, option,
                      card_id_from_path(card))


def test_name_sources_in_order(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "modelrepo", "git@hf.co:acme/Llama-remote")
    card = repo / "README.md"
    card.write_text(CARD.format(extra=INDEX.format(name="Llama-index")), encoding="utf-8")
    assert (_name(card, "acme/Llama-option").id, _name(card).origin) == ("acme/Llama-remote", REMOTE)
    (repo / ".git" / "config").write_text('[remote "origin"]\n\turl = https://github.com/acme/x\n', encoding="utf-8")
    assert (_name(card, "acme/Llama-option").id, _name(card).origin) == ("Llama-index", MODEL_INDEX)
    card.write_text(CARD.format(extra=""), encoding="utf-8")
    named = _name(card, "acme/Llama-option")
    assert (named.id, named.origin) == ("acme/Llama-option", OPTION)
    assert (_name(card).id, _name(card).origin) == ("modelrepo", FOLDER)
    # a card below the work tree's root is not the remote repo's card
    sub = repo / "models" / "other"
    sub.mkdir(parents=True)
    (repo / ".git" / "config").write_text('[remote "origin"]\n\turl = https://hf.co/acme/Llama-remote\n',
                                          encoding="utf-8")
    (sub / "README.md").write_text(CARD.format(extra=""), encoding="utf-8")
    assert _name(sub / "README.md").origin == FOLDER


@pytest.fixture
def llama(tmp_path: Path) -> Path:
    (tmp_path / "ancestors").mkdir()
    (tmp_path / "ancestors" / "meta-llama__Llama-3.1-8B.md").write_text(BASE, encoding="utf-8")
    return tmp_path / "ancestors"


def _lint(run_cli: Any, llama: Path, card: Path, *args: str) -> Any:
    (card.parent / "policycheck.yaml").write_text(POLICY, encoding="utf-8")
    return run_cli("lint", "--offline", "--cards", llama, *args, card)


@pytest.mark.parametrize(("origin", "extra", "option", "said"), [
    ("https://huggingface.co/acme/Llama-acme-support-8b", "", None, None),
    ("git@hf.co:acme/acme-support-8b", "", None, "from the repo's Hub remote origin, acme/acme-support-8b"),
    ("https://github.com/acme/x", INDEX.format(name="acme-support-8b"), None, "from the card's model-index name"),
    ("https://github.com/acme/x", "", "acme/acme-support-8b", "from --id"),
    (None, "", None, "from the folder name: no Hub remote origin"),
])
def test_name_prefix_message_says_where_the_name_came_from(run_cli: Any, llama: Path, tmp_path: Path,
                                                           origin: str | None, extra: str, option: str | None,
                                                           said: str | None) -> None:
    repo = _repo(tmp_path / "modelrepo", origin)
    card = repo / "README.md"
    card.write_text(CARD.format(extra=extra), encoding="utf-8")
    result = _lint(run_cli, llama, card, *(["--id", option] if option else []))
    if said is None:
        assert result.code == 0 and "name-prefix-missing" not in result.out, result.out
        return
    assert result.code == 1, result.out
    flat = " ".join(result.out.split())
    assert "error[name-prefix-missing]" in flat and said in flat, result.out
    doc = json.loads(_lint(run_cli, llama, card, "-f", "json", *(["--id", option] if option else [])).out)
    assert doc["files"][0]["model"]["name_from"] in said


def test_placeholder_license_suggests_the_lineage_license_and_fix_leaves_it(run_cli: Any, llama: Path,
                                                                           tmp_path: Path) -> None:
    repo = _repo(tmp_path / "modelrepo", "https://huggingface.co/acme/Llama-acme-support-8b")
    card = repo / "README.md"
    text = CARD.format(extra="").replace("license: llama3.1", "licence: license")
    card.write_text(text, encoding="utf-8")
    result = _lint(run_cli, llama, card)
    flat = " ".join(result.out.split())
    assert result.code == 1 and "error[license-placeholder]" in flat, result.out
    assert "`license: llama3.1`" in flat and "meta-llama/Llama-3.1-8B" in flat, result.out
    assert "unlicense" not in flat and "did you mean 'unlicense'" not in flat, result.out
    fixed = _lint(run_cli, llama, card, "--fix")
    assert fixed.code == 1 and card.read_text(encoding="utf-8") == text, fixed.out
    assert "fixed:" not in fixed.out
