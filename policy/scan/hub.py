"""The Hub scanner: model and dataset facts through the real `huggingface_hub` client, never raw HTTP.

Per node: `model_info`/`dataset_info` with the expand fields we need (card data, sha, tags, siblings, gated,
private, lastModified, baseModels, and the pipeline_tag and library_name the Hub computes) — this reads the
license of gated repos too — then `README.md` downloaded pinned to that commit for the card body and the
`teacher_model` extension. Nodes are fetched in a small bounded thread pool, each once per run. Every failure
becomes a node status with a one-line reason (the engine turns it into a review finding), never a traceback:

- repo not found / private without access -> `missing`; gated without access -> `gated` (license from the API)
- revision not found, malformed card -> `invalid`
- 429 (Retry-After / RateLimit honoured within a bound), 5xx, timeouts, truncated bodies -> retried with
  backoff, then `unavailable`
- no network (a name that does not resolve, a refused connection) -> `unavailable` at once, for every node of
  the run: it is not a transient fault, and the reason suggests `--offline`
- each target's Hub work (its subject and whole lineage; a run of one target: the run's) has one overall
  deadline (`POLICYCHECK_HUB_DEADLINE`, default 60 s): whatever has not arrived by then is `unavailable` with
  that reason, so a Hub that accepts connections and never answers costs the deadline, not minutes per node;
  and when not one request was answered before it, the Hub counts as down for the rest of the run
- a node the Hub cannot serve now (any of the faults above) that is in the warm cache is evaluated from the
  cache (`source: cache`, the date it was read in `status_detail`)

The client's own log lines and warnings (`Retrying in 1s [Retry 1/5]`) are silenced: each node's failure is
one line of policycheck's own.

The client's own cache (`HF_HOME`/`HF_HUB_CACHE`) keeps the pinned READMEs; beside it, under
`$HF_HOME/policycheck/`, a small record of each repo's API answer lets `--offline` (or `HF_HUB_OFFLINE=1`)
evaluate a warm cache without a single request.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from policy.errors import InputError
from policy.model.facts import GATED, INVALID, MISSING, OK, UNAVAILABLE, CardNote, DeclaredLicense, ModelFacts
from policy.scan.cards import check_card_fields, declared_license, decode_card, parse_card
from policy.scan.hubclient import HubOptions, TooLarge, TooSlow, TransferRefused, Watchdog, limited
from policy.scan.hubclient import one_line as _one_line
from policy.scan.hubclient import prepare_environment as _prepare_environment
from policy.scan.hubclient import quiet_client as _quiet_client
from policy.scan.ids import repo_id_problem
from policy.textsafe import encodable

if TYPE_CHECKING:
    from concurrent.futures import Future

    from policy.scan.headers import GgufHeader

__all__ = ["HubOptions", "HubSource", "_one_line", "_prepare_environment", "_quiet_client", "hub_json", "hub_word"]

T = TypeVar("T")
EXPAND = ["cardData", "sha", "tags", "siblings", "gated", "private", "lastModified"]
# model-index: the Hub's own `verified` of each claim; config: model_type and architectures (evidence, and what
# kind of model it is); pipeline_tag and library_name: what the Hub computes for every model, even when its card
# says nothing (hub-api.md §7), so that a student whose card has no pipeline_tag is still known to be an LLM
MODEL_EXPAND = [*EXPAND, "baseModels", "model-index", "config", "pipeline_tag", "library_name"]
_HUB_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a task or library id as the Hub writes them
EVAL_RESULTS_DIR = ".eval_results/"
MAX_EVAL_FILES = 20
_RATELIMIT_T = re.compile(r"\bt=(\d+(?:\.\d+)?)")
LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENSE-MODEL", "license.txt")

GATED_DETAIL = "gated: the card body is not readable without access; license from the Hub API"


class _Unavailable(Exception):
    """A failure in words a reader of a legal document follows (one line, no URL, no exception text); the
    technical detail (exception type, status, the client's message with URLs and tokens removed) apart, for the
    JSON report only."""

    def __init__(self, message: str, technical: str = "") -> None:
        super().__init__(message)
        self.technical = technical


class _HubDown(_Unavailable):
    """No network (the endpoint does not resolve or refuses connections): every node fails fast."""


class _DeadlinePassed(_Unavailable):
    """The run's Hub deadline has passed: nothing more is asked."""


API_SETTING = "POLICYCHECK_HUB_MAX_API_MB"
CARD_SETTING = "POLICYCHECK_HUB_MAX_CARD_MB"
CLOSE_GRACE = 2.0  # seconds the end of a run waits for stopped transfers to clean up after themselves


class _DaemonPool:
    """A fixed set of daemon worker threads behind `submit`, like ThreadPoolExecutor's but for one difference:
    ThreadPoolExecutor's workers are joined when the interpreter exits, so one request that never ends (a server
    that drips its answer) kept the process alive after its report was written. These never hold up the exit."""

    def __init__(self, workers: int, name: str) -> None:
        import queue

        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue())
        self._max = max(1, workers)
        self._name = name
        self._lock = threading.Lock()
        self._closed = False
        self.threads: list[threading.Thread] = []

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        from concurrent.futures import Future

        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            self._queue.put((future, fn, args))
            if len(self.threads) < self._max:  # idle workers wait on the queue; at most `workers` of them
                thread = threading.Thread(target=self._work, name=f"{self._name}_{len(self.threads)}", daemon=True)
                thread.start()  # listed once started: a Ctrl-C during start() leaves no thread to join
                self.threads.append(thread)
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to whoever asks for the result
                    future.set_exception(exc)

    def shutdown(self) -> None:
        """Cancel what has not started; the workers end after their current task."""
        import queue

        with self._lock:
            self._closed = True
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in self.threads:
            self._queue.put(None)


