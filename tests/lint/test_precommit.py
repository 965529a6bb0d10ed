"""The pre-commit hooks (.pre-commit-hooks.yaml), run by the real `pre-commit` tool in a throw-away git repository.

The repository's `.pre-commit-config.yaml` uses `repo: local` hooks with `language: system` whose entry is this
checkout's `policycheck` with the arguments of `.pre-commit-hooks.yaml`: pre-commit then needs no network to
install anything, and `test_manifest_valid_and_mirrored` checks that the local hooks are exactly the shipped ones
(same arguments, `files`, `types`, ...) but for the path of the executable and `language`.
HOME, XDG_CACHE_HOME, PRE_COMMIT_HOME and HF_HOME are temporary folders: nothing of the user's setup is read or
written, and git config comes from the test repository alone.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent
# The test extras install pre-commit beside the interpreter running the tests (the venv need not be activated).
PRE_COMMIT = shutil.which("pre-commit", path=str(BIN)) or shutil.which("pre-commit")
POLICYCHECK = shutil.which("policycheck", path=str(BIN)) or shutil.which("policycheck")
GIT = shutil.which("git")

pytestmark = [
    pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is installed with the test extras"),
    pytest.mark.skipif(GIT is None, reason="git is needed to run pre-commit"),
    pytest.mark.skipif(POLICYCHECK is None, reason="the policycheck console script is installed by pip install -e ."),
]

LLAMA_BASE = """\
---
license: llama3.1
language:
- en
pipeline_tag: text-generation
---
# Llama 3.1 8B (a local stand-in for meta-llama/Llama-3.1-8B)
"""

BAD_CARD = """\
---
language:
- en
license: mit
base_model: meta-llama/Llama-3.1-8B
pipeline_tag: text-generation
---
# Llama-3.1-8B-Legal

