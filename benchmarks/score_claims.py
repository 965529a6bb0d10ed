"""Score the evaluation-claims reader against hand labels: of the numbers real cards state about their own model,
how many are read, how many of those resolve to a known benchmark, and what is read that is not the model's.

    python benchmarks/score_claims.py [--labels FILE] [--cards DIR] [--verbose]

The labels (`tests/fixtures/corpus/claims-labels.yaml`: for each corpus card with results, every number it states
about the model it describes, with the benchmark as written and the card line) were written by reading each card,
not from any tool's output. For every card this runs what `policycheck claims` and `check` run on a subject's card
(`policy.evidence.collect.claims_view`: its model-index and its result tables) and compares:

- a labelled number is *read* when a claim has its value and its line (a model-index claim, which carries no line
  here, by its value and benchmark);
- a read number is *resolved* when its claim names a known benchmark (`rules/evidence/benchmarks.yaml`);
- the same share is also given without aggregates (a label `policy.evidence.claims.is_aggregate` calls one:
  "Average", "Avg.", "Overall"), which name no benchmark by design;
- a claim that matches no labelled number is *unlabelled*: a number of another model, a setting or a count read
  as a score (a misread), or a number the labels missed. `--verbose` lists them for a person to tell which; the
  labels' `ambiguous` items (a table of several variants) are neither.

Targets (issue 19): 90% read, 0 misread, 80% of the read resolved. This is a measure, not a test: the labels are
never read by policycheck, and no rule exists for one card.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labelled_corpus import labelled_cards, load_labels, options  # noqa: E402 (beside this script)

from policy.evidence.claims import is_aggregate  # noqa: E402
from policy.evidence.collect import claims_view  # noqa: E402
from policy.model.facts import ModelFacts  # noqa: E402
from policy.scan.cards import parse_card  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus"


def pct(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def same_value(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def claims_of(card_path: Path, subject: str) -> list[Any]:
    text = card_path.read_text(encoding="utf-8", errors="replace")
    card = parse_card(text, str(card_path))
    node = ModelFacts(id=subject, card=card.fields, card_text=card.body, body_line=card.body_line)
    return list(claims_view(node).claims)


def found(label: dict[str, Any], claim: Any) -> bool:
    if not same_value(float(label["value"]), claim.value):
        return False
    if claim.line:
        return int(label.get("line") or 0) == claim.line
    return label.get("where") == "model-index"


def main(argv: list[str] | None = None) -> int:
    args = options(argv, __doc__, CORPUS / "claims-labels.yaml", CORPUS / "cards",
                   "list every miss and every unlabelled claim")
    labels = load_labels(args)
    wanted = read = resolved = unlabelled = aggregates = 0
    by_place: dict[str, list[int]] = {}
    lines: list[str] = []
    for entry, path in labelled_cards(labels, args.cards, lines):
        claims = claims_of(path, str(entry["id"]))
        items = list(entry.get("claims") or ())
        ambiguous = list(entry.get("ambiguous") or ())
        used = [False] * len(claims)
        for item in items:
            wanted += 1
            place = by_place.setdefault(str(item.get("where", "?")), [0, 0])
            place[0] += 1
            hit = next((k for k, c in enumerate(claims) if not used[k] and found(item, c)), None)
            if hit is None:
                lines.append(f"miss {entry['id']}: {item['benchmark']} = {item['value']} (line {item.get('line')}, "
                             f"{item.get('where')})")
                continue
            used[hit] = True
            read += 1
            place[1] += 1
            if claims[hit].benchmark is not None:
                resolved += 1
            elif is_aggregate(claims[hit].name):
                aggregates += 1
                lines.append(f"aggregate {entry['id']}: {claims[hit].name!r} (line {claims[hit].line})")
            else:
                lines.append(f"unresolved {entry['id']}: {claims[hit].name!r} (line {claims[hit].line})")
        for k, c in enumerate(claims):
            if used[k] or any(found(a, c) for a in ambiguous):
                continue
            unlabelled += 1
            lines.append(f"UNLABELLED {entry['id']}: {c.name!r} = {c.value} (line {c.line}, {c.origin}, "
                         f"{c.column or 'model-index'})")
    if args.verbose:
        print("\n".join(lines))
    print(f"cards {len(labels)}; numbers labelled {wanted}; read {read} ({pct(read, wanted)}); resolved to a "
          f"benchmark {resolved} of the read ({pct(resolved, read)}); unlabelled claims {unlabelled}")
    print(f"resolved without aggregates {resolved} of {read - aggregates} ({pct(resolved, read - aggregates)}; "
          f"{aggregates} read labels are averages or totals, which name no benchmark)")
    print("read by place: " + ", ".join(f"{p} {r}/{n}" for p, (n, r) in sorted(by_place.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
