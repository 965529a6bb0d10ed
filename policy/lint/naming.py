"""The name `lint` gives the model of a card, and where it came from.

A card at the root of a clone of its Hub repo is named by that repo, whatever the checkout's folder is called:
the `origin` remote's URL (https://huggingface.co/org/name, https://hf.co/..., git@hf.co:org/name, or the
HF_ENDPOINT host) names it. Else the card's `model-index` name, else `--id`, else the folder (or file) name.

The repository is hostile input: its git configuration is read as data, never run (no `git` process, no
`include.path`, no `insteadOf`), and every read is bounded: `.git` and the files it points to must be regular
files of a few KiB (the config at most MAX_CONFIG_BYTES), opened without following a symbolic link at the last
component and without waiting on a FIFO.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from policy.records import record
from policy.scan.ids import repo_id_problem

REMOTE = "the repo's Hub remote origin"
MODEL_INDEX = "the card's model-index name"
OPTION = "--id"
FOLDER = "the folder name"
FILE = "the file name"

MAX_CONFIG_BYTES = 256 * 1024  # a real .git/config is well under 10 KiB
MAX_POINTER_BYTES = 4096  # a `.git` file (`gitdir: ...`) or a worktree's `commondir`
MAX_DEPTH = 64  # folders walked up from a card to find its repository
MAX_NAME = 96  # the Hub's limit on a repo name
HUB_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})
_NOT_MODELS = frozenset({"datasets", "spaces", "buckets", "collections", "organizations", "docs"})
_SECTION = re.compile(r'^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$')
_SCP = re.compile(r"^(?:[^@/:\s]+@)?([^/:\s]+):(?!//)(.+)$")  # git@hf.co:org/name


@record(slots=True)
class ModelName:
    """The id `lint` checks the card as, and where it came from (one of REMOTE, MODEL_INDEX, OPTION, FOLDER, FILE)."""
    id: str
    origin: str

    @property
    def name(self) -> str:
        return self.id.rsplit("/", 1)[-1]

    def said(self) -> str:
        """`The name “X” is from ...`, for a message about the name."""
        detail = {REMOTE: f", {self.id}", FOLDER: ": no Hub remote origin, model-index name or --id names the model",
                  FILE: ": no Hub remote origin, model-index name or --id names the model"}.get(self.origin, "")
        return f"The name “{self.name}” is from {self.origin}{detail}."


def _read_small(path: Path, limit: int) -> str | None:
    """The text of a regular file of at most `limit` bytes, else None (missing, a link, a FIFO, too large)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        from policy.scan.local import _read_at_most

        raw = _read_at_most(fd, limit + 1)
        if len(raw) > limit:
            return None
        return raw.decode("utf-8", errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def git_config_of(folder: Path) -> tuple[Path, str] | None:
    """The work tree root holding `folder` and the text of its repository's config, or None. `.git` is a folder,
    or a file `gitdir: PATH` (a worktree or a submodule; a worktree's config is in its `commondir`)."""
    here = Path(os.path.abspath(folder))
    for _ in range(MAX_DEPTH):
        dotgit = here / ".git"
        try:
            mode = os.lstat(dotgit).st_mode
        except OSError:
            mode = None
        if mode is not None:
            gitdir: Path | None = None
            if stat.S_ISDIR(mode):
                gitdir = dotgit
            elif stat.S_ISREG(mode):
                pointer = _read_small(dotgit, MAX_POINTER_BYTES)
                m = re.match(r"gitdir:\s*(.+?)\s*$", pointer or "", re.MULTILINE)
                if m:
                    gitdir = here / m.group(1)  # relative to the work tree, or absolute
            if gitdir is None:
                return None
            common = _read_small(gitdir / "commondir", MAX_POINTER_BYTES)
            if common and common.strip():
                gitdir = gitdir / common.strip()
            text = _read_small(gitdir / "config", MAX_CONFIG_BYTES)
            return (here, text) if text is not None else None
        if here.parent == here:
            return None
        here = here.parent
    return None


def _unquote(value: str) -> str:
    """A git config value: an unquoted `#`/`;` starts a comment, quotes are removed, `\\"` `\\\\` unescaped."""
    out, quoted, i = [], False, 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append({"n": "\n", "t": "\t", "b": "\b"}.get(value[i + 1], value[i + 1]))
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c in "#;" and not quoted:
            break
        else:
            out.append(c)
        i += 1
    return "".join(out).strip()


def origin_url(config: str) -> str | None:
    """The first `url` of `[remote "origin"]` (or the old `[remote.origin]`) in a git config's text."""
    section: tuple[str, str | None] | None = None
    for raw in config.splitlines()[:10_000]:
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            m = _SECTION.match(line)
            if not m:
                section = None
                continue
            name, sub = m.group(1), m.group(2)
            if sub is None and "." in name:
                name, _, sub = name.partition(".")
                sub = sub.lower()
            section = (name.lower(), sub)
            line = m.group(3).strip()
            if not line:
                continue
        if section != ("remote", "origin"):
            continue
        key, eq, value = line.partition("=")
        if eq and key.strip().lower() == "url":
            return _unquote(value) or None
    return None


def hub_id_from_url(url: str, endpoint: str | None = None) -> str | None:
    """The model id a git remote URL names on the Hub (or the HF_ENDPOINT host), or None: another host, a dataset
    or Space, or not a valid repo id. Credentials in the URL are dropped."""
    url = url.strip()
    if len(url) > 2048 or any(ord(c) < 32 for c in url):
        return None
    hosts = set(HUB_HOSTS)
    prefix = ""
    if endpoint:
        parts = urlsplit(endpoint.strip())
        if parts.hostname:
            hosts.add(parts.hostname.lower())
            prefix = parts.path.strip("/")
    if "://" in url:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return None
        if parts.scheme.lower() not in ("https", "http", "ssh", "git"):
            return None
        path = parts.path
    else:
        m = _SCP.match(url)
        if not m:
            return None
        host, path = m.group(1).lower(), m.group(2)
    if host not in hosts:
        return None
    path = path.strip("/")
    if prefix and host not in HUB_HOSTS and path.startswith(prefix + "/"):
        path = path[len(prefix) + 1:]
    if path.endswith(".git"):
        path = path[:-4]
    segments = [s for s in path.split("/") if s]
    if segments and segments[0] == "models":
        segments = segments[1:]
    if not 1 <= len(segments) <= 2 or segments[0] in _NOT_MODELS:
        return None
    repo_id = "/".join(segments)
    return None if repo_id_problem(repo_id) else repo_id


def model_index_name(fields: Mapping[str, Any]) -> str | None:
    """The `name` of the card's first `model-index` entry, when it is a plausible model name."""
    index = fields.get("model-index")
    if not isinstance(index, list) or not index or not isinstance(index[0], dict):
        return None
    name = index[0].get("name")
    if not isinstance(name, str):
        return None
    name = name.strip()
    if not name or len(name) > MAX_NAME + 97 or any(ord(c) < 32 for c in name):
        return None
    return None if repo_id_problem(name if "/" in name else f"x/{name}") else name


def name_model(card: Path, fields: Mapping[str, Any], option: str | None, fallback: str) -> ModelName:
    """The model's name for the card at `card`: the Hub remote origin of the clone it is the root card of, else its
    model-index name, else `option` (--id), else `fallback` (the name from the folder or file)."""
    from policy.scan.local import CARD_FILE_NAMES

    if card.name.lower() in CARD_FILE_NAMES:
        found = git_config_of(card.parent)
        # only the card at the root of the work tree is the remote repo's own card
        if found is not None and found[0] == Path(os.path.abspath(card.parent)):
            url = origin_url(found[1])
            repo_id = hub_id_from_url(url, os.environ.get("HF_ENDPOINT")) if url else None
            if repo_id:
                return ModelName(repo_id, REMOTE)
    name = model_index_name(fields)
    if name:
        return ModelName(name, MODEL_INDEX)
    if option:
        return ModelName(option, OPTION)
    return ModelName(fallback, FOLDER if card.name.lower() in CARD_FILE_NAMES else FILE)
