"""Checking targets end to end: load rules and policy, scan each target, walk lineage, evaluate.

One bad target never aborts a batch: it becomes a `TargetError` and the others are evaluated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from policy.diagnostics import format_diagnostic
from policy.engine import evaluate
from policy.errors import InputError, PolicyError
from policy.facts import ModelFacts
from policy.lineage import build_lineage
from policy.loader import Bundle, load_bundle, load_policy
from policy.policyfile import Policy, find_policy
from policy.report import Report, TargetError
from policy.scan.local import LocalSource, looks_like_repo_id, read_target

OFFLINE_DETAIL = "not available offline (no local card in --cards and no curation)"


@dataclass
class CheckOptions:
    policy_file: Path | None = None
    rules: Sequence[Path] = ()
    cards: Sequence[Path] = ()
    fail_on: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    use_cache: bool = True


@dataclass
class Checker:
    """Holds what a batch shares (rules, policies, sources) and checks targets one by one."""

    options: CheckOptions
    bundle: Bundle = field(init=False)
    _policies: dict[str | None, Policy] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.bundle = load_bundle(self.options.rules, use_cache=self.options.use_cache)
        self.source = LocalSource(self.options.cards, OFFLINE_DETAIL)

    def policy_for(self, target: str) -> Policy:
        path = self.options.policy_file
        if path is None:
            start = Path(target) if Path(target).exists() else Path.cwd()
            path = find_policy(start.resolve())
        key = str(path) if path else None
        if key not in self._policies:
            policy = load_policy(path, self.bundle.catalog, self.bundle.packs) if path else Policy()
            if self.options.fail_on:
                policy = Policy(**{**policy.__dict__, "fail_on": self.options.fail_on})
            self._policies[key] = policy
        return self._policies[key]

    def subject(self, target: str) -> ModelFacts:
        if Path(target).exists():
            return read_target(target)
        if not looks_like_repo_id(target):
            raise InputError(f"{target}: not a file, a folder or a valid Hub repo id (org/name)")
        return self.source.fetch_one(target, "model")  # curations fill in what is not at hand

    def check(self, target: str) -> Report | TargetError:
        try:
            policy = self.policy_for(target)
            subject = self.subject(target)
            lineage = build_lineage(subject, self.source, self.bundle.catalog,
                                    (self.bundle.curations, policy.models), policy.max_depth)
            return evaluate(lineage, self.bundle.packs, self.bundle.catalog, policy, self.options.today)
        except InputError as exc:
            return TargetError(target, exc.message, tuple(d.to_dict() for d in exc.diagnostics),
                               tuple(format_diagnostic(d) for d in exc.diagnostics))
        except PolicyError:
            raise  # configuration errors stop the run: every target would be judged by a broken policy


def check_targets(targets: Sequence[str], options: CheckOptions) -> list[Report | TargetError]:
    checker = Checker(options)
    return [checker.check(t) for t in targets]
