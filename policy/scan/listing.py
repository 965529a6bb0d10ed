"""Descendants of a model for the tree audit, from the Hub's listing through `huggingface_hub` (never raw HTTP).

One `list_models(filter="base_model:<node>", expand=EXPAND)` per node carries, for every child, what the rules need
(card data, sha, tags, gated, downloads, lastModified, the task and library the Hub computes), 1,000 per page,
pages followed lazily: never one request per child. The Hub's `base_model:<id>` tag names a repo's *declared*
parents only (hub-api.md §3.1: "a bare tag, one per declared parent"; §3.2: `baseModels` gives only the immediate
parents), so the listing of `base_model:<root>` returns the root's children, not its grandchildren. The walk is
therefore breadth-first, one listing per discovered node (the listing offers no way to know whether a node has
children: `childrenModelCount` is refused there, huggingface_hub#3182, and asking `model_info` for it would itself
be one request per node). Cost: exactly 1 + (descendants at depth < `max_depth`) listings, plus one request per
further 1,000 children of a node; the listings of the next nodes of the frontier run in parallel
(`HubOptions.workers`), consumed in breadth-first order so the output never depends on timing.

Relation of a child to the parent it was found under: the Hub's tag `base_model:<relation>:<parent>`, else
the card's `base_model_relation`, else inferred as the Hub does and marked `inferred`; the one inference of
`policy.scan.relations`, given what the listing has (the Hub's tags and the card data; no file list).

Card data is hostile: it goes through `policy.cards.check_card_fields` (only the shapes the Hub defines), and
only the fields something reads are kept (`CARD_FIELDS`, plus those the audit's rules test), each bounded
(`bounded_card`): a listing entry with megabytes of card data is stored as a few kilobytes. Lone surrogates
(`\ud800` escapes with no partner, which no UTF-8 writer can encode) become U+FFFD where an entry enters.
Entries whose id the Hub cannot produce are never followed, and reported through `on_dropped`.

A listing is a loop the Hub drives (`Link: next`), so it is bounded here: a run of entries the listing gave
before (a `Link: next` that points back at itself or at an earlier page) ends it as a failure, as do more than
`ListingLimits.max_pages` pages for one node (`max_index_pages` for the Hub-wide listing); and the whole walk
stops at `ListingLimits.stop_at` (`WalkStopped`). The client follows the links itself and does not show their
URLs, so a repeat is seen in what the pages hold.
Retries: each page request is retried by the client itself (`http_backoff`: 429 honouring `RateLimit`/
`Retry-After` (+1 s), 408/5xx and network errors with backoff 1 s doubling to 8 s, at most 5 retries,
hub-api.md §4.5). The client caps neither a `Retry-After` nor the time a page may take, so each page gets a
deadline here (`HubOptions.deadline`, the timeout, attempts and longest honoured wait of hub.py): a listing
that still fails, or has no answer in time, raises `ListingError` with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import field, replace
from typing import Any

from policy.errors import UsageError
from policy.model.facts import OK, WEIGHT_RELATIONS, ModelFacts
from policy.records import record
from policy.scan.cards import ID_LIST_FIELDS, MAX_PARENTS, as_id_list, check_card_fields, declared_license
from policy.scan.hub import HubOptions, _one_line, _prepare_environment, _quiet_client, hub_word
from policy.scan.ids import repo_id_problem
from policy.scan.relations import Relation, relation_to
from policy.textsafe import without_surrogates

# pipeline_tag and library_name: what the Hub computes for every model, so that a child whose card has no
# pipeline_tag is still known to be a language model or not (hub-api.md §7: listings accept both)
EXPAND = ["cardData", "sha", "tags", "gated", "downloads", "lastModified", "pipeline_tag", "library_name"]
PAGE_SIZE = 1000  # the Hub's page of a listing; pages are pulled from the client one at a time

# The card fields the scanner and the engine read from card data: the license (cards.declared_license), the
# lineage (scan.lineage.card_edges), the relation (scan.relations: base_model_relation, library_name, tags) and
# the task (model.tasks: pipeline_tag, tags; language). Rules may test more (`model.card.<key>`): the tree audit
# adds the keys its rules' conditions name. Everything else a listing entry carries is dropped.
CARD_FIELDS: frozenset[str] = frozenset({
    "license", "license_name", "license_link", "base_model", "base_model_relation", "teacher_model", "datasets",
    "library_name", "pipeline_tag", "tags", "language"})
MAX_FIELD_BYTES = 16 * 1024  # JSON of one kept card field (lists are cut to fit; anything else is dropped)
MAX_LIST_ITEMS = 256  # items kept of `license`, `tags`, `language` (model.tasks reads 256 tags)
MAX_HUB_TAGS = 256  # the Hub's own tags kept with an entry (its relation is inferred before, from all of them)
MORE_LICENSES = "(more licenses than policycheck reads)"  # stands for a cut license list: unknown, so review
_SHA = re.compile(r"[0-9a-f]{40}")
DEFAULT_WALK_DEADLINE = 4 * 3600.0  # seconds: a tree of 100,000 descendants takes about an hour


@record
class ListingLimits:
    """How far a listing may lead: pages per node, pages of the Hub-wide listing, when the walk stops (its
    overall deadline: `walk_deadline` seconds, ending at `stop_at` on `time.monotonic()`), and the card fields
    kept of each entry."""
    max_pages: int = 200  # 200,000 children of one node (the most derived models on the Hub have a few 10,000)
    max_index_pages: int = 20_000  # 20 million models (the Hub lists about 2 million)
    walk_deadline: float | None = None
    stop_at: float | None = None
    card_fields: frozenset[str] | None = field(default=CARD_FIELDS)  # None: every field (each bounded)

    @classmethod
    def from_env(cls, *, walk_deadline: float | None = None,
                 card_fields: frozenset[str] | None = CARD_FIELDS) -> ListingLimits:
        """Limits from POLICYCHECK_LISTING_MAX_PAGES, POLICYCHECK_INDEX_MAX_PAGES and (unless `walk_deadline`
        is given) POLICYCHECK_TREE_DEADLINE; the deadline starts now."""
        seconds = walk_deadline if walk_deadline is not None else _env_number(
            "POLICYCHECK_TREE_DEADLINE", DEFAULT_WALK_DEADLINE)
        return cls(max_pages=int(_env_number("POLICYCHECK_LISTING_MAX_PAGES", cls.max_pages, whole=True)),
                   max_index_pages=int(_env_number("POLICYCHECK_INDEX_MAX_PAGES", cls.max_index_pages, whole=True)),
                   walk_deadline=seconds, stop_at=time.monotonic() + seconds, card_fields=card_fields)


def _env_number(name: str, default: float, *, whole: bool = False) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(int(text)) if whole else float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{name} must be a {'whole ' if whole else ''}number above 0, not {text[:40]!r}")
    return value


@record(slots=True)
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
    pipeline_tag: str | None = None  # the task the Hub computes (its card may have none)
    library_name: str | None = None  # the library the Hub computes

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "parent": self.parent, "relation": self.relation, "inferred": self.inferred,
                "depth": self.depth, "sha": self.sha, "downloads": self.downloads, "gated": self.gated,
                "card_data": dict(self.card_data), "tags": list(self.tags), "last_modified": self.last_modified,
                "pipeline_tag": self.pipeline_tag, "library_name": self.library_name}

    @classmethod
    def from_dict(cls, d: Any) -> Descendant:
        """A descendant as `to_dict` wrote it. What is read back (a state file) is hostile too: anything else
        is a ValueError (never a KeyError or TypeError from deep inside)."""
        if not isinstance(d, Mapping):
            raise ValueError(f"a descendant is a JSON object, not {type(d).__name__}")
        d = without_surrogates(dict(d))
        repo_id, parent, relation = d.get("id"), d.get("parent"), d.get("relation")
        depth, downloads, card, tags = d.get("depth"), d.get("downloads") or 0, d.get("card_data") or {}, \
            d.get("tags") or []
        if not (isinstance(repo_id, str) and isinstance(parent, str) and not repo_id_problem(repo_id)
                and not repo_id_problem(parent)):
            raise ValueError("a descendant's id or parent is not a Hub repo id")
        if relation not in WEIGHT_RELATIONS or not _is_int(depth) or not _is_int(downloads):
            raise ValueError(f"{repo_id}: its relation, depth or downloads are not what policycheck writes")
        if not isinstance(card, Mapping) or not isinstance(tags, list):
            raise ValueError(f"{repo_id}: its card data or tags are not what policycheck writes")
        sha, last, gated = d.get("sha"), d.get("last_modified"), d.get("gated")
        return cls(id=repo_id, parent=parent, relation=relation, inferred=d.get("inferred") is True, depth=depth,
                   sha=sha if isinstance(sha, str) and _SHA.fullmatch(sha) else None, downloads=downloads,
                   gated=gated if gated in ("auto", "manual") or gated is True else False,
                   card_data=dict(card), tags=tuple(t for t in tags[:MAX_HUB_TAGS] if isinstance(t, str)),
                   last_modified=last if isinstance(last, str) and len(last) <= 64 else None,
                   pipeline_tag=hub_word(d.get("pipeline_tag")), library_name=hub_word(d.get("library_name")))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
        gated=d.gated, hub_relation=d.relation, hub_task=d.pipeline_tag, hub_library=d.library_name)


class ListingError(Exception):
    """The Hub listing of a node's children failed after the retries, or was cut (one line, no secrets)."""

    def __init__(self, node: str, reason: str) -> None:
        super().__init__(f"listing the children of {node} failed: {reason}")
        self.node = node
        self.reason = reason


