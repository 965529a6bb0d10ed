"""Hub metadata snapshots for tests and benchmarks: Parquet files shaped like `models.parquet` of the dataset
`cfahlgren1/hub-stats` (one row per public model; shared/reference/hub-api.md, "Whole-Hub metadata snapshots").

Three ways in, one writer:
- `snapshot_from_hubsim(hub, path)`: every public model of a `HubSim` (tests/hubsim), each row holding what the
  emulator answers for it on `/api/models/{id}?expand=...` (hubsim's own field functions compute tags,
  baseModels, pipeline_tag, library_name, cardData, downloads and dates; siblings are the repo's file names).
- `write_snapshot(path, rows)`: hand-written rows (dicts keyed by column name), hostile ones included; `model_row`
  builds a complete row the way hubsim derives one, to start from.
- `write_snapshot_lines(path, lines)`: NDJSON lines already in the snapshot's shape (the benchmark's fast path).

Rows go to an NDJSON file in a temporary folder, then DuckDB converts it:
`COPY (SELECT * FROM read_json(..., columns={...})) TO 'x.parquet' (FORMAT parquet)`. Every column has an explicit
type, so a column that is NULL in every row still has its type in the file.

The columns (`COLUMNS`, in this order): `id, author` VARCHAR, `createdAt, lastModified` TIMESTAMP (UTC, without a
zone, as the Hub's `...Z` strings read), `downloads, downloadsAllTime, likes` BIGINT, `trendingScore` DOUBLE,
`tags` VARCHAR[], `pipeline_tag, library_name` VARCHAR, `cardData` VARCHAR (the card's YAML front matter as a
JSON string; NULL without a card), `baseModels` STRUCT(relation VARCHAR, models STRUCT(_id VARCHAR, id VARCHAR)[])
(NULL without a parent), `siblings` STRUCT(rfilename VARCHAR)[].

Variants, for the reader's tests:
- `card_data_as="struct"`: cardData is a STRUCT with one field per top-level card key seen in any row (in the
  order first seen), each typed from every value it takes: VARCHAR when all are strings, VARCHAR[] when all are
  lists of strings, BOOLEAN, BIGINT, DOUBLE (integers and floats mixed), and JSON for anything else (mappings,
  mixed lists, a key that is a string in one card and a list in another). A missing key is a NULL field; no card
  is a NULL struct; an empty card is a struct whose fields are all NULL. This is what a Parquet writer makes of
  the Hub's card objects; DuckDB's `to_json(cardData)` gives the card back as JSON (missing keys as `null`).
  DuckDB's struct field names are case-insensitive: two keys that differ only in case (`License`, `license`)
  cannot both be fields, and such a snapshot raises ValueError (use the JSON string form for those cards).
- `siblings_as="strings"`: siblings is VARCHAR[] of file names.
- `extra_columns=True`: columns the reader does not know, after the others (`EXTRA_COLUMNS`).
- `drop_columns`: leave these columns out (a snapshot missing a required column).

Text: Parquet strings are UTF-8, so a lone UTF-16 surrogate (which a card may hold) becomes U+FFFD in a VARCHAR
value; inside the JSON string of cardData it stays the JSON escape `\\ud800`, as the Hub's API sends it. Control
characters, NUL included, are kept as they are.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TextIO, cast

from tests.hubsim import HubSim
from tests.hubsim.server import (
    RenderContext,
    Repo,
    RepoFile,
    fake_object_id,
    iso_date,
    iter_repos,
    json_default,
    render,
)

CardDataAs = Literal["json", "struct"]
SiblingsAs = Literal["records", "strings"]

BASE_MODELS_TYPE = "STRUCT(relation VARCHAR, models STRUCT(_id VARCHAR, id VARCHAR)[])"
SIBLINGS_RECORDS = "STRUCT(rfilename VARCHAR)[]"
SIBLINGS_STRINGS = "VARCHAR[]"
COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "author": "VARCHAR",
    "createdAt": "TIMESTAMP",
    "lastModified": "TIMESTAMP",
    "downloads": "BIGINT",
    "downloadsAllTime": "BIGINT",
    "likes": "BIGINT",
    "trendingScore": "DOUBLE",
    "tags": "VARCHAR[]",
    "pipeline_tag": "VARCHAR",
    "library_name": "VARCHAR",
    "cardData": "VARCHAR",
    "baseModels": BASE_MODELS_TYPE,
    "siblings": SIBLINGS_RECORDS,
}
# Columns the real snapshot has and the reader does not use (usedStorage is a model_info field; safetensors and
# gguf are hub-stats columns), one of them nested.
EXTRA_COLUMNS: dict[str, str] = {
    "usedStorage": "BIGINT",
    "safetensors": "VARCHAR",
    "gguf": "STRUCT(total BIGINT, architecture VARCHAR, context_length BIGINT)",
}
# The fields asked of hubsim for a row: what `/api/models/{id}?expand=<these>` answers.
HUB_FIELDS = ("id", "author", "createdAt", "lastModified", "downloads", "downloadsAllTime", "likes", "trendingScore",
              "tags", "pipeline_tag", "library_name", "cardData", "baseModels", "siblings", "usedStorage")
DATE_COLUMNS = ("createdAt", "lastModified")
# DuckDB's own limit for one JSON object is 16 MiB; a hostile card may be larger.
MIN_OBJECT_SIZE = 16 << 20
_SURROGATE = re.compile("[\ud800-\udfff]")


# ---------------------------------------------------------------------------------------------------------------
# Schema


def columns_for(*, card_data_type: str = "VARCHAR", siblings_as: SiblingsAs = "records", extra_columns: bool = False,
                drop_columns: Iterable[str] = ()) -> dict[str, str]:
    """The snapshot's columns and DuckDB types, in file order, for these options."""
    if siblings_as not in ("records", "strings"):
        raise ValueError(f"siblings_as must be 'records' or 'strings', got {siblings_as!r}")
    columns = {**COLUMNS, "cardData": card_data_type,
               "siblings": SIBLINGS_RECORDS if siblings_as == "records" else SIBLINGS_STRINGS}
    if extra_columns:
        columns.update(EXTRA_COLUMNS)
    dropped = set(drop_columns)
    unknown = dropped - set(columns)
    if unknown:
        raise ValueError(f"drop_columns names columns the snapshot does not have: {sorted(unknown)}")
    return {name: kind for name, kind in columns.items() if name not in dropped}


