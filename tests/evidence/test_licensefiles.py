"""A repo's LICENSE file against the card's license (policy/evidence/licensefiles.py; issue 19 item 7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from policy.evidence.licensefiles import (
    DIFFERS,
    NAMES,
    default_texts,
    identify,
    license_file_evidence,
    pack,
    sample,
    unpack,
)
from policy.scan.local import read_license_file

LICENSES = Path(__file__).parents[1] / "fixtures" / "licenses"
LLAMA = (LICENSES / "llama3.1-LICENSE").read_text(encoding="utf-8")
MIT = (LICENSES / "mit-LICENSE").read_text(encoding="utf-8")
NAMES_ = {"llama3.1": "Llama 3.1 Community License Agreement", "mit": "MIT License"}


def ids(text: str) -> list[str]:
    return [t.id for t, _ in identify(text, default_texts())]


def test_a_license_text_is_itself_whatever_its_layout() -> None:
    assert ids(LLAMA) == ["llama3.1"]
    paragraphs = " ".join(LLAMA.split()).split(". ")
    as_markdown = "# LLAMA 3.1 COMMUNITY LICENSE\n\n" + "\n\n".join(f"**{p}**" for p in paragraphs)
    assert ids(as_markdown) == ["llama3.1"]
    assert ids(MIT.replace("<year>", "2024").replace("<copyright holders>", "Acme Corp")) == ["mit"]


def test_near_twins_are_told_apart_by_what_sets_each_apart() -> None:
    # the Llama 3.2 agreement is the 3.1 text with its names and dates changed: it is not 3.1
    llama32 = LLAMA.replace("3.1", "3.2").replace("July 23, 2024", "September 25, 2024")
    assert ids(llama32) in (["llama3.2"], ["llama3.2", "llama3.3"], ["llama3.2", "llama4"])
    assert "llama3.1" not in ids(llama32)


def test_what_is_no_license_or_too_little_of_one_is_nothing() -> None:
    assert ids("") == [] and ids("All rights reserved.") == []
    assert ids(" ".join(LLAMA.split()[:300])) == []  # a fifth of the agreement says nothing sure
    assert ids("word " * 100_000) == []  # bounded: a hostile file is cut at MAX_WORDS


def test_the_samples_round_trip() -> None:
    h = sample(LLAMA)
    assert unpack(pack(h)) == h and len(h) > 100


def test_the_file_against_the_card() -> None:
    texts = default_texts()
    (e,) = license_file_evidence("acme/m", "LICENSE", LLAMA, ["mit"], "mit", NAMES_, texts)
    assert e.code == DIFFERS and e.confidence == "high" and e.subject == "acme/m"
    assert e.message.startswith("acme/m's LICENSE is the Llama 3.1 Community License Agreement (similarity 1.00)")
    assert e.message.endswith("its card says mit") and e.data["license"] == "llama3.1"
    assert e.data["reference"] == "meta-llama/llama-models@a9c89c4:models/llama3_1/LICENSE"
    assert license_file_evidence("acme/m", "LICENSE", LLAMA, ["llama3.1"], "llama3.1", NAMES_, texts) == []
    assert license_file_evidence("acme/m", "LICENSE", LLAMA, ["mit", "llama3.1"], "mit OR llama3.1", NAMES_,
                                 texts) == []  # one of the alternatives
    (named,) = license_file_evidence("acme/m", "LICENSE", LLAMA, [], "other", NAMES_, texts)
    assert named.code == NAMES and "names nothing the catalog knows" in named.message
    assert license_file_evidence("acme/m", "LICENSE", "Proprietary. Ask us.", ["mit"], "mit", NAMES_, texts) == []


def test_a_local_license_file_is_read_bounded_and_never_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "LICENSE").write_text(MIT, encoding="utf-8")
    assert read_license_file(tmp_path) == ("LICENSE", MIT)
    link = tmp_path / "linked"
    link.mkdir()
    (link / "LICENSE").symlink_to(tmp_path / "LICENSE")
    assert read_license_file(link) is None
    big = tmp_path / "big"
    big.mkdir()
    (big / "LICENSE").write_bytes(b"x" * (512 * 1024 + 1))
    assert read_license_file(big) is None


def test_a_model_folder_whose_license_file_is_llama_while_its_card_says_mit(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("---\nlicense: mit\n---\n# A model\n", encoding="utf-8")
    (tmp_path / "LICENSE").write_text(LLAMA, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "policy.cli", "check", str(tmp_path), "--offline"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    flat = " ".join(proc.stdout.split())
    assert "license-file-contradicts-card" in flat
    assert "LICENSE is the Llama 3.1 Community License Agreement (similarity 1.00); its card says mit" in flat


@pytest.mark.parametrize("name", ["LICENSE.md", "LICENSE.txt", "LICENCE"])
def test_the_usual_names(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(MIT, encoding="utf-8")
    assert read_license_file(tmp_path) == (name, MIT)
