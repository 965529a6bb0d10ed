"""The hub audit: every model of a Hub metadata snapshot, judged against its lineage within the snapshot.

Data flow, one way: the snapshot (`policy.scan.snapshot`: one Parquet file, loaded once into a DuckDB database
that holds the rows, the parent edges and each model's family) -> the models the filters keep, family by
family -> batches of them, each with every ancestor its models have in the snapshot (one recursive query per
batch) -> facts as a listing entry gives them (`Snapshot.facts`) -> the engine, exactly as `check` and `tree`
run it -> one row per model in the SQLite state (`policy.audit.state`, the tree audit's) -> the summary.

Nothing is fetched: an ancestor the snapshot lacks (a model that is not in it, any dataset: a models snapshot
holds none) is a node the engine cannot read, so its descendants are review with that reason; a `license:
other` that names nothing is review, its LICENSE file not being in the snapshot (`policycheck tree --snapshot`
fetches those). Curations and the policy file apply as they do for `check`.

Parallel: batches are judged by `workers` processes (spawned, each opening the database read-only with its own
memory cap), at most two batches in flight per worker, so memory stays bounded; one worker judges in this
process. Resumable: a row is keyed by the rules, the snapshot's SHA-256 and the model's id; a run with the same
state file (`--state`) judges only the models it has no row for at that key. An interrupted run (Ctrl-C, kill)
keeps every committed row.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy import __version__
from policy.audit.rows import HUB, tally
from policy.audit.state import AuditState
from policy.audit.tree import Progress, TreeResult, _digest, _file_digest, judged_row, rule_card_fields
from policy.errors import UsageError
from policy.model.facts import ModelFacts
from policy.model.report import DISCLAIMER
from policy.model.vocab import HUB_RELATIONS
from policy.records import record
from policy.scan.ids import repo_id_problem

if TYPE_CHECKING:
    from policy.scan.snapshot import Snapshot

TOP = 10
FAMILIES_SHOWN = 20
PAIRS_SHOWN = 30
STATE_ROOT = "(hub audit)"  # the state file's root: a hub audit has none


@record
class HubAuditOptions:
    snapshot: str
    licenses: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    min_downloads: int = 0
    root: str | None = None
    shard: tuple[int, int] | None = None  # (k, n): the k-th of n shards, by family
    state: Path | None = None  # None: a temporary file, removed at the end (nothing to resume)
    policy_file: Path | None = None
    rules: Sequence[Path] = ()
    fail_on: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    workers: int | None = None  # None: one per core
    batch: int = 1000

    def filters(self) -> dict[str, Any]:
        return {"licenses": sorted(self.licenses) or None, "authors": sorted(self.authors) or None,
                "relations": sorted(self.relations) or None, "min_downloads": self.min_downloads,
                "root": self.root, **({"shard": f"{self.shard[0]}/{self.shard[1]}"} if self.shard else {})}


class HubAuditResult(TreeResult):
    """The audit's summary and its rows, streamed from the state file, most downloaded first by default."""

    def rows(self, order: str = "downloads") -> Iterator[Mapping[str, Any]]:
        return super().rows(order)


# -- judging (in a worker process, or in this one) ---------------------------------------------------------------
class _BatchSource:
    """The lineage's nodes for one batch: the snapshot's rows of the batch's ancestors; whatever it lacks is a
    node that cannot be read, with the reason."""

    def __init__(self, facts: Mapping[str, ModelFacts], judge: _Judge) -> None:
        self.facts = facts
        self.judge = judge

    def fetch_many(self, keys: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], ModelFacts]:
        out = {}
        for repo_id, kind in keys:
            found = self.facts.get(repo_id) if kind == "model" else None
            out[(repo_id, kind)] = found if found is not None else self.judge.snapshot.missing(repo_id, kind)
        return out