def sql_name(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class CardTypes:
    """The STRUCT type of cardData over every card seen: one field per top-level key, typed from its values."""

    def __init__(self) -> None:
        self.kinds: dict[str, set[str]] = {}
        self.folded: dict[str, str] = {}  # lower-case key -> the key as first seen

    def add(self, card: Mapping[str, Any]) -> None:
        for key, value in card.items():
            seen = self.folded.setdefault(key.lower(), key)
            if seen != key:
                raise ValueError(f"cardData keys {seen!r} and {key!r} differ only in case: DuckDB STRUCT field names "
                                 "are case-insensitive, so this card cannot be written as a struct "
                                 "(card_data_as='json' can)")
            if not key:
                raise ValueError("an empty cardData key cannot be a STRUCT field (card_data_as='json' can)")
            kinds = self.kinds.setdefault(key, set())
            if value is not None:
                kinds.add(value_kind(value))

    def sql_type(self) -> str:
        if not self.kinds:  # no card had a key: a struct needs a field
            return "STRUCT(license VARCHAR)"
        fields = ", ".join(f"{sql_name(key)} {merged_kind(kinds)}" for key, kinds in self.kinds.items())
        return f"STRUCT({fields})"


def value_kind(value: Any) -> str:
    """The DuckDB type of one card value (after a JSON round trip)."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT" if -(2**63) <= value < 2**63 else "JSON"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, str):
        return "VARCHAR"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "VARCHAR[]"
    return "JSON"


def merged_kind(kinds: set[str]) -> str:
    if not kinds:
        return "VARCHAR"  # NULL in every card
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"BIGINT", "DOUBLE"}:
        return "DOUBLE"
    return "JSON"


# ---------------------------------------------------------------------------------------------------------------
# Rows


def card_json(card: Mapping[str, Any]) -> str:
    """A card as the JSON text the Hub serves (a lone surrogate as its JSON escape, dates in ISO form)."""
    text = json.dumps(card, default=json_default, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clean_text(value: Any) -> Any:
    """Strings with every lone surrogate replaced by U+FFFD, inside lists and mappings too."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [clean_text(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(k): clean_text(v) for k, v in value.items()}
    return value


def date_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, date, datetime)):
        return iso_date(value)
    raise ValueError(f"not a date: {value!r}")


