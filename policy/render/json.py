"""`--format json`: exactly the `policycheck/report/v1` contract; several targets give a JSON array."""

from __future__ import annotations

import json
from collections.abc import Sequence

from policy.report import Report, TargetError


def render_json(results: Sequence[Report | TargetError]) -> str:
    docs = [r.to_dict() for r in results]
    payload = docs[0] if len(docs) == 1 else docs
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