class WalkStopped(ListingError):
    """The walk reached its overall deadline (`ListingLimits.stop_at`): it ends here, whatever is left."""


def iter_descendants(root: str, *, relations: frozenset[str] | None = None, max_depth: int | None = None,
                     limit: int | None = None, min_downloads: int = 0, options: HubOptions | None = None,
                     on_request: Callable[[], None] | None = None,
                     listed: Callable[[str], Iterable[Descendant] | None] | None = None,
                     on_child: Callable[[str, Descendant], None] | None = None,
                     on_listed: Callable[[str], None] | None = None,
                     on_error: Callable[[ListingError], None] | None = None,
                     on_frontier: Callable[[int], None] | None = None,
                     on_dropped: Callable[[str, str], None] | None = None,
                     limits: ListingLimits | None = None) -> Iterator[Descendant]:
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
    - `on_error(error)`: a node's listing failed (or was cut: it repeated itself, or had more than
      `limits.max_pages` pages); the walk goes on without its children;
    - `on_frontier(n)`: before each node's listing, how many discovered nodes are still to be listed;
    - `on_dropped(node, id)`: an entry of `node`'s listing whose id the Hub cannot produce (never followed);
    - `limits`: pages per node, the card fields kept and when the walk stops (`WalkStopped`, raised whatever
      `on_error` is, once the walk is past `limits.stop_at`).
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
    limits = limits or ListingLimits.from_env()
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
                items = _entries(_children(pager, options, on_request, limits, limits.max_pages,
                                           lambda: len(pending)),
                                 node, depth + 1, limits.card_fields, on_dropped)
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
                if on_error is None or isinstance(exc, WalkStopped):
                    raise
                on_error(exc)
                continue
            if fresh and on_listed is not None:
                on_listed(node)
    finally:
        for pager in pagers.values():
            pager.close()
        pool.close()