def base_models_value(value: Any) -> dict[str, Any] | None:
    """baseModels as the Hub serves it; a parent may be given as a bare id (its `_id` is made up as hubsim's)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"baseModels must be a mapping or None, got {type(value).__name__}")
    models = []
    for item in value.get("models") or []:
        if isinstance(item, str):
            models.append({"_id": fake_object_id(f"model:{item}"), "id": item})
        else:
            models.append({"_id": item.get("_id", fake_object_id(f"model:{item.get('id')}")), "id": item.get("id")})
    return {"relation": value.get("relation"), "models": models}


def siblings_value(value: Any, siblings_as: SiblingsAs) -> list[Any] | None:
    if value is None:
        return None
    names = [item if isinstance(item, str) else item.get("rfilename") for item in value]
    return names if siblings_as == "strings" else [{"rfilename": name} for name in names]


def card_value(value: Any, card_data_as: CardDataAs, types: CardTypes | None) -> Any:
    """cardData for the NDJSON line: the JSON string, or (struct) the card object, recorded in `types`."""
    if value is None:
        return None
    if card_data_as == "json":
        return value if isinstance(value, str) else card_json(value)
    card = json.loads(value) if isinstance(value, str) else json.loads(card_json(value))
    if not isinstance(card, dict):
        raise ValueError(f"a struct cardData must be a JSON object, got {type(card).__name__}")
    card = clean_text(card)
    if types is not None:
        types.add(card)
    return card


def normalise(row: Mapping[str, Any], columns: Mapping[str, str], card_data_as: CardDataAs,
              siblings_as: SiblingsAs, types: CardTypes | None) -> dict[str, Any]:
    """A hand-written row as one NDJSON object of the snapshot's shape. A missing key is NULL."""
    unknown = set(row) - set(COLUMNS) - set(EXTRA_COLUMNS)
    if unknown:
        raise ValueError(f"unknown snapshot columns {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name in columns:
        value = row.get(name)
        if name in DATE_COLUMNS:
            value = date_text(value)
        elif name == "cardData":
            value = card_value(value, card_data_as, types)
        elif name == "baseModels":
            value = base_models_value(value)
        elif name == "siblings":
            value = siblings_value(value, siblings_as)
        elif name == "gguf" and isinstance(value, str):
            value = json.loads(value)
        out[name] = value
    return out


def model_row(repo_id: str, card: Mapping[str, Any] | None = None, *, files: Sequence[str] = ("README.md",),
              downloads: int = 0, likes: int = 0, last_modified: str | date | None = None,
              created_at: str | date | None = None, library_name: str | None = None,
              pipeline_tag: str | None = None) -> dict[str, Any]:
    """A complete row for `repo_id` with this card and these file names, every value derived as hubsim derives it
    (tags, baseModels and its relation, pipeline_tag, dates). Override any key afterwards for a hostile row."""
    meta: dict[str, Any] = {"downloads": downloads, "likes": likes}
    if card is not None:
        meta["card_data"] = dict(card)
    for key, moment in (("last_modified", last_modified), ("created_at", created_at)):
        if moment is not None:
            meta[key] = iso_date(moment)
    for key, text in (("library_name", library_name), ("pipeline_tag", pipeline_tag)):
        if text is not None:
            meta[key] = text
    repo = Repo("model", repo_id, {name: RepoFile(name, b"") for name in files}, meta)
    return row_from_repo(repo, RenderContext(cast(HubSim, None)))


def row_from_repo(repo: Repo, ctx: RenderContext) -> dict[str, Any]:
    """One row: hubsim's rendering of the repo's fields, plus the extra columns' values."""
    served = render(repo, HUB_FIELDS, ctx)
    row: dict[str, Any] = {name: served.get(name) for name in COLUMNS}
    row["siblings"] = [item["rfilename"] for item in served.get("siblings", [])]
    row["usedStorage"] = served.get("usedStorage")
    weights = [f for f in repo.files.values() if f.path.endswith(".safetensors")]
    ggufs = [f for f in repo.files.values() if f.path.lower().endswith(".gguf")]
    if weights:
        row["safetensors"] = json.dumps({"parameters": {"BF16": sum(f.size for f in weights)},
                                         "total": sum(f.size for f in weights)})
    if ggufs:
        row["gguf"] = {"total": sum(f.size for f in ggufs), "architecture": "llama", "context_length": 131072}
    return row


# ---------------------------------------------------------------------------------------------------------------
# Writing


def write_snapshot(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]], *,
                   card_data_as: CardDataAs = "json", siblings_as: SiblingsAs = "records", extra_columns: bool = False,
                   drop_columns: Iterable[str] = ()) -> int:
    """Write `rows` (dicts keyed by column name; a missing key is NULL) as a snapshot Parquet file at `path`.

    cardData may be a mapping (written as the JSON text the Hub serves) or a string (written as it is, so a
    row can hold text that is not JSON); baseModels a mapping whose `models` are `{"_id", "id"}` records or bare
    ids; siblings a list of file names or `{"rfilename"}` records; dates ISO strings, dates or datetimes.
    Returns the number of rows."""
    if card_data_as not in ("json", "struct"):
        raise ValueError(f"card_data_as must be 'json' or 'struct', got {card_data_as!r}")
    dropped = tuple(drop_columns)
    columns = columns_for(siblings_as=siblings_as, extra_columns=extra_columns, drop_columns=dropped)
    types = CardTypes() if card_data_as == "struct" else None

    def lines() -> Iterator[str]:
        for row in rows:
            yield json.dumps(normalise(row, columns, card_data_as, siblings_as, types), ensure_ascii=False)

    if types is None:
        return write_snapshot_lines(path, lines(), columns)
    with tempfile.TemporaryDirectory(prefix="snapshotgen-") as folder:
        ndjson = Path(folder) / "rows.ndjson"
        count, longest = _write_lines(ndjson, lines())
        if "cardData" in columns:
            columns = {**columns, "cardData": types.sql_type()}
        _convert(ndjson, Path(path), columns, longest)
    return count


