"""Generate the whole-Hub audit's benchmark snapshot: a `models.parquet` shaped like `cfahlgren1/hub-stats`'s
(tests/support/snapshotgen.py has the columns and types).

    .venv/bin/python benchmarks/gen_snapshot.py [--trees 100] [--per-tree 2000] [--unrelated 20000] [--out FILE]

By default 220,100 models: 100 Llama-family trees (a root and 2,000 descendants each) and 20,000 unrelated models.
Python writes the rows as NDJSON lines, DuckDB converts them to Parquet. The snapshot is self-contained: nothing
else is written next to it, and every parent a row names is a row of the file. Prints the row count and the
seconds taken. Deterministic: the same options give the same rows.

Trees. Root `t` is `meta-llama/Llama-family-NNN` (NNN = t, from 000), published by the licensor under the Llama
3.1 Community License (`license: llama3.1`), with a root's card and files. Its descendants follow the shape of
tests/support/treegen.py, one level deeper: 60% are children of the root, one in 30 of those has children of
its own (30% of the tree at depth 2), one in 6 of those has children (8% at depth 3) and one in 8 of those has
children (the rest, about 2%, at depth 4). A node with children is always a well-formed `llama` fine-tune, so
its children's verdicts are their own. Relations, in a tree of 2,000: 35% quantized (`.gguf` files), 17% adapters
(`adapter_config.json`), 5% merges, 43% fine-tunes; half of the quantizations and adapters declare
`base_model_relation`, the others leave it to the Hub's inference from their files (both give the Hub's
`base_model:<relation>:<parent>` tag and the `baseModels` relation). Every descendant's card names its parent in
`base_model`, has `pipeline_tag: text-generation` and the tags and library of its relation.

Each descendant's *category* decides its card and the verdict the engine's rules give it (`EXPECTED`), the same
as tests/support/treegen.py's categories of the same name, judged with the licensee's figures given
(tests/support/licensee_policy.yaml: without them every Llama descendant is review, rule
licensee-figure-missing). By index, one in every 20 descendants (`PATTERN`):
- `llama` (13 in 20): named `Llama-3.1-8B-…` under `license: llama3.1`: **pass**. Nodes with children are
  `llama` too.
- `llama-unnamed` (1 in 20): the same without "Llama" at the start of its name (Llama 3.1 §1.b.i): **fail**.
- `mit`, `apache` (2 and 1 in 20): relicensed under MIT / Apache-2.0, the Llama terms dropped: **fail**.
- `none` (1 in 20): no license declared: **review**.
- `merge` (1 in 20): a merge of its in-tree parent and `mistralai/Mistral-7B-v0.1` (Apache-2.0, one of the
  unrelated models), under the Llama 3.1 license and named "Llama-…": **pass**.
- `other` (1 in 20): `license: other` and nothing else (no `license_name`, no `license_link`; the snapshot holds
  no LICENSE file): **review**.
treegen's `gated` category has no counterpart (the snapshot has no `gated` column: a gated `llama` descendant
is a `llama` row), nor has `nc-data` (the snapshot holds models only, not the dataset's license).
A tree of 2,000 descendants: 1,434 pass, 376 fail, 190 review (`expected()`); at the defaults the snapshot's
220,100 models are 157,121 pass, 38,573 fail and 24,406 review.

Roots: the licensor's own release under its own license: **pass**.

Unrelated models (no base model; ids `lab<NN>/<Arch>-<NNNNN>`, various tasks and libraries), by index one in
every 20 (`UNRELATED_PATTERN`); the first of them is `mistralai/Mistral-7B-v0.1` (Apache-2.0, the merges' second
parent): apache-2.0 (6), mit (5), cc-by-4.0 (2), bsd-3-clause (1): **pass**; cc-by-nc-4.0 (1): **fail**
(rule noncommercial-license); apache-2.0 naming a training dataset the snapshot does not hold (1): **review**
(ancestor-unresolved); openrail (1): **review** (license-terms-unverified); no license (2) and `license: other`
(1): **review**. One in 37 has no card at all (no README, so no cardData and no license): **review**.

These verdicts are the ones the engine gives the same models served by tests/hubsim (`policycheck tree` for a
root's descendants, `policycheck check` for roots and unrelated models, with the licensee's figures), so the
whole-Hub audit of the snapshot should give them too.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.hubsim import HubSim, make_card  # noqa: E402
from tests.hubsim.server import fake_object_id  # noqa: E402
from tests.support.snapshotgen import COLUMNS, EXTRA_COLUMNS, write_snapshot_lines  # noqa: E402

ROOT_LICENSE = "llama3.1"
OTHER_BASE = "mistralai/Mistral-7B-v0.1"
EXPECTED = {"llama": "pass", "llama-unnamed": "fail", "mit": "fail", "apache": "fail", "none": "review",
            "merge": "pass", "other": "review", "root": "pass"}
PATTERN = ["llama", "llama", "mit", "llama", "apache", "llama", "none", "llama", "llama", "llama-unnamed",
           "llama", "merge", "llama", "mit", "llama", "llama", "llama", "other", "llama", "llama"]
# (license or None, names a dataset, expected verdict) of unrelated models, one in every 20 by index
UNRELATED_PATTERN: list[tuple[str | None, bool, str]] = [
    ("apache-2.0", False, "pass"), ("mit", False, "pass"), ("apache-2.0", False, "pass"),
    ("cc-by-4.0", False, "pass"), (None, False, "review"), ("apache-2.0", False, "pass"), ("mit", False, "pass"),
    ("bsd-3-clause", False, "pass"), ("apache-2.0", True, "review"), ("cc-by-nc-4.0", False, "fail"),
    ("mit", False, "pass"), ("apache-2.0", False, "pass"), ("openrail", False, "review"), ("other", False, "review"),
    ("mit", False, "pass"), ("apache-2.0", False, "pass"), (None, False, "review"), ("cc-by-4.0", False, "pass"),
    ("apache-2.0", False, "pass"), ("mit", False, "pass")]
# (architecture stem, pipeline_tag, library_name) of unrelated models
TASKS = [("Bert", "fill-mask", "transformers"), ("Roberta", "text-classification", "transformers"),
         ("Whisper", "automatic-speech-recognition", "transformers"), ("ViT", "image-classification", "timm"),
         ("MiniLM", "sentence-similarity", "sentence-transformers"), ("SDXL", "text-to-image", "diffusers"),
         ("Qwen2", "text-generation", "transformers"), ("T5", "text2text-generation", "transformers")]
RELATION_SUFFIX = {"quantized": "GGUF", "adapter": "LoRA", "finetune": "Instruct", "merge": "Merge"}
EPOCH = datetime(2023, 1, 1)  # dates are naive UTC
# one encoder for every line and card (json.dumps would build one per call); compact, as no one reads the lines
_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


@dataclass
class ModelSpec:
    """One model of the snapshot: its card (None: no README) and file names, the Hub's counters and dates, and
    for a tree's node its tree, parent, depth, category and expected verdict."""

    id: str
    card: dict[str, Any] | None
    files: tuple[str, ...]
    downloads: int
    downloads_all_time: int
    likes: int
    trending: float
    created: datetime
    modified: datetime
    category: str
    verdict: str
    tree: int | None = None
    parent: str | None = None
    depth: int = 0
    relation: str | None = None