def iter_hub_index(*, options: HubOptions | None = None, on_request: Callable[[], None] | None = None,
                   on_dropped: Callable[[str, str], None] | None = None,
                   limits: ListingLimits | None = None) -> Iterator[tuple[str, Descendant]]:
    """(parent, child) for every declared parent of every model on the Hub, from one pass over the Hub's whole
    listing (`list_models(expand=EXPAND)`, 1,000 models a page, with the same card data as a node's listing).

    The cost does not depend on the tree: ceil(models on the Hub / 1,000) requests, after which every node's
    children are known without a request. Cheaper than the walk (one listing per node) for a tree of more than
    about a thousandth of the Hub, and for auditing many roots or the whole Hub at once. The child's `depth` is
    0 here (the walk sets it). Raises `ListingError` when a page fails after the retries, or the listing repeats
    itself or runs past `limits.max_index_pages` (`WalkStopped` past `limits.stop_at`). `on_dropped(parent, id)`:
    an entry with a parent whose id, or a parent's, the Hub cannot produce (an entry that names itself as its
    parent is not its own child, and is passed over)."""
    options = options or HubOptions.from_env()
    limits = limits or ListingLimits.from_env()
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
        for item in _children(pager, options, on_request, limits, limits.max_index_pages, None):
            tags = getattr(item, "tags", None)
            parents = [t[len("base_model:"):] for t in (tags if isinstance(tags, list | tuple) else ())
                       if isinstance(t, str) and t.startswith("base_model:") and t.count(":") == 1]
            if not parents:
                continue  # not a descendant of anything: whatever its id, no tree holds it
            if entry_id(item) is None:
                if on_dropped is not None:
                    on_dropped(shown_id(parents[0]), shown_id(getattr(item, "id", None)))
                continue
            for parent in dict.fromkeys(parents):
                if parent == item.id:
                    continue
                if repo_id_problem(parent):
                    if on_dropped is not None:
                        on_dropped(shown_id(parent), shown_id(item.id))
                    continue
                child = _descendant(item, parent, 0, limits.card_fields)
                if child is not None:
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


