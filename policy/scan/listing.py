"""Descendants of a model for the tree audit, from the Hub's listing through `huggingface_hub` (never raw HTTP).

One `list_models(filter="base_model:<node>", expand=EXPAND)` per node carries, for every child, what the rules
need (card data, sha, tags, gated, downloads, lastModified), 1,000 per page, pages followed lazily: never one
request per child. The Hub's `base_model:<id>` tag names a repo's *declared* parents only (hub-api.md §3.1:
"a bare tag, one per declared parent"; §3.2: `baseModels` gives only the immediate parents), so the listing of
`base_model:<root>` returns the root's children, not its grandchildren. The walk is therefore breadth-first,
one listing per discovered node (the listing offers no way to know whether a node has children:
`childrenModelCount` is refused there, huggingface_hub#3182, and asking `model_info` for it would itself be
one request per node). Cost: exactly 1 + (descendants at depth < `max_depth`) listings, plus one request per
further 1,000 children of a node; the listings of the next nodes of the frontier run in parallel
(`HubOptions.workers`), consumed in breadth-first order so the output never depends on timing.

Relation of a child to the parent it was found under: the Hub's tag `base_model:<relation>:<parent>`, else
the card's `base_model_relation`, else inferred as the Hub does and marked `inferred`; the one inference of
`policy.scan.relations`, given what the listing has (the Hub's tags and the card data; no file list).

Card data is hostile: it goes through `policy.cards.check_card_fields` (only the shapes the Hub defines).
Retries: each page request is retried by the client itself (`http_backoff`: 429 honouring `RateLimit`/
`Retry-After` (+1 s), 408/5xx and network errors with backoff 1 s doubling to 8 s, at most 5 retries,
hub-api.md §4.5). The client caps neither a `Retry-After` nor the time a page may take, so each page gets a
deadline here (`HubOptions.deadline`, the timeout, attempts and longest honoured wait of hub.py): a listing
that still fails, or has no answer in time, raises `ListingError` with the reason.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from policy.model.facts import OK, WEIGHT_RELATIONS, ModelFacts
from policy.scan.cards import as_id_list, check_card_fields, declared_license
from policy.scan.hub import HubOptions, _one_line, _prepare_environment, _quiet_client
from policy.scan.ids import repo_id_problem
from policy.scan.relations import Relation, relation_to

EXPAND = ["cardData", "sha", "tags", "gated", "downloads", "lastModified"]
PAGE_SIZE = 1000  # the Hub's page of a listing; pages are pulled from the client one at a time


@dataclass(frozen=True, slots=True)
class Descendant:
    id: str
    parent: str  # the node it was found under (its first parent in breadth-first order)
    relation: str  # finetune | adapter | merge | quantized
    inferred: bool  # the relation was inferred here, not stated by the Hub's tag or the card
    depth: int  # 1 for a child of the root
    sha: str | None
    downloads: int
    gated: bool | str  # False | "auto" | "manual"
    card_data: Mapping[str, Any]  # shape-checked card data (check_card_fields)
    tags: tuple[str, ...]
    last_modified: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "parent": self.parent, "relation": self.relation, "inferred": self.inferred,
                "depth": self.depth, "sha": self.sha, "downloads": self.downloads, "gated": self.gated,
                "card_data": dict(self.card_data), "tags": list(self.tags), "last_modified": self.last_modified}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Descendant:
        return cls(id=str(d["id"]), parent=str(d["parent"]), relation=str(d["relation"]),
                   inferred=bool(d.get("inferred", False)), depth=int(d["depth"]), sha=d.get("sha"),
                   downloads=int(d.get("downloads") or 0), gated=d.get("gated") or False,
                   card_data=dict(d.get("card_data") or {}), tags=tuple(d.get("tags") or ()),
                   last_modified=d.get("last_modified"))


def listing_facts(d: Descendant) -> ModelFacts:
    """The facts the listing carries for a descendant: its card data as the Hub parsed it (licenses, bases,
    teachers, datasets), sha, gating and its relation: the one the Hub's tags state or, when they state none,
    the one inferred from them (so that the lineage judged for the row has the row's relation; the tags
    themselves are not kept). No card body and no file list: a rule that needs them (a `license: other` known
    only from the LICENSE file) needs the full fetch instead."""
    detail = "card metadata from the Hub listing"
    if d.gated:
        detail = f"gated ({d.gated}); {detail}, which the Hub serves without access"
    return ModelFacts(
        id=d.id, kind="model", source="hub", status=OK, status_detail=detail, revision=d.sha,
        last_modified=d.last_modified, license=declared_license(d.card_data, "card"), card=d.card_data,
        gated=d.gated, hub_relation=d.relation)


class ListingError(Exception):
    """The Hub listing of a node's children failed after the retries (one line, no secrets)."""

    def __init__(self, node: str, reason: str) -> None:
        super().__init__(f"listing the children of {node} failed: {reason}")
        self.node = node
        self.reason = reason


