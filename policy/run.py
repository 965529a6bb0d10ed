"""Checking targets end to end: load rules and policy, scan each target, walk lineage, evaluate.

Facts come from local cards first (a card file or folder given as target, `--cards DIR`), then from the Hub
(through huggingface_hub; only imported when something has to be fetched), then curations and the policy
file fill in what is still missing. One bad target never aborts a batch: it becomes a `TargetError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from policy.diagnostics import format_diagnostic
from policy.engine import evaluate
from policy.errors import InputError, PolicyError, UsageError
from policy.facts import GATED, INVALID, MISSING, OK, UNAVAILABLE, ModelFacts
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
    hub_deadline: float | None = None  # seconds for each target's Hub work (default POLICYCHECK_HUB_DEADLINE)
    prefetch: bool = True  # fetch a node's declared parents as soon as it arrives (off for the tree audit,
    # whose in-tree parents come from the listing)


class Sources:
    """Local cards first, then the Hub; the Hub client is created on first need."""

    def __init__(self, cards: Sequence[Path], offline: bool, catalog: Catalog,
                 hub_deadline: float | None = None, prefetch: bool = True) -> None:
        self.local = LocalSource(cards)
        self.offline = offline
        self.hub_deadline = hub_deadline
        self.prefetch = prefetch
        self.catalog = catalog
        self._hub: HubSource | None = None

    @property
    def hub(self) -> HubSource:
        if self._hub is None:
            from policy.scan.hub import HubOptions, HubSource

            options = HubOptions.from_env(offline=self.offline)
            if self.hub_deadline is not None:
                options = replace(options, run_deadline=self.hub_deadline)
            if not self.prefetch:
                options = replace(options, prefetch_depth=0)
            self._hub = HubSource(options, self.catalog.api_terms, self.catalog.needs_text)
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

    def start_target(self) -> None:
        """Each target's Hub work has a deadline of its own (POLICYCHECK_HUB_DEADLINE)."""
        if self._hub is not None:
            self._hub.start_target()

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
        for folder in self.options.cards:
            if not Path(folder).is_dir():
                raise UsageError(f"--cards {folder}: no such folder" if not Path(folder).exists()
                                 else f"--cards {folder}: not a folder")
        self.bundle = load_bundle(self.options.rules, use_cache=self.options.use_cache)
        self.sources = Sources(self.options.cards, self.options.offline, self.bundle.catalog,
                               self.options.hub_deadline, self.options.prefetch)

    def policy_for(self, target: str) -> Policy:
        path = self.options.policy_file
        if path is None:
            start = Path(target) if Path(target).exists() else Path.cwd()
            path = find_policy(start.resolve())
        key = str(path) if path else None
        if key not in self._policies:
            policy = load_policy(path, self.bundle.catalog, self.bundle.packs,
                                 use_cache=self.options.use_cache) if path else Policy()
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
        self.sources.start_target()
        try:
            policy = self.policy_for(target)
            subject = self.subject(target)
            lineage = build_lineage(subject, self.sources, self.bundle.catalog,
                                    (self.bundle.curations, policy.models), policy.max_depth)
            report = evaluate(lineage, self.bundle.packs, self.bundle.catalog, policy, self.options.today)
            return _truthful(replace(report, catalog_digest=self.bundle.catalog_digest), subject, lineage.root)
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


def _truthful(report: Report, read: ModelFacts, evaluated: ModelFacts) -> Report:
    """Say where the subject's facts came from and whether its card was read, at the top of the report.

    `read` is what the scanner returned, `evaluated` the node after curations and the policy file filled it in:
    a subject whose card could not be read is `source: curation` (or `policy`) with the scanner's status, and
    one read from the warm cache because the Hub was unreachable is `source: cache`.
    """
    source = evaluated.source if evaluated.source in ("hub", "file", "cache", "curation", "policy") else (
        "none" if read.status != OK else "file")
    subject = {**report.subject, "source": source, "status": read.status, "status_detail": read.status_detail}
    notices: list[str] = []
    notes = list(report.notes)
    if source == "cache":
        notices.append(read.status_detail)
        notes.insert(0, read.status_detail)
    elif source in ("curation", "policy"):
        notices.append(f"the card of {read.id} was not read ({read.status_detail or read.status}); evaluated from "
                       f"{'curated' if source == 'curation' else 'policy-file'} facts only, which a person must "
                       "confirm: the verdict cannot be pass")
    elif read.status not in (OK, GATED):
        notices.append(f"{read.id} could not be examined: {read.status_detail or read.status}")
    evaluated_nodes = report.evaluated
    if source in ("curation", "policy"):  # the node row says what the scanner found, not the filled-in status
        evaluated_nodes = tuple({**e, "status": read.status, "detail": read.status_detail}
                                if e.get("id") == read.id else e for e in report.evaluated)
    return replace(report, subject=subject, notes=tuple(notes), notices=tuple(notices), evaluated=evaluated_nodes)


def iter_check(targets: Sequence[str], options: CheckOptions) -> Iterator[Report | TargetError]:
    """Check targets one by one, yielding each result as soon as it is done (a batch's memory stays flat)."""
    checker = Checker(options)
    try:
        for target in targets:
            yield checker.check(target)
    finally:
        checker.close()


def check_targets(targets: Sequence[str], options: CheckOptions) -> list[Report | TargetError]:
    return list(iter_check(targets, options))
