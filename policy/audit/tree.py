"""The tree audit: every descendant of a model, judged by the engine against the lineage that joins it to the root.

Data flow, one way: the Hub listing (`policy.scan.listing`, one request per listed node, 1,000 children a page)
-> facts of each descendant from its listing entry (card data, sha, gating; no request per child) -> the engine,
over the lineage that connects the descendant to the root plus its own other bases, teachers and datasets -> one
row per descendant in the SQLite state (`policy.audit.state`) -> the summary, computed there. Rows are streamed
from the file to the renderers, so memory stays flat however large the tree.

A child is fetched in full (`model_info` and its README, through the scanner) only when a rule needs what the
listing lacks: a `license: other` that names nothing, which only the LICENSE file can tell. Ancestors outside the
tree (another base of a merge, a teacher, a dataset) are fetched once for the whole audit, in parallel, a batch
of descendants at a time, with the scanner's retries, backoff, deadlines and fallbacks. Whatever could not be
read is a `review` row with the reason; a listing that failed makes its node's row and the audit `review`.

Resumable: an interrupted run (Ctrl-C, kill, crash) continues from its state file without listing again the
nodes it listed to the end, and without judging again what it finished. A re-run of a complete audit lists every
node again and judges again only descendants whose own sha, an in-tree ancestor's sha, the root's sha or the
rules changed (each row is keyed by a digest of all of them). What the state file holds is checked before it is
used (`AuditState.verify`): a row whose verdict its own findings do not bear out is judged again.

Bounded: the walk has an overall deadline (`--walk-deadline`, POLICYCHECK_TREE_DEADLINE, 4 hours by default)
and each listing a page cap; a listing that repeats itself ends. A walk stopped by any of them is incomplete,
and its verdict is review at best. Of each descendant's card data only the fields the rules read are kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy import __version__
from policy.audit.rows import ISSUE_KINDS, hub_link, open_rules, tally
from policy.audit.state import AuditState
from policy.engine.conditions import All, Leaf, Not, Ref
from policy.engine.evaluation import evaluate
from policy.errors import InputError, UsageError
from policy.model.facts import INVALID, MISSING, Edge, ModelFacts
from policy.model.report import DISCLAIMER, Report
from policy.records import record
from policy.scan.lineage import build_lineage, card_edges
from policy.scan.listing import (
    CARD_FIELDS,
    Descendant,
    ListingError,
    ListingLimits,
    WalkStopped,
    iter_descendants,
    iter_hub_index,
    listing_facts,
)

if TYPE_CHECKING:
    from policy.pipeline.session import Session
    from policy.scan.snapshot import Snapshot

Key = tuple[str, str]
MAX_ROW_FINDINGS = 10
TOP = 10
MAX_DROPPED_SHOWN = 3  # ids shown of the listing entries dropped (the note counts them all)
_LRU = 256  # facts of in-tree ancestors kept in memory (breadth-first: siblings share them; the rest are
# read back from the state file)


@record
class TreeOptions:
    root: str
    relations: frozenset[str] | None = None
    depth: int | None = None
    limit: int | None = None
    min_downloads: int = 0
    state: Path | None = None  # None: a temporary file, removed at the end (nothing to resume)
    policy_file: Path | None = None
    rules: Sequence[Path] = ()
    fail_on: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    use_cache: bool = True
    hub_deadline: float | None = None
    batch: int = 64  # descendants judged together: their out-of-tree ancestors are fetched in parallel
    discovery: str = "walk"  # walk: one listing per node; index: one pass over the Hub's whole listing
    walk_deadline: float | None = None  # seconds the walk may take in all (None: POLICYCHECK_TREE_DEADLINE, 4 h)
    snapshot: str | None = None  # a Hub metadata snapshot (policy.scan.snapshot): discovery without a listing
    verify: bool = False  # with a snapshot: fetch every descendant from the Hub, pinned to its commit

    def walk_options(self) -> dict[str, Any]:
        """What decides which descendants the audit finds (a state file belongs to one such audit)."""
        return {"relations": sorted(self.relations) if self.relations is not None else None,
                "depth": self.depth, "limit": self.limit, "min_downloads": self.min_downloads,
                "discovery": "snapshot" if self.snapshot else self.discovery,
                **({"verify": self.verify} if self.snapshot else {})}


@dataclass
class Progress:
    discovered: int = 0
    evaluated: int = 0  # judged in this run
    reused: int = 0  # finished by an earlier run at the same key: not judged again
    listings: int = 0  # listing pages requested
    indexed: int = 0  # parent-child pairs read from the Hub-wide listing (--discovery index)
    to_list: int = 0  # discovered nodes whose listing is still to come (walk)
    total: int | None = None  # descendants in all, when known before the end (--discovery index)
    fetched: int = 0  # repos fetched in full (children that needed it, out-of-tree ancestors)
    resumed: bool = False
    done: bool = False


class TreeResult:
    """The audit's summary and its rows, streamed from the state file. Close it (or use `with`)."""

    def __init__(self, summary: dict[str, Any], state: AuditState, cleanup: Path | None) -> None:
        self.summary = summary
        self._state = state
        self._cleanup = cleanup

    @property
    def verdict(self) -> str:
        return str(self.summary["verdict"])

    def rows(self, order: str = "depth") -> Iterator[Mapping[str, Any]]:
        return self._state.rows(order)

    def close(self) -> None:
        self._state.close()
        if self._cleanup is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._cleanup}{suffix}").unlink(missing_ok=True)

    def __enter__(self) -> TreeResult:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _TreeSource:
    """Ancestor facts for the engine: in-tree nodes from their listing entry (kept in the state file, the most
    recent in memory), the rest through the scanner, which fetches each repo once per run."""

    def __init__(self, state: AuditState, session: Session, root: str, snapshot: Snapshot | None = None,
                 card_fields: frozenset[str] | None = None) -> None:
        self.state = state
        self.hub = session.hub
        self.root = root
        self.snapshot = snapshot
        self.card_fields = card_fields
        self.full: set[str] = set()  # in-tree repos fetched in full: the scanner's facts win
        self._recent: OrderedDict[str, ModelFacts] = OrderedDict()
        self._outside: OrderedDict[str, ModelFacts | None] = OrderedDict()  # snapshot rows outside the tree

    def remember(self, d: Descendant, facts: ModelFacts) -> None:
        self._recent[d.id] = facts
        self._recent.move_to_end(d.id)
        while len(self._recent) > _LRU:
            self._recent.popitem(last=False)

    def in_tree(self, repo_id: str) -> ModelFacts | None:
        if repo_id == self.root or repo_id in self.full:
            return None
        facts = self._recent.get(repo_id)
        if facts is not None:
            self._recent.move_to_end(repo_id)
            return facts
        d = self.state.known(repo_id)
        if d is None:
            return None
        facts = listing_facts(d)
        self.remember(d, facts)
        return facts

    def fetch_many(self, keys: Sequence[Key]) -> Mapping[Key, ModelFacts]:
        out: dict[Key, ModelFacts] = {}
        rest: list[Key] = []
        for key in keys:
            facts = self.in_tree(key[0]) if key[1] == "model" else None
            if facts is not None:
                out[key] = facts
            else:
                rest.append(key)
        if rest and self.snapshot is not None:
            rest = self.from_snapshot(rest, out)
        if rest:
            out.update(self.hub.fetch_many(rest))
        return out

    def from_snapshot(self, keys: list[Key], out: dict[Key, ModelFacts]) -> list[Key]:
        """Models outside the tree read from the snapshot (kept for the run: a merge's other parents are shared);
        what it lacks is left for the Hub."""
        assert self.snapshot is not None
        unknown = [k[0] for k in keys if k[1] == "model" and k[0] not in self._outside]
        if unknown:
            rows = self.snapshot.nodes(unknown)
            for repo_id in unknown:
                row = rows.get(repo_id)
                self._outside[repo_id] = self.snapshot.facts(row, self.card_fields) if row is not None else None
                while len(self._outside) > 4 * _LRU:
                    self._outside.popitem(last=False)
        rest = []
        for key in keys:
            facts = self._outside.get(key[0]) if key[1] == "model" else None
            if facts is not None:
                out[key] = facts
            else:
                rest.append(key)
        return rest


