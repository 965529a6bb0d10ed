"""Descendant discovery (policy/scan/listing.py) with the real huggingface_hub client against hubsim.

The client reads HF_* at import, so each walk runs in a subprocess (`run_client_json`); the tree is generated
by writing repo folders directly."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from policy.scan.listing import MORE_LICENSES, bounded_card, relation_of
from tests.hubsim import HubSim, make_card
from tests.hubsim.plugin import make_hub_env, run_client_json
from tests.support.listingproxy import ListingProxy

ROOT = "meta-llama/Llama-3.1-8B"

WALK = """
import json
from policy.scan import listing
from policy.scan.hub import HubOptions
args = {args!r}
if args.pop("page_size", None):
    listing.PAGE_SIZE = {page_size}
count = [0]
dropped = []
if "relations" in args:
    args["relations"] = frozenset(args["relations"])
try:
    out = [d.to_dict() for d in listing.iter_descendants({root!r}, options=HubOptions.from_env(),
                                                         on_request=lambda: count.__setitem__(0, count[0] + 1),
                                                         on_dropped=lambda node, i: dropped.append([node, i]),
                                                         **args)]
    print(json.dumps({{"items": out, "requests": count[0], "dropped": dropped}}))
except listing.ListingError as exc:
    print(json.dumps({{"error": str(exc), "node": exc.node, "requests": count[0]}}))