A fine-tune of Llama 3.1 8B on contracts.
"""

UNRESOLVED_CARD = """\
---
license: apache-2.0
base_model: acme/not-anywhere
---
# A model whose base is neither in the Hub cache, nor a local card, nor a curation
"""

# The repository folder names the subject (a card at a checkout's root is named by its folder), and a Llama 3.1
# derivative's name must begin with "Llama".
REPO_NAME = "Llama-3.1-8B-Legal"
HOOK_TIME_LIMIT = 5.0  # seconds; huggingface_hub waits 10 s for a connection or an answer before it even retries


def manifest() -> dict[str, dict[str, Any]]:
    hooks = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return {h["id"]: h for h in hooks}


def local_hook(hook_id: str, **overrides: Any) -> dict[str, Any]:
    """The shipped hook as a `repo: local` hook: this checkout's executable, `language: system`, all else as
    shipped (entry arguments, files, types, require_serial, verbose)."""
    shipped = manifest()[hook_id]
    program, *arguments = shlex.split(shipped["entry"])
    assert program == "policycheck", shipped["entry"]
    hook = {k: v for k, v in shipped.items() if k not in ("language", "entry", "minimum_pre_commit_version")}
    hook["entry"] = shlex.join([str(POLICYCHECK), *arguments])
    hook["language"] = "system"
    hook.update(overrides)
    return hook


FINDING = re.compile(r"^(?P<file>\S+?):(?P<line>\d+):(?P<col>\d+): "
                     r"(?P<severity>error|warning|note)\[(?P<code>[^\]]+)\]: (?P<message>.*)$")


def findings(output: str) -> list[dict[str, Any]]:
    """The `file:line:col: severity[code]: message` diagnostics in the output, each message unwrapped (its
    indented continuation lines joined) and with the code frame lines (` N | ...`) that follow it."""
    found: list[dict[str, Any]] = []
    for raw in output.splitlines():
        match = FINDING.match(raw)
        if match:
            found.append({**match.groupdict(), "line": int(match["line"]), "col": int(match["col"]), "frame": []})
        elif found and re.match(r"^\s*\d+ \| ", raw):
            found[-1]["frame"].append(raw)
        elif found and not found[-1]["frame"] and raw.startswith("    "):
            found[-1]["message"] += " " + raw.strip()
    return found


def line_of(text: str, key: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(f"{key}:"))


class BlackHole:
    """A loopback listener that accepts connections, counts them and never answers: HF_ENDPOINT points here, so
    any request policycheck sent would be counted (and would hang until the client's timeout)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self.sock.close()


@pytest.fixture
def hub() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


@pytest.fixture
def env(tmp_path: Path, hub: BlackHole) -> dict[str, str]:
    home = tmp_path / "home"
    for sub in ("", ".cache", "pre-commit", "hf"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    # No GIT_DIR / GIT_INDEX_FILE / ... inherited (e.g. when the tests themselves run inside a git hook): git
    # must act on the temporary repository only.
    e = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT", "HF_", "POLICYCHECK_"))}
    e.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
             PRE_COMMIT_HOME=str(home / "pre-commit"), HF_HOME=str(home / "hf"), HF_HUB_DISABLE_TELEMETRY="1",
             HF_ENDPOINT=f"http://127.0.0.1:{hub.port}", GIT_CONFIG_NOSYSTEM="1", NO_COLOR="1",
             PRE_COMMIT_COLOR="never", LC_ALL="C.UTF-8")
    # HF_HUB_OFFLINE stays unset: the hook's own --offline must be what keeps it off the network.
    return e


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def git(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run([str(GIT), *args], repo, env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def commit(repo: Path, env: dict[str, str], message: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`git commit` with the pre-commit hook installed: its result, output (hooks' output included) and time."""
    start = time.monotonic()
    result = run([str(GIT), "commit", "-m", message], repo, env)
    return result, time.monotonic() - start


def commit_card(repo: Path, env: dict[str, str], text: str,
                message: str) -> tuple[subprocess.CompletedProcess[str], float, str]:
    """Write `text` as the repo's README.md, stage it and commit: the result, the time, and all the output."""
    (repo / "README.md").write_text(text, encoding="utf-8")
    git(repo, env, "add", "README.md")
    result, elapsed = commit(repo, env, message)
    return result, elapsed, result.stdout + result.stderr


def head_count(repo: Path, env: dict[str, str]) -> int:
    return int(git(repo, env, "rev-list", "--count", "HEAD").stdout)


def hook_duration(output: str) -> float:
    """pre-commit's own timing of the hook (printed for verbose hooks: `- duration: 0.31s`)."""
    match = re.search(r"- duration: ([\d.]+)s", output)
    assert match, output
    return float(match.group(1))


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    """A git repository with the hooks configured (committed) and installed, and a local card of the base."""
    return make_repo(tmp_path / REPO_NAME, env)


def make_repo(path: Path, env: dict[str, str]) -> Path:
    path.mkdir()
    git(path, env, "init", "-q", "-b", "main")
    git(path, env, "config", "--local", "user.name", "Policy Tester")
    git(path, env, "config", "--local", "user.email", "tester@example.invalid")
    git(path, env, "config", "--local", "commit.gpgsign", "false")
    (path / "ancestors").mkdir()
    (path / "ancestors" / "meta-llama__Llama-3.1-8B.md").write_text(LLAMA_BASE, encoding="utf-8")
    # the team's policy gives its monthly active users, which Llama 3.1 §2 tests (else the full check is review)
    (path / "policycheck.yaml").write_text("schema: policycheck/policy/v1\nlicensee: {monthly_active_users: 2000000}\n",
                                           encoding="utf-8")
    config = {"repos": [{"repo": "local", "hooks": [
        local_hook("policycheck-card", args=["--cards", "ancestors"]),
        # the same with `args: [--unresolved, fail]`, run by hand (`--hook-stage manual`)
        local_hook("policycheck-card", id="policycheck-card-strict", stages=["manual"],
                   args=["--cards", "ancestors", "--unresolved", "fail"]),
        # the full check, run by hand here and kept offline for the test (in use it reads the Hub)
        local_hook("policycheck", stages=["manual"], args=["--offline", "--cards", "ancestors"]),
    ]}]}
    (path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    validated = run([str(PRE_COMMIT), "validate-config", ".pre-commit-config.yaml"], path, env)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    git(path, env, "add", ".")
    git(path, env, "commit", "-q", "-m", "hooks and the base's card")
    installed = run([str(PRE_COMMIT), "install"], path, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return path


def test_manifest_valid_and_mirrored(tmp_path: Path, env: dict[str, str]) -> None:
    """The shipped manifest is valid for pre-commit, its hooks are the documented ones, and the local hooks the
    other tests run are those hooks (only the executable's path and `language` differ)."""
    result = run([str(PRE_COMMIT), "validate-manifest", str(MANIFEST)], tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr

    hooks = manifest()
    assert set(hooks) == {"policycheck-card", "policycheck"}
    card, full = hooks["policycheck-card"], hooks["policycheck"]
    assert card["entry"] == "policycheck lint --offline"
    assert full["entry"] == "policycheck check"
    assert "--offline" not in full["entry"]  # the full check may use the Hub
    for hook in (card, full):
        assert hook["language"] == "python"  # installed from this repository's pyproject (console script)
        assert hook.get("pass_filenames", True) is True
        assert hook["name"] and hook["description"]
    assert full["require_serial"] is True
    assert card.get("verbose") is True  # a passing run's warnings are shown
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'(?m)^policycheck = "policy\.cli\.entry:main"$', pyproject)

    files = re.compile(card["files"])
    for name in ("README.md", "models/acme-7b/README.md", "MODEL_CARD.md", "x/MODEL_CARD.md"):
        assert files.search(name), name
    for name in ("docs/guide.md", "README.md.orig", "NOT_README.md", "README.rst", "readme-notes/x.txt"):
        assert not files.search(name), name

    for hook_id in hooks:
        mirrored = local_hook(hook_id)
        assert shlex.split(mirrored["entry"])[1:] == shlex.split(hooks[hook_id]["entry"])[1:]
        assert Path(shlex.split(mirrored["entry"])[0]) == Path(POLICYCHECK)
        for key in ("id", "name", "files", "types", "require_serial", "verbose", "pass_filenames", "stages"):
            assert mirrored.get(key) == hooks[hook_id].get(key), key


def test_hook_stops_a_bad_card_at_the_license_line(repo: Path, env: dict[str, str], hub: BlackHole) -> None:
    """A card that declares MIT over a Llama 3.1 base cannot be committed; the output points at `license:`.
    Declaring llama3.1 fixes it and the commit goes through."""
    before = head_count(repo, env)
    result, _, out = commit_card(repo, env, BAD_CARD, "add the card")
    assert result.returncode != 0, out
    assert head_count(repo, env) == before  # nothing was committed
    assert re.search(r"policycheck card lint\.+Failed", out), out
    line = line_of(BAD_CARD, "license")
    # `file:line:col: severity[code]: message` at the line of the key to change, with a code frame of that line
    located = [f for f in findings(out) if f["file"] == "README.md" and f["line"] == line and f["severity"] == "error"]
    assert located, out
    assert any("licensed mit" in f["message"] and "meta-llama/Llama-3.1-8B" in f["message"] for f in located), out
    assert all(f["col"] == BAD_CARD.splitlines()[line - 1].index("mit") + 1 for f in located), located
    assert any(f" {line} | license: mit" in frame for f in located for frame in f["frame"]), located
    assert hub.connections == 0

    # the same through `pre-commit run --files`, as a user runs it by hand
    by_hand = run([str(PRE_COMMIT), "run", "policycheck-card", "--files", "README.md"], repo, env)
    assert by_hand.returncode != 0
    assert re.search(rf"(?m)^README\.md:{line}:\d+: error\[", by_hand.stdout), by_hand.stdout
    full = run([str(PRE_COMMIT), "run", "policycheck", "--hook-stage", "manual", "--files", "README.md"], repo, env)
    assert full.returncode != 0, full.stdout + full.stderr
    assert re.search(rf"FAIL\s+{re.escape(REPO_NAME)}\b", full.stdout), full.stdout

    result, _, out = commit_card(repo, env, BAD_CARD.replace("license: mit", "license: llama3.1"),
                                 "add the card, licensed as its base")
    assert result.returncode == 0, out
    assert re.search(r"policycheck card lint\.+Passed", out), out
    assert not re.search(r"(?m)^README\.md:\d+:\d+: error\[", out), out
    assert head_count(repo, env) == before + 1
    full = run([str(PRE_COMMIT), "run", "policycheck", "--hook-stage", "manual", "--files", "README.md"], repo, env)
    assert full.returncode == 0, full.stdout + full.stderr
    assert hub.connections == 0


def test_unresolvable_base_warns_without_a_request(repo: Path, env: dict[str, str], hub: BlackHole) -> None:
    """A base that cannot be resolved offline is a warning: the commit goes through, the output says so, no
    request reaches HF_ENDPOINT (HF_HUB_OFFLINE unset) and the hook takes far less than a network timeout.
    With `args: [--unresolved, fail]` the same card fails."""
    before = head_count(repo, env)
    result, elapsed, out = commit_card(repo, env, UNRESOLVED_CARD, "a card with a private base")
    assert result.returncode == 0, out
    assert head_count(repo, env) == before + 1
    assert re.search(r"policycheck card lint\.+Passed", out), out
    diagnostics = findings(out)
    assert [f["severity"] for f in diagnostics] == ["warning"], out
    assert "acme/not-anywhere" in diagnostics[0]["message"], out
    assert diagnostics[0]["file"] == "README.md"
    assert diagnostics[0]["line"] == line_of(UNRESOLVED_CARD, "base_model"), out
    assert hub.connections == 0, "the offline hook sent a request to HF_ENDPOINT"
    assert hook_duration(out) < HOOK_TIME_LIMIT, out
    assert elapsed < 2 * HOOK_TIME_LIMIT, out

    strict = run([str(PRE_COMMIT), "run", "policycheck-card-strict", "--hook-stage", "manual", "--files",
                  "README.md"], repo, env)
    assert strict.returncode != 0, strict.stdout + strict.stderr
    assert "acme/not-anywhere" in strict.stdout, strict.stdout
    assert hub.connections == 0


HUB_REPO = "acme/Llama-acme-support-8b"
NAMED_CARD = """\
---
license: llama3.1
base_model: meta-llama/Llama-3.1-8B
pipeline_tag: text-generation
---
# Llama-acme-support-8b

A Llama 3.1 8B fine-tune for support tickets.
"""


def test_the_model_is_named_by_the_hub_remote_not_the_folder(tmp_path: Path, env: dict[str, str],
                                                             hub: BlackHole) -> None:
    """A clone in a folder named `modelrepo` whose origin is the model's Hub repo: the correct card passes (the
    name is the remote's, which begins with "Llama"); a card of a Hub repo whose name lacks "Llama" fails, and the
    message says the name is from the remote."""
    repo = make_repo(tmp_path / "modelrepo", env)
    git(repo, env, "remote", "add", "origin", f"https://huggingface.co/{HUB_REPO}")
    before = head_count(repo, env)
    result, _, out = commit_card(repo, env, NAMED_CARD, "the card")
    assert result.returncode == 0, out
    assert re.search(r"policycheck card lint\.+Passed", out), out
    assert "modelrepo" not in out and "name-prefix-missing" not in out, out
    assert head_count(repo, env) == before + 1

    git(repo, env, "remote", "set-url", "origin", "git@hf.co:acme/acme-support-8b")
    result, _, out = commit_card(repo, env, NAMED_CARD.replace("Llama-acme", "acme") + "\nRenamed.\n",
                                 "the card, renamed")
    assert result.returncode != 0, out
    assert head_count(repo, env) == before + 1
    located = [f for f in findings(out) if f["code"] == "name-prefix-missing"]
    assert located and located[0]["severity"] == "error", out
    message = located[0]["message"]
    assert "“acme-support-8b” must begin with “Llama”" in message, message
    assert "from the repo's Hub remote origin, acme/acme-support-8b" in message, message
    assert hub.connections == 0
