"""Reference data read one way (policy/refdata.py): benchmarks, model names, fingerprints and the AI Act data are
validated against their schemas, a bad file is exit 2 with `file:line:col` (it was an internal error, exit 4), and
each file is read once per process and parsed once across processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy import refdata
from policy.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "cards"
CARD = EXAMPLES / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"
CHECK = ("check", CARD, "--offline", "--cards", EXAMPLES, "--today", "2026-12-01")
AIACT = ("aiact", CARD, "--offline", "--cards", EXAMPLES, "--today", "2026-12-01")


def test_data_parsed_elsewhere_is_checked_the_same_way() -> None:
    with pytest.raises(ConfigError) as info:
        refdata.check("model_names", {"schema_version": 1, "models": [{"family": "x", "names": []}]})
    messages = [d.message for d in info.value.diagnostics]
    assert any("models/0" in m for m in messages), messages
    assert all(d.line == 0 for d in info.value.diagnostics)  # no positions to give: none invented


def test_the_shipped_files_are_valid() -> None:
    for kind in refdata.KINDS.values():
        assert (ROOT / "rules" / "schema" / f"{kind.schema}.json").is_file()
        assert isinstance(refdata.load(kind.name), dict)
