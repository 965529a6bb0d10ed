"""The config.json beside a local card, read as hostile input: it may only say what kind of model the repo holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policy.scan.local import MAX_CONFIG_BYTES, read_card_file, read_config

CARD = "---\nlicense: apache-2.0\n---\n# m\n"


def folder_with(tmp_path: Path, config: str | bytes | None) -> Path:
    folder = tmp_path / "acme" / "m"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    if isinstance(config, str):
        (folder / "config.json").write_text(config, encoding="utf-8")
    elif isinstance(config, bytes):
        (folder / "config.json").write_bytes(config)
    return folder


def test_only_a_short_list_of_class_names_is_kept(tmp_path: Path) -> None:
    junk = ["LlamaForCausalLM", 7, None, {"x": 1}, "x" * 500, "rm -rf /", "Evil\nName",
            *[f"Head{i}" for i in range(50)]]
    folder = folder_with(tmp_path, json.dumps({"architectures": junk, "model_type": "llama", "other": "x" * 10_000}))
    kept = {"architectures": ["LlamaForCausalLM", "Head0"]}  # of the first eight entries, the class names only
    assert read_config(folder) == (kept, None)
    facts = read_card_file(folder / "README.md")
    assert facts.config == kept and facts.notes == ()


def test_a_flat_card_file_has_no_folder_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}), encoding="utf-8")
    (tmp_path / "acme__m.md").write_text(CARD, encoding="utf-8")
    assert read_card_file(tmp_path / "acme__m.md").config == {}  # a folder of cards shares nothing


@pytest.mark.parametrize(("content", "why"), [
    (b"\xff\xfe{not json", "is not JSON"),
    ("[" * 200_000 + "]" * 200_000, "is not JSON"),  # nested beyond the parser
    ('{"architectures": ["A"], "n": ' + "9" * 5000 + "}", "is not JSON"),  # a number longer than Python reads
    (b" " * (MAX_CONFIG_BYTES + 1), "is larger than 2 MiB"),
])
def test_a_config_json_that_cannot_be_read_says_nothing_and_a_note_says_why(tmp_path: Path, content: str | bytes,
                                                                              why: str) -> None:
    folder = folder_with(tmp_path, content)
    facts = read_card_file(folder / "README.md")
    assert facts.config == {}
    (note,) = facts.notes
    assert note.code == "config-not-read" and why in note.message


def test_a_fifo_a_device_and_a_folder_are_never_read(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, None)
    path = folder / "config.json"
    for make in (os.mkfifo,  # opening it for reading must not wait for a writer
                 lambda p: p.symlink_to("/dev/zero"),  # endless
                 lambda p: p.mkdir()):
        make(path)
        config, note = read_config(folder)
        assert config == {} and note is not None and "is not a regular file" in note.message
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()


def test_a_link_into_a_hub_cache_blob_is_followed(tmp_path: Path) -> None:
    """A model folder taken from the Hub cache (snapshots/<sha>/config.json -> ../../blobs/<hash>) is read."""
    folder = folder_with(tmp_path, None)
    blob = tmp_path / "blobs" / "0123"
    blob.parent.mkdir()
    blob.write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}), encoding="utf-8")
    (folder / "config.json").symlink_to(blob)
    assert read_config(folder) == ({"architectures": ["Qwen2ForCausalLM"]}, None)


def test_a_fifo_beside_the_subject_card_is_a_verdict_not_a_hang(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, None)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\nteacher_model: meta-llama/Llama-2-70b-chat-hf\n"
                                      "---\n# m\n", encoding="utf-8")
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "meta-llama__Llama-2-70b-chat-hf.md").write_text("---\nlicense: llama2\n---\n", encoding="utf-8")
    os.mkfifo(folder / "config.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    proc = subprocess.run([sys.executable, "-m", "policy.cli", "check", str(folder / "README.md"), "--offline",
                           "--cards", str(cards), "--format", "json"], env={**env, "HF_HOME": str(tmp_path / "hf")},
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr  # review: nothing says what the student is
    report = json.loads(proc.stdout)
    assert any(f["rule"] == "teacher-scope-unknown" for f in report["findings"])