class TreeAudit:
    def __init__(self, options: TreeOptions, progress: Callable[[Progress], None] | None = None) -> None:
        from policy.pipeline.session import CheckOptions, Session  # imports the scanner; keep this module light

        if options.depth is not None and options.depth < 1:
            raise UsageError("--depth must be at least 1")
        if options.limit is not None and options.limit < 1:
            raise UsageError("--limit must be at least 1")
        self.options = options
        self.session = Session(CheckOptions(policy_file=options.policy_file, rules=options.rules,
                                            fail_on=options.fail_on, today=options.today,
                                            use_cache=options.use_cache, hub_deadline=options.hub_deadline,
                                            prefetch=False))
        self.bundle = self.session.bundle
        self.policy = self.session.policy_for(options.root)
        self.progress = Progress()
        self._report = progress or (lambda _p: None)
        self._stated: dict[tuple[str, str | None], list[Edge]] = {}  # what each ancestor's card says (its text)
        packs = ",".join(f"{p.id}@{p.version}:{p.sha256}" for p in self.bundle.packs)
        # Everything a row's verdict rests on besides the repos: rules, catalog, policy file and --fail-on.
        self._rules_digest = _digest(__version__, self.bundle.catalog_digest, packs,
                                     _file_digest(Path(self.policy.file) if self.policy.file else None),
                                     self.policy.fail_on or "", options.today.isoformat())
        self._card_fields = rule_card_fields(self.bundle.packs)
        self._limits = ListingLimits.from_env(walk_deadline=options.walk_deadline, card_fields=self._card_fields)
        self._dropped: list[str] = []  # a few listing entries dropped for their ids (the count is below)
        self._dropped_count = 0
        self._distrusted = 0  # rows and descendants of the state file dropped by `AuditState.verify`
        self.snapshot: Snapshot | None = None
        self._source: _TreeSource | None = None

    def _drop(self, node: str, shown: str) -> None:
        """A listing entry whose id the Hub cannot produce: never followed, and said so in `problems`."""
        self._dropped_count += 1
        if len(self._dropped) < MAX_DROPPED_SHOWN:
            self._dropped.append(shown)

    # -- the run -------------------------------------------------------------------------------------------
    def run(self) -> TreeResult:
        options = self.options
        cleanup: Path | None = None
        path = options.state
        if path is None:
            fd, name = tempfile.mkstemp(prefix="policycheck-tree-", suffix=".sqlite")
            os.close(fd)
            path = cleanup = Path(name)
        try:
            walk_options = options.walk_options()
            if options.snapshot:
                from policy.refdata import cache_dir
                from policy.scan.snapshot import load

                self.snapshot = load(options.snapshot, cache_dir() / "snapshots", self.session.hub.options)
                walk_options["snapshot"] = self.snapshot.cite.sha256  # a state file belongs to one snapshot
            state = AuditState(path, options.root, walk_options)
        except BaseException:
            self.session.close()
            if cleanup is not None:
                cleanup.unlink(missing_ok=True)
            if self.snapshot is not None:
                self.snapshot.close()
            raise
        try:
            summary = self._walk(state)
        except BaseException:
            TreeResult({}, state, cleanup).close()  # rows recorded so far stay in a --state file
            raise
        finally:
            self.session.close()
            if self.snapshot is not None:
                self.snapshot.close()
        return TreeResult(summary, state, cleanup)

    def _root_facts(self) -> ModelFacts:
        """The root, from the snapshot when it has it (and --verify does not ask for the Hub's), else the Hub."""
        if self.snapshot is not None and not self.options.verify:
            row = self.snapshot.nodes([self.options.root]).get(self.options.root)
            if row is not None:
                return self.snapshot.facts(row, self._card_fields)
        return self.session.hub.fetch_one(self.options.root, "model")

    def _walk(self, state: AuditState) -> dict[str, Any]:
        options = self.options
        self.session.start_target()
        root = self._root_facts()
        if root.status in (MISSING, INVALID):
            raise InputError(f"{options.root}: {root.status_detail}")
        root_key = _digest(self._rules_digest, root.revision or "", *self._root_version())
        source = self._source = _TreeSource(state, self.session, options.root, self.snapshot, self._card_fields)
        keys = _Keys(state, root_key, options.root)
        failures: list[ListingError] = []
        self._distrusted = state.verify(self.policy.fail_on or "error")
        fields = ",".join(sorted(self._card_fields)) if self._card_fields is not None else "*"
        self.progress.resumed = state.start_walk(kept=fields)
        batch: list[tuple[Descendant, str]] = []

        def counted() -> None:
            self.progress.listings += 1

        listed = state.listed_children if self.progress.resumed else None
        if options.discovery == "index":
            listed = state.indexed_children
            if not (self.progress.resumed and state.meta("index") == "complete"):
                if not self._index(state, counted):
                    failures.append(self._index_error)
                    listed = lambda _node: []  # noqa: E731 - nothing to walk: the index is incomplete
        if options.discovery == "index" and not failures:
            self.progress.total = state.index_size(options.root, options.depth)

        def frontier(n: int) -> None:
            self.progress.to_list = n

        walk: Iterator[tuple[Descendant, str | None]]
        if self.snapshot is not None:  # each row at what the snapshot holds of it (it has no commit sha)
            walk = ((d, row.digest()) for d, row in self.snapshot.descendants(
                options.root, relations=options.relations, max_depth=options.depth, limit=options.limit,
                min_downloads=options.min_downloads, card_fields=self._card_fields, on_dropped=self._drop))
        else:
            walk = ((d, d.sha) for d in iter_descendants(
                options.root, relations=options.relations, max_depth=options.depth, limit=options.limit,
                min_downloads=options.min_downloads, options=self.session.hub.options, on_request=counted,
                listed=listed, on_child=state.listing_child if options.discovery == "walk" else None,
                on_listed=state.listed if options.discovery == "walk" else None,
                on_error=lambda exc: (failures.append(exc), state.listing_failed(exc.node, exc.reason)),
                on_frontier=frontier, on_dropped=self._drop, limits=self._limits))
        try:
            for d, version in walk:
                key = keys.add(d, version)
                self.progress.discovered += 1
                if version is not None and state.finished(d.id, key) is not None:
                    self.progress.reused += 1
                else:
                    batch.append((d, key))
                    if len(batch) >= options.batch:
                        self._judge(batch, source, state)
                        batch = []
                self._report(self.progress)
        except WalkStopped as exc:  # the walk's deadline: what was found is judged, the rest waits for a re-run
            failures.append(exc)
        if batch:
            self._judge(batch, source, state)
        for exc in failures:
            state.update_row(exc.node, {"verdict": "review", "reason": f"its children could not be listed: "
                                        f"{exc.reason}", "source": "error"})
        root_failed = any(exc.node == options.root for exc in failures)
        if not failures:
            state.end_walk(prune=options.limit is None)
        else:
            state.commit()
        self.progress.done = True
        self._report(self.progress)
        return self._summary(state, root, failures, root_failed)

    def _index(self, state: AuditState, counted: Callable[[], None]) -> bool:
        """Read the Hub's whole listing into the state file (--discovery index); False when it failed."""
        state.start_index()
        try:
            for parent, child in iter_hub_index(options=self.session.hub.options, on_request=counted,
                                                on_dropped=self._drop, limits=self._limits):
                state.index_child(parent, child)
                self.progress.indexed += 1
                if self.progress.indexed % 1000 == 0:
                    self._report(self.progress)
        except ListingError as exc:
            reason = f"the Hub-wide listing failed after {self.progress.indexed:,} entries: {exc.reason}"
            self._index_error = (WalkStopped if isinstance(exc, WalkStopped) else ListingError)(
                self.options.root, reason)
            state.commit()
            return False
        state.end_index()
        return True

    _index_error = ListingError("", "")

    def _judge(self, batch: list[tuple[Descendant, str]], source: _TreeSource, state: AuditState) -> None:
        """Judge a batch: fetch in parallel what its descendants need beyond the listing, then evaluate each."""
        catalog = self.bundle.catalog
        hub = self.session.hub
        self.session.start_target()  # each batch's Hub work has a deadline of its own
        facts = {d.id: listing_facts(d) for d, _ in batch}
        for d, _ in batch:
            source.remember(d, facts[d.id])
        wanted: set[Key] = set()
        full: set[Key] = set()
        for d, _ in batch:
            if catalog.needs_text(facts[d.id].license) or self.options.verify:
                full.add((d.id, "model"))  # from the Hub: its LICENSE file, or (--verify) its commit
                source.full.add(d.id)
            for edge in card_edges(facts[d.id], catalog.api_terms):
                if edge.parent_kind != "api" and edge.parent != self.options.root and (
                        edge.parent_kind != "model" or source.in_tree(edge.parent) is None):
                    wanted.add((edge.parent, edge.parent_kind))
        fetched = dict(hub.fetch_many(sorted(full))) if full else {}
        if wanted:
            if self.snapshot is not None:  # what the snapshot has costs no request
                wanted = set(source.from_snapshot(sorted(wanted), {}))
            fetched.update(hub.fetch_many(sorted(wanted)) if wanted else {})
        self.progress.fetched += len(wanted) + len(full)
        for d, key in batch:
            subject = fetched.get((d.id, "model"), facts[d.id])
            state.record(d.id, key, *self._evaluate(d, subject, source, d.id in source.full))
            self.progress.evaluated += 1

    def _generated(self, node: ModelFacts) -> list[Edge]:
        """What an ancestor's card says in its text, as `check` reads it (policy.evidence.ancestors): the terms of
        the model that generated a dataset, or that a model ancestor was distilled from, reach the descendant
        through it, as review. Read once per ancestor and audit: every descendant below it shares the answer."""
        key = (node.id, node.revision)
        known = self._stated.get(key)
        if known is None:
            from policy.evidence.ancestors import stated, stated_edges
            from policy.evidence.collect import names

            known = self._stated[key] = stated_edges(node, stated(node, names()), self.bundle.catalog.api_terms)
        return known

    def _evaluate(self, d: Descendant, subject: ModelFacts, source: _TreeSource,
                  full: bool) -> tuple[str, dict[str, Any]]:
        try:
            lineage = build_lineage(subject, source, self.bundle.catalog,
                                    (self.bundle.curations, self.policy.models), self.policy.max_depth,
                                    stated=self._generated)
            report = evaluate(lineage, self.bundle.packs, self.bundle.catalog, self.policy, self.options.today)
        except Exception as exc:  # a bug: this row needs a person, the audit goes on
            return "review", self._row(d, subject, None, f"internal error while judging it: "
                                       f"{type(exc).__name__}: {exc} (please report it)", full)
        return report.verdict, self._row(d, subject, report, "", full)

    def _row(self, d: Descendant, subject: ModelFacts, report: Report | None, error: str,
             full: bool) -> dict[str, Any]:
        source = "hub" if full else "snapshot" if self.snapshot else "listing"
        if full and subject.revision and subject.revision != d.sha:  # a snapshot's row has no commit; the Hub's has
            d = replace(d, sha=subject.revision)
        return judged_row(d, subject, report, error, source, self._endpoint())

    def _endpoint(self) -> str:
        return str(self.session.hub.endpoint).rstrip("/")

    # -- the summary ---------------------------------------------------------------------------------------
    def _root_version(self) -> tuple[str, ...]:
        """What the root is judged at besides its commit: its snapshot row (a snapshot has no commit)."""
        if self.snapshot is None:
            return ()
        row = self.snapshot.nodes([self.options.root]).get(self.options.root)
        return (self.snapshot.cite.sha256, row.digest() if row is not None else "")

    def _root_spdx(self, root: ModelFacts) -> str | None:
        """The root's license as the rows give theirs (the engine's resolution), or None when unknown."""
        lineage = build_lineage(root, self._source, self.bundle.catalog,
                                (self.bundle.curations, self.policy.models), self.policy.max_depth)
        report = evaluate(lineage, self.bundle.packs, self.bundle.catalog, self.policy, self.options.today)
        resolved = report.subject.license
        return resolved.resolved if resolved.known else None

    def _summary(self, state: AuditState, root: ModelFacts, failures: list[ListingError],
                 root_failed: bool) -> dict[str, Any]:
        counts = dict(state.counts())
        verdicts = {v: int(counts.get(v, 0)) for v in ("pass", "fail", "review")}
        root_license = ", ".join(root.license.values) or (root.license.name or "")
        spdx = self._root_spdx(root)
        licenses = [{**row, "same_as_root": bool(row["license"] == root_license or (spdx and row["spdx"] == spdx))}
                    for row in state.licenses()]
        problems = [f"{exc.reason}; the tree may have more descendants (run again with the same --state to go "
                    "on)" if isinstance(exc, WalkStopped) else
                    f"the children of {exc.node} could not be listed ({exc.reason}); their descendants were not "
                    "audited" for exc in failures]
        if self._dropped_count:
            shown = ", ".join(repr(i) for i in self._dropped)
            problems.append(f"the listings returned {self._dropped_count:,} entries with ids the Hub cannot produce "
                            f"(e.g. {shown}); they were not followed or audited")
        if self._distrusted:
            problems.append(f"{self._distrusted:,} rows of the state file were not used: they could not be read "
                            "back, or their verdict was less severe than their own findings give (at --fail-on "
                            f"{self.policy.fail_on or 'error'}); they were judged again where the walk found them")
        if root.status not in ("ok", "gated"):
            problems.insert(0, f"the root {root.id} could not be read: {root.status_detail or root.status}")
        complete = not failures and self.options.limit is None
        if self.options.limit is not None and counts.get("discovered", 0) >= self.options.limit:
            problems.append(f"stopped at --limit {self.options.limit}: the tree may have more descendants")
        counted = tally(state.rows("depth"))  # streamed: only the counts are kept
        verdict = "fail" if verdicts["fail"] else "review" if (verdicts["review"] or failures or root_failed
                                                               or root.status not in ("ok", "gated")) else "pass"
        return {
            "schema": "policycheck/tree/v1", "policycheck": __version__,
            "root": {"id": root.id, "sha": root.revision, "license": root_license, "spdx": spdx,
                     "url": hub_link(self._endpoint(), root.id) or None},
            "verdict": verdict, "complete": complete,
            "counts": {"discovered": int(counts.get("discovered", 0)), "evaluated": int(counts.get("evaluated", 0)),
                       **verdicts},
            "licenses": licenses, "top_violations": state.top("fail", TOP), "problems": problems,
            "by_rule": counted.by_rule(), "by_org": counted.by_org(), "endpoint": self._endpoint(),
            "options": self.options.walk_options(),
            **({"snapshot": self.snapshot.cite.to_dict()} if self.snapshot is not None else {}),
            "requests": {"listing": self.progress.listings, "fetch": self.progress.fetched},
            "run": {"resumed": self.progress.resumed, "evaluated": self.progress.evaluated,
                    "reused": self.progress.reused},
            "evaluated_at": self.options.today.isoformat(), "catalog_digest": self.bundle.catalog_digest,
            "packs": [{"id": p.id, "version": p.version, "digest": p.sha256} for p in self.bundle.packs],
            "disclaimer": DISCLAIMER,
        }