class _Judge:
    def __init__(self, snapshot: Snapshot, options: HubAuditOptions) -> None:
        from policy.pipeline.session import CheckOptions, Session

        self.options = options
        self.snapshot = snapshot
        session = Session(CheckOptions(policy_file=options.policy_file, rules=options.rules,
                                       fail_on=options.fail_on, today=options.today, offline=True, prefetch=False))
        self.bundle = session.bundle
        self.policy = session.policy_for(STATE_ROOT)
        self.card_fields = rule_card_fields(self.bundle.packs)
        self.endpoint = (os.environ.get("HF_ENDPOINT") or HUB).rstrip("/")
        self._family: OrderedDict[str, tuple[str, str | None]] = OrderedDict()

    def judge(self, items: Sequence[tuple[str, str, int, str]]) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(id, key, verdict, row) of each (id, family, depth, key)."""
        from policy.engine.evaluation import evaluate
        from policy.scan.lineage import build_lineage

        snapshot = self.snapshot
        rows = snapshot.nodes(snapshot.ancestors([i[0] for i in items]))
        facts = {rid: snapshot.facts(row, self.card_fields) for rid, row in rows.items()}
        source = _BatchSource(facts, self)
        overlays = (self.bundle.curations, self.policy.models)
        out = []
        for rid, family, depth, key in items:
            row = rows.get(rid)
            if row is None:
                continue  # not in the snapshot any more (a different file): the summary counts it
            subject = facts[rid]
            if repo_id_problem(rid):  # no Hub repo has such an id: said, never judged as one
                out.append((rid, key, "review", _unreadable(rid, family, depth, subject.status_detail)))
                continue
            parent = row.parents[0] if row.parents else rid
            d = snapshot.descendant(row, parent, depth, self.card_fields)
            report = None
            error = ""
            try:
                lineage = build_lineage(subject, source, self.bundle.catalog, overlays, self.policy.max_depth)
                report = evaluate(lineage, self.bundle.packs, self.bundle.catalog, self.policy, self.options.today)
            except Exception as exc:  # a bug: this row needs a person, the audit goes on
                error = f"internal error while judging it: {type(exc).__name__}: {exc} (please report it)"
            judged = judged_row(d, subject, report, error, "snapshot", self.endpoint)
            if not row.parents:
                judged.update(parent=None, relation=None, inferred=False)
            family_license, family_spdx = self._family_license(family, facts, source)
            judged["family"] = family
            judged["family_license"] = family_license
            judged["same_as_family"] = (None if not judged["license"] or family == rid or family not in facts else
                                        bool((family_spdx and judged["spdx"] == family_spdx)
                                             or judged["license"].lower() == family_license.lower()))
            out.append((rid, key, str(judged["verdict"]), judged))
        return out

    def _family_license(self, family: str, facts: Mapping[str, ModelFacts],
                        source: _BatchSource) -> tuple[str, str | None]:
        """(declared, resolved) license of a family's root, kept for the run (families come together)."""
        known = self._family.get(family)
        if known is not None:
            return known
        root = facts.get(family)
        if root is None:
            value: tuple[str, str | None] = ("", None)
        else:
            from policy.engine.evaluation import evaluate
            from policy.scan.lineage import build_lineage

            declared = ", ".join(root.license.values) or (root.license.name or "")
            try:
                report = evaluate(build_lineage(root, source, self.bundle.catalog,
                                                (self.bundle.curations, self.policy.models), self.policy.max_depth),
                                  self.bundle.packs, self.bundle.catalog, self.policy, self.options.today)
                resolved = report.subject.license
                value = (declared, resolved.resolved if resolved.known else None)
            except Exception:  # the family's own row says what went wrong
                value = (declared, None)
        self._family[family] = value
        while len(self._family) > 4096:
            self._family.popitem(last=False)
        return value


def _unreadable(rid: str, family: str, depth: int, reason: str) -> dict[str, Any]:
    return {"id": rid, "parent": None, "relation": None, "inferred": False, "depth": depth, "sha": None,
            "downloads": 0, "gated": False, "license": "", "spdx": None, "verdict": "review", "reason": reason,
            "findings": [], "rules": [], "source": "error", "url": None, "family": family, "family_license": "",
            "same_as_family": None}


_WORKER: _Judge | None = None


def _start_worker(database: str, cite: Mapping[str, Any], options: HubAuditOptions) -> None:
    import signal

    from policy.scan.snapshot import Snapshot, SnapshotCite

    # Ctrl-C reaches the whole process group: the parent stops the audit (its rows are kept) and the pool;
    # a worker does not print a traceback of its own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _WORKER
    # each worker's own read-only connection, with its own memory cap (the process ends with the pool)
    _WORKER = _Judge(Snapshot(Path(database), SnapshotCite(**cite), memory="256MB"), options)


