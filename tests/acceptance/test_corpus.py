"""Every fixture card (real Hub cards with their traps) is evaluated; missing data never passes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from policy.engine.evaluation import evaluate
from policy.model.policyfile import Policy
from policy.scan.lineage import build_lineage
from policy.scan.local import LocalSource, read_target
from tests.conftest import CARDS

PATHS = sorted(CARDS.glob("*__*.md"))


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_card_is_evaluated_and_never_passes_on_missing_data(bundle: Any, path: Any) -> None:
    subject = read_target(str(path))
    lineage = build_lineage(subject, LocalSource([CARDS]), bundle.catalog, (bundle.curations,))
    report = evaluate(lineage, bundle.packs, bundle.catalog, Policy(), dt.date(2026, 11, 24))
    resolved = bundle.catalog.resolve(subject.license)
    if not resolved.known or any(not e.resolved for e in report.lineage):
        assert report.verdict in ("review", "fail"), report.findings
    if report.verdict == "pass":
        assert all(f.status == "waived" or f.kind == "note" or (f.kind == "violation" and f.severity != "error")
                   for f in report.findings)  # a note (no patent grant) is information, not a missing fact
    assert report.to_dict()["disclaimer"].count("not legal advice") == 1


def test_expected_verdicts_for_known_cards(bundle: Any) -> None:
    expected = {
        "princeton-nlp__gemma-2-9b-it-SimPO": "review",  # base google/gemma-2-9b-it is not available offline
        "Ultralytics__YOLOv8": "pass",
        "timdettmers__guanaco-65b": "review",  # no front matter, so no license
        "anthracite-org__magnum-v1-72b": "review",  # Qwen2-72B-Instruct base not available offline
        "unsloth__DeepSeek-R1-Distill-Llama-8B-GGUF": "fail",  # name lacks the Llama prefix
        "unsloth__DeepSeek-R1-GGUF": "pass",
    }
    for stem, verdict in expected.items():
        subject = read_target(str(CARDS / f"{stem}.md"))
        lineage = build_lineage(subject, LocalSource([CARDS]), bundle.catalog, (bundle.curations,))
        report = evaluate(lineage, bundle.packs, bundle.catalog, Policy(), dt.date(2026, 11, 24))
        assert report.verdict == verdict, (stem, [(f.rule, f.message) for f in report.open_findings])