def entry_id(item: Any) -> str | None:
    """The id of a listing entry when it is one the Hub could produce, else None (never followed)."""
    repo_id = getattr(item, "id", None)
    return repo_id if isinstance(repo_id, str) and not repo_id_problem(repo_id) else None


def shown_id(repo_id: Any) -> str:
    """What a dropped entry's id was, for a note: bounded, and encodable (the note is written out)."""
    text = repo_id if isinstance(repo_id, str) else f"({type(repo_id).__name__})"
    return without_surrogates(text if len(text) <= 80 else f"{text[:77]}...")


def _descendant(item: Any, parent: str, depth: int,
                card_fields: frozenset[str] | None = CARD_FIELDS) -> Descendant | None:
    raw = item.card_data.to_dict() if getattr(item, "card_data", None) is not None else {}
    hub_tags = getattr(item, "tags", None)
    return make_descendant(
        getattr(item, "id", None), parent, depth, raw_card=raw if isinstance(raw, Mapping) else {},
        tags=hub_tags if isinstance(hub_tags, list | tuple) else (), sha=getattr(item, "sha", None),
        downloads=getattr(item, "downloads", None), gated=getattr(item, "gated", None),
        last_modified=getattr(item, "last_modified", None), pipeline_tag=getattr(item, "pipeline_tag", None),
        library_name=getattr(item, "library_name", None), card_fields=card_fields)


def make_descendant(repo_id: Any, parent: str, depth: int, *, raw_card: Mapping[str, Any], tags: Iterable[Any],
                    sha: Any, downloads: Any, gated: Any, last_modified: Any, pipeline_tag: Any, library_name: Any,
                    card_fields: frozenset[str] | None = CARD_FIELDS) -> Descendant | None:
    """A descendant from what a listing entry (or a snapshot's row) holds, every value checked and bounded; None
    for an id the Hub would not give (never followed: the caller reports it)."""
    if not isinstance(repo_id, str) or repo_id_problem(repo_id):
        return None
    card = bounded_card(raw_card, card_fields)
    tags = tuple(t for t in tags if isinstance(t, str))
    relation, inferred = relation_of(parent, tags, card, repo_id)  # from all the Hub's tags; a few are kept
    last = last_modified.isoformat() if hasattr(last_modified, "isoformat") else last_modified
    return Descendant(
        id=repo_id, parent=parent, relation=relation, inferred=inferred, depth=depth,
        sha=sha if isinstance(sha, str) and _SHA.fullmatch(sha) else None,
        downloads=downloads if _is_int(downloads) else 0,
        gated=gated if gated in ("auto", "manual") else bool(gated) if isinstance(gated, bool) else False,
        card_data=card, tags=tuple(without_surrogates(_fitting(list(tags), MAX_HUB_TAGS, MAX_FIELD_BYTES))),
        last_modified=without_surrogates(last) if isinstance(last, str) and len(last) <= 64 else None,
        pipeline_tag=hub_word(pipeline_tag), library_name=hub_word(library_name))