def iter_descendants(root: str, *, relations: frozenset[str] | None = None, max_depth: int | None = None,
                     limit: int | None = None, min_downloads: int = 0, options: HubOptions | None = None,
                     on_request: Callable[[], None] | None = None,
                     listed: Callable[[str], Iterable[Descendant] | None] | None = None,
                     on_child: Callable[[str, Descendant], None] | None = None,
                     on_listed: Callable[[str], None] | None = None,
                     on_error: Callable[[ListingError], None] | None = None,
                     on_frontier: Callable[[int], None] | None = None) -> Iterator[Descendant]:
    """The descendants of `root`, breadth-first, each once (cycle-safe).

    - `relations`: only edges of these relations are followed and yielded;
    - `max_depth`: nothing deeper (nodes at `max_depth` are not listed);
    - `limit`: stop after this many descendants (later pages and nodes are never requested);
    - `min_downloads`: descendants with fewer downloads are not yielded, but their children still are (a
      popular quantization of an unpopular fine-tune still derives from the root);
    - `on_request`: called once per listing page requested (the client's own retries are not counted);
    - `listed(node)`: the children of `node` already listed (by an interrupted run, or in the Hub-wide index);
      None: list it now;
    - `on_child(node, child)`: each child a listing returns (before any filter), as it arrives;
    - `on_listed(node)`: `node`'s listing was read to the end;
    - `on_error(error)`: a node's listing failed; the walk goes on without its children;
    - `on_frontier(n)`: before each node's listing, how many discovered nodes are still to be listed.
    Raises `ListingError` when a listing fails after the retries and there is no `on_error`, `ValueError` for a
    bad root id."""
    problem = repo_id_problem(root)
    if problem:
        raise ValueError(problem)
    if relations is not None and not relations <= WEIGHT_RELATIONS:
        raise ValueError(f"unknown relations {sorted(relations - WEIGHT_RELATIONS)}; "
                         f"expected some of {sorted(WEIGHT_RELATIONS)}")
    if limit is not None and limit <= 0:
        return
    options = options or HubOptions.from_env()
    if options.offline:
        raise ListingError(root, "offline: discovering descendants needs the Hub listing (network)")
    _prepare_environment(options)
    _quiet_client()
    from huggingface_hub import HfApi

    api = HfApi()
    workers = max(1, options.workers)
    visited = {root}
    pending: deque[tuple[str, int]] = deque([(root, 0)])
    pagers: dict[str, _Pager] = {}
    prepared: dict[str, Iterable[Descendant]] = {}  # nodes ahead whose children are already known

    pool = _DaemonPool(workers)

    def start(node: str) -> _Pager:
        if on_request is not None:
            on_request()
        return _Pager(lambda: api.list_models(filter=f"base_model:{node}", expand=EXPAND), node, pool)

    def deep_enough(depth: int) -> bool:
        return max_depth is None or depth < max_depth

    def known(node: str) -> Iterable[Descendant] | None:
        return listed(node) if listed is not None else None

    yielded = 0
    try:
        while pending:
            node, depth = pending.popleft()
            if not deep_enough(depth):
                continue
            if on_frontier is not None:
                on_frontier(len(pending))
            cached = prepared.pop(node) if node in prepared else None if node in pagers else known(node)
            items: Iterator[Descendant | None]
            if cached is not None:
                items = (c if c.depth == depth + 1 and c.parent == node else replace(c, parent=node, depth=depth + 1)
                         for c in cached)
            else:
                pager = pagers.pop(node, None) or start(node)
                items = (_descendant(item, node, depth + 1) for item in _children(pager, options, on_request))
            # The first pages of the next nodes of the frontier are asked for now, in parallel (at most
            # `workers` listings in flight); they are consumed in breadth-first order, so the output does not
            # depend on timing. Nothing is asked ahead before the walk reaches the node in front of them.
            ahead = 0
            for next_node, next_depth in pending:
                if ahead >= workers - 1 or not deep_enough(next_depth):
                    break  # breadth-first: every later node is at least as deep
                if next_node not in pagers and next_node not in prepared:
                    ready = known(next_node)
                    if ready is None:
                        pagers[next_node] = start(next_node)
                    else:
                        prepared[next_node] = ready
                ahead += 1
            fresh = cached is None
            try:
                for child in items:
                    if child is None:
                        continue
                    if fresh and on_child is not None:
                        on_child(node, child)
                    if child.id in visited:
                        continue
                    if relations is not None and child.relation not in relations:
                        continue  # not visited: another parent may reach it through an allowed relation
                    visited.add(child.id)
                    pending.append((child.id, child.depth))
                    if child.downloads >= min_downloads:
                        yield child
                        yielded += 1
                        if limit is not None and yielded >= limit:
                            return
            except ListingError as exc:
                if on_error is None:
                    raise
                on_error(exc)
                continue
            if fresh and on_listed is not None:
                on_listed(node)
    finally:
        for pager in pagers.values():
            pager.close()
        pool.close()


