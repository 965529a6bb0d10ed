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
the card's `base_model_relation`, else inferred as the Hub does (several bases: merge; GGUF/GPTQ/AWQ/... tag or
name: quantized; PEFT/LoRA tag: adapter; else finetune) and marked `inferred`.

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policy.cards import as_id_list, check_card_fields
from policy.facts import WEIGHT_RELATIONS
from policy.scan.hub import HubOptions, _one_line, _prepare_environment, _quiet_client
from policy.scan.ids import repo_id_problem

EXPAND = ["cardData", "sha", "tags", "gated", "downloads", "lastModified"]
PAGE_SIZE = 1000  # the Hub's page of a listing; pages are pulled from the client one at a time
_RELATION_ORDER = ("merge", "adapter", "quantized", "finetune")
_QUANT_MARKERS = ("gguf", "gptq", "awq", "exl2", "bnb", "bitsandbytes", "mlx", "4bit", "8bit")
_ADAPTER_MARKERS = ("peft", "lora", "adapter")


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


class ListingError(Exception):
    """The Hub listing of a node's children failed after the retries (one line, no secrets)."""

    def __init__(self, node: str, reason: str) -> None:
        super().__init__(f"listing the children of {node} failed: {reason}")
        self.node = node
        self.reason = reason


def iter_descendants(root: str, *, relations: frozenset[str] | None = None, max_depth: int | None = None,
                     limit: int | None = None, min_downloads: int = 0, options: HubOptions | None = None,
                     on_request: Callable[[], None] | None = None) -> Iterator[Descendant]:
    """The descendants of `root`, breadth-first, each once (cycle-safe).

    - `relations`: only edges of these relations are followed and yielded;
    - `max_depth`: nothing deeper (nodes at `max_depth` are not listed);
    - `limit`: stop after this many descendants (later pages and nodes are never requested);
    - `min_downloads`: descendants with fewer downloads are not yielded, but their children still are (a
      popular quantization of an unpopular fine-tune still derives from the root);
    - `on_request`: called once per listing page requested (the client's own retries are not counted).
    Raises `ListingError` when a listing fails after the retries, `ValueError` for a bad root id."""
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

    def start(node: str) -> _Pager:
        if on_request is not None:
            on_request()
        return _Pager(lambda: api.list_models(filter=f"base_model:{node}", expand=EXPAND), node)

    def listed(depth: int) -> bool:
        return max_depth is None or depth < max_depth

    yielded = 0
    try:
        while pending:
            node, depth = pending.popleft()
            if not listed(depth):
                continue
            pager = pagers.pop(node, None) or start(node)
            # The first pages of the next nodes of the frontier are asked for now, in parallel (at most
            # `workers` listings in flight); they are consumed in breadth-first order, so the output does not
            # depend on timing. Nothing is asked ahead before the walk reaches the node in front of them.
            ahead = 0
            for next_node, next_depth in pending:
                if ahead >= workers - 1 or not listed(next_depth):
                    break  # breadth-first: every later node is at least as deep
                if next_node not in pagers:
                    pagers[next_node] = start(next_node)
                ahead += 1
            for item in _children(pager, options, on_request):
                child = _descendant(item, node, depth + 1)
                if child is None or child.id in visited:
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
    finally:
        for pager in pagers.values():
            pager.close()


def relation_of(parent: str, tags: tuple[str, ...], card: Mapping[str, Any], repo_id: str) -> tuple[str, bool]:
    """(relation, inferred) of `repo_id` to `parent`: Hub tag, else card, else the Hub's inference."""
    tagset = set(tags)
    for relation in _RELATION_ORDER:
        if f"base_model:{relation}:{parent}" in tagset:
            return relation, False
    declared = card.get("base_model_relation")
    if isinstance(declared, str) and declared.strip() in WEIGHT_RELATIONS:
        return declared.strip(), False
    bases = set(as_id_list(card.get("base_model")))
    bases.update(t.split(":", 1)[1] for t in tags if t.startswith("base_model:") and t.count(":") == 1)
    if len(bases) > 1:
        return "merge", True
    lowered = {t.lower() for t in tags}
    name = repo_id.lower()
    if any(m in lowered for m in _QUANT_MARKERS) or any(m in name for m in ("gguf", "gptq", "awq", "exl2")):
        return "quantized", True
    library = card.get("library_name")
    if any(m in lowered for m in _ADAPTER_MARKERS) or library == "peft":
        return "adapter", True
    return "finetune", True


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


class _Pager:
    """Pulls one page (`PAGE_SIZE` items) of the client's lazy iterator at a time on a daemon thread, so a page
    the client keeps retrying (or a server that never answers) costs at most the deadline. The first page is
    asked for at once; each later page only when the walk has consumed the one before."""

    def __init__(self, start: Callable[[], Any], node: str) -> None:
        self._start = start
        self._node = node
        self._demand: queue.Queue[bool] = queue.Queue()
        self._results: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._closed = False
        self._demand.put(True)
        self._thread = threading.Thread(target=self._run, name="policycheck-listing", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        iterator = None
        while self._demand.get():
            page: list[Any] = []
            try:
                if iterator is None:
                    iterator = iter(self._start())
                for item in iterator:
                    page.append(item)
                    if len(page) >= PAGE_SIZE:
                        break
            except BaseException as exc:  # handed to the walk
                self._results.put(("error", exc))
                return
            self._results.put(("page", page))
            if len(page) < PAGE_SIZE:
                return

    def next_page(self, deadline: float, *, ask: bool = True) -> list[Any]:
        if ask:
            self._demand.put(True)
        try:
            kind, value = self._results.get(timeout=max(0.1, deadline))
        except queue.Empty:
            raise ListingError(self._node, f"no answer from the Hub within {deadline:g} s") from None
        if kind == "error":
            raise ListingError(self._node, _reason(value)) from None
        return list(value)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._demand.put(False)


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