def bounded_card(raw: Mapping[str, Any], fields: frozenset[str] | None = CARD_FIELDS) -> dict[str, Any]:
    """The card data of a listing entry as it is kept: only `fields` (None: all), shape-checked
    (`check_card_fields`), lone surrogates replaced, each field bounded. Lineage lists (`base_model`,
    `teacher_model`, `datasets`) become their distinct ids, one more than the lineage follows (so that
    `too-many-parents` still shows); `license` keeps what fits and then `MORE_LICENSES`, an unknown license (so a
    cut list is a review, never a pass on what was cut); `tags` and `language` are cut to `MAX_LIST_ITEMS` and
    `MAX_FIELD_BYTES`; any other field is kept when its JSON fits in `MAX_FIELD_BYTES`, else dropped."""
    picked: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(key, str) and (fields is None or key in fields):
            try:
                picked[key] = without_surrogates(value)
            except RecursionError:
                continue  # deeper than JSON can be read back: not data a rule can use
    card, _notes = check_card_fields(picked)
    out: dict[str, Any] = {}
    for key, value in card.items():
        if key in ID_LIST_FIELDS:
            out[key] = as_id_list(value, limit=MAX_PARENTS + 1) if isinstance(value, list | tuple) else value
        elif key == "license" and isinstance(value, list | tuple):
            kept = _fitting(list(value), MAX_LIST_ITEMS, MAX_FIELD_BYTES)
            out[key] = kept if len(kept) == len(value) else [*kept[:-1], MORE_LICENSES]
        elif isinstance(value, list | tuple):
            out[key] = _fitting(list(value), MAX_LIST_ITEMS, MAX_FIELD_BYTES)
        elif _json_size(value) <= MAX_FIELD_BYTES:
            out[key] = value
    return out


def _fitting(items: list[Any], max_items: int, max_bytes: int) -> list[Any]:
    """The first of `items` whose JSON takes at most `max_bytes`, at most `max_items` of them."""
    out: list[Any] = []
    size = 2
    for item in items[:max_items]:
        size += _json_size(item) + 1
        if size > max_bytes:
            break
        out.append(item)
    return out


def _json_size(value: Any) -> int:
    try:
        return len(json.dumps(value))
    except (ValueError, TypeError, RecursionError):
        return MAX_FIELD_BYTES + 1  # not JSON policycheck can write back: never kept


def _entries(items: Iterable[Any], node: str, depth: int, card_fields: frozenset[str] | None,
             on_dropped: Callable[[str, str], None] | None) -> Iterator[Descendant]:
    """The descendants of one node's listing entries; the entries the Hub could not have sent are reported."""
    for item in items:
        child = _descendant(item, node, depth, card_fields)
        if child is not None:
            yield child
        elif on_dropped is not None:
            on_dropped(node, shown_id(getattr(item, "id", None)))


def _children(pager: _Pager, options: HubOptions, on_request: Callable[[], None] | None, limits: ListingLimits,
              max_pages: int, unlisted: Callable[[], int] | None) -> Iterator[Any]:
    """The entries of one listing, one page at a time, each page within the deadline, until a page shorter
    than `PAGE_SIZE`. A listing that repeats itself (`_Pager`) or runs past `max_pages` ends with a
    `ListingError`; past `limits.stop_at`, a `WalkStopped` (`unlisted()`: how many nodes the walk leaves
    unlisted, for its reason)."""
    stop_at = limits.stop_at
    try:
        first = True
        pages = 0
        while True:
            wait = options.deadline
            if stop_at is not None:
                left = stop_at - time.monotonic()
                if left <= 0:
                    raise _stopped(pager.node, limits, unlisted)
                wait = min(wait, left)
            try:
                page = pager.next_page(wait, ask=not first)
            except ListingError:
                if stop_at is not None and time.monotonic() >= stop_at:
                    raise _stopped(pager.node, limits, unlisted) from None
                raise
            if not first and page and on_request is not None:
                on_request()  # a later page arrived, so it was requested
            first = False
            pages += 1
            if pages > max_pages:
                raise ListingError(pager.node, f"the listing has more than {max_pages:,} pages of "
                                               f"{PAGE_SIZE:,}; it was not followed further")
            yield from page
            if len(page) < PAGE_SIZE:
                return
    finally:
        pager.close()


