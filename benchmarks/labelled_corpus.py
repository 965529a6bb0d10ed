"""What the two scorers (`score_evidence.py`, `score_claims.py`) share: their options (a labels file and a folder of
cards, with defaults) and the walk over the labelled cards, skipping a label whose card is missing."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


def options(argv: list[str] | None, doc: str, labels: Path, cards: Path, verbose_help: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, default=labels)
    ap.add_argument("--cards", type=Path, default=cards)
    ap.add_argument("--verbose", "-v", action="store_true", help=verbose_help)
    return ap.parse_args(argv)


def load_labels(args: argparse.Namespace) -> list[dict[str, Any]]:
    return list(yaml.safe_load(args.labels.read_text(encoding="utf-8")))


def labelled_cards(labels: list[dict[str, Any]], cards: Path,
                   skipped: list[str]) -> Iterator[tuple[dict[str, Any], Path]]:
    """(label entry, card path) for every label whose card is in `cards`; a missing card is noted in `skipped`."""
    for entry in labels:
        path = cards / entry["file"]
        if path.is_file():
            yield entry, path
        else:
            skipped.append(f"skip {entry['file']}: no such card")