def iter_hub_index(*, options: HubOptions | None = None,
                   on_request: Callable[[], None] | None = None) -> Iterator[tuple[str, Descendant]]:
    """(parent, child) for every declared parent of every model on the Hub, from one pass over the Hub's whole
    listing (`list_models(expand=EXPAND)`, 1,000 models a page, with the same card data as a node's listing).

    The cost does not depend on the tree: ceil(models on the Hub / 1,000) requests, after which every node's
    children are known without a request. Cheaper than the walk (one listing per node) for a tree of more than
    about a thousandth of the Hub, and for auditing many roots or the whole Hub at once. The child's `depth` is
    0 here (the walk sets it). Raises `ListingError` when a page fails after the retries."""
    options = options or HubOptions.from_env()
    if options.offline:
        raise ListingError("the Hub", "offline: the Hub-wide index needs the Hub listing (network)")
    _prepare_environment(options)
    _quiet_client()
    from huggingface_hub import HfApi

    api = HfApi()
    pool = _DaemonPool(1)
    if on_request is not None:
        on_request()
    pager = _Pager(lambda: api.list_models(expand=EXPAND), "the Hub (whole listing)", pool)
    try:
        for item in _children(pager, options, on_request):
            tags = getattr(item, "tags", None) or ()
            parents = [t[len("base_model:"):] for t in tags
                       if isinstance(t, str) and t.startswith("base_model:") and t.count(":") == 1]
            for parent in dict.fromkeys(parents):
                if repo_id_problem(parent):
                    continue
                child = _descendant(item, parent, 0)
                if child is not None and child.id != parent:
                    yield parent, child
    finally:
        pager.close()
        pool.close()


def relation_of(parent: str, tags: tuple[str, ...], card: Mapping[str, Any], repo_id: str) -> Relation:
    """(relation, inferred) of `repo_id` to `parent` from what the listing has: the Hub's tags and the card
    data (policy.scan.relations). Its parents are the card's `base_model` and the Hub's bare
    `base_model:<id>` tags together."""
    bases = set(as_id_list(card.get("base_model")))
    bases.update(t.split(":", 1)[1] for t in tags if t.startswith("base_model:") and t.count(":") == 1)
    return relation_to(parent, card=card, name=repo_id, parents=len(bases), tags=tags)