class _Keys:
    """What each row is judged at: a digest of the rules and of the shas from the root down to the descendant,
    so that a change anywhere on its in-tree path judges it again. Kept in the state file with the descendant;
    in memory only for the last parents (breadth-first, siblings come together), so memory stays flat."""

    def __init__(self, state: AuditState, root_key: str, root: str) -> None:
        self.state = state
        self.root_key = root_key
        self.root = root
        self._recent: OrderedDict[str, str] = OrderedDict()

    def of(self, repo_id: str) -> str:
        if repo_id == self.root:
            return self.root_key
        key = self._recent.get(repo_id) or self.state.key_of(repo_id)
        return key or self.root_key

    def add(self, d: Descendant, version: str | None) -> str:
        key = _digest(self.of(d.parent), version or "")
        self.state.discovered(d, key)
        self._recent[d.id] = key
        while len(self._recent) > _LRU:
            self._recent.popitem(last=False)
        return key


def judged_row(d: Descendant, subject: ModelFacts, report: Report | None, error: str, source: str,
               endpoint: str) -> dict[str, Any]:
    """The row of a judged model as audits keep it (`policy.audit.rows` reads it): its place in the tree, its
    declared and resolved license, verdict, the reason (the decisive finding's message, or `error`), every open
    finding (the first `MAX_ROW_FINDINGS`), every rule id, where its facts came from and its link."""
    lic = subject.license if subject.license.present else listing_facts(d).license  # a repo gone since
    declared = ", ".join(lic.values) or (lic.name or "")
    resolved = report.subject.license if report is not None else None
    findings = [f for f in report.open_findings if f.kind in ISSUE_KINDS] if report is not None else []
    issues = [{"rule": f.rule, "kind": f.kind, "severity": f.severity, "message": f.message,
               "ancestor": f.ancestor} for f in findings]
    top = report.decisive() if report is not None else None
    reason = error or (top.message if top is not None else "")
    if not reason and report is not None and report.verdict != "pass" and report.notices:
        reason = report.notices[0]
    return {
        "id": d.id, "parent": d.parent, "relation": d.relation, "inferred": d.inferred, "depth": d.depth,
        "sha": d.sha, "downloads": d.downloads, "gated": d.gated, "license": declared,
        "spdx": resolved.resolved if resolved is not None and resolved.known else None,
        "verdict": report.verdict if report is not None else "review", "reason": reason,
        "findings": issues[:MAX_ROW_FINDINGS],
        "rules": open_rules(issues, report.verdict) if report is not None else [],  # all, not the first few
        "source": "error" if error else source,
        "url": hub_link(endpoint, d.id) or None,
    }