class HubSource:
    """Ancestor (and subject) facts from the Hub. Thread-safe; each (id, kind, revision) is fetched once."""

    def __init__(self, options: HubOptions | None = None, is_api: Callable[[str], object] = lambda _: False,
                 needs_license_text: Callable[[DeclaredLicense], bool] = lambda _: False) -> None:
        self.options = options or HubOptions.from_env()
        self._is_api = is_api
        self._needs_text = needs_license_text
        _prepare_environment(self.options)
        _quiet_client()
        from huggingface_hub import constants

        self._api_client: Any = None
        self.endpoint = constants.ENDPOINT
        self._record_dir = Path(constants.HF_HOME) / "policycheck" / "api"
        self._futures: dict[tuple[str, str, str | None], Future[ModelFacts]] = {}
        self._lock = threading.Lock()
        self._pool: _DaemonPool | None = None  # started by the first fetch (see _submit)
        self._spawned: set[threading.Thread] = set()  # speculative work on daemon threads, while it runs
        self._watchdog = Watchdog()  # stops each transfer at its target's deadline, and all at close()
        self._read_offline: dict[tuple[str, str, str | None], ModelFacts] = {}
        self._named: dict[str, list[str]] = {}  # display name -> Hub ids (ids_named)
        # Early README downloads overlap each node's model_info (at most one per node in flight, so bounded by
        # the pool); with one worker, requests stay one at a time.
        self._early = self.options.workers > 1 and not self.options.offline
        self._down: str | None = None
        self._down_technical = ""  # the endpoint and the error, for the JSON report
        self._deadline_at: float | None = None  # monotonic time; set by the first request of each target
        self._answered = False  # a request of the current target got an answer (any HTTP status)

    @property
    def _api(self) -> Any:
        if self._api_client is None:  # the HTTP stack is imported only when a request is due
            from huggingface_hub import HfApi

            self._api_client = HfApi()
        return self._api_client

    def close(self) -> None:
        """The run's Hub work is over: fetches not started are cancelled, bodies still being read are stopped
        (the client removes a download's partial file as it fails), and the threads still busy get a moment
        (CLOSE_GRACE) to finish that clean-up. None of them can hold up the exit: they are daemon threads."""
        if self._pool is not None:
            self._pool.shutdown()
        self._watchdog.close()
        with self._lock:
            busy = [*self._spawned, *(self._pool.threads if self._pool is not None else ())]
        end = time.monotonic() + CLOSE_GRACE
        for thread in busy:  # idle workers end at once (shutdown() woke them)
            if thread.ident is not None:  # started (a Ctrl-C can land between creating a thread and starting it)
                thread.join(max(0.0, end - time.monotonic()))

    # -- the deadline ------------------------------------------------------------------------------------
    def start_target(self) -> None:
        """A new target of the batch: its Hub work gets a deadline of its own, from its first request."""
        with self._lock:
            self._deadline_at = None
            self._answered = False

    def _remaining(self) -> float:
        if self._deadline_at is None:
            return self.options.run_deadline
        return self._deadline_at - time.monotonic()

    def _deadline_detail(self) -> str:
        return (f"no answer from the Hub within the deadline of {self.options.run_deadline:g} s "
                "(POLICYCHECK_HUB_DEADLINE or --hub-deadline)")

    def _expire(self) -> None:
        if not self._answered and not self._down:  # accepts connections, never answers: down for this run
            self._down = (f"the Hub answered nothing within the deadline of {self.options.run_deadline:g} s; "
                          "without a working Hub, use --offline to evaluate from the cache, local cards and "
                          "curations")
            self._down_technical = f"endpoint {self.endpoint}"

    def _late(self, what: str) -> _DeadlinePassed:
        """The error for `what`, still on its way when the deadline passed."""
        self._expire()
        return _DeadlinePassed(f"{what} did not arrive whole within the deadline of {self.options.run_deadline:g} "
                               "s (POLICYCHECK_HUB_DEADLINE or --hub-deadline)")

    def _check_deadline(self) -> None:
        if self._remaining() <= 0:
            self._expire()
            raise _DeadlinePassed(self._deadline_detail())

    def _timeout(self) -> float:
        """Seconds for the next request: the per-request timeout, capped by what is left of the deadline."""
        return max(0.2, min(self.options.timeout, self._remaining()))

    def _wait(self, fut: Future[ModelFacts], repo_id: str, kind: str, revision: str | None = None) -> ModelFacts:
        from concurrent.futures import TimeoutError as FutureTimeout

        try:
            return fut.result(timeout=max(0.0, self._remaining()) + 1.0)
        except FutureTimeout:
            self._expire()
            return self._cache_fallback(_node(repo_id, kind, UNAVAILABLE, self._deadline_detail()), revision)

    # -- NodeSource ----------------------------------------------------------------------------------------
    def fetch_many(self, keys: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], ModelFacts]:
        if self.options.offline:
            return {key: self._offline(key[0], key[1], None) for key in keys}
        futures = {key: self._submit(key[0], key[1], None) for key in keys}
        return {key: self._wait(fut, *key) for key, fut in futures.items()}

    def fetch_one(self, repo_id: str, kind: str = "model", revision: str | None = None) -> ModelFacts:
        if self.options.offline:
            return self._offline(repo_id, kind, revision)
        return self._wait(self._submit(repo_id, kind, revision), repo_id, kind, revision)

    def _offline(self, repo_id: str, kind: str, revision: str | None) -> ModelFacts:
        """Offline, a node is read from the local cache on the spot: nothing to wait for, so no pool and no
        deadline (the pre-commit hook never starts a thread); each node is still read once."""
        key = (repo_id, kind, revision)
        with self._lock:
            facts = self._read_offline.get(key)
        if facts is None:
            facts = self._fetch(repo_id, kind, revision)
            with self._lock:
                facts = self._read_offline.setdefault(key, facts)
        return facts

    def _submit(self, repo_id: str, kind: str, revision: str | None, depth: int = 0) -> Future[ModelFacts]:
        # concurrent.futures (and the logging it imports) waits until the first request: offline runs (the
        # pre-commit hook) never import it.
        from concurrent.futures import Future

        key = (repo_id, kind, revision)
        with self._lock:
            if self._pool is None:
                self._pool = _DaemonPool(self.options.workers, "policycheck-hub")
            if self._deadline_at is None and not self.options.offline:
                self._deadline_at = time.monotonic() + self.options.run_deadline
            fut = self._futures.get(key)
            if fut is None:
                try:
                    fut = self._pool.submit(self._fetch_and_prefetch, repo_id, kind, revision, depth)
                except RuntimeError:  # the pool is shut down (a late prefetch): nothing more is fetched
                    fut = Future()
                    fut.set_result(_node(repo_id, kind, UNAVAILABLE, self._deadline_detail()))
                self._futures[key] = fut
            return fut

    def _fetch_and_prefetch(self, repo_id: str, kind: str, revision: str | None, depth: int) -> ModelFacts:
        """Fetch a node, then start on the parents its card declares without waiting for the lineage walk to
        ask: a deep or wide lineage is fetched as fast as the pool allows, not one level at a time."""
        facts = self._fetch(repo_id, kind, revision)
        if facts.status in (OK, GATED) and depth < self.options.prefetch_depth and self._remaining() > 0:
            from policy.scan.lineage import card_edges

            for edge in card_edges(facts, self._is_api):
                if edge.parent_kind != "api" and repo_id_problem(edge.parent) is None:
                    self._submit(edge.parent, edge.parent_kind, None, depth + 1)
        return facts

    # -- one node ------------------------------------------------------------------------------------------
    def _fetch(self, repo_id: str, kind: str, revision: str | None) -> ModelFacts:
        problem = repo_id_problem(repo_id)
        if problem:
            return _node(repo_id, kind, INVALID, problem)
        try:
            if self.options.offline:
                return self._from_cache(repo_id, kind, revision)
            facts = self._from_hub(repo_id, kind, revision)
        except _Unavailable as exc:
            facts = _node(repo_id, kind, UNAVAILABLE, str(exc), exc.technical)
        except Exception as exc:  # a client error we did not foresee: one plain line, still not a pass
            facts = _node(repo_id, kind, UNAVAILABLE, _plain_failure(exc, repo_id, kind), _technical(exc))
        if facts.status == UNAVAILABLE:
            return self._cache_fallback(facts, revision)
        return facts

    def _cache_fallback(self, failed: ModelFacts, revision: str | None) -> ModelFacts:
        """The Hub could not serve a node now: the warm cache gives the report an offline run would give,
        saying so (`source: cache`); else the failure stands."""
        record = self._load_record(failed.id, failed.kind, revision)
        if record is None:
            return failed
        try:
            cached = self._facts(record, revision, online=False)
        except Exception:
            return failed
        if cached.status == UNAVAILABLE:
            return failed
        when = str(record.get("retrieved_at") or "an unknown date")[:10]
        detail = f"Hub unreachable; evaluated from the cache of {when} ({failed.status_detail})"
        if cached.status_detail:
            detail = f"{cached.status_detail}; {detail}"
        return replace(cached, source="cache", status_detail=detail)

    def _from_hub(self, repo_id: str, kind: str, revision: str | None) -> ModelFacts:
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

        info_fn = self._api.model_info if kind == "model" else self._api.dataset_info
        expand = MODEL_EXPAND if kind == "model" else EXPAND
        # The README download does not have to wait for the commit sha: start it now at the same revision and
        # keep it if it resolved to the commit model_info reports (else download it pinned afterwards).
        early = None
        if self._early and not self._down:
            _probe_symlinks(repo_id, kind)  # before the daemon download below, never on it
            early = self._spawn(self._download_readme, repo_id, kind, revision or "main")
        try:
            info = self._call(lambda: info_fn(repo_id, revision=revision, expand=expand,
                                              timeout=self._timeout()), f"the {kind} info of {repo_id}",
                              self.options.max_api_bytes, API_SETTING)
        except RevisionNotFoundError:
            return _node(repo_id, kind, INVALID, f"revision '{revision}' not found in {repo_id}")
        except GatedRepoError:
            return _node(repo_id, kind, GATED, "gated repo: the Hub did not return its metadata without access")
        except RepositoryNotFoundError:
            return _node(repo_id, kind, MISSING, f"{kind} repo not found on the Hub (or private without access)")
        record = _record_from_info(info, repo_id, kind)
        self._save_record(record, revision)
        return self._facts(record, revision, online=True, early=early)

    def _from_cache(self, repo_id: str, kind: str, revision: str | None) -> ModelFacts:
        record = self._load_record(repo_id, kind, revision)
        if record is None:
            return _node(repo_id, kind, UNAVAILABLE,
                         "not available offline (not in the local Hub cache; run once online, or give a local "
                         "card or a curation)")
        return self._facts(record, revision, online=False)

    def _download_readme(self, repo_id: str, kind: str, revision: str) -> str:
        """The early README download: once, no retries (the pinned download after model_info retries)."""
        from huggingface_hub import hf_hub_download

        with self._limited(f"README.md of {repo_id}", self.options.max_card_bytes, CARD_SETTING):
            return hf_hub_download(repo_id, "README.md", repo_type=kind, revision=revision,
                                   etag_timeout=self._timeout())

    def _readme(self, repo_id: str, kind: str, sha: str | None, revision: str | None,
                early: Future[str] | None) -> str:
        """The README's local path, pinned to `sha`: from the early download when it resolved to that commit."""
        from concurrent.futures import TimeoutError as FutureTimeout

        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import GatedRepoError, RemoteEntryNotFoundError, RepositoryNotFoundError

        deadline = max(0.0, min(self.options.deadline, self._remaining()))
        if early is not None:
            try:
                path = early.result(timeout=deadline)
                if sha is None or Path(path).parent.name == sha:  # .../snapshots/<commit>/README.md
                    return path
            except (GatedRepoError, RepositoryNotFoundError, RemoteEntryNotFoundError):
                raise  # definitive answers: asking again pinned would only repeat them
            except TooLarge as exc:
                raise _Unavailable(str(exc)) from None  # the same card, pinned, is as large
            except Exception:  # transient, or no answer in time: the pinned download below decides
                pass
        what = f"README.md of {repo_id}"
        if self._remaining() <= 0:
            raise self._late(what)
        # The client retries downloads on its own (and honours Retry-After without a cap): bound the wait.
        pinned = self._spawn(self._call, lambda: hf_hub_download(
            repo_id, "README.md", repo_type=kind, revision=sha or revision, etag_timeout=self._timeout()),
            what, self.options.max_card_bytes, CARD_SETTING)
        deadline = max(0.0, min(self.options.deadline, self._remaining()))
        try:
            return pinned.result(timeout=deadline)
        except FutureTimeout:
            if self._remaining() <= 0:
                raise self._late(what) from None
            raise _Unavailable(f"{what}: no answer within {deadline:g} s") from None

    def _facts(self, record: Mapping[str, Any], revision: str | None, *, online: bool,
               early: Future[str] | None = None) -> ModelFacts:
        repo_id, kind, sha = record["id"], record["kind"], record.get("sha")
        files = tuple(record.get("files") or ())
        # The API's cardData gets the same shape checks as front matter: text fields that are not text are
        # dropped and noted, never turned into text.
        api_fields, api_notes = check_card_fields(record.get("card_data") or {})
        fields: dict[str, Any] = api_fields
        notes: list[CardNote] = []
        body = ""
        card_lines: dict[str, int] = {}
        body_line = 1
        status, detail = OK, ""
        gated = record.get("gated") or False
        if "README.md" not in files:
            notes.append(CardNote("no-readme", "the repo has no README.md (model card); metadata from the Hub API"))
        elif record.get("readme") == "gated":  # known from the online run that wrote this record
            status, detail = GATED, GATED_DETAIL
        else:
            outcome, path = (self._readme_online(record, revision, early) if online
                             else self._readme_cached(repo_id, kind, sha))
            if outcome == "gated":
                status, detail = GATED, GATED_DETAIL
            elif outcome == "not-served":
                notes.append(CardNote("no-readme", "README.md listed but not served; metadata from the Hub API"))
            elif outcome == "not-cached":
                return _node(repo_id, kind, UNAVAILABLE, "not available offline (card not in the local Hub cache)")
            else:
                name = f"{repo_id}@{(sha or 'main')[:12]}/README.md"
                try:
                    card = parse_card(decode_card(Path(path).read_bytes(), name), name)
                except InputError as exc:
                    return ModelFacts(id=repo_id, kind=kind, source="hub", status=INVALID,
                                      status_detail=exc.message, revision=sha, files=files,
                                      retrieved_at=record.get("retrieved_at"))
                fields, body, card_lines = dict(card.fields), card.body, dict(card.key_lines)
                body_line = card.body_line
                notes.extend(card.notes)
                api_notes = []  # the README's own front matter replaces the API's card data
        notes.extend(api_notes)
        if gated and status == OK:
            detail = f"gated ({gated}); card read with access"
        declared = declared_license(fields, "card")
        if status == OK and self._needs_text(declared):
            declared = self._with_license_text(record, declared, online)
        return ModelFacts(
            id=repo_id, kind=kind, source="hub", status=status, status_detail=detail, revision=sha,
            last_modified=record.get("last_modified"), license=declared, card=fields,
            card_text=body, files=files, notes=tuple(notes), gated=gated, hub_relation=record.get("relation"),
            retrieved_at=record.get("retrieved_at"), requested_revision=revision, card_lines=card_lines,
            body_line=body_line, hub_model_index=record.get("model_index"), config=record.get("config") or {},
            hub_task=hub_word(record.get("pipeline_tag")), hub_library=hub_word(record.get("library_name")),
            eval_results=self._eval_results(record, online) if status == OK and kind == "model" else {})

    def ids_named(self, name: str) -> list[str]:
        """The Hub model ids whose repo name is `name` (case and separators ignored), most downloaded first, from
        one search of the Hub's model listing (at most 50 results, within the deadline); empty offline, when
        the Hub is down or nothing answers in time. Each name is asked once per process."""
        from policy.scan.local import name_key

        cache = self._named
        if name in cache:
            return cache[name]
        if self.options.offline or self._down or not name.strip():
            return []
        want = name_key(name)

        def search() -> list[str]:
            out = []
            for i, info in enumerate(self._api.list_models(search=name, sort="downloads", limit=50)):
                if i >= 50:
                    break
                repo_id = getattr(info, "id", None)
                if isinstance(repo_id, str) and "/" in repo_id and name_key(repo_id.split("/", 1)[1]) == want:
                    out.append(repo_id)
            return out

        try:
            found = self._spawn(self._call, search, f"the Hub's search for {name!r}", self.options.max_api_bytes,
                                API_SETTING).result(timeout=max(0.0, min(self.options.deadline, self._remaining())))
        except Exception:  # no answer, too slow, too large: the name is reported as written
            found = []
        cache[name] = found
        return found

    def license_file(self, facts: ModelFacts) -> tuple[str, str] | None:
        """The repo's LICENSE file (name, text) at the commit evaluated, at most MAX_LICENSE_FILE bytes: downloaded
        online, else from the client's cache. None when the repo lists none, or it cannot be read in time."""
        from policy.scan.local import LICENSE_FILE_NAMES, MAX_LICENSE_FILE

        files = set(facts.files)
        names = [n for n in LICENSE_FILE_NAMES if n in files]
        if not names or not facts.revision or facts.kind != "model":
            return None
        record = {"id": facts.id, "kind": facts.kind, "sha": facts.revision}
        online = not (self.options.offline or self._down)
        try:
            path = self._pinned_file(record, names[0], online, MAX_LICENSE_FILE)
            with open(path, "rb") as fh:
                raw = fh.read(MAX_LICENSE_FILE + 1)
        except Exception:  # not served, not cached, too slow, too large: the card's license is still judged
            return None
        if len(raw) > MAX_LICENSE_FILE:
            return None
        return names[0], raw.decode("utf-8", errors="replace")

    def file_hashes(self, repo_id: str, revision: str | None, keep: Callable[[str], bool]) -> dict[str, str]:
        """path -> content hash of the repo's files that `keep` accepts, from the Hub's file listing pinned to
        `revision` (no file is downloaded): the sha256 of an LFS file, `git:<blob id>` of a regular one (a
        tokenizer.json is often not in LFS); empty when offline or when the listing cannot be read in time."""
        if self.options.offline or self._down or not revision:
            return {}

        def listing() -> dict[str, str]:
            out: dict[str, str] = {}
            for i, entry in enumerate(self._api.list_repo_tree(repo_id, revision=revision, recursive=True)):
                if i >= 5000:
                    break
                lfs = getattr(entry, "lfs", None)
                sha = getattr(lfs, "sha256", None) if lfs is not None else None
                blob = getattr(entry, "blob_id", None)
                path = getattr(entry, "path", None)
                if not isinstance(path, str) or not keep(path):
                    continue
                if isinstance(sha, str):
                    out[path] = sha.lower()
                elif isinstance(blob, str):
                    out[path] = f"git:{blob.lower()}"
            return out

        try:
            return self._spawn(self._call, listing, f"the file listing of {repo_id}", self.options.max_api_bytes,
                               API_SETTING).result(
                timeout=max(0.0, min(self.options.deadline, self._remaining())))
        except Exception:  # no listing, no fingerprint evidence; the license verdict does not rest on it
            return {}

    def gguf_header(self, repo_id: str, filename: str, revision: str | None) -> GgufHeader:
        """The GGUF header of one of a repo's files (policy.scan.headers, by range reads), within the current
        target's deadline. It is read on a daemon thread and waited for until the deadline: a server that drips
        even its status line cannot hold up the run. Raises `HeaderError` (with what was read before the
        failure, when anything was: `HeaderError.partial`)."""
        from concurrent.futures import TimeoutError as FutureTimeout

        from policy.scan.headers import HeaderError, read_gguf_header

        if self.options.offline:
            return read_gguf_header(repo_id, filename, revision, self.options)  # raises: not readable offline
        if self._down:
            raise HeaderError(f"{filename} of {repo_id}: not read, {self._down}")
        with self._lock:
            if self._deadline_at is None:
                self._deadline_at = time.monotonic() + self.options.run_deadline
        future = self._spawn(read_gguf_header, repo_id, filename, revision, self.options,
                             deadline=self._deadline_at, watchdog=self._watchdog)
        try:
            return future.result(timeout=max(0.0, self._remaining()) + 1.0)
        except FutureTimeout:
            raise HeaderError(f"{filename} of {repo_id}: {self._deadline_detail()}") from None

    def _eval_results(self, record: Mapping[str, Any], online: bool) -> dict[str, Any]:
        """The repo's `.eval_results/*.yaml` (the Hub's newer evaluation format), pinned to its commit; at most
        20 files, each within the deadline; a file that cannot be read or parsed is left out."""
        from policy.scan.local import MAX_EVAL_BYTES, parse_eval_results

        names = [f for f in record.get("files") or () if f.startswith(EVAL_RESULTS_DIR)
                 and f.lower().endswith((".yaml", ".yml")) and "/" not in f[len(EVAL_RESULTS_DIR):]]
        if not names or not record.get("sha"):
            return {}
        raw: dict[str, bytes] = {}
        for name in names[:MAX_EVAL_FILES]:
            try:  # online, a file over MAX_EVAL_BYTES is refused from its declared size, before its body
                data = Path(self._pinned_file(record, name, online, MAX_EVAL_BYTES)).read_bytes()
            except Exception:  # not served, not cached, too slow, too large: the card's own claims are still read
                continue
            if len(data) <= MAX_EVAL_BYTES:
                raw[name[len(EVAL_RESULTS_DIR):]] = data
        return parse_eval_results(raw)

    def _with_license_text(self, record: Mapping[str, Any], declared: DeclaredLicense,
                           online: bool) -> DeclaredLicense:
        """`license: other` that names nothing known: read the repo's LICENSE file (pinned), once, so the
        catalog can recognise the license by its title. Any failure leaves the license unknown (review)."""
        files = set(record.get("files") or ())
        link = (declared.link or "").strip().lstrip("./")
        candidates = [link] if link in files else [f for f in LICENSE_FILES if f in files]
        if not candidates or not record.get("sha"):
            return declared
        name = candidates[0]
        try:
            with open(self._pinned_file(record, name, online, self.options.max_card_bytes), encoding="utf-8",
                      errors="replace") as fh:
                head = fh.read(3000)
        except Exception:
            return declared
        return replace(declared, text=head, text_file=name)

    def _pinned_file(self, record: Mapping[str, Any], name: str, online: bool, max_bytes: int) -> str:
        """The local path of one of the repo's files at its commit: downloaded (within the deadline, at most
        `max_bytes`) when online, else from the client's cache (the documented snapshot layout). Raises when it
        is not there."""
        if online:
            from huggingface_hub import hf_hub_download

            return self._spawn(self._call, lambda: hf_hub_download(
                record["id"], name, repo_type=record["kind"], revision=record["sha"],
                etag_timeout=self._timeout()), f"{name} of {record['id']}", max_bytes).result(
                timeout=max(0.0, min(self.options.deadline, self._remaining())))
        from huggingface_hub import constants

        folder = f"{record['kind']}s--{record['id'].replace('/', '--')}"
        return str(Path(constants.HF_HUB_CACHE) / folder / "snapshots" / record["sha"] / name)

    def _readme_online(self, record: Mapping[str, Any], revision: str | None,
                       early: Future[str] | None) -> tuple[str, str]:
        from huggingface_hub.errors import (
            EntryNotFoundError,
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
        )

        repo_id = record["id"]
        try:
            return "ok", self._readme(repo_id, record["kind"], record.get("sha"), revision, early)
        except (GatedRepoError, RepositoryNotFoundError):
            self._save_record({**record, "readme": "gated"}, revision)  # so that --offline says the same
            return "gated", ""
        except LocalEntryNotFoundError:
            raise _Unavailable(f"README.md of {repo_id} could not be downloaded") from None
        except EntryNotFoundError:
            return "not-served", ""

    def _readme_cached(self, repo_id: str, kind: str, sha: str | None) -> tuple[str, str]:
        """The README of `sha` from the client's cache, without importing the client's HTTP stack (~0.3 s that
        an offline check, e.g. the pre-commit hook, would pay for nothing). The path follows the documented
        cache layout: `$HF_HUB_CACHE/<kind>s--<org>--<name>/snapshots/<commit>/README.md`."""
        from huggingface_hub import constants

        if not sha:
            return "not-cached", ""
        folder = f"{kind}s--{repo_id.replace('/', '--')}"
        path = Path(constants.HF_HUB_CACHE) / folder / "snapshots" / sha / "README.md"
        return ("ok", str(path)) if path.is_file() else ("not-cached", "")

    def _spawn(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Run `fn` on a daemon thread: speculative work that nobody may wait for must not hold up the exit
        (close() gives it CLOSE_GRACE to clean up after its transfers are stopped)."""
        from concurrent.futures import Future

        future: Future[T] = Future()

        def run() -> None:
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args, **kwargs))
                    except BaseException as exc:  # handed to whoever asks for the result
                        future.set_exception(exc)
            finally:
                with self._lock:
                    self._spawned.discard(thread)

        thread = threading.Thread(target=run, name="policycheck-hub-spec", daemon=True)
        with self._lock:
            self._spawned.add(thread)
        thread.start()
        return future

    # -- retries -------------------------------------------------------------------------------------------
    def _limited(self, what: str, max_bytes: int | None = None, setting: str = "") -> Any:
        """The bounds of one call's transfers (policy.scan.hubclient): the current target's deadline, held by
        the watchdog, and a size cap per response."""
        return limited(what, deadline=self._deadline_at, max_bytes=max_bytes, setting=setting,
                       watchdog=self._watchdog)

    def _call(self, fn: Callable[[], T], what: str, max_bytes: int | None = None, setting: str = "") -> T:
        """`fn()` (one client call) with retries for what is transient, within the target's deadline; every
        response it reads at most `max_bytes` long (a larger one is not retried: it would be as large again)."""
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        if self._down:
            raise _HubDown(self._down, self._down_technical)
        last = tech = ""
        for attempt in range(self.options.attempts):
            self._check_deadline()
            try:
                with self._limited(what, max_bytes, setting) as limits:
                    try:
                        result = fn()
                    finally:  # a response that came (however slowly) shows the Hub is up
                        self._answered = self._answered or limits.answered
                self._answered = True
                return result
            except TooSlow as exc:  # the deadline passed while the body was read (or the run ended)
                if self._remaining() > 0:
                    raise _Unavailable(str(exc)) from None
                raise self._late(what) from None
            except TransferRefused as exc:  # too large, or not countable: asking again would get the same
                raise _Unavailable(str(exc)) from None
            except HfHubHTTPError as exc:
                self._answered = True
                code = exc.response.status_code if exc.response is not None else None
                if code == 429:
                    wait = _retry_after(exc.response)
                    last = f"rate limited by the Hub (429) on {what}"
                    if wait > self.options.max_wait:
                        raise _Unavailable(f"{last}; the Hub asks to wait {wait:.0f} s") from None
                elif code in (408, 500, 502, 503, 504):
                    wait = self._backoff(attempt)
                    last = f"the Hub answered {code} on {what}"
                else:
                    raise
            except LocalEntryNotFoundError as exc:
                if os.environ.get("HF_HUB_OFFLINE") == "1" or "outgoing traffic" in str(exc):
                    raise
                wait, last, tech = self._backoff(attempt), f"the download of {what} failed", _technical(exc)
            except httpx2.ConnectError as exc:  # (a ConnectTimeout is a timeout, retried below)
                # The name does not resolve or the connection is refused: no network, so no retry, and no
                # later node of this run asks again.
                self._down = (f"cannot connect to the Hub ({_connect_reason(exc)}); without network, use "
                              "--offline to evaluate from the cache, local cards and curations")
                self._down_technical = f"{_technical(exc)} (endpoint {self.endpoint})"
                raise _HubDown(self._down, self._down_technical) from None
            except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
                wait = self._backoff(attempt)
                last = f"no answer from the Hub for {what} within {self.options.timeout:g} s"
                tech = type(exc).__name__
            except (json.JSONDecodeError, ValueError, OSError) as exc:  # truncated or corrupt bodies
                if isinstance(exc, HfHubHTTPError):
                    raise
                wait, tech = self._backoff(attempt), _technical(exc)
                last = f"the Hub's answer for {what} could not be read"
            if attempt < self.options.attempts - 1:
                if wait >= self._remaining():
                    self._check_deadline()
                    self._expire()
                    raise _DeadlinePassed(f"{last}; {self._deadline_detail()}", tech)
                time.sleep(wait)
        raise _Unavailable(f"{last}; gave up after {self.options.attempts} attempts", tech)

    def _backoff(self, attempt: int) -> float:
        base = self.options.backoff * (2**attempt)
        return min(8.0, base * (0.8 + 0.4 * random.random()))

    # -- the API record kept beside the client's cache -----------------------------------------------------
    def _record_path(self, repo_id: str, kind: str, revision: str | None) -> Path:
        safe = repo_id.replace("/", "--")
        return self._record_dir / f"{kind}s" / safe / f"{(revision or 'main').replace('/', '%2F')}.json"

    def _save_record(self, record: Mapping[str, Any], revision: str | None) -> None:
        paths = {self._record_path(record["id"], record["kind"], revision)}
        if record.get("sha"):
            paths.add(self._record_path(record["id"], record["kind"], record["sha"]))
        for path in paths:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
                tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
                os.replace(tmp, path)
            except OSError:
                return  # a read-only cache only costs the offline mode

    def _load_record(self, repo_id: str, kind: str, revision: str | None) -> dict[str, Any] | None:
        try:
            record = hub_json(json.loads(self._record_path(repo_id, kind, revision).read_text(encoding="utf-8")))
        except (OSError, ValueError, RecursionError):
            return None
        return record if isinstance(record, dict) else None


def _probe_symlinks(repo_id: str, kind: str) -> None:
    """Have the client test symlink support in the repo's cache folder now, before any download into it. Its
    first download into a folder runs that test in a temporary directory; on a daemon thread still downloading
    when the process ends, the interpreter's clean-up of that directory races the test and prints a traceback.
    Every fetch runs on a daemon thread (none may hold up the exit), so the test runs on a short-lived thread
    that is not a daemon: local files only, it takes milliseconds, and the exit waits for it to finish."""

    def probe() -> None:
        try:
            from huggingface_hub import constants
            from huggingface_hub.file_download import are_symlinks_supported, repo_folder_name

            are_symlinks_supported(Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type=kind))
        except (ImportError, OSError, ValueError):
            pass  # another client layout, or a read-only cache: the download decides as before

    thread = threading.Thread(target=probe, name="policycheck-symlink-probe", daemon=False)  # (else inherited)
    thread.start()
    thread.join()


def _record_from_info(info: Any, repo_id: str, kind: str) -> dict[str, Any]:
    card_data = info.card_data.to_dict() if getattr(info, "card_data", None) is not None else {}
    relation = None
    base_models = getattr(info, "base_models", None)
    if isinstance(base_models, Mapping):
        relation = base_models.get("relation")
    last = getattr(info, "last_modified", None)
    return hub_json({  # type: ignore[no-any-return]
        "id": repo_id, "kind": kind, "sha": info.sha,
        "files": sorted(s.rfilename for s in (info.siblings or [])),
        "card_data": card_data, "gated": info.gated or False, "private": bool(info.private),
        "last_modified": last, "tags": list(info.tags or []), "relation": relation,
        "model_index": getattr(info, "model_index", None),
        "config": _architecture(getattr(info, "config", None)),
        "pipeline_tag": hub_word(getattr(info, "pipeline_tag", None)),
        "library_name": hub_word(getattr(info, "library_name", None)),
        "retrieved_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    })


def _architecture(config: Any) -> dict[str, Any]:
    """`model_type` and `architectures` of the Hub's config summary, as short strings only (hostile data)."""
    if not isinstance(config, Mapping):
        return {}
    out: dict[str, Any] = {}
    model_type = config.get("model_type")
    if isinstance(model_type, str) and len(model_type) <= 100:
        out["model_type"] = model_type
    archs = config.get("architectures")
    if isinstance(archs, list):
        out["architectures"] = [a for a in archs[:8] if isinstance(a, str) and len(a) <= 100]
    return out


def hub_word(value: Any) -> str | None:
    """A task or library id from the Hub's answer (or a record or state file kept of it), or None when it is not
    one: hostile data is never quoted at length in a finding."""
    return value if isinstance(value, str) and _HUB_WORD.fullmatch(value) else None


def _retry_after(response: Any) -> float:
    headers = response.headers if response is not None else {}
    match = _RATELIMIT_T.search(headers.get("RateLimit", "") or "")
    if match:
        return float(match.group(1)) + 1
    try:
        return float(headers.get("Retry-After", 1))
    except ValueError:
        return 1.0


def _node(repo_id: str, kind: str, status: str, detail: str, technical: str = "") -> ModelFacts:
    return ModelFacts(id=repo_id, kind=kind, source="hub", status=status, status_detail=detail, technical=technical)


def _plain_failure(exc: BaseException, repo_id: str, kind: str) -> str:
    """What an unforeseen client error means for the reader: by the HTTP status when there is one."""
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    if code in (401, 404, 410):
        return f"{kind} '{repo_id}' is not on the Hub, or is private"
    if code == 403:
        return f"the Hub refused access to {kind} '{repo_id}' (gated or private)"
    if code == 429:
        return f"the Hub refused more requests for now (rate limit) while reading {kind} '{repo_id}'"
    if isinstance(code, int) and code >= 500:
        return f"the Hub failed to answer for {kind} '{repo_id}' (server error {code})"
    return f"{kind} '{repo_id}' could not be read from the Hub"


def _technical(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _connect_reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words: a name that does not resolve, or a refusal."""
    text = _one_line(exc).lower()
    if any(s in text for s in ("name or service", "nodename", "getaddrinfo", "name resolution", "no address")):
        return "the host name does not resolve"
    if "refused" in text:
        return "connection refused"
    return _one_line(exc)[:80] or type(exc).__name__


def hub_json(value: Any) -> Any:
    """A value of the Hub's JSON (or of the record kept from it) as policycheck keeps it: keys as text, dates as
    ISO text, and every lone UTF-16 surrogate replaced by U+FFFD. JSON may escape half a surrogate pair
    (`"\\ud800"`) and Python's parser keeps it as it is: a string that no UTF-8 writer can encode, so one such
    card field crashed every output format of a whole batch. The one place Hub JSON enters goes through this."""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, Mapping):
        return {hub_json(str(k)): hub_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [hub_json(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value
