"""Hub metadata snapshots: every model's metadata in one Parquet file, read with DuckDB.

A snapshot is a table with one row per model in the shape of the public `cfahlgren1/hub-stats` `models.parquet`
(daily, about 2.2 million rows): `id`, `author`, `downloads`, `lastModified`, `tags`, `pipeline_tag`,
`library_name`, `cardData` (the card's YAML as JSON) and `baseModels` (the Hub's lineage: `relation` and the
parents' `{_id, id}`), `siblings` (file names). It answers what a Hub listing answers (a model's card data, tags,
declared parents and the Hub's relation) for the whole Hub at once, so a tree is discovered, and the Hub audited,
without a listing request.

Source (`open_source`): a local Parquet file, or a Hub dataset file pinned to a revision,
`hf://datasets/<org>/<name>@<revision>/<path>`, downloaded and cached through `huggingface_hub`
(`hf_hub_download`; `HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME` and `HF_HUB_OFFLINE` apply). What an audit cites
(`SnapshotCite`): the dataset repo and the commit the revision resolved to (or the file's name), the file's
SHA-256 and its row count.

Schema tolerance (`_columns`): `cardData` as a JSON string or as a nested value (a struct or map, turned into
JSON by DuckDB); `baseModels` as a struct or as JSON text; `tags` as a list of strings or JSON text; any other
column is ignored, `siblings` too (as strings or as `{rfilename}` records: the audits read no file list).
`id`, `cardData` and `baseModels` are required: a file without one of them is an `InputError` naming it (and a
file that is not Parquet, one naming the file).

Hostile rows are bounded as hostile cards are: a `cardData` over `MAX_CARD_BYTES` is not read (the model's row
says so, and its verdict is review); a row's parents are cut at `MAX_PARENTS` + 1 (so `too-many-parents` still
shows) and its tags at `MAX_TAGS`; an id the Hub cannot produce is never followed; a `baseModels` cycle or a
self-parent is cut by the walks (each node once; the ancestor closure stops at `MAX_DEPTH`). Nothing read is
executed or evaluated: card data is parsed as JSON and bounded by `policy.scan.listing.bounded_card`.

The snapshot is loaded once into a DuckDB database file (`build`): `nodes` (the normalised rows) and `edges`
(child, parent: the parents `baseModels` and the `base_model:` tags name, as the Hub's `base_model:` filter
sees them, and those the card's `base_model` and `teacher_model` name, as the engine follows them). Readers
open it read-only, several processes at once (`Snapshot`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from policy.errors import InputError, UsageError
from policy.model.facts import INVALID, MISSING, WEIGHT_RELATIONS, ModelFacts
from policy.records import record
from policy.scan.cards import MAX_PARENTS
from policy.scan.hubclient import HubOptions, prepare_environment, quiet_client
from policy.scan.ids import repo_id_problem
from policy.scan.listing import CARD_FIELDS, Descendant, listing_facts, make_descendant

MAX_CARD_BYTES = 1024 * 1024  # a card's JSON in the snapshot; real ones are a few KB
MAX_TAGS = 1024  # tags read of a row (the listing keeps 256 of them after inferring the relation)
MAX_DEPTH = 16  # the ancestor closure: as deep as the engine's lineage walk goes by default
MAX_ROWS = 50_000_000  # a snapshot larger than this is refused (the Hub has about 2.2 million models)
REQUIRED = ("id", "cardData", "baseModels")
HF_SPEC = re.compile(r"hf://datasets/(?P<repo>[^/@]+/[^/@]+)@(?P<rev>[^/]+)/(?P<path>.+)")


@record
class SnapshotCite:
    """What an audit from a snapshot cites as its source."""
    source: str  # the Hub dataset repo, or the local file's name
    revision: str | None  # the commit the revision resolved to (a Hub dataset file), else None
    path: str  # the file in the dataset repo, or the local file's name
    sha256: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "revision": self.revision, "path": self.path, "sha256": self.sha256,
                "rows": self.rows}

    def label(self) -> str:
        at = f"@{self.revision[:12]}" if self.revision else ""
        where = f"{self.source}{at}/{self.path}" if self.revision else self.path
        return f"snapshot {where} (sha256 {self.sha256[:12]}, {self.rows:,} rows)"


def open_source(spec: str, options: HubOptions | None = None) -> tuple[Path, str, str | None, str]:
    """(local file, source, revision, path) of a snapshot given as a local path or a pinned Hub dataset file."""
    if spec.startswith("hf://"):
        m = HF_SPEC.fullmatch(spec)
        if m is None:
            raise UsageError(f"--snapshot {spec!r}: a Hub snapshot is hf://datasets/<org>/<name>@<revision>/<path> "
                             "(pinned to a revision, so that the audit can be reproduced)")
        repo, rev, path = m["repo"], m["rev"], m["path"]
        if repo_id_problem(repo):
            raise UsageError(f"--snapshot {spec!r}: {repo_id_problem(repo)}")
        local, commit = _download(repo, rev, path, options or HubOptions.from_env())
        return local, repo, commit, path
    local = Path(spec)
    if not local.is_file():
        raise UsageError(f"--snapshot {spec}: no such file")
    return local, local.name, None, local.name


def _download(repo: str, revision: str, path: str, options: HubOptions) -> tuple[Path, str | None]:
    prepare_environment(options)
    quiet_client()
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        local = Path(hf_hub_download(repo, path, repo_type="dataset", revision=revision))
    except RepositoryNotFoundError:
        raise InputError(f"snapshot dataset {repo!r} is not on the Hub, or is private") from None
    except RevisionNotFoundError:
        raise InputError(f"snapshot dataset {repo!r} has no revision {revision!r}") from None
    except EntryNotFoundError:
        raise InputError(f"snapshot dataset {repo}@{revision} has no file {path!r}") from None
    except LocalEntryNotFoundError:
        raise InputError(f"snapshot {repo}@{revision}/{path} is not in the local cache and the Hub cannot be "
                         "reached (or HF_HUB_OFFLINE is set)") from None
    except Exception as exc:  # the client's text quotes the request URL: say what failed in words
        from policy.scan.hub import _plain_failure

        raise InputError(f"snapshot {repo}@{revision}/{path} could not be downloaded: "
                         f"{_plain_failure(exc, repo, 'dataset')}") from None
    # the cache keeps each file under snapshots/<commit>/<path>: the commit the revision resolved to
    commit = local.parents[len(Path(path).parts) - 1].name
    return local, commit if re.fullmatch(r"[0-9a-f]{40}", commit) else None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# -- building the database -----------------------------------------------------------------------------------
def _connect(path: Path | str | None = None, *, read_only: bool = False, memory: str = "1GB") -> Any:
    try:
        import duckdb
    except ImportError:
        raise UsageError("reading a Hub metadata snapshot needs DuckDB: pip install 'policycheck[snapshot]'") from None

    con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only,
                         config={"memory_limit": memory, "threads": max(1, min(4, os.cpu_count() or 1)),
                                 "autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 "enable_external_access": True})
    return con


def _columns(con: Any, parquet: str, name: str) -> dict[str, str]:
    """Column name -> DuckDB type of the file; an InputError for a file that is not Parquet."""
    import duckdb

    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [parquet]).fetchall()
    except duckdb.Error as exc:
        first = " ".join(str(exc).split())[:160]
        raise InputError(f"{name}: not a Parquet file DuckDB can read ({first})") from None
    return {str(row[0]): str(row[1]).upper() for row in described}


def _card_expr(kind: str) -> str:
    if kind in ("VARCHAR", "JSON"):
        return "CAST(src.\"cardData\" AS VARCHAR)"
    if kind.startswith(("STRUCT", "MAP")):
        return "CAST(to_json(src.\"cardData\") AS VARCHAR)"
    raise InputError(f"the snapshot's cardData column is {kind}, not JSON text or a struct")


def _base_exprs(kind: str) -> tuple[str, str]:
    """(relation, parents) expressions for the baseModels column."""
    lim = MAX_PARENTS + 1
    if kind.startswith("STRUCT"):
        return ("CAST(src.\"baseModels\".relation AS VARCHAR)",
                f"list_slice(list_transform(src.\"baseModels\".models, lambda m: CAST(m.id AS VARCHAR)), 1, {lim})")
    if kind in ("VARCHAR", "JSON"):
        return ("json_extract_string(src.\"baseModels\", '$.relation')",
                f"list_slice(json_extract_string(src.\"baseModels\", '$.models[*].id'), 1, {lim})")
    raise InputError(f"the snapshot's baseModels column is {kind}, not a struct of relation and models")


def _list_expr(column: str, kind: str | None, limit: int = MAX_TAGS) -> str:
    """A list of strings from a column of strings or of JSON text; [] when absent or of another type."""
    if kind is None:
        return "CAST([] AS VARCHAR[])"
    col = f"src.\"{column}\""
    if kind.endswith("[]") and not kind.startswith("STRUCT"):
        return f"list_slice(list_transform({col}, lambda x: CAST(x AS VARCHAR)), 1, {limit})"
    if kind in ("VARCHAR", "JSON"):
        return f"list_slice(json_extract_string({col}, '$[*]'), 1, {limit})"
    return "CAST([] AS VARCHAR[])"


def _scalar(column: str, kind: str | None, cast: str) -> str:
    if kind is None:
        return f"CAST(NULL AS {cast})"
    return f"TRY_CAST(src.\"{column}\" AS {cast})"


def build(parquet: Path, database: Path, name: str) -> int:
    """Load the snapshot `parquet` into a new DuckDB database `database` (nodes, edges); the row count."""
    database.unlink(missing_ok=True)
    con = _connect(database)
    try:
        cols = _columns(con, str(parquet), name)
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise InputError(f"{name}: the snapshot has no {', '.join(repr(m) for m in missing)} column "
                             f"(required: {', '.join(REQUIRED)}; it has {', '.join(sorted(cols)[:12])})")
        relation, parents = _base_exprs(cols["baseModels"])
        card = _card_expr(cols["cardData"])
        select = f"""
            SELECT CAST(src.id AS VARCHAR) AS id,
                   {_scalar("downloads", cols.get("downloads"), "BIGINT")} AS downloads,
                   {_scalar("lastModified", cols.get("lastModified"), "VARCHAR")} AS last_modified,
                   {_scalar("pipeline_tag", cols.get("pipeline_tag"), "VARCHAR")} AS pipeline_tag,
                   {_scalar("library_name", cols.get("library_name"), "VARCHAR")} AS library_name,
                   {_scalar("gated", cols.get("gated"), "VARCHAR")} AS gated,
                   {_scalar("sha", cols.get("sha"), "VARCHAR")} AS sha,
                   {card} AS card,
                   {_list_expr("tags", cols.get("tags"))} AS tags,
                   {relation} AS relation,
                   {parents} AS parents
            FROM read_parquet(?) AS src WHERE src.id IS NOT NULL"""
        import duckdb

        try:
            # the row count is in the file's metadata: a file too large is refused before anything is loaded
            rows = con.execute("SELECT COUNT(*) FROM read_parquet(?)", [str(parquet)]).fetchone()[0]
            if rows > MAX_ROWS:
                raise InputError(f"{name}: {rows:,} rows, more than policycheck reads ({MAX_ROWS:,})")
            con.execute(f"CREATE TABLE raw AS {select}", [str(parquet)])
        except duckdb.Error as exc:
            first = " ".join(str(exc).split())[:160]
            raise InputError(f"{name}: the snapshot could not be read ({first})") from None
        con.execute(f"""
            CREATE TABLE nodes AS
            SELECT id, downloads, last_modified, pipeline_tag, library_name, gated, sha,
                   CASE WHEN strlen(card) > {MAX_CARD_BYTES} THEN NULL ELSE card END AS card,
                   COALESCE(strlen(card) > {MAX_CARD_BYTES}, false) AS card_too_large,
                   tags, relation, parents
            FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY downloads DESC NULLS LAST) AS n FROM raw)
            WHERE n = 1""")
        con.execute("DROP TABLE raw")
        # The parents a row names: what the Hub's base_model filter sees (baseModels, base_model: tags) and what
        # the engine follows (the card's base_model and teacher_model), each pair once; no self-parent.
        con.execute(f"""
            CREATE TABLE edges AS
            WITH named AS (
                SELECT id AS child, unnest(parents) AS parent, true AS hub FROM nodes
                UNION ALL
                SELECT id, substr(t, 12), true FROM (SELECT id, unnest(tags) AS t FROM nodes)
                WHERE starts_with(t, 'base_model:') AND length(t) - length(replace(t, ':', '')) = 1
                UNION ALL {_card_ids("base_model")}
                UNION ALL {_card_ids("teacher_model")}
            )
            SELECT child, parent, bool_or(hub) AS hub FROM named
            WHERE parent IS NOT NULL AND parent <> child GROUP BY child, parent ORDER BY parent, child""")
        # Each model's family: up its first parent (the first the Hub's baseModels names, else the card's) to
        # the farthest ancestor, MAX_DEPTH levels at most (a cycle ends there): one chain per model, so the
        # table is at most MAX_DEPTH + 1 rows a model, whatever the graph.
        con.execute(f"""
            CREATE TABLE families AS
            WITH RECURSIVE first AS (
                SELECT id AS child, NULLIF(COALESCE(parents[1], CASE WHEN json_valid(card) THEN
                       CASE json_type(card, '$.base_model')
                       WHEN 'ARRAY' THEN json_extract_string(card, '$.base_model[0]')
                       WHEN 'VARCHAR' THEN json_extract_string(card, '$.base_model') END END), id) AS parent
                FROM nodes
            ), up(id, anc, depth) AS (
                SELECT id, id, 0 FROM nodes
                UNION ALL
                SELECT up.id, f.parent, up.depth + 1 FROM up JOIN first f ON f.child = up.anc
                WHERE f.parent IS NOT NULL AND up.depth < {MAX_DEPTH}
            )
            SELECT id, arg_max(anc, depth) AS family, max(depth) AS depth FROM up GROUP BY id""")
        con.execute("CREATE INDEX nodes_id ON nodes (id)")
        count = int(con.execute("SELECT COUNT(*) FROM nodes").fetchone()[0])
        con.execute("CREATE TABLE built AS SELECT 'rows' AS key, CAST(? AS VARCHAR) AS value", [count])
        con.execute("CHECKPOINT")
        return count
    finally:
        con.close()


def _card_ids(key: str) -> str:
    """(child, parent, false) for each id the card data's `key` names (a string or a list), bounded."""
    return f"""
                SELECT id, unnest(list_slice(CASE json_type(card, '$.{key}')
                        WHEN 'ARRAY' THEN json_extract_string(card, '$.{key}[*]')
                        WHEN 'VARCHAR' THEN [json_extract_string(card, '$.{key}')] END, 1, {MAX_PARENTS + 1})),
                       false
                FROM nodes WHERE card IS NOT NULL AND json_valid(card)"""