def _judge_in_worker(items: Sequence[tuple[str, str, int, str]]) -> list[tuple[str, str, str, dict[str, Any]]]:
    assert _WORKER is not None
    return _WORKER.judge(items)


# -- the run -------------------------------------------------------------------------------------------------
class HubAudit:
    def __init__(self, options: HubAuditOptions, progress: Callable[[Progress], None] | None = None) -> None:
        from policy.pipeline.session import CheckOptions, Session

        bad = sorted(set(options.relations) - set(HUB_RELATIONS))
        if bad:
            raise UsageError(f"--relation {', '.join(bad)}: not one of {', '.join(HUB_RELATIONS)}")
        if options.batch < 1:
            raise UsageError("the batch size must be at least 1")
        if options.shard is not None and not 1 <= options.shard[0] <= options.shard[1]:
            raise UsageError(f"--shard {options.shard[0]}/{options.shard[1]}: K/N with 1 <= K <= N")
        self.options = options
        self.session = Session(CheckOptions(policy_file=options.policy_file, rules=options.rules,
                                            fail_on=options.fail_on, today=options.today, offline=True,
                                            prefetch=False))
        self.bundle = self.session.bundle
        self.policy = self.session.policy_for(STATE_ROOT)
        packs = ",".join(f"{p.id}@{p.version}:{p.sha256}" for p in self.bundle.packs)
        self._rules_digest = _digest(__version__, self.bundle.catalog_digest, packs,
                                     _file_digest(Path(self.policy.file) if self.policy.file else None),
                                     self.policy.fail_on or "", options.today.isoformat())
        self.progress = Progress()
        self._report = progress or (lambda _p: None)
        self.workers = max(1, options.workers if options.workers is not None else (os.cpu_count() or 1))

    def run(self) -> HubAuditResult:
        from policy.refdata import cache_dir
        from policy.scan.snapshot import load

        options = self.options
        cleanup: Path | None = None
        path = options.state
        if path is None:
            fd, name = tempfile.mkstemp(prefix="policycheck-hub-audit-", suffix=".sqlite")
            os.close(fd)
            path = cleanup = Path(name)
        try:
            snapshot = load(options.snapshot, cache_dir() / "snapshots", self.session.hub.options)
        except BaseException:
            self.session.close()
            if cleanup is not None:
                cleanup.unlink(missing_ok=True)
            raise
        try:
            state = AuditState(path, STATE_ROOT, {**options.filters(), "snapshot": snapshot.cite.sha256})
        except BaseException:
            snapshot.close()
            self.session.close()
            if cleanup is not None:
                cleanup.unlink(missing_ok=True)
            raise
        try:
            summary = self._run(snapshot, state)
        except BaseException:
            HubAuditResult({}, state, cleanup).close()  # rows recorded so far stay in a --state file
            raise
        finally:
            snapshot.close()
            self.session.close()
        return HubAuditResult(summary, state, cleanup)

    def _run(self, snapshot: Any, state: AuditState) -> dict[str, Any]:
        options = self.options
        started = time.monotonic()
        distrusted = state.verify(self.policy.fail_on or "error")
        done = dict(state.finished_keys())
        self.progress.resumed = bool(done) and not state.complete
        state.start_walk(kept="hub-audit")
        if options.root is not None and not snapshot.nodes([options.root]):
            raise UsageError(f"--root {options.root}: not in the {snapshot.cite.label()}")
        subjects = snapshot.subjects(licenses=options.licenses, authors=options.authors,
                                     relations=options.relations, min_downloads=options.min_downloads,
                                     within=options.root, shard=options.shard)
        base = _digest(self._rules_digest, snapshot.cite.sha256)

        def batches() -> Iterator[list[tuple[str, str, int, str]]]:
            batch: list[tuple[str, str, int, str]] = []
            for rid, family, depth in subjects:
                self.progress.discovered += 1
                key = _digest(base, rid)
                if done.get(rid) == key:
                    self.progress.reused += 1
                    continue
                batch.append((rid, family, depth, key))
                if len(batch) >= options.batch:
                    yield batch
                    batch = []
            if batch:
                yield batch

        def record(results: list[tuple[str, str, str, dict[str, Any]]]) -> None:
            for rid, key, verdict, row in results:
                state.record(rid, key, verdict, row)
                self.progress.evaluated += 1
            self._report(self.progress)

        self._report(self.progress)
        pending = batches()
        ahead = [b for b in (next(pending, None), next(pending, None)) if b is not None]
        work = itertools.chain(ahead, pending)
        if self.workers == 1 or len(ahead) < 2:  # one batch: starting processes would cost more than it saves
            judge = _Judge(snapshot, options)
            for batch in work:
                record(judge.judge(batch))
        else:
            self._parallel(snapshot, work, record, self.workers)
        state.end_walk(prune=False)
        self.progress.done = True
        self._report(self.progress)
        return self._summary(snapshot, state, distrusted, time.monotonic() - started)

    def _parallel(self, snapshot: Any, batches: Iterator[list[tuple[str, str, int, str]]],
                  record: Callable[[list[tuple[str, str, str, dict[str, Any]]]], None], workers: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # a fork would copy DuckDB's threads and open files
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                   initargs=(str(snapshot.database), snapshot.cite.to_dict(), self.options))
        running: set[Future[list[tuple[str, str, str, dict[str, Any]]]]] = set()
        try:
            for batch in batches:
                running.add(pool.submit(_judge_in_worker, batch))
                while len(running) >= 2 * workers:  # bounded: at most two batches a worker in flight
                    finished, running = _wait(running)
                    for future in finished:
                        record(future.result())
            while running:
                finished, running = _wait(running)
                for future in finished:
                    record(future.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    # -- the summary ---------------------------------------------------------------------------------------
    def _summary(self, snapshot: Any, state: AuditState, distrusted: int, seconds: float) -> dict[str, Any]:
        counts = dict(state.counts())
        verdicts = {v: int(counts.get(v, 0)) for v in ("pass", "fail", "review")}
        families, families_total = state.families(FAMILIES_SHOWN)
        in_snapshot = set(snapshot.nodes(f["family"] for f in families))
        counted = tally(state.rows("depth"))  # streamed: only the counts are kept
        problems: list[str] = []
        selected = self.progress.discovered
        missing = selected - (self.progress.evaluated + self.progress.reused)
        if missing > 0:
            problems.append(f"{missing:,} selected models could not be judged")
        if distrusted:
            problems.append(f"{distrusted:,} rows of the state file were not used (they could not be read back, or "
                            "their verdict was less severe than their findings give); they were judged again")
        verdict = "fail" if verdicts["fail"] else "review" if (verdicts["review"] or missing > 0) else "pass"
        return {
            "schema": "policycheck/hub-audit/v1", "policycheck": __version__,
            "snapshot": snapshot.cite.to_dict(), "verdict": verdict, "complete": missing <= 0,
            "counts": {"selected": selected, "evaluated": int(counts.get("evaluated", 0)), **verdicts},
            "families": [{**f, "in_snapshot": f["family"] in in_snapshot} for f in families],
            "families_total": families_total,
            "declared_vs_root": [{**p, "root_spdx": None} for p in state.license_pairs(PAIRS_SHOWN)],
            "licenses": state.licenses(), "by_rule": counted.by_rule(), "by_org": counted.by_org(),
            "top_violations": state.top("fail", TOP), "problems": problems,
            "filters": self.options.filters(),
            "run": {"resumed": self.progress.resumed, "evaluated": self.progress.evaluated,
                    "reused": self.progress.reused, "workers": self.workers, "seconds": round(seconds, 1)},
            "endpoint": (os.environ.get("HF_ENDPOINT") or HUB).rstrip("/"),
            "evaluated_at": self.options.today.isoformat(), "catalog_digest": self.bundle.catalog_digest,
            "packs": [{"id": p.id, "version": p.version, "digest": p.sha256} for p in self.bundle.packs],
            "disclaimer": DISCLAIMER,
        }


def _wait(running: set[Future[Any]]) -> tuple[set[Future[Any]], set[Future[Any]]]:
    done, pending = wait(running, return_when=FIRST_COMPLETED)
    return set(done), set(pending)


def audit_hub(options: HubAuditOptions, progress: Callable[[Progress], None] | None = None) -> HubAuditResult:
    """Judge every model the filters keep in `options.snapshot`; the result streams its rows from the state."""
    return HubAudit(options, progress).run()