def rule_card_fields(packs: Sequence[Any]) -> frozenset[str] | None:
    """The card fields a listing entry keeps for `packs`: `CARD_FIELDS` (what the scanner and the engine read)
    and every `<node>.card.<key>` the rules' conditions test, as a path or a `{ref: ...}` operand; None (every
    field, each bounded) when a condition tests a whole card. Messages may show more, but a verdict is decided
    by the conditions only."""
    keys = set(CARD_FIELDS)

    def paths(cond: Any) -> Iterator[str]:
        if isinstance(cond, Leaf):
            yield cond.path
            if isinstance(cond.operand, Ref):
                yield ".".join(cond.operand.parts)
        elif isinstance(cond, Not):
            yield from paths(cond.item)
        elif isinstance(cond, All):  # and Any_
            for item in cond.items:
                yield from paths(item)

    for pack in packs:
        for rule in pack.rules:
            for cond in (rule.when, rule.require):
                for path in paths(cond):
                    parts = path.split(".")
                    if len(parts) >= 2 and parts[1] == "card":
                        if len(parts) == 2:
                            return None
                        keys.add(parts[2])
    return frozenset(keys)


def audit_tree(options: TreeOptions, progress: Callable[[Progress], None] | None = None) -> TreeResult:
    """Run the audit of `options.root`'s descendants; the result streams its rows from the state file."""
    return TreeAudit(options, progress).run()


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:40]


def _file_digest(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""