def root_id(tree: int) -> str:
    return f"meta-llama/Llama-family-{tree:03d}"


def shape(n: int) -> list[tuple[int, int]]:
    """(depth, parent index or -1 for the root) of each of `n` descendants (see the module docstring)."""
    out: list[tuple[int, int]] = [(1, -1)] * max(1, n * 60 // 100)
    parents = list(range(0, len(out), 30))
    for depth, share, every in ((2, 30, 6), (3, 8, 8), (4, 0, 0)):  # depth 4 takes the rest
        wanted = n - len(out) if every == 0 else n * share // 100
        level: list[int] = []
        for k in range(min(wanted, n - len(out))):
            if not parents:
                break
            level.append(len(out))
            out.append((depth, parents[k % len(parents)]))
        parents = level[::every] if every else []
    while len(out) < n:  # tiny trees: more children of the root
        out.append((1, -1))
    return out[:n]


def relation_of(i: int, category: str, is_hub: bool) -> str:
    if is_hub:
        return "finetune"
    if category == "merge":
        return "merge"
    r = (i * 7 + i // 20) % 10
    return "quantized" if r < 4 else "adapter" if r < 6 else "finetune"


def descendant(tree: int, i: int, depth: int, parent: str, category: str, relation: str, serial: int) -> ModelSpec:
    suffix = RELATION_SUFFIX[relation]
    stem = f"Tuned-f{tree:03d}-{i:05d}-{suffix}" if category == "llama-unnamed" else \
        f"Llama-3.1-8B-f{tree:03d}-{i:05d}-{suffix}"
    repo_id = f"org{(tree * 7 + i) % 97:02d}/{stem}"
    card: dict[str, Any] = {}
    if category in ("llama", "llama-unnamed", "merge"):
        card["license"] = ROOT_LICENSE
    elif category in ("mit", "apache", "other"):
        card["license"] = {"mit": "mit", "apache": "apache-2.0", "other": "other"}[category]
    card["base_model"] = [parent, OTHER_BASE] if relation == "merge" else parent
    declare = i % 2 == 0
    if relation in ("quantized", "adapter") and declare:
        card["base_model_relation"] = relation
    card["pipeline_tag"] = "text-generation"
    files: tuple[str, ...]
    if relation == "quantized":
        card["tags"] = ["gguf", "llama-cpp", "llama"]
        files = ("README.md", f"{stem}.Q4_K_M.gguf", f"{stem}.Q8_0.gguf")
    elif relation == "adapter":
        card["library_name"] = "peft"
        card["tags"] = ["lora", "trl", "sft"]
        files = ("README.md", "adapter_config.json", "adapter_model.safetensors")
    elif relation == "merge":
        card["library_name"] = "transformers"
        card["tags"] = ["mergekit", "merge"]
        files = ("README.md", "config.json", "mergekit_config.yml", "model.safetensors")
    else:
        card["library_name"] = "transformers"
        card["tags"] = ["llama", "conversational"]
        files = ("README.md", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json")
    if i % 3 == 0:
        card["language"] = ["en"]
    downloads = (serial * 7919) % 100_000
    created = EPOCH + timedelta(seconds=(serial * 97) % (730 * 86400))
    return ModelSpec(repo_id, card, files, downloads, downloads * (2 + i % 5), (serial * 31) % 500,
                     float((serial * 13) % 1000) / 10, created, created + timedelta(hours=i % 400), category,
                     EXPECTED[category], tree, parent, depth, relation)


def root(tree: int, serial: int) -> ModelSpec:
    card = {"license": ROOT_LICENSE, "pipeline_tag": "text-generation", "library_name": "transformers",
            "language": ["en", "de", "fr", "it", "pt", "hi", "es", "th"],
            "tags": ["facebook", "meta", "pytorch", "llama", "llama-3"]}
    files = ("LICENSE", "README.md", "USE_POLICY.md", "config.json", "generation_config.json",
             "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
             "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors",
             "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json")
    created = EPOCH + timedelta(days=tree % 365)
    return ModelSpec(root_id(tree), card, files, 10_000_000 - tree, 90_000_000 - tree, 5_000 - tree, 50.0,
                     created, created + timedelta(days=30), "root", EXPECTED["root"], tree, None, 0, None)


def tree_specs(tree: int, per_tree: int, serial: int) -> Iterator[ModelSpec]:
    """A root and its `per_tree` descendants; `serial` numbers the models across the snapshot."""
    yield root(tree, serial)
    layout = shape(per_tree)
    hubs = {p for _, p in layout if p >= 0}
    ids: list[str] = []
    for i, (depth, parent_index) in enumerate(layout):
        category = "llama" if i in hubs else PATTERN[i % len(PATTERN)]
        relation = relation_of(i, category, i in hubs)
        parent = root_id(tree) if parent_index < 0 else ids[parent_index]
        spec = descendant(tree, i, depth, parent, category, relation, serial + 1 + i)
        ids.append(spec.id)
        yield spec


def unrelated_spec(i: int, serial: int) -> ModelSpec:
    license_, names_dataset, verdict = UNRELATED_PATTERN[i % len(UNRELATED_PATTERN)]
    arch, task, library = TASKS[(i * 3 + i // 20) % len(TASKS)]
    repo_id = OTHER_BASE if i == 0 else f"lab{i % 50:02d}/{arch}-{i:05d}"
    if i == 0:
        license_, verdict, task, library = "apache-2.0", "pass", "text-generation", "transformers"
    card: dict[str, Any] | None = {"pipeline_tag": task, "library_name": library}
    if license_ is not None:
        card = {"license": license_, **(card or {})}
    if names_dataset:
        card = {**(card or {}), "datasets": [f"lab{i % 50:02d}/corpus-{i % 7}"]}
    if i % 4 == 0:
        card = {**(card or {}), "language": ["en"]}
    if i % 37 == 5:  # a few repos have no card at all (no README): no cardData, no license
        card, verdict = None, "review"
    files = ("README.md", "config.json", "model.safetensors") if card is not None else \
        ("config.json", "model.safetensors")
    downloads = (serial * 104729) % 2_000_000
    created = EPOCH + timedelta(seconds=(serial * 193) % (730 * 86400))
    return ModelSpec(repo_id, card, files, downloads, downloads * 3, (serial * 17) % 2000,
                     float((serial * 29) % 500) / 10, created, created + timedelta(days=i % 90),
                     f"unrelated:{license_ or 'none'}", verdict)


def specs(trees: int, per_tree: int, unrelated: int) -> Iterator[ModelSpec]:
    """Every model of the snapshot, trees first."""
    serial = 0
    for t in range(trees):
        yield from tree_specs(t, per_tree, serial)
        serial += per_tree + 1
    for i in range(unrelated):
        yield unrelated_spec(i, serial + i)


# ---------------------------------------------------------------------------------------------------------------
# Rows, as hubsim derives them (tests/scan/test_snapshotgen.py checks the two agree)


def relation_from(card: dict[str, Any], files: tuple[str, ...]) -> str:
    declared = card.get("base_model_relation")
    if declared in ("adapter", "merge", "quantized", "finetune"):
        return str(declared)
    if isinstance(card.get("base_model"), list) and len(card["base_model"]) > 1:
        return "merge"
    if any(f.rsplit("/", 1)[-1] == "adapter_config.json" for f in files):
        return "adapter"
    if any(f.lower().endswith(".gguf") for f in files):
        return "quantized"
    return "finetune"


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def iso(moment: datetime) -> str:
    """A naive UTC datetime in the Hub's form, `2024-01-01T00:00:00.000Z`."""
    return moment.isoformat(timespec="milliseconds") + "Z"


@functools.lru_cache(maxsize=4096)
def parent_record(repo_id: str) -> dict[str, str]:
    """A parent as baseModels names it, its `_id` made up as hubsim makes it (parents repeat: cached)."""
    return {"_id": fake_object_id(f"model:{repo_id}"), "id": repo_id}


def row_of(spec: ModelSpec, *, extra_columns: bool = False) -> dict[str, Any]:
    """The snapshot row of one model (the values hubsim would serve for the same card and files)."""
    card = spec.card or {}
    library = card.get("library_name")
    task = card.get("pipeline_tag")
    parents = _list(card.get("base_model"))
    relation = relation_from(card, spec.files) if parents else None
    tags = [t for t in (library, task) if t] + _list(card.get("tags")) + _list(card.get("language"))
    tags += [f"dataset:{d}" for d in _list(card.get("datasets"))]
    tags += [f"base_model:{p}" for p in parents] + [f"base_model:{relation}:{p}" for p in parents]
    tags += [f"license:{lic}" for lic in _list(card.get("license"))]
    row: dict[str, Any] = {
        "id": spec.id, "author": spec.id.split("/", 1)[0], "createdAt": iso(spec.created),
        "lastModified": iso(spec.modified), "downloads": spec.downloads, "downloadsAllTime": spec.downloads_all_time,
        "likes": spec.likes, "trendingScore": spec.trending, "tags": list(dict.fromkeys([*tags, "region:us"])),
        "pipeline_tag": task, "library_name": library,
        "cardData": _JSON(spec.card) if spec.card is not None else None,
        "baseModels": {"relation": relation, "models": [parent_record(p) for p in parents]} if parents else None,
        "siblings": [{"rfilename": f} for f in sorted(spec.files)],
    }
    if extra_columns:
        weights = [f for f in spec.files if f.endswith(".safetensors")]
        row["usedStorage"] = 16_000_000_000 if weights else 5_000_000_000
        row["safetensors"] = json.dumps({"parameters": {"BF16": 8_030_261_248}, "total": 8_030_261_248}) \
            if weights else None
        row["gguf"] = {"total": 8_030_261_248, "architecture": "llama", "context_length": 131072} \
            if any(f.endswith(".gguf") for f in spec.files) else None
    return row


def add_to_hubsim(hub: HubSim, spec: ModelSpec) -> None:
    """Serve `spec` from hubsim: its card as README.md, its other files with placeholder content."""
    files = {name: make_card(spec.card, f"# {spec.id}\n") if name == "README.md" else
             ("{}\n" if name.endswith(".json") else f"{name}\n") for name in spec.files}
    hub.add_model(spec.id, files, downloads=spec.downloads, likes=spec.likes, created_at=iso(spec.created),
                  last_modified=iso(spec.modified))


@dataclass
class Generated:
    rows: int
    seconds: float
    roots: list[str]
    expected: Counter[str]  # verdicts of every model of the snapshot
    expected_first_tree: Counter[str]  # verdicts of the descendants of roots[0]


def expected(per_tree: int) -> Counter[str]:
    """The verdicts of one tree's `per_tree` descendants."""
    return Counter(s.verdict for s in tree_specs(0, per_tree, 0) if s.category != "root")


def generate(out: Path, *, trees: int = 100, per_tree: int = 2000, unrelated: int = 20_000,
             extra_columns: bool = False) -> Generated:
    """Write the snapshot to `out`; the expected verdicts come back with the row count and the time taken."""
    start = time.monotonic()
    verdicts: Counter[str] = Counter()
    first: Counter[str] = Counter()

    def lines() -> Iterator[str]:
        for spec in specs(trees, per_tree, unrelated):
            verdicts[spec.verdict] += 1
            if spec.tree == 0 and spec.category != "root":
                first[spec.verdict] += 1
            yield _JSON(row_of(spec, extra_columns=extra_columns))

    columns = {**COLUMNS, **EXTRA_COLUMNS} if extra_columns else COLUMNS
    rows = write_snapshot_lines(out, lines(), columns)
    return Generated(rows, time.monotonic() - start, [root_id(t) for t in range(trees)], verdicts, first)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trees", type=int, default=100, help="Llama-family trees (default 100)")
    ap.add_argument("--per-tree", type=int, default=2000, help="descendants of each root (default 2,000)")
    ap.add_argument("--unrelated", type=int, default=20_000, help="models outside the trees (default 20,000)")
    ap.add_argument("--extra-columns", action="store_true",
                    help="add columns the audit does not read (usedStorage, safetensors, gguf), as the real file has")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "policycheck-snapshot" / "models.parquet")
    args = ap.parse_args(argv)
    if args.trees < 0 or args.per_tree < 0 or args.unrelated < 1:
        ap.error("--trees and --per-tree must be >= 0, --unrelated >= 1 (it holds the merges' second parent)")
    done = generate(args.out, trees=args.trees, per_tree=args.per_tree, unrelated=args.unrelated,
                    extra_columns=args.extra_columns)
    size = args.out.stat().st_size / 1e6
    print(f"{done.rows:,} rows in {done.seconds:.1f} s -> {args.out} ({size:.1f} MB); expected verdicts "
          f"{dict(done.expected)}; descendants of {done.roots[0] if done.roots else '-'}: "
          f"{dict(done.expected_first_tree)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
