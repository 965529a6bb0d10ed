"""Where output goes (policy/cli/streams.py, issue 17): `--output` replaces a regular file whole through a random,
exclusive temporary file (a link planted at any temporary name is never written through), writes FIFOs, devices
and links in place, and a write error on standard output is exit 2 with its reason, never a traceback."""

from __future__ import annotations

import itertools
import json
import os
import select
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim import make_card

CONSOLE = Path(sys.executable).with_name("policycheck")  # the real console script of this environment
VICTIM_TEXT = "export PATH=/usr/bin  # a shell profile\n"


@pytest.fixture
def card(tmp_path: Path) -> Path:
    path = tmp_path / "acme__m.md"
    path.write_text(make_card({"license": "mit"}, "# m\n"), encoding="utf-8")
    return path


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "profile"
    path.parent.mkdir()
    path.write_text(VICTIM_TEXT, encoding="utf-8")
    return path


def _check(run_cli: Any, card: Path, out: Path, fmt: str = "json") -> Any:
    return run_cli("check", "--offline", card, "-f", fmt, "--output", out)


# -- item 1: no temporary name is followed ------------------------------------------------------------------------
def test_output_never_writes_through_a_link_at_the_old_temporary_name(run_cli: Any, card: Path, victim: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("old report\n", encoding="utf-8")
    os.chmod(out, 0o640)
    (tmp_path / ".report.json.tmp").symlink_to(victim)  # planted where the fixed temporary name used to be
    result = _check(run_cli, card, out)
    assert result.code == 0, result.err
    assert victim.read_text(encoding="utf-8") == VICTIM_TEXT
    assert json.loads(out.read_text(encoding="utf-8"))["subject"]["id"] == "acme/m"
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # the mode of the file it replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.json.tmp", "acme__m.md", "outside", "report.json"]


@pytest.fixture
def guessed(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The temporary file's random name, known in advance: a link planted there must make tempfile take another
    name (O_EXCL), never open the link."""
    random_names = tempfile._get_candidate_names
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: itertools.chain(["guessed1"], random_names()))
    yield "guessed1"


def test_output_never_writes_through_a_link_at_its_random_temporary_name(run_cli: Any, card: Path, victim: Path,
                                                                         tmp_path: Path, guessed: str) -> None:
    out = tmp_path / "report.json"
    planted = [tmp_path / f".report.json.{guessed}.tmp", tmp_path / f"{guessed}"]
    for link in planted:
        link.symlink_to(victim)
    result = _check(run_cli, card, out)
    assert result.code == 0, result.err
    assert victim.read_text(encoding="utf-8") == VICTIM_TEXT
    assert json.loads(out.read_text(encoding="utf-8"))["verdict"] == "pass"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and p not in planted]


def test_a_new_output_file_gets_the_mode_open_would_give_it(run_cli: Any, card: Path, tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        result = _check(run_cli, card, tmp_path / "new.json")
    finally:
        os.umask(old)
    assert result.code == 0, result.err
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o640  # not mkstemp's 0600


def test_a_failed_render_leaves_the_old_output_and_no_temporary(run_cli: Any, card: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    out.write_text("the good report\n", encoding="utf-8")
    user = tmp_path / "templates"
    (user / "report").mkdir(parents=True)
    (user / "report" / "report.md.j2").write_text("{{ broken(", encoding="utf-8")
    result = run_cli("check", "--offline", card, "-f", "markdown", "--templates", user, "--output", out)
    assert result.code != 0  # how a template error is reported is the templates' business; here: what is left
    assert out.read_text(encoding="utf-8") == "the good report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme__m.md", "report.md", "templates"]


# -- item 2: what is not a regular file is written in place ------------------------------------------------------
def test_output_to_a_fifo_writes_into_it(run_cli: Any, card: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there before policycheck opens it
    received = bytearray()
    done = threading.Event()

    def read() -> None:  # the reader, while policycheck writes
        while True:
            ready, _, _ = select.select([fd], [], [], 0.05)
            chunk = os.read(fd, 65536) if ready else b""
            received.extend(chunk)
            if not chunk:
                if done.is_set():
                    return
                time.sleep(0.01)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        result = _check(run_cli, card, fifo)
    finally:
        done.set()
        reader.join(5)
        os.close(fd)
    assert result.code == 0, result.err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the FIFO, not a file put in its place
    assert json.loads(received.decode("utf-8"))["subject"]["id"] == "acme/m"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme__m.md", "report.fifo"]


@pytest.fixture
def char_device(tmp_path: Path) -> Path:
    """A real character device. As root, a null device of our own (a regression could replace a system device
    node as root); otherwise /dev/null, which a regression cannot replace."""
    if os.geteuid() != 0:
        return Path(os.devnull)
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except OSError as exc:
        pytest.skip(f"cannot create a device node here ({exc.strerror})")
    return node


def test_output_to_a_character_device_keeps_the_device(run_cli: Any, card: Path, char_device: Path) -> None:
    before = os.lstat(char_device)
    result = _check(run_cli, card, char_device)
    assert result.code == 0, result.err
    after = os.lstat(char_device)
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not [p for p in char_device.parent.iterdir() if p.name.startswith(f".{char_device.name}.")]


def test_output_to_a_link_to_standard_output_writes_standard_output(card: Path, tmp_path: Path) -> None:
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")  # what /dev/stdout is
    done = subprocess.run([str(CONSOLE), "check", "--offline", str(card), "-f", "json", "-o", str(link)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["subject"]["id"] == "acme/m"
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"


def test_output_to_a_folder_or_through_a_dangling_link_is_a_clear_error(run_cli: Any, card: Path,
                                                                         tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "outside" / "new-file")
    for target, reason in ((folder, "Is a directory"), (dangling, "No such file or directory")):
        result = _check(run_cli, card, target)
        assert result.code == 2 and f"--output {target}: cannot write ({reason})" in result.err, result.err
        assert "Traceback" not in result.err
    assert not (tmp_path / "outside").exists() and not list(folder.iterdir())


# -- item 14: a write error on standard output -------------------------------------------------------------------
@pytest.mark.parametrize("command", [("check", "--offline"), ("lint",), ("rules", "list"), ("version",), ("--help",)])
def test_a_full_standard_output_is_exit_2_with_the_reason(card: Path, command: tuple[str, ...]) -> None:
    args = [*command, str(card)] if command[0] in ("check", "lint") else list(command)
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(CONSOLE), *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2, done.stderr
    assert done.stderr == "policycheck: cannot write standard output (No space left on device)\n"


def test_a_reader_that_went_away_is_still_exit_141(card: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write is EPIPE
    try:
        done = subprocess.run([str(CONSOLE), "check", "--offline", str(card)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=60, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")


def test_a_closed_standard_output_is_exit_2_with_the_reason(card: Path) -> None:
    done = subprocess.run([str(CONSOLE), "check", "--offline", str(card)], stdin=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=60, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                          preexec_fn=lambda: os.close(1))  # started as `policycheck ... >&-`
    assert (done.returncode, done.stderr) == (2, "policycheck: cannot write standard output (it is closed)\n")


# -- item 11: what standard output carries is UTF-8 -----------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "sarif", "text"])
def test_standard_output_is_utf8_whatever_a_file_name_holds(tmp_path: Path, fmt: str) -> None:
    card = tmp_path / "acme__s\udcff.md"  # the byte 0xff in the name: a lone surrogate in the report
    card.write_text(make_card({"license": "mit"}, "# m\n"), encoding="utf-8")
    done = subprocess.run([str(CONSOLE), "check", "--offline", str(card), "-f", fmt], capture_output=True,
                          timeout=60, env={**os.environ, "HF_HUB_OFFLINE": "1", "LC_ALL": "C.UTF-8"})
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("utf-8")  # strict: not the raw byte the C locale's surrogateescape would write
    assert ("acme/s\\udcff" if fmt == "text" else "acme/s\ufffd") in text