def _stopped(node: str, limits: ListingLimits, unlisted: Callable[[], int] | None) -> WalkStopped:
    left = unlisted() if unlisted is not None else 0
    return WalkStopped(node, f"the walk reached its deadline of {limits.walk_deadline or 0:g} s (--walk-deadline, "
                             f"POLICYCHECK_TREE_DEADLINE) while reading the listing of {node}"
                             + (f", with {left:,} more discovered nodes still to list" if left else ""))


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
    first page is asked for at once; each later page only when the walk has consumed the one before.

    The client follows `Link: next` on its own, so a page that points back at itself would be fetched over and
    over to fill one page here: entries are checked as they arrive (`_Recent`), and `MAX_REPEATS` entries in a
    row that the listing gave before end it, a few requests after it began to repeat."""

    def __init__(self, start: Callable[[], Any], node: str, pool: _DaemonPool) -> None:
        self._start = start
        self.node = node
        self._pool = pool
        self._iterator: Iterator[Any] | None = None
        self._lock = threading.Lock()  # one page at a time: a generator must not run in two threads at once
        self._closed = False
        self._recent = _Recent()
        self._box = pool.submit(self._page)

    def _page(self) -> list[Any]:
        with self._lock:
            if self._closed:
                return []
            if self._iterator is None:
                self._iterator = iter(self._start())
            page: list[Any] = []
            for item in self._iterator:
                if self._recent.repeats(item):
                    raise ListingError(self.node, f"the Hub's listing repeats itself ({MAX_REPEATS} entries in a "
                                                  "row it had listed before; a `Link: next` that points back); it "
                                                  "was not followed further")
                page.append(item)
                if len(page) >= PAGE_SIZE or self._closed:
                    break
            return page

    def next_page(self, deadline: float, *, ask: bool = True) -> list[Any]:
        if ask:
            self._box = self._pool.submit(self._page)
        try:
            kind, value = self._box.get(timeout=max(0.1, deadline))
        except queue.Empty:
            raise ListingError(self.node, f"no answer from the Hub within {deadline:g} s") from None
        if kind == "error":
            raise value if isinstance(value, ListingError) else ListingError(self.node, _reason(value)) from None
        return list(value)

    def close(self) -> None:
        self._closed = True  # a page already asked for is still read, and dropped


MAX_REPEATS = 32  # entries in a row a listing gave before: it is going round (a real listing never repeats one)


class _Recent:
    """The last `size` ids a listing gave, as 16-byte digests (a listing of the whole Hub gives some 2 million:
    too many to keep; a loop shorter than `size` is caught, a longer one by the page cap and the deadline)."""

    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._order: deque[bytes] = deque()
        self._seen: set[bytes] = set()
        self._streak = 0

    def repeats(self, item: Any) -> bool:
        """Note `item`; True when it makes `MAX_REPEATS` seen entries in a row."""
        repo_id = getattr(item, "id", None)
        text = repo_id if isinstance(repo_id, str) else repr(type(repo_id))
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if digest in self._seen:
            self._streak += 1
            return self._streak >= MAX_REPEATS
        self._streak = 0
        self._seen.add(digest)
        self._order.append(digest)
        if len(self._order) > self._size:
            self._seen.discard(self._order.popleft())
        return False


def _reason(exc: BaseException) -> str:
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        code = exc.response.status_code
        what = {429: "rate limited by the Hub (429)", 400: "the Hub refused the listing (400)"}.get(
            code, f"the Hub answered {code}")
        detail = _one_line(getattr(exc, "server_message", "") or "")
        retried = " after the client's retries" if code in (408, 429, 500, 502, 503, 504) else ""
        return f"{what}{retried}" + (f": {detail}" if detail else "")
    # the client's own text quotes the request URL: the reader gets the kind of failure in words
    import httpx2

    if isinstance(exc, httpx2.TimeoutException):
        return "no answer from the Hub in time"
    if isinstance(exc, httpx2.ConnectError):
        return "cannot connect to the Hub"
    if isinstance(exc, httpx2.HTTPError):
        return "the connection to the Hub failed"
    return "the listing could not be read"
