"""The Hub snapshot generator (tests/support/snapshotgen.py) and the benchmark's snapshot (benchmarks/gen_snapshot.py).

Files are read back with DuckDB: their columns and types are exactly the snapshot's, whatever the rows hold; a
row made from hubsim is what hubsim serves for that model over HTTP; hostile values arrive unchanged; the
benchmark's fast rows are the rows hubsim would give the same models, and their documented verdicts are the
engine's."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from benchmarks import gen_snapshot
from tests.hubsim import HubSim, make_card
from tests.hubsim.plugin import make_hub_env
from tests.hubsim.server import iso_date
from tests.support.snapshotgen import (
    COLUMNS,
    EXTRA_COLUMNS,
    model_row,
    snapshot_from_hubsim,
    write_snapshot,
)

REPO = Path(__file__).resolve().parents[2]
ROOT = "meta-llama/Llama-3.1-8B"
LICENSEE_POLICY = REPO / "tests" / "support" / "licensee_policy.yaml"
SERVED = ("author", "createdAt", "lastModified", "downloads", "downloadsAllTime", "likes", "tags", "pipeline_tag",
          "library_name", "cardData", "baseModels", "siblings")


def describe(path: Path) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]


def duck_type(sql_type: str) -> str:
    """A type as DuckDB spells it in DESCRIBE."""
    return str(duckdb.sql(f"DESCRIBE SELECT NULL::{sql_type} AS x").fetchall()[0][1])


def rows(path: Path, columns: str = "*") -> dict[str, dict[str, Any]]:
    rel = duckdb.sql(f"SELECT {columns} FROM read_parquet('{path}') ORDER BY id")
    names = [d[0] for d in rel.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in rel.fetchall()}


def small_tree(hub: HubSim) -> None:
    """A root, a fine-tune, a GGUF quantization, an adapter, a merge, a private and a renamed repo, a dataset."""
    hub.add_model(ROOT, {"README.md": make_card({"license": "llama3.1", "pipeline_tag": "text-generation",
                                                 "language": ["en", "de"]}),
                         "config.json": '{"architectures": ["LlamaForCausalLM"]}'}, downloads=10_000, likes=7,
                  last_modified="2024-07-23T15:00:00Z", created_at="2024-07-14")
    hub.add_model("acme/Llama-3.1-8B-Instruct-ft", {
        "README.md": make_card({"license": "llama3.1", "base_model": ROOT, "library_name": "transformers",
                                "datasets": ["acme/chat"], "tags": ["chat"], "eval": {"score": 0.5}}),
        "config.json": '{"architectures": ["LlamaForCausalLM"]}', "model.safetensors": "w"}, downloads=42)
    hub.add_model("acme/Llama-3.1-8B-GGUF", {"README.md": make_card({"license": "mit", "base_model": ROOT}),
                                             "model.Q4_K_M.gguf": "g"})
    hub.add_model("acme/Llama-3.1-8B-LoRA", {"README.md": make_card({"base_model": "acme/Llama-3.1-8B-Instruct-ft"}),
                                             "adapter_config.json": "{}"})
    hub.add_model("acme/Llama-merge", {"README.md": make_card({"license": "llama3.1",
                                                               "base_model": [ROOT, "acme/Llama-3.1-8B-GGUF"]})})
    hub.add_model("acme/no-card", {"config.json": "{}"})
    hub.add_model("acme/secret", {"README.md": make_card({"license": "mit"})}, private=True)
    hub.add_model("acme/old-name", {"README.md": make_card({"license": "mit"})}, renamed_to="acme/no-card")
    hub.add_dataset("acme/chat", {"README.md": make_card({"license": "cc-by-4.0"})})


PUBLIC = {ROOT, "acme/Llama-3.1-8B-Instruct-ft", "acme/Llama-3.1-8B-GGUF", "acme/Llama-3.1-8B-LoRA", "acme/Llama-merge",
          "acme/no-card"}


def served(hub: HubSim, repo_id: str) -> dict[str, Any]:
    """`/api/models/{id}?expand=...` as the emulator answers it over HTTP."""
    query = "&".join(f"expand={name}" for name in SERVED)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{hub.url}/api/models/{repo_id}?{query}", timeout=30) as answer:
        return dict(json.loads(answer.read()))


# ---------------------------------------------------------------------------------------------------------------
# Columns and types


def test_a_hubsim_snapshot_has_exactly_the_snapshot_columns_and_types(hubsim: HubSim, tmp_path: Path) -> None:
    small_tree(hubsim)
    out = tmp_path / "models.parquet"
    assert snapshot_from_hubsim(hubsim, out) == len(PUBLIC)
    assert describe(out) == list(COLUMNS.items())
    assert set(rows(out, "id")) == PUBLIC  # private and renamed repos and datasets are not in a public snapshot


def test_an_all_null_column_keeps_its_type(tmp_path: Path) -> None:
    out = tmp_path / "nulls.parquet"
    assert write_snapshot(out, [{"id": "a/x"}, {"id": "b/y"}]) == 2
    assert describe(out) == list(COLUMNS.items())
    assert rows(out)["a/x"] == {"id": "a/x", **{name: None for name in COLUMNS if name != "id"}}
    empty = tmp_path / "empty.parquet"
    assert write_snapshot(empty, []) == 0
    assert describe(empty) == list(COLUMNS.items())


def test_variants_struct_card_data_string_siblings_and_extra_columns(hubsim: HubSim, tmp_path: Path) -> None:
    small_tree(hubsim)
    out = tmp_path / "variant.parquet"
    snapshot_from_hubsim(hubsim, out, card_data_as="struct", siblings_as="strings", extra_columns=True)
    types = dict(describe(out))
    assert list(types) == [*COLUMNS, *EXTRA_COLUMNS]
    # one field per key seen, in the order first seen (repos by id), typed from every value it takes
    assert types["cardData"] == duck_type(
        "STRUCT(license VARCHAR, base_model JSON, library_name VARCHAR, datasets VARCHAR[], tags VARCHAR[], eval JSON, "
        "pipeline_tag VARCHAR, language VARCHAR[])")
    assert types["siblings"] == "VARCHAR[]"
    assert {name: types[name] for name in EXTRA_COLUMNS} == {name: duck_type(t) for name, t in EXTRA_COLUMNS.items()}
    got = rows(out, "id, cardData, to_json(cardData) AS card_json, siblings, usedStorage, gguf")
    ft = got["acme/Llama-3.1-8B-Instruct-ft"]
    assert ft["cardData"]["license"] == "llama3.1" and ft["cardData"]["datasets"] == ["acme/chat"]
    assert json.loads(ft["card_json"])["eval"] == {"score": 0.5}
    assert json.loads(got["acme/Llama-merge"]["card_json"])["base_model"] == [ROOT, "acme/Llama-3.1-8B-GGUF"]
    assert json.loads(ft["card_json"])["base_model"] == ROOT
    assert ft["siblings"] == ["README.md", "config.json", "model.safetensors"]
    assert got["acme/no-card"]["cardData"] is None  # no card: a NULL struct
    assert got["acme/Llama-3.1-8B-GGUF"]["gguf"]["architecture"] == "llama"
    assert ft["usedStorage"] == sum(len(f.data) for f in hubsim.repo("acme/Llama-3.1-8B-Instruct-ft").files.values())


def test_drop_columns_leaves_a_required_column_out(hubsim: HubSim, tmp_path: Path) -> None:
    small_tree(hubsim)
    out = tmp_path / "dropped.parquet"
    snapshot_from_hubsim(hubsim, out, drop_columns=("baseModels", "tags"))
    assert describe(out) == [(n, t) for n, t in COLUMNS.items() if n not in ("baseModels", "tags")]
    with pytest.raises(ValueError, match="nope"):
        snapshot_from_hubsim(hubsim, tmp_path / "x.parquet", drop_columns=("nope",))


def test_struct_card_data_refuses_keys_that_differ_only_in_case(tmp_path: Path) -> None:
    cards = [{"id": "a/x", "cardData": {"license": "mit"}}, {"id": "b/y", "cardData": {"License": "mit"}}]
    with pytest.raises(ValueError, match="differ only in case"):
        write_snapshot(tmp_path / "x.parquet", cards, card_data_as="struct")
    write_snapshot(tmp_path / "ok.parquet", cards)  # as JSON strings both are fine


# ---------------------------------------------------------------------------------------------------------------
# Values


def test_each_row_is_what_hubsim_serves_for_the_model(hubsim: HubSim, tmp_path: Path) -> None:
    small_tree(hubsim)
    out = tmp_path / "models.parquet"
    snapshot_from_hubsim(hubsim, out)
    table = rows(out)
    for repo_id in sorted(PUBLIC):
        want = served(hubsim, repo_id)
        row = table[repo_id]
        assert row["tags"] == want["tags"]
        assert row["baseModels"] == want.get("baseModels")
        assert (json.loads(row["cardData"]) if row["cardData"] is not None else None) == want.get("cardData")
        assert [s["rfilename"] for s in row["siblings"]] == [s["rfilename"] for s in want["siblings"]]
        for name in ("author", "downloads", "downloadsAllTime", "likes", "pipeline_tag", "library_name"):
            assert row[name] == want.get(name), name
        for name in ("createdAt", "lastModified"):
            assert iso_date(row[name]) == want[name], name
    child = table["acme/Llama-3.1-8B-Instruct-ft"]
    assert child["baseModels"]["relation"] == "finetune" and [m["id"] for m in child["baseModels"]["models"]] == [ROOT]
    assert {"base_model:" + ROOT, "base_model:finetune:" + ROOT, "license:llama3.1", "dataset:acme/chat"} <= set(
        child["tags"])
    assert json.loads(child["cardData"])["license"] == "llama3.1"
    assert table["acme/Llama-3.1-8B-GGUF"]["baseModels"]["relation"] == "quantized"
    assert table["acme/Llama-3.1-8B-LoRA"]["baseModels"]["relation"] == "adapter"
    merge = table["acme/Llama-merge"]["baseModels"]
    assert merge["relation"] == "merge" and [m["id"] for m in merge["models"]] == [ROOT, "acme/Llama-3.1-8B-GGUF"]
    assert table[ROOT]["pipeline_tag"] == "text-generation" and table[ROOT]["baseModels"] is None
    assert table["acme/no-card"]["cardData"] is None


def test_hostile_rows_arrive_unchanged(tmp_path: Path) -> None:
    big = {"license": "mit", "blob": "x" * (20 << 20)}  # 20 MB: past DuckDB's default 16 MB JSON object
    rows_in = [
        model_row("cyc/a", {"license": "mit", "base_model": "cyc/b"}),
        model_row("cyc/b", {"license": "mit", "base_model": "cyc/a"}),
        model_row("self/loop", {"base_model": "self/loop"}),
        {**model_row("huge/card", big), "cardData": big},
        {"id": "ctl/\x00\x01\x1b[31m\u2028", "tags": ["\x07bell", "license:mit\r\n"], "author": "\ud800",
         "cardData": {"license": "mit\x00", "lone": "\udc00"}},
        {"id": "not/json", "cardData": "{license: [mit"},
    ]
    out = tmp_path / "hostile.parquet"
    assert write_snapshot(out, rows_in) == len(rows_in)
    assert describe(out) == list(COLUMNS.items())
    got = rows(out)
    assert [m["id"] for m in got["cyc/a"]["baseModels"]["models"]] == ["cyc/b"]
    assert [m["id"] for m in got["cyc/b"]["baseModels"]["models"]] == ["cyc/a"]
    assert got["self/loop"]["baseModels"] == {"relation": "finetune", "models": [
        {"_id": model_row("self/loop", {"base_model": "self/loop"})["baseModels"]["models"][0]["_id"],
         "id": "self/loop"}]}
    assert "base_model:finetune:self/loop" in got["self/loop"]["tags"]
    assert json.loads(got["huge/card"]["cardData"]) == big
    hostile = got["ctl/\x00\x01\x1b[31m\u2028"]
    assert hostile["tags"] == ["\x07bell", "license:mit\r\n"]
    assert hostile["author"] == "\ufffd"  # a lone surrogate cannot be UTF-8: replaced in a VARCHAR
    assert json.loads(hostile["cardData"]) == {"license": "mit\x00", "lone": "\udc00"}  # the JSON escape stays
    assert '"\\udc00"' in hostile["cardData"]
    assert got["not/json"]["cardData"] == "{license: [mit"


# ---------------------------------------------------------------------------------------------------------------
# The benchmark's snapshot


def test_benchmark_rows_are_the_rows_hubsim_gives_the_same_models(hubsim: HubSim, tmp_path: Path) -> None:
    specs = list(gen_snapshot.specs(2, 40, 40))
    fast = tmp_path / "fast.parquet"
    done = gen_snapshot.generate(fast, trees=2, per_tree=40, unrelated=40)
    assert done.rows == len(specs) == 2 * 41 + 40
    for spec in specs:
        gen_snapshot.add_to_hubsim(hubsim, spec)
    slow = tmp_path / "hubsim.parquet"
    snapshot_from_hubsim(hubsim, slow)
    assert describe(fast) == describe(slow)
    # hubsim has no all-time downloads or trending score of its own (it serves downloads and 0)
    columns = ", ".join(f'"{c}"' for c in COLUMNS if c not in ("downloadsAllTime", "trendingScore"))
    a, b = rows(fast, columns), rows(slow, columns)
    assert a.keys() == b.keys()
    different = [(i, k) for i in a for k in a[i] if k != "cardData" and a[i][k] != b[i][k]]
    assert not different, different[:5]
    assert all((a[i]["cardData"] is None and b[i]["cardData"] is None)
               or json.loads(a[i]["cardData"]) == json.loads(b[i]["cardData"]) for i in a)


def test_benchmark_snapshot_shape(tmp_path: Path) -> None:
    out = tmp_path / "bench.parquet"
    done = gen_snapshot.generate(out, trees=3, per_tree=2000, unrelated=200)
    assert done.rows == 3 * 2001 + 200 and describe(out) == list(COLUMNS.items())
    assert done.expected_first_tree == gen_snapshot.expected(2000) == Counter(
        {"pass": 1434, "fail": 376, "review": 190})
    con = duckdb.connect()
    con.execute(f"CREATE VIEW m AS SELECT * FROM read_parquet('{out}')")
    # self-contained: every parent a row names is a row of the file
    assert con.sql("SELECT count(*) FROM m, unnest(baseModels.models) AS p(parent) "
                   "WHERE parent.id NOT IN (SELECT id FROM m)").fetchall() == [(0,)]
    relations = dict(con.sql("SELECT baseModels.relation, count(*) FROM m WHERE baseModels IS NOT NULL "
                             "GROUP BY ALL").fetchall())
    assert set(relations) == {"finetune", "adapter", "quantized", "merge"}
    (quantized,) = con.sql("SELECT tags FROM m WHERE baseModels.relation = 'quantized' LIMIT 1").fetchall()
    assert any(t.startswith("base_model:quantized:") for t in quantized[0])
    roots = con.sql("SELECT id, cardData FROM m WHERE id LIKE 'meta-llama/Llama-family-%' ORDER BY id").fetchall()
    assert [r[0] for r in roots] == done.roots and all(json.loads(r[1])["license"] == "llama3.1" for r in roots)
    depths = Counter(s.depth for s in gen_snapshot.tree_specs(0, 2000, 0))
    assert sorted(depths) == [0, 1, 2, 3, 4]
    assert con.sql("SELECT count(*) FROM m WHERE baseModels IS NULL").fetchall() == [(3 + 200,)]


def test_benchmark_verdicts_are_the_engines(hubsim: HubSim, tmp_path: Path) -> None:
    """Each category's documented verdict is what `policycheck tree` (descendants) and `policycheck check` (the
    root and unrelated models) give the same models served by hubsim, with the licensee's figures."""
    specs = list(gen_snapshot.specs(1, 120, 40))
    for spec in specs:
        gen_snapshot.add_to_hubsim(hubsim, spec)
    env = {**make_hub_env(hubsim, tmp_path / "hf"), "POLICYCHECK_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    cli = [sys.executable, "-m", "policy.cli"]
    tree = subprocess.run([*cli, "tree", gen_snapshot.root_id(0), "--policy", str(LICENSEE_POLICY), "--format",
                           "json", "-q"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert tree.returncode in (0, 1, 3), tree.stderr
    by_id = {s.id: s for s in specs}
    got = {r["id"]: (r["verdict"], r["relation"], r["depth"]) for r in json.loads(tree.stdout)["rows"]}
    want = {s.id: (s.verdict, s.relation, s.depth) for s in specs if s.tree == 0 and s.category != "root"}
    assert got == want
    assert {by_id[i].category for i in got} == {"llama", "llama-unnamed", "mit", "apache", "none", "merge", "other"}
    alone = [s for s in specs if s.tree is None or s.category == "root"]
    check = subprocess.run([*cli, "check", *[s.id for s in alone], "--policy", str(LICENSEE_POLICY), "--format",
                            "json"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert check.returncode in (0, 1, 3), check.stderr
    verdicts = {doc["subject"]["id"]: doc["verdict"] for doc in json.loads(check.stdout)}
    assert verdicts == {s.id: s.verdict for s in alone}