def _descendant(item: Any, parent: str, depth: int) -> Descendant | None:
    repo_id = getattr(item, "id", None)
    if not isinstance(repo_id, str) or repo_id_problem(repo_id):
        return None  # not an id the Hub would give; never followed
    raw = item.card_data.to_dict() if getattr(item, "card_data", None) is not None else {}
    card, _notes = check_card_fields(raw if isinstance(raw, Mapping) else {})
    tags = tuple(t for t in (getattr(item, "tags", None) or ()) if isinstance(t, str))
    relation, inferred = relation_of(parent, tags, card, repo_id)
    sha = getattr(item, "sha", None)
    downloads = getattr(item, "downloads", None)
    gated = getattr(item, "gated", None)
    last = getattr(item, "last_modified", None)
    return Descendant(
        id=repo_id, parent=parent, relation=relation, inferred=inferred, depth=depth,
        sha=sha if isinstance(sha, str) and sha else None,
        downloads=downloads if isinstance(downloads, int) and not isinstance(downloads, bool) else 0,
        gated=gated if gated in ("auto", "manual") else bool(gated) if isinstance(gated, bool) else False,
        card_data=card, tags=tags,
        last_modified=last.isoformat() if hasattr(last, "isoformat") else last if isinstance(last, str) else None)


def _children(pager: _Pager, options: HubOptions, on_request: Callable[[], None] | None) -> Iterator[Any]:
    """The children from one node's listing, one page at a time, each page within the deadline."""
    try:
        first = True
        while True:
            page = pager.next_page(options.deadline, ask=not first)
            if not first and page and on_request is not None:
                on_request()  # a later page arrived, so it was requested
            first = False
            yield from page
            if len(page) < PAGE_SIZE:
                return
    finally:
        pager.close()


class _DaemonPool:
    """A few daemon threads that run the listing pages for the whole walk (one thread per node would start
    tens of thousands of threads on a large tree, each leaving its own malloc arena and stack behind). Daemon,
    so that a request the Hub never answers can hold a thread but never the process's exit."""

    def __init__(self, size: int) -> None:
        self._tasks: queue.Queue[tuple[Callable[[], Any], queue.Queue[tuple[str, Any]]] | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._work, name="policycheck-listing", daemon=True)
                         for _ in range(max(1, size))]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[[], Any]) -> queue.Queue[tuple[str, Any]]:
        box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self._tasks.put((fn, box))
        return box

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            fn, box = task
            try:
                box.put(("page", fn()))
            except BaseException as exc:  # handed to the walk
                box.put(("error", exc))

    def close(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)


class _Pager:
    """One node's listing, one page (`PAGE_SIZE` items) of the client's lazy iterator at a time, on the walk's
    pool, so a page the client keeps retrying (or a server that never answers) costs at most the deadline. The
    first page is asked for at once; each later page only when the walk has consumed the one before."""

    def __init__(self, start: Callable[[], Any], node: str, pool: _DaemonPool) -> None:
        self._start = start
        self._node = node
        self._pool = pool
        self._iterator: Iterator[Any] | None = None
        self._lock = threading.Lock()  # one page at a time: a generator must not run in two threads at once
        self._closed = False
        self._box = pool.submit(self._page)

    def _page(self) -> list[Any]:
        with self._lock:
            if self._closed:
                return []
            if self._iterator is None:
                self._iterator = iter(self._start())
            return list(islice(self._iterator, PAGE_SIZE))

    def next_page(self, deadline: float, *, ask: bool = True) -> list[Any]:
        if ask:
            self._box = self._pool.submit(self._page)
        try:
            kind, value = self._box.get(timeout=max(0.1, deadline))
        except queue.Empty:
            raise ListingError(self._node, f"no answer from the Hub within {deadline:g} s") from None
        if kind == "error":
            raise ListingError(self._node, _reason(value)) from None
        return list(value)

    def close(self) -> None:
        self._closed = True  # a page already asked for is still read, and dropped


def _reason(exc: BaseException) -> str:
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        code = exc.response.status_code
        what = {429: "rate limited by the Hub (429)", 400: "the Hub refused the listing (400)"}.get(
            code, f"the Hub answered {code}")
        detail = _one_line(getattr(exc, "server_message", "") or "")
        retried = " after the client's retries" if code in (408, 429, 500, 502, 503, 504) else ""
        return f"{what}{retried}" + (f": {detail}" if detail else "")
    return f"{type(exc).__name__}: {_one_line(exc)}"
