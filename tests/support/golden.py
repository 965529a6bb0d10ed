"""Golden files shared by the renderer tests: the corpus cards they render, and the comparison itself.

A golden file pins a renderer's whole output on real corpus cards. Pack and catalog digests change with every
rule-data edit, so they are normalised away; everything else must match. `POLICYCHECK_UPDATE_GOLDEN=1`
regenerates the files (review the diff before committing them).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CARDS = "tests/fixtures/cards"  # relative to ROOT: the documents show paths as given
TODAY = "2026-12-01"
R1_LLAMA = f"{CARDS}/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"
QWEN = f"{CARDS}/Qwen__Qwen2.5-7B-Instruct.md"
WAIVER_POLICY = """\
schema: policycheck/policy/v1
waivers:
  - rule: name-prefix-missing
    model: deepseek-ai/DeepSeek-R1-Distill-Llama-8B
    ancestor: meta-llama/Llama-3.1-8B
    reason: license-acquired
    justification: Meta granted a naming exception in writing, LEGAL-42.
    approved_by: legal@acme.example
    expires: 2026-12-31
"""


def normalise(text: str, bundle: Any) -> str:
    """The output with the loaded packs' and catalog's digests replaced by `<sha256>`."""
    for digest in {p.to_dict()["sha256"] for p in bundle.packs} | {bundle.catalog_digest}:
        if digest:
            text = text.replace(digest, "<sha256>")
    return text


def check_golden(path: Path, actual: str) -> None:
    """Fail with a unified diff when `actual` differs from the golden file at `path`."""
    if os.environ.get("POLICYCHECK_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing: run with POLICYCHECK_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    if expected != actual:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"golden/{path.name}", "actual"))
        pytest.fail(f"{path.name} differs from the golden file (POLICYCHECK_UPDATE_GOLDEN=1 regenerates it):\n"
                    f"{diff}", pytrace=False)
