"""Evidence: a fact a card does not declare, with its method, confidence and source (DESIGN §7, kind
`evidence`: review unless the policy makes it a requirement). The evidence layer (`policy/evidence/`) finds
them; the engine judges them and the Report lists them, so the type lives here, below both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from policy.records import record

CONFIDENCE = ("high", "medium", "low")


@record
class Evidence:
    """Something a card does not declare, found by a method, with its confidence."""
    code: str  # what was found, e.g. claim-verified-without-token, prose-undeclared-teacher
    message: str  # one sentence for a person (renderers escape it)
    method: str  # how: model-index | card-table | card-text | eval-results | independent-evals | prose
    confidence: str  # high | medium | low
    source: str  # where the fact comes from: "card line 12", "--evals leaderboard.csv row 4 (source)"
    subject: str = ""  # the model the evidence is about
    line: int = 0  # 1-based line in the card, when known
    quote: str = ""  # at most 25 words of the card
    refers_to: str | None = None  # a model the evidence names (a teacher or base resolved from prose)
    data: Mapping[str, Any] = field(default_factory=dict)  # structured facts (benchmark, values, scales...)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "method": self.method,
                "confidence": self.confidence, "source": self.source, "subject": self.subject,
                "line": self.line, "quote": self.quote, "refers_to": self.refers_to, "data": dict(self.data)}