# -- reading -------------------------------------------------------------------------------------------------
NODE_COLUMNS = "id, downloads, last_modified, pipeline_tag, library_name, gated, sha, card, card_too_large, tags, " \
               "relation, parents"


@record(slots=True)
class Node:
    """One model's row, normalised (bounded lists, card data as JSON text or None)."""
    id: str
    downloads: int
    last_modified: str | None
    pipeline_tag: str | None
    library_name: str | None
    gated: str | None
    sha: str | None
    card: str | None
    card_too_large: bool
    tags: tuple[str, ...]
    relation: str | None
    parents: tuple[str, ...]

    @classmethod
    def of(cls, row: Sequence[Any]) -> Node:
        (rid, downloads, last, task, library, gated, sha, card, large, tags, relation, parents) = row
        return cls(id=rid, downloads=downloads if isinstance(downloads, int) and downloads >= 0 else 0,
                   last_modified=last, pipeline_tag=task, library_name=library, gated=gated, sha=sha, card=card,
                   card_too_large=bool(large), tags=tuple(t for t in tags or () if isinstance(t, str)),
                   relation=relation, parents=tuple(p for p in parents or () if isinstance(p, str)))

    def card_data(self) -> dict[str, Any]:
        if not self.card:
            return {}
        try:
            data = json.loads(self.card)
        except (ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def digest(self) -> str:
        """What the row holds that a verdict can rest on, as a digest (a row judged at it is not judged again)."""
        h = hashlib.sha256()
        for part in (self.id, self.card or "", "\0".join(self.tags), self.relation or "", "\0".join(self.parents),
                     self.pipeline_tag or "", self.library_name or "", self.gated or "", self.sha or "",
                     str(self.card_too_large)):
            h.update(part.encode("utf-8", "surrogatepass") + b"\x1f")
        return h.hexdigest()[:40]


class Snapshot:
    """A built snapshot database, open read-only (any number of processes may read it at once)."""

    def __init__(self, database: Path, cite: SnapshotCite, *, memory: str = "512MB") -> None:
        self.database = database
        self.cite = cite
        self.con = _connect(database, read_only=True, memory=memory)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- rows ---------------------------------------------------------------------------------------------
    def nodes(self, ids: Iterable[str]) -> dict[str, Node]:
        wanted = list(dict.fromkeys(ids))
        out: dict[str, Node] = {}
        for i in range(0, len(wanted), 5000):
            part = wanted[i:i + 5000]
            for row in self.con.execute(f"SELECT {NODE_COLUMNS} FROM nodes WHERE id IN (SELECT unnest(?))",
                                        [part]).fetchall():
                out[row[0]] = Node.of(row)
        return out

    def children(self, parents: Sequence[str]) -> dict[str, list[str]]:
        """parent -> the ids naming it as a parent the way the Hub's `base_model:` filter sees them, by id."""
        out: dict[str, list[str]] = {}
        for i in range(0, len(parents), 5000):
            part = list(parents[i:i + 5000])
            for parent, child in self.con.execute(
                    "SELECT parent, child FROM edges WHERE hub AND parent IN (SELECT unnest(?)) "
                    "ORDER BY parent, child", [part]).fetchall():
                out.setdefault(parent, []).append(child)
        return out

    def ancestors(self, ids: Sequence[str]) -> set[str]:
        """Every model the rows of `ids` descend from within the snapshot (any edge), up to `MAX_DEPTH` levels
        (a cycle ends there), `ids` included."""
        found: set[str] = set(ids)
        for i in range(0, len(ids), 5000):
            part = list(ids[i:i + 5000])
            rows = self.con.execute(f"""
                WITH RECURSIVE up(id, depth) AS (
                    SELECT unnest(?), 0
                    UNION
                    SELECT e.parent, up.depth + 1 FROM up JOIN edges e ON e.child = up.id
                    WHERE up.depth < {MAX_DEPTH}
                ) SELECT DISTINCT id FROM up""", [part]).fetchall()
            found.update(r[0] for r in rows)
        return found

    def subjects(self, *, licenses: Sequence[str] = (), authors: Sequence[str] = (),
                 relations: Sequence[str] = (), min_downloads: int = 0, within: str | None = None,
                 shard: tuple[int, int] | None = None) -> Iterator[tuple[str, str, int]]:
        """(id, family, depth) of every model the filters keep, family by family, shallow first: what a hub audit
        judges. `licenses`: the card declares one of them (case-insensitive); `authors`: its organisation;
        `relations`: the Hub's relation to its parents; `within`: `within` and its descendants (any edge);
        `shard` (k, n): the families whose id's MD5 is k - 1 modulo n (a whole family in one shard, the same on
        every machine)."""
        where = ["n.downloads >= ?"]
        params: list[Any] = [min_downloads]
        if licenses:
            where.append("json_valid(n.card) AND list_has_any(list_transform(CASE json_type(n.card, '$.license') "
                         "WHEN 'ARRAY' THEN json_extract_string(n.card, '$.license[*]') "
                         "ELSE [json_extract_string(n.card, '$.license')] END, lambda x: lower(x)), ?)")
            params.append([x.lower() for x in licenses])
        if authors:
            where.append("lower(split_part(n.id, '/', 1)) IN (SELECT unnest(?))")
            params.append([a.lower() for a in authors])
        if relations:
            where.append("n.relation IN (SELECT unnest(?))")
            params.append(list(relations))
        if within:
            where.append(f"""n.id IN (
                WITH RECURSIVE down(id, depth) AS (
                    SELECT ?, 0 UNION
                    SELECT e.child, down.depth + 1 FROM down JOIN edges e ON e.parent = down.id
                    WHERE down.depth < {MAX_DEPTH}
                ) SELECT id FROM down)""")
            params.append(within)
        if shard is not None:
            where.append("CAST(('0x' || substr(md5(f.family), 1, 8)) AS BIGINT) % ? = ?")
            params += [shard[1], shard[0] - 1]
        cursor = self.con.execute(
            "SELECT n.id, f.family, f.depth FROM nodes n JOIN families f USING (id) "
            f"WHERE {' AND '.join(where)} ORDER BY f.family, f.depth, n.id", params)
        while batch := cursor.fetchmany(10_000):
            for rid, family, depth in batch:
                yield rid, family, int(depth)

    # -- walks ----------------------------------------------------------------------------------------------
    def descendants(self, root: str, *, relations: frozenset[str] | None = None, max_depth: int | None = None,
                    limit: int | None = None, min_downloads: int = 0,
                    card_fields: frozenset[str] | None = CARD_FIELDS,
                    on_dropped: Any = None) -> Iterator[tuple[Descendant, Node]]:
        """The descendants of `root`, breadth-first, each once, as the listing walk
        (`policy.scan.listing.iter_descendants`) finds them: the same filters, the same relation of a child to
        the parent it was found under (the Hub's tag, else the card, else inferred), children of a node by id."""
        visited = {root}
        frontier = [root]
        depth = 0
        yielded = 0
        while frontier and (max_depth is None or depth < max_depth):
            kids = self.children(frontier)
            wanted = [c for node in frontier for c in kids.get(node, ())]
            rows = self.nodes(c for c in wanted if c not in visited)
            following: list[str] = []
            for node in frontier:
                for child_id in kids.get(node, ()):
                    if child_id in visited:
                        continue
                    row = rows.get(child_id)
                    if row is None:
                        continue
                    if repo_id_problem(child_id):
                        if on_dropped is not None:
                            on_dropped(node, child_id[:80])
                        continue
                    d = self.descendant(row, node, depth + 1, card_fields)
                    if relations is not None and d.relation not in relations:
                        continue
                    visited.add(child_id)
                    following.append(child_id)
                    if d.downloads >= min_downloads:
                        yield d, row
                        yielded += 1
                        if limit is not None and yielded >= limit:
                            return
            frontier = following
            depth += 1

    def descendant(self, row: Node, parent: str, depth: int,
                   card_fields: frozenset[str] | None = CARD_FIELDS) -> Descendant:
        gated = row.gated.lower() if isinstance(row.gated, str) else None
        d = make_descendant(
            row.id, parent, depth, raw_card=row.card_data(), tags=row.tags, sha=row.sha,
            downloads=row.downloads, gated=gated if gated in ("auto", "manual") else gated == "true",
            last_modified=row.last_modified, pipeline_tag=row.pipeline_tag, library_name=row.library_name,
            card_fields=card_fields)
        assert d is not None  # the id was checked
        return d

    def facts(self, row: Node, card_fields: frozenset[str] | None = CARD_FIELDS) -> ModelFacts:
        """The facts a row gives of its model, as a listing entry's (`listing_facts`), said to come from here."""
        if repo_id_problem(row.id):
            return ModelFacts(id=row.id, kind="model", source="hub", status=INVALID,
                              status_detail=f"its id in the {self.cite.label()} is not a Hub repo id")
        parent = row.parents[0] if row.parents else row.id
        relation = row.relation if row.relation in WEIGHT_RELATIONS else "finetune"
        d = self.descendant(row, parent, 0, card_fields)
        facts = listing_facts(d)
        facts = replace(facts, hub_relation=relation if row.parents else None,
                        status_detail=f"card metadata from the {self.cite.label()}")
        if row.card_too_large:
            facts = replace(facts, status=INVALID, status_detail=f"its card data in the {self.cite.label()} is "
                                  f"larger than {MAX_CARD_BYTES // 1024:,} KB and was not read")
        return facts

    def missing(self, repo_id: str, kind: str) -> ModelFacts:
        what = "dataset" if kind == "dataset" else "model"
        return ModelFacts(id=repo_id, kind=kind, source="hub", status=MISSING,
                          status_detail=f"{what} not in the {self.cite.label()}")


def load(spec: str, workdir: Path, options: HubOptions | None = None) -> Snapshot:
    """Resolve `spec`, hash the file and build its database in `workdir` (reused when the same file was built
    there before: it is named by the file's SHA-256); the open snapshot."""
    local, source, revision, path = open_source(spec, options)
    digest = file_sha256(local)
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / f"snapshot-{digest[:32]}-v{BUILD_VERSION}.duckdb"
    rows = _built_rows(database)
    if rows is None:
        partial = database.with_name(f"{database.name}.{os.getpid()}.partial")
        try:
            rows = build(local, partial, path)
            os.replace(partial, database)  # whole or not at all: a killed build leaves no database behind
        finally:
            partial.unlink(missing_ok=True)
            Path(f"{partial}.wal").unlink(missing_ok=True)
    return Snapshot(database, SnapshotCite(source=source, revision=revision, path=path, sha256=digest, rows=rows))


BUILD_VERSION = 3  # the layout of the built database; a new one builds again


def _built_rows(database: Path) -> int | None:
    """The row count of a database built before, None when there is none (or it cannot be read)."""
    if not database.is_file():
        return None
    import duckdb

    try:
        con = _connect(database, read_only=True, memory="64MB")
        try:
            found = con.execute("SELECT value FROM built WHERE key = 'rows'").fetchone()
        finally:
            con.close()
    except duckdb.Error:
        return None
    return int(found[0]) if found and str(found[0]).isdigit() else None