def write_snapshot_lines(path: str | os.PathLike[str], lines: Iterable[str],
                         columns: Mapping[str, str] = COLUMNS) -> int:
    """Write NDJSON `lines` already in the snapshot's shape (keys as `columns`, dates as ISO strings, cardData as
    a JSON string) as a Parquet file at `path`; returns the number of rows. The benchmark's fast path."""
    with tempfile.TemporaryDirectory(prefix="snapshotgen-") as folder:
        ndjson = Path(folder) / "rows.ndjson"
        count, longest = _write_lines(ndjson, lines)
        _convert(ndjson, Path(path), columns, longest)
    return count


def snapshot_from_hubsim(hub: HubSim, path: str | os.PathLike[str], *, card_data_as: CardDataAs = "json",
                         siblings_as: SiblingsAs = "records", extra_columns: bool = False,
                         drop_columns: Iterable[str] = ()) -> int:
    """Write a snapshot of every model of `hub` to `path`, each row what hubsim serves for it; returns the row count.

    Private models and renamed ones (a redirect, not a model) are left out, as in a listing and in the public
    snapshot. Datasets are not models and are never in it. Rows are ordered by id."""
    ctx = RenderContext(hub)
    rows = (row_from_repo(repo, ctx) for repo in iter_repos(hub.root, "models")
            if not repo.private and not repo.renamed_to)
    return write_snapshot(path, rows, card_data_as=card_data_as, siblings_as=siblings_as,
                          extra_columns=extra_columns, drop_columns=drop_columns)


def _write_lines(path: Path, lines: Iterable[str]) -> tuple[int, int]:
    """Write the lines as UTF-8; returns (count, longest line in bytes)."""
    count = longest = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for line in lines:
            longest = max(longest, _write_line(out, line))
            count += 1
    return count, longest


def _write_line(out: TextIO, line: str) -> int:
    try:
        size = len(line.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate left in a value
        line = _SURROGATE.sub("\ufffd", line)
        size = len(line.encode("utf-8"))
    out.write(line)
    out.write("\n")
    return size


def _convert(ndjson: Path, out: Path, columns: Mapping[str, str], longest: int) -> None:
    """NDJSON to Parquet with DuckDB, every column with its explicit type."""
    import duckdb

    spec = "{" + ", ".join(f"{sql_string(name)}: {sql_string(kind)}" for name, kind in columns.items()) + "}"
    select = ", ".join(sql_name(name) for name in columns)
    max_size = max(MIN_OBJECT_SIZE, 2 * longest + 1024)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"COPY (SELECT {select} FROM read_json({sql_string(str(ndjson))}, "
                    f"format = 'newline_delimited', columns = {spec}, maximum_object_size = {max_size})) "
                    f"TO {sql_string(str(out))} (FORMAT parquet)")
    finally:
        con.close()
