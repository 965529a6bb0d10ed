"""A generated model tree for the tree audit's tests and benchmark: a Llama-3.1-licensed root and `n`
descendants over three levels, with every relation and the license situations a real tree has.

The shape follows the Hub: most descendants are leaves (quantizations, adapters, one-off fine-tunes); a few
popular fine-tunes have children of their own. Each descendant's *category* decides its card, and the test
states the verdict it expects for each category (`EXPECTED`); `Tree.expected()` counts them.

Categories (by index, so a tree of any size has all of them in fixed proportions):
- `llama`: a fine-tune or quantization named "Llama-…" under the Llama 3.1 license: pass.
- `llama-unnamed`: the same without "Llama" at the start of its name (§1.b.i naming duty): fail.
- `mit`, `apache`: relicensed under MIT / Apache-2.0 (the Llama terms dropped): fail.
- `none`: no license declared: review.
- `gated`: a gated (manual) `llama` descendant, judged from the listing's card data: pass.
- `merge`: a merge of an in-tree node and an out-of-tree Apache-2.0 model, under the Llama 3.1 license: pass.
- `nc-data`: a `llama` fine-tune trained on a CC BY-NC 4.0 dataset under commercial use: review.
- `other`: `license: other` with nothing else, so only its LICENSE file can tell: fetched in full; one of
  them, `GONE`, answers 404 when fetched (a repo deleted mid-walk): review.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.hubsim import HubSim, make_card

ROOT = "meta-llama/Llama-3.1-8B"
OTHER_BASE = "mistralai/Mistral-7B-v0.1"
NC_DATASET = "acme/nc-instructions"

EXPECTED = {"llama": "pass", "llama-unnamed": "fail", "mit": "fail", "apache": "fail", "none": "review",
            "gated": "pass", "merge": "pass", "nc-data": "review", "other": "review"}
GONE_REASON = "not found on the Hub"  # what the row of a repo deleted mid-walk says
# one in every 20 descendants, by index
_PATTERN = ["llama", "llama", "mit", "llama", "apache", "llama", "none", "gated", "llama", "llama-unnamed",
            "llama", "merge", "llama", "mit", "nc-data", "llama", "llama", "other", "llama", "llama"]


@dataclass
class Node:
    id: str
    parent: str
    relation: str
    depth: int
    category: str
    downloads: int


@dataclass
class Tree:
    root: str
    nodes: dict[str, Node] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)

    def expected(self) -> Counter[str]:
        return Counter(EXPECTED[n.category] for n in self.nodes.values())

    @property
    def internal(self) -> set[str]:
        """Nodes with at least one child (each costs a listing with results)."""
        return {n.parent for n in self.nodes.values()} - {self.root}


def shape(n: int) -> list[tuple[int, int]]:
    """(depth, parent index or -1 for the root) for each of `n` descendants: 60% children of the root, of which
    one in 30 has 15 children; of those, one in 6 has 20 children."""
    out: list[tuple[int, int]] = []
    first = max(1, n * 6 // 10)
    out += [(1, -1)] * first
    hubs1 = list(range(0, first, 30))
    level2: list[int] = []
    for h in hubs1:
        for _ in range(15):
            if len(out) < n:
                level2.append(len(out))
                out.append((2, h))
    hubs2 = level2[::6]
    i = 0
    while len(out) < n and hubs2:
        out.append((3, hubs2[i % len(hubs2)]))
        i += 1
    while len(out) < n:  # tiny trees: more children of the root
        out.append((1, -1))
    return out[:n]


def card_for(node: Node, parent_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(card metadata, hubsim meta) for a node."""
    license_: dict[str, Any] = {"license": "llama3.1"}
    meta: dict[str, Any] = {"downloads": node.downloads}
    card: dict[str, Any] = {"base_model": parent_id, "pipeline_tag": "text-generation"}
    c = node.category
    if c == "mit":
        license_ = {"license": "mit"}
    elif c == "apache":
        license_ = {"license": "apache-2.0"}
    elif c == "none":
        license_ = {}
    elif c == "gated":
        meta["gated"] = "manual"
    elif c == "merge":
        card["base_model"] = [parent_id, OTHER_BASE]
    elif c == "nc-data":
        card["datasets"] = [NC_DATASET]
    elif c == "other":
        license_ = {"license": "other"}
    if node.relation in ("quantized", "adapter") and c not in ("merge",):
        card["base_model_relation"] = node.relation
    return {**license_, **card}, meta


def name_for(i: int, category: str, relation: str) -> str:
    suffix = {"quantized": "GGUF", "adapter": "LoRA", "finetune": "Instruct", "merge": "Merge"}[relation]
    stem = f"Tuned-{i:05d}-{suffix}" if category == "llama-unnamed" else f"Llama-3.1-8B-{i:05d}-{suffix}"
    return f"org{i % 97:02d}/{stem}"


def generate(hub: HubSim, n: int, *, root: str = ROOT, gone: int = 1) -> Tree:
    """Write the root, the out-of-tree parents and `n` descendants into `hub`; `gone` of the `other`
    descendants answer 404 when fetched in full (hubsim fault on their API path)."""
    hub.add_model(root, {"README.md": make_card({"license": "llama3.1", "pipeline_tag": "text-generation"},
                                                "# Llama 3.1\n\nThe Llama 3.1 Community License.\n")},
                  downloads=10_000_000, gated="manual")
    hub.add_model(OTHER_BASE, {"README.md": make_card({"license": "apache-2.0", "pipeline_tag": "text-generation"})})
    hub.add_dataset(NC_DATASET, {"README.md": make_card({"license": "cc-by-nc-4.0"})})
    tree = Tree(root)
    ids: list[str] = []
    layout = shape(n)
    hubs = {p for _, p in layout if p >= 0}
    for i, (depth, parent_index) in enumerate(layout):
        # a node with children is a well-formed Llama fine-tune, so its children's verdicts are their own
        category = "llama" if i in hubs else _PATTERN[i % len(_PATTERN)]
        relation = ("finetune" if i in hubs else "merge" if category == "merge" else
                    "quantized" if depth >= 2 and i % 3 else "adapter" if i % 7 == 3 else "finetune")
        repo_id = name_for(i, category, relation)
        parent = root if parent_index < 0 else ids[parent_index]
        node = Node(repo_id, parent, relation, depth, category, downloads=(i * 7919) % 100_000)
        tree.nodes[repo_id] = node
        ids.append(repo_id)
        card, meta = card_for(node, parent)
        hub.add_model(repo_id, {"README.md": make_card(card, f"# {repo_id}\n")}, **meta)
    others = [nid for nid, node in tree.nodes.items() if node.category == "other"]
    tree.gone.update(others[:gone])
    add_gone_faults(hub, tree)
    return tree


def add_gone_faults(hub: HubSim, tree: Tree) -> None:
    """What the Hub answers for a repo deleted after the listing named it (again after `faults.clear()`)."""
    for repo_id in sorted(tree.gone):
        hub.faults.status(404, path=f"^/api/models/{repo_id}$",
                          headers={"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
