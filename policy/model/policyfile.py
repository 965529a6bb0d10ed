"""The user's policy file (`policycheck.yaml`): intended use, allow/deny lists, private model facts, waivers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from policy.model.overlays import ModelOverlay, merge_overlays, overlay_from_dict
from policy.records import record

POLICY_FILENAMES = ("policycheck.yaml", ".policycheck.yaml")
DEFAULT_USE: Mapping[str, bool] = {"commercial": True, "distributed": True, "hosted": True, "competing": True}
# "EU" itself and the member states (ISO 3166-1 alpha-2; Greece is "GR", the EU's own code for it is "EL").
EU_REGIONS = frozenset({
    "EU", "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "EL", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"})
WAIVER_REASONS = ("legal-approved", "license-acquired", "not-distributed", "false-positive", "fix-scheduled")


@record(slots=True)
class Waiver:
    """An accepted finding: rule, model, reason, who approved it and until when."""
    rule: str
    model: str
    reason: str
    justification: str
    approved_by: str
    expires: dt.date
    ancestor: str | None = None
    ticket: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "model": self.model, "ancestor": self.ancestor, "reason": self.reason,
                "justification": self.justification, "approved_by": self.approved_by, "ticket": self.ticket,
                "expires": self.expires.isoformat()}


@record
class Policy:
    """An organisation's policy file: intended use, allow/deny lists, waivers."""
    use: Mapping[str, bool] = field(default_factory=lambda: dict(DEFAULT_USE))
    use_declared: bool = False
    allow: frozenset[str] | None = None  # catalog ids; None = no allow-list
    deny: frozenset[str] = frozenset()
    models: Mapping[str, ModelOverlay] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    fail_on: str | None = None
    max_depth: int = 16
    file: str | None = None
    region: str | None = None  # the licensee's domicile: ISO 3166-1 alpha-2 code or "EU"; None = not declared
    # The licensee's (with its affiliates') monthly active users and annual revenue in USD, which some licenses
    # test (Llama §2 once, on the version's release date; Tongyi Qianwen §4 while used commercially; a revenue
    # limit); None = not declared, which those tests answer with review.
    monthly_active_users: int | None = None
    annual_revenue_usd: int | None = None
    # What the user requires beyond the licenses, each with the severity of a finding when it is not met:
    # independent_evaluation (a self-reported claim with no independent value), lineage_disclosure (a card
    # that does not state its teachers, possibly as [], and its datasets).
    requirements: Mapping[str, str] = field(default_factory=dict)

    @property
    def in_eu(self) -> bool | None:
        """Whether the licensee is domiciled in the European Union (None when the policy does not say)."""
        if self.region is None:
            return None
        return self.region.upper() in EU_REGIONS


def find_policy(start: Path) -> Path | None:
    """The nearest policy file in `start` or one of its parents."""
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        for name in POLICY_FILENAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def policy_from_dict(data: Mapping[str, Any], file: str | None, license_lookup: Any,
                     waiver_lines: Mapping[int, int] | None = None) -> Policy:
    use = dict(DEFAULT_USE)
    use.update(data.get("use") or {})
    lic = data.get("licenses") or {}
    allow = frozenset(license_lookup(x) or x for x in lic["allow"]) if "allow" in lic else None
    deny = frozenset(license_lookup(x) or x for x in lic.get("deny", ()))
    overlays = merge_overlays(overlay_from_dict(m, "policy", file or "") for m in data.get("models", ()))
    waivers = []
    for i, w in enumerate(data.get("waivers", ())):
        expires = w["expires"]
        if not isinstance(expires, dt.date):
            expires = dt.date.fromisoformat(str(expires))
        waivers.append(Waiver(rule=str(w["rule"]), model=str(w["model"]), reason=str(w["reason"]),
                              justification=str(w["justification"]), approved_by=str(w["approved_by"]),
                              expires=expires, ancestor=w.get("ancestor"), ticket=str(w.get("ticket", "")),
                              line=(waiver_lines or {}).get(i, 0)))
    licensee = data.get("licensee") or {}
    region = licensee.get("region")
    return Policy(use=use, use_declared="use" in data, region=str(region).upper() if region else None,
                  monthly_active_users=_count(licensee.get("monthly_active_users")),
                  annual_revenue_usd=_count(licensee.get("annual_revenue_usd")),
                  allow=allow, deny=deny, models=overlays,
                  waivers=tuple(waivers), fail_on=data.get("fail_on"), max_depth=int(data.get("max_depth", 16)),
                  file=file, requirements={str(k): str(v) for k, v in (data.get("requirements") or {}).items()
                                           if v not in (False, None)})


def _count(value: Any) -> int | None:
    """A licensee figure as the schema admits it (a whole number, 7.0e8 included), or None when not given."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