"""

FAST = {"POLICYCHECK_HUB_TIMEOUT": "5", "POLICYCHECK_HUB_ATTEMPTS": "2", "POLICYCHECK_HUB_MAX_WAIT": "5"}


def walk(env: dict[str, str], root: str = ROOT, page_size: int = 0, **args: Any) -> dict[str, Any]:
    if page_size:
        args["page_size"] = True
    script = WALK.format(args=args, root=root, page_size=page_size)
    return run_client_json(script, {**env, **FAST}, timeout=120)


def model(hub: HubSim, repo_id: str, card: dict[str, Any], **meta: Any) -> None:
    hub.add_model(repo_id, {"README.md": make_card(card)}, **meta)


def generate_tree(hub: HubSim) -> dict[str, dict[str, Any]]:
    """100 descendants over 3 levels, a cycle pair and a hostile card; returns {id: {"bases", "relation"}}."""
    truth: dict[str, dict[str, Any]] = {}

    def add(repo_id: str, bases: list[str], kind: str, downloads: int) -> None:
        card: dict[str, Any] = {"license": "llama3.1" if downloads % 3 else "mit",
                                "base_model": bases[0] if len(bases) == 1 else bases}
        meta: dict[str, Any] = {"downloads": downloads}
        relation = kind
        if kind == "adapter":
            meta["extra_files"] = ["adapter_config.json"]
        elif kind == "quantized":
            meta["extra_files"] = ["model.Q4_K_M.gguf"]
        elif kind == "declared-quantized":
            card["base_model_relation"] = "quantized"
            relation = "quantized"
        elif kind == "merge":
            assert len(bases) > 1
        model(hub, repo_id, card, **meta)
        truth[repo_id] = {"bases": bases, "relation": relation}

    kinds = ("finetune", "adapter", "quantized", "declared-quantized")
    model(hub, ROOT, {"license": "llama3.1", "base_model": "zz/l3-000"})  # the root names a descendant: a cycle
    level1 = [f"aa/l1-{i:03d}" for i in range(10)]
    for i, repo_id in enumerate(level1):
        add(repo_id, [ROOT], kinds[i % 4], downloads=1000 + i)
    level2: list[str] = []
    for i, parent in enumerate(level1):
        for j in range(3):
            repo_id = f"mm/l2-{i:02d}-{j}"
            if j == 2:  # a merge of this parent and an earlier level-1 model (or an outside model)
                other = level1[(i + 7) % 10] if i % 2 else "mistralai/Mistral-7B-v0.1"
                add(repo_id, [parent, other], "merge", downloads=100 + i * 3 + j)
            else:
                add(repo_id, [parent], kinds[(i + j) % 4], downloads=100 + i * 3 + j)
            level2.append(repo_id)
    n = 0
    for parent in level2:
        for _ in range(2):
            add(f"zz/l3-{n:03d}", [parent], kinds[n % 4], downloads=n % 50)
            n += 1
    # a cycle below the tree: cyc/a (merge of a level-1 model and cyc/b), cyc/b a fine-tune of cyc/a
    add("cyc/a", [level1[0], "cyc/b"], "merge", downloads=5)
    add("cyc/b", ["cyc/a"], "finetune", downloads=500)
    # hostile card data shapes (served as cardData): dropped, never turned into text
    hub.add_model("bad/shapes", {"README.md": "# x\n"}, downloads=7, card_data={
        "base_model": ROOT, "license": {"evil": 1}, "base_model_relation": ["quantized"],
        "license_name": ["x"], "tags": [{"a": 1}, "ok-tag"]})
    truth["bad/shapes"] = {"bases": [ROOT], "relation": "finetune"}
    model(hub, "other/unrelated", {"license": "mit", "base_model": "mistralai/Mistral-7B-v0.1"})
    assert n == 60 and len(truth) == 10 + 30 + 60 + 3
    return truth


def expected_walk(truth: dict[str, dict[str, Any]], relations: set[str] | None = None,
                  max_depth: int | None = None) -> dict[str, tuple[str, int, str]]:
    """The spec, independently: breadth-first from the root, children in listing (id) order, each once."""
    children: dict[str, list[str]] = {}
    for repo_id, t in truth.items():
        for base in t["bases"]:
            children.setdefault(base, []).append(repo_id)
    out: dict[str, tuple[str, int, str]] = {}
    pending = deque([(ROOT, 0)])
    seen = {ROOT}
    while pending:
        node, depth = pending.popleft()
        if max_depth is not None and depth >= max_depth:
            continue
        for child in sorted(children.get(node, [])):
            relation = truth[child]["relation"]
            if child in seen or (relations is not None and relation not in relations):
                continue
            seen.add(child)
            out[child] = (node, depth + 1, relation)
            pending.append((child, depth + 1))
    return out


@pytest.fixture
def tree(hubsim: HubSim) -> dict[str, dict[str, Any]]:
    return generate_tree(hubsim)


def test_whole_tree_ids_relations_depths_and_request_count(hubsim: HubSim, hub_env: dict[str, str],
                                                           tree: dict[str, dict[str, Any]]) -> None:
    result = walk(hub_env)
    got = {d["id"]: (d["parent"], d["depth"], d["relation"]) for d in result["items"]}
    assert len(result["items"]) == len(got)  # each once, the cycle included
    expected = expected_walk(tree)
    assert got == expected
    assert len(got) == 103 and "other/unrelated" not in got and ROOT not in got
    assert {d for _, d, _ in got.values()} == {1, 2, 3} and got["cyc/b"] == ("cyc/a", 3, "finetune")
    assert got["cyc/a"][2] == "merge" and got["mm/l2-03-2"] == ("aa/l1-000", 2, "merge")  # first parent found
    items = {d["id"]: d for d in result["items"]}
    assert not any(d["inferred"] for d in items.values())  # every relation came from the Hub's tag
    assert items["aa/l1-001"]["relation"] == "adapter" and items["aa/l1-002"]["relation"] == "quantized"
    assert items["aa/l1-003"]["relation"] == "quantized"  # declared base_model_relation
    first = items["aa/l1-004"]
    assert first["sha"] == hubsim.repo("aa/l1-004").sha and first["downloads"] == 1004
    assert first["card_data"]["license"] == "llama3.1" and first["gated"] is False
    assert first["last_modified"].startswith("2024-01-01")
    bad = items["bad/shapes"]
    assert "license" not in bad["card_data"] and "license_name" not in bad["card_data"]
    assert "base_model_relation" not in bad["card_data"] and bad["card_data"]["tags"] == ["ok-tag"]
    assert (bad["relation"], bad["depth"]) == ("finetune", 1)

    # one listing per discovered node (the root included), never one request per child; counted by the
    # caller's hook exactly as the server saw them
    listings = [r for r in hubsim.requests if r.path == "/api/models"]
    assert result["requests"] == len(listings) == 1 + len(got)
    assert all(r.query["filter"][0].startswith("base_model:") for r in listings)
    assert all(set(r.query["expand"]) == {"cardData", "sha", "tags", "gated", "downloads", "lastModified",
                                          "pipeline_tag", "library_name"} for r in listings)
    assert hubsim.count("GET", "/api/models/") == 0 and hubsim.count("HEAD") == 0  # no per-child info or README


def test_filters_relation_depth_limit_min_downloads(hubsim: HubSim, hub_env: dict[str, str],
                                                    tree: dict[str, dict[str, Any]]) -> None:
    shallow = walk(hub_env, max_depth=2)
    got = {d["id"]: (d["parent"], d["depth"], d["relation"]) for d in shallow["items"]}
    assert got == expected_walk(tree, max_depth=2) and len(got) == 10 + 1 + 30 + 1  # + bad/shapes, cyc/a
    assert shallow["requests"] == 1 + 11  # the root and the depth-1 nodes; depth-2 nodes are not listed

    hubsim.clear_log()
    finetunes = walk(hub_env, relations=["finetune"], max_depth=3)
    got = {d["id"]: (d["parent"], d["depth"], d["relation"]) for d in finetunes["items"]}
    assert got == expected_walk(tree, relations={"finetune"}, max_depth=3)
    assert {r for _, _, r in got.values()} == {"finetune"} and {d for _, d, _ in got.values()} == {1, 2, 3}

    hubsim.clear_log()
    first = walk(hub_env, limit=5)
    assert [d["id"] for d in first["items"]] == [f"aa/l1-{i:03d}" for i in range(5)]
    assert first["requests"] == 1 == hubsim.count("GET", "/api/models")  # lazy: nothing more was asked

    popular = walk(hub_env, min_downloads=1000, max_depth=2)
    assert sorted(d["id"] for d in popular["items"]) == [f"aa/l1-{i:03d}" for i in range(10)]
    deep = walk(hub_env, min_downloads=45, max_depth=3)
    ids = {d["id"] for d in deep["items"]}
    assert all(d["downloads"] >= 45 for d in deep["items"])
    # below the threshold is not yielded, but still walked: popular grandchildren of unpopular parents show
    assert "zz/l3-045" in ids and "cyc/b" in ids and "cyc/a" not in ids and "bad/shapes" not in ids


def test_pages_are_followed_lazily_and_counted(tmp_path: Any) -> None:
    from tests.hubsim.plugin import make_hub_env

    with HubSim(tmp_path / "hub", page_size=7) as hub:
        model(hub, ROOT, {"license": "llama3.1"})
        for i in range(20):
            model(hub, f"q/m-{i:02d}", {"base_model": ROOT}, extra_files=["m.gguf"])
        env = make_hub_env(hub, tmp_path / "hf")
        full = walk(env, page_size=7)
        assert sorted(d["id"] for d in full["items"]) == [f"q/m-{i:02d}" for i in range(20)]
        assert {d["relation"] for d in full["items"]} == {"quantized"}
        root_pages = [r for r in hub.requests if r.path == "/api/models" and r.query["filter"] == [
            f"base_model:{ROOT}"]]
        assert len(root_pages) == 3  # 7 + 7 + 6
        assert full["requests"] == len([r for r in hub.requests if r.path == "/api/models"]) == 3 + 20
        one_at_a_time = walk({**env, "POLICYCHECK_HUB_WORKERS": "1"}, page_size=7)
        assert one_at_a_time == full  # listings run in parallel, the output does not depend on it
        hub.clear_log()
        some = walk(env, page_size=7, limit=7)
        assert len(some["items"]) == 7 and some["requests"] == 1 == hub.count("GET", "/api/models")
        assert not hub.server_errors


def test_429_with_retry_after_and_a_503_are_retried(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    model(hubsim, ROOT, {"license": "llama3.1"})
    model(hubsim, "a/child", {"base_model": ROOT})
    model(hubsim, "a/grandchild", {"base_model": "a/child"})
    hubsim.faults.status(429, path=r"^/api/models$", times=1, headers={"Retry-After": "1"})
    hubsim.faults.status(503, path=r"^/api/models$", times=1)
    result = walk(hub_env)
    assert [(d["id"], d["depth"]) for d in result["items"]] == [("a/child", 1), ("a/grandchild", 2)]
    statuses = [r.status for r in hubsim.requests if r.path == "/api/models"]
    assert statuses == [429, 503, 200, 200, 200]
    assert result["requests"] == 3  # logical page requests; the client's retries are on top


def test_a_failing_listing_raises_listing_error(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    model(hubsim, ROOT, {"license": "llama3.1"})
    model(hubsim, "a/child", {"base_model": ROOT})
    hubsim.faults.status(403, path=r"^/api/models$")  # not retryable: at once
    result = walk(hub_env)
    assert result["node"] == ROOT and "403" in result["error"]

    hubsim.faults.clear()
    hubsim.faults.hang(5, path=r"^/api/models$")
    env = {**hub_env, **FAST, "POLICYCHECK_HUB_TIMEOUT": "0.3", "POLICYCHECK_HUB_ATTEMPTS": "1",
           "POLICYCHECK_HUB_MAX_WAIT": "0"}
    script = WALK.format(args={}, root=ROOT, page_size=0)
    out = run_client_json(script, env, timeout=60)
    assert out["node"] == ROOT and "no answer from the Hub within 0.3 s" in out["error"]


def test_relation_inference_without_hub_tags() -> None:
    p = "org/base"
    assert relation_of(p, (f"base_model:{p}", f"base_model:adapter:{p}"), {}, "x/y") == ("adapter", False)
    assert relation_of(p, (), {"base_model_relation": "merge"}, "x/y") == ("merge", False)
    assert relation_of(p, (), {"base_model": [p, "org/other"]}, "x/y") == ("merge", True)
    assert relation_of(p, (f"base_model:{p}", "base_model:org/b2"), {}, "x/y") == ("merge", True)
    assert relation_of(p, ("gguf",), {}, "x/y") == ("quantized", True)
    assert relation_of(p, (), {}, "x/y-GGUF") == ("quantized", True)
    assert relation_of(p, ("peft", "lora"), {}, "x/y") == ("adapter", True)
    assert relation_of(p, (), {"library_name": "peft"}, "x/y") == ("adapter", True)
    assert relation_of(p, (), {"base_model_relation": "bogus"}, "x/y") == ("finetune", True)


def test_bad_arguments() -> None:
    from policy.scan.listing import iter_descendants

    with pytest.raises(ValueError, match="URL"):
        list(iter_descendants("https://evil.example/x"))
    with pytest.raises(ValueError, match="unknown relations"):
        list(iter_descendants(ROOT, relations=frozenset({"distillation"})))
    assert list(iter_descendants(ROOT, limit=0)) == []


def test_offline_is_a_listing_error() -> None:
    from policy.scan.hub import HubOptions
    from policy.scan.listing import ListingError, iter_descendants

    with pytest.raises(ListingError, match="offline"):
        list(iter_descendants(ROOT, options=HubOptions(offline=True)))



# -- hostile listings (tests/support/listingproxy.py: hubsim behind a proxy that rewrites listing pages) --------

def _small(hub: HubSim, n: int = 3) -> None:
    model(hub, ROOT, {"license": "llama3.1"})
    for i in range(n):
        model(hub, f"a/child-{i}", {"license": "llama3.1", "base_model": ROOT})


def test_a_listing_that_points_back_at_itself_ends(hubsim: HubSim, tmp_path: Any) -> None:
    _small(hubsim)

    def loop(query: dict[str, list[str]], items: list[Any], next_url: str | None) -> tuple[list[Any], str | None]:
        return items, proxy.self_url(query)

    with ListingProxy(hubsim, loop) as proxy:
        env = {**make_hub_env(hubsim, tmp_path / "hf"), "HF_ENDPOINT": proxy.url}
        result = walk(env)
        assert not proxy.errors
    assert result["node"] == ROOT and "repeats itself" in result["error"]
    assert proxy.listings <= 12  # 3 entries a page: 32 repeats in a row take 11 pages after the first


def test_the_page_cap(tmp_path: Any) -> None:
    with HubSim(tmp_path / "hub", page_size=7) as hub:
        _small(hub, 20)
        env = {**make_hub_env(hub, tmp_path / "hf"), "POLICYCHECK_LISTING_MAX_PAGES": "2"}
        result = walk(env, page_size=7)
        assert result["node"] == ROOT and "more than 2 pages of 7" in result["error"]
        assert hub.count("GET", "/api/models") == 3  # the third page was read, and not followed further


def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy.errors import UsageError
    from policy.scan.listing import DEFAULT_WALK_DEADLINE, ListingLimits

    limits = ListingLimits.from_env()
    assert (limits.max_pages, limits.walk_deadline) == (200, DEFAULT_WALK_DEADLINE)
    monkeypatch.setenv("POLICYCHECK_TREE_DEADLINE", "2.5")
    monkeypatch.setenv("POLICYCHECK_LISTING_MAX_PAGES", "3")
    limits = ListingLimits.from_env()
    assert (limits.max_pages, limits.walk_deadline) == (3, 2.5) and limits.stop_at is not None
    assert ListingLimits.from_env(walk_deadline=9).walk_deadline == 9
    for name, value in (("POLICYCHECK_LISTING_MAX_PAGES", "many"), ("POLICYCHECK_LISTING_MAX_PAGES", "2.5"),
                        ("POLICYCHECK_TREE_DEADLINE", "-1"), ("POLICYCHECK_TREE_DEADLINE", "inf")):
        monkeypatch.setenv(name, value)
        with pytest.raises(UsageError, match=name):
            ListingLimits.from_env()
        monkeypatch.delenv(name)


def test_entries_the_hub_cannot_produce_are_reported(hubsim: HubSim, tmp_path: Any) -> None:
    _small(hubsim)

    def planted(query: dict[str, list[str]], items: list[Any], next_url: str | None) -> tuple[list[Any], str | None]:
        if query.get("filter") == [f"base_model:{ROOT}"]:
            items = [*items, *({"id": i, "tags": [f"base_model:{ROOT}"]} for i in ("../x", "a/\ud800", "y" * 300, 7))]
            items[0]["cardData"]["license"] = "llama3.1\udc00"
        return items, next_url

    with ListingProxy(hubsim, planted) as proxy:
        result = walk({**make_hub_env(hubsim, tmp_path / "hf"), "HF_ENDPOINT": proxy.url})
    assert sorted(d["id"] for d in result["items"]) == [f"a/child-{i}" for i in range(3)]
    assert result["items"][0]["card_data"]["license"] == "llama3.1\ufffd"
    assert result["dropped"] == [[ROOT, "../x"], [ROOT, "a/\ufffd"], [ROOT, "y" * 77 + "..."], [ROOT, "(int)"]]


def test_card_data_is_kept_bounded() -> None:
    raw = {"license": ["mit", "apache-2.0"], "license_name": "x\ud800", "description": "d" * 1_000_000,
           "widget": [{"text": "w"}], "base_model": [f"org/m-{i % 300}" for i in range(5000)],
           "tags": [f"tag-{i}" for i in range(10_000)], "pipeline_tag": "text-generation"}
    card = bounded_card(raw)
    assert set(card) == {"license", "license_name", "base_model", "tags", "pipeline_tag"}
    assert card["license"] == ["mit", "apache-2.0"] and card["license_name"] == "x\ufffd"
    assert card["base_model"] == [f"org/m-{i}" for i in range(257)]  # distinct, one more than the lineage follows
    assert len(card["tags"]) == 256 and len(str(card)) < 40_000
    many = bounded_card({"license": [f"lic-{i}" for i in range(1000)] + ["agpl-3.0"]})["license"]
    assert len(many) <= 256 and many[-1] == MORE_LICENSES  # a cut list ends in an unknown license: review
    assert bounded_card(raw, frozenset({"description", "widget"})) == {"widget": [{"text": "w"}]}  # too big: out
    assert set(bounded_card(raw, None)) == {*card, "widget"}


def test_the_task_the_hub_computes_travels_with_a_descendant_and_is_read_back_bounded() -> None:
    """A child whose card has no pipeline_tag is still known to be a language model (issue 18, item 2)."""
    from policy.scan.listing import Descendant, listing_facts

    row = {"id": "acme/child", "parent": "acme/root", "relation": "finetune", "depth": 1, "downloads": 0,
           "card_data": {"license": "apache-2.0"}, "tags": [], "pipeline_tag": "text-generation",
           "library_name": "transformers"}
    child = Descendant.from_dict(Descendant.from_dict(row).to_dict())
    facts = listing_facts(child)
    assert (facts.hub_task, facts.hub_library) == ("text-generation", "transformers")
    forged = Descendant.from_dict({**row, "pipeline_tag": "text-generation\n" + "x" * 500, "library_name": 7})
    assert (forged.pipeline_tag, forged.library_name) == (None, None)  # a state file is hostile too
