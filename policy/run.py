"""Checking targets end to end: load rules and policy, scan each target, walk lineage, evaluate.

Facts come from local cards first (a card file or folder given as target, `--cards DIR`), then from the Hub
(through huggingface_hub; only imported when something has to be fetched), then curations and the policy
file fill in what is still missing. One bad target never aborts a batch: it becomes a `TargetError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from policy.diagnostics import format_diagnostic
from policy.engine import evaluate
from policy.errors import InputError, PolicyError
from policy.facts import INVALID, MISSING, UNAVAILABLE, ModelFacts
from policy.licenses import Catalog
from policy.lineage import build_lineage
from policy.loader import Bundle, load_bundle, load_policy
from policy.policyfile import Policy, find_policy
from policy.report import Report, TargetError
from policy.scan.ids import repo_id_problem
from policy.scan.local import LocalSource, read_target

if TYPE_CHECKING:
    from policy.scan.hub import HubSource

Key = tuple[str, str]


@dataclass
class CheckOptions:
    policy_file: Path | None = None
    rules: Sequence[Path] = ()
    cards: Sequence[Path] = ()
    fail_on: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    use_cache: bool = True
    offline: bool = False
    revision: str | None = None  # pins the subject(s) given as Hub ids


class Sources:
    """Local cards first, then the Hub; the Hub client is created on first need."""

    def __init__(self, cards: Sequence[Path], offline: bool, catalog: Catalog) -> None:
        self.local = LocalSource(cards)
        self.offline = offline
        self.catalog = catalog
        self._hub: HubSource | None = None

    @property
    def hub(self) -> HubSource:
        if self._hub is None:
            from policy.scan.hub import HubOptions, HubSource

            self._hub = HubSource(HubOptions.from_env(offline=self.offline), self.catalog.api_terms,
                                  self.catalog.needs_text)
        return self._hub

    def fetch_many(self, keys: Sequence[Key]) -> Mapping[Key, ModelFacts]:
        found = {k: self.local.fetch_one(*k) for k in keys} if self.local.card_dirs else {}
        rest = [k for k in keys if k not in found or found[k].status == UNAVAILABLE]
        if rest:
            found.update(self.hub.fetch_many(rest))
        return found

    def subject(self, repo_id: str, revision: str | None) -> ModelFacts:
        if revision is None and self.local.card_dirs:
            local = self.local.fetch_one(repo_id, "model")
            if local.status != UNAVAILABLE:
                return local
        return self.hub.fetch_one(repo_id, "model", revision)

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()


@dataclass
class Checker:
    """Holds what a batch shares (rules, policies, sources) and checks targets one by one."""

    options: CheckOptions
    bundle: Bundle = field(init=False)
    _policies: dict[str | None, Policy] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.bundle = load_bundle(self.options.rules, use_cache=self.options.use_cache)
        self.sources = Sources(self.options.cards, self.options.offline, self.bundle.catalog)

    def policy_for(self, target: str) -> Policy:
        path = self.options.policy_file
        if path is None:
            start = Path(target) if Path(target).exists() else Path.cwd()
            path = find_policy(start.resolve())
        key = str(path) if path else None
        if key not in self._policies:
            policy = load_policy(path, self.bundle.catalog, self.bundle.packs) if path else Policy()
            if self.options.fail_on:
                policy = replace(policy, fail_on=self.options.fail_on)
            self._policies[key] = policy
        return self._policies[key]

    def subject(self, target: str) -> ModelFacts:
        if Path(target).exists():
            return read_target(target)
        if target.lower().endswith((".md", ".markdown", ".yaml", ".yml")) or target.startswith((".", "/", "~")):
            raise InputError(f"{target}: no such file or folder")
        problem = repo_id_problem(target)
        if problem:
            raise InputError(f"{target}: not a file, a folder or a valid Hub repo id (org/name): {problem}")
        facts = self.sources.subject(target, self.options.revision)
        if facts.status == MISSING and target not in self.bundle.curations:
            raise InputError(f"{target}: {facts.status_detail}")
        if facts.status == INVALID:
            raise InputError(f"{target}: {facts.status_detail}")
        return facts

    def check(self, target: str) -> Report | TargetError:
        try:
            policy = self.policy_for(target)
            subject = self.subject(target)
            lineage = build_lineage(subject, self.sources, self.bundle.catalog,
                                    (self.bundle.curations, policy.models), policy.max_depth)
            report = evaluate(lineage, self.bundle.packs, self.bundle.catalog, policy, self.options.today)
            return replace(report, catalog_digest=self.bundle.catalog_digest)
        except InputError as exc:
            return TargetError(target, exc.message, tuple(d.to_dict() for d in exc.diagnostics),
                               tuple(format_diagnostic(d) for d in exc.diagnostics))
        except PolicyError:
            raise  # configuration errors stop the run: every target would be judged by a broken policy
        except Exception as exc:  # a bug: report it for this target (exit 4) and go on with the batch
            import traceback

            return TargetError(target, f"internal error while checking {target}: {type(exc).__name__}: {exc} "
                               "(please report it)", frames=(traceback.format_exc(),), internal=True)

    def close(self) -> None:
        self.sources.close()


def check_targets(targets: Sequence[str], options: CheckOptions) -> list[Report | TargetError]:
    checker = Checker(options)
    try:
        return [checker.check(t) for t in targets]
    finally:
        checker.close()
