"""Score the undeclared-lineage evidence against hand labels: precision and recall on real Hub cards.

    python benchmarks/score_evidence.py [--labels FILE] [--cards DIR] [--verbose]

The labels (`evidence-labels.yaml` beside the corpus cards: for each card, the lineage its prose states and its
front matter does not declare) were written by reading each card before any tool ran on it. For every card this
runs the same function `policycheck check` runs on a subject's card (`policy.evidence.collect.lineage_evidence`:
its prose and any merge configuration in its body, against what the front matter declares) and compares what it
reports with the labels:

- a report matching an `undeclared_lineage` item is a true positive (each item counts once);
- a report matching an `optional_lineage` item is neither right nor wrong;
- any other report is a false positive (a comparison, a sibling, a downstream model, a plan, or a misread);
- an `undeclared_lineage` item that nothing matches is a false negative.

A report matches an item when the model it names (its Hub id, or the name as written) equals the item's model
or one of its aliases, compared without case, organisation prefix or separators (`Llama-3.1-405B` equals
`meta-llama/Llama 3.1 405b`); a vague report ("a Llama model") matches an item whose name contains its family.

This is a measure, not a test: the labels are never read by policycheck, and no rule exists for one card.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labelled_corpus import labelled_cards, load_labels, options  # noqa: E402 (beside this script)

from policy.evidence.collect import lineage_evidence  # noqa: E402
from policy.model.facts import ModelFacts  # noqa: E402
from policy.scan.cards import parse_card  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"


def norm(name: str) -> str:
    """`meta-llama/Llama-3.1-405B` → `llama31405b`: no org, no case, no separators."""
    name = name.strip().rsplit("/", 1)[-1].lower()
    return re.sub(r"[^a-z0-9]", "", name)


def forms(item: dict[str, Any]) -> set[str]:
    out = {norm(str(item.get("model", "")))}
    out.update(norm(str(a)) for a in item.get("aliases") or ())
    return {f for f in out if f}


def matches(report: Any, item: dict[str, Any]) -> bool:
    wanted = forms(item)
    said = {norm(x) for x in (report.refers_to, report.data.get("name"), report.data.get("id")) if x}
    if said & wanted:
        return True
    if report.data.get("vague"):
        family = norm(str(report.data.get("family", "")))
        return bool(family) and any(family in w for w in wanted)
    return False


def evaluate(card_path: Path, subject: str) -> list[Any]:
    text = card_path.read_text(encoding="utf-8", errors="replace")
    card = parse_card(text, str(card_path))
    node = ModelFacts(id=subject, card=card.fields, card_text=card.body, body_line=card.body_line)
    return lineage_evidence(node)


def main(argv: list[str] | None = None) -> int:
    args = options(argv, __doc__, DEFAULT_CORPUS / "evidence-labels.yaml", DEFAULT_CORPUS / "cards",
                   "list every hit, miss and false report")
    labels = load_labels(args)
    tp = fp = fn = optional = 0
    lines: list[str] = []
    for entry, path in labelled_cards(labels, args.cards, lines):
        required = list(entry.get("undeclared_lineage") or ())
        optional_items = list(entry.get("optional_lineage") or ())
        found = [False] * len(required)
        subject = str(entry["id"]).split("__", 1)[0]  # "org/name__GITHUB_README": that model's README
        for report in evaluate(path, subject):
            hit = next((i for i, item in enumerate(required) if matches(report, item)), None)
            name = report.refers_to or report.data.get("name")
            if hit is not None:
                if not found[hit]:
                    tp += 1
                    found[hit] = True
                lines.append(f"TP  {entry['id']}: {name} (line {report.line})")
            elif any(matches(report, item) for item in optional_items):
                optional += 1
                lines.append(f"opt {entry['id']}: {name} (line {report.line})")
            else:
                fp += 1
                lines.append(f"FP  {entry['id']}: {name} (line {report.line}): {report.quote}")
        for item, ok in zip(required, found, strict=True):
            if not ok:
                fn += 1
                lines.append(f"FN  {entry['id']}: {item['model']} ({item.get('relation', '')})")
    if args.verbose:
        print("\n".join(lines))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"cards {len(labels)}; required items {tp + fn}; reports {tp + fp + optional} "
          f"({tp} right, {fp} wrong, {optional} optional)")
    print(f"precision {precision:.2f} ({tp}/{tp + fp}); recall {recall:.2f} ({tp}/{tp + fn})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
