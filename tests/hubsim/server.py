"""A folder-backed Hugging Face Hub emulator for tests (stdlib HTTP server).

Repos are folders: ``<root>/models/<org>/<name>/...`` and ``<root>/datasets/<org>/<name>/...``, with an
optional ``_hubsim.yaml`` of metadata (never served).  The HTTP contract follows
``shared/reference/hub-api.md`` §4-§5 so that the unmodified ``huggingface_hub`` 2.4.0 client accepts it.
Repos are read from disk on every request, so tests may add or change files while the server runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import socketserver
import sys
import tempfile
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qs, parse_qsl, unquote, unquote_plus, urlencode, urlsplit

import yaml

META_FILE = "_hubsim.yaml"
META_KEYS = frozenset(
    {
        "gated",
        "private",
        "sha",
        "last_modified",
        "created_at",
        "revisions",
        "extra_files",
        "card_data",
        "renamed_to",
        "downloads",
        "likes",
        "library_name",
        "pipeline_tag",
    }
)
# The tasks the emulated Hub computes from a config.json architecture when the card states none (a few of the
# heads transformers maps to a pipeline; the Hub's own computation covers many more).
COMPUTED_TASKS = {"ForCausalLM": "text-generation", "ForMaskedLM": "fill-mask",
                  "ForImageClassification": "image-classification"}
KINDS = {"models": "model", "datasets": "dataset"}
RELATIONS = ("adapter", "merge", "quantized", "finetune")
DEFAULT_DATE = "2024-01-01T00:00:00.000Z"
LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".ckpt", ".onnx", ".h5", ".msgpack", ".parquet")
LFS_POINTER_SIZE = 134
REPO_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SHA_RE = re.compile(r"[0-9a-f]{40}")
# Same block regex as huggingface_hub 2.4.0 repocard.py REGEX_YAML_BLOCK.
YAML_BLOCK = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")

MODEL_EXPAND = frozenset(
    "author baseModels cardData childrenModelCount config createdAt disabled downloads downloadsAllTime "
    "evalResults gated gguf inference inferenceProviderMapping lastModified library_name likes mask_token "
    "model-index pipeline_tag private resourceGroup safetensors sha siblings spaces tags transformersInfo "
    "trendingScore usedStorage widgetData".split()
)
DATASET_EXPAND = frozenset(
    "author cardData citation createdAt description disabled downloads downloadsAllTime gated lastModified "
    "likes mainSize paperswithcode_id private resourceGroup sha siblings tags trendingScore usedStorage".split()
)
# huggingface_hub#3182: the real server refuses these when listing.
LIST_FORBIDDEN_EXPAND = frozenset({"baseModels", "childrenModelCount", "usedStorage"})

MODEL_INFO_FIELDS = (
    "_id", "id", "private", "pipeline_tag", "library_name", "tags", "downloads", "likes", "modelId", "author",
    "sha", "lastModified", "gated", "disabled", "model-index", "config", "cardData", "siblings", "spaces",
    "createdAt", "usedStorage",
)  # fmt: skip
DATASET_INFO_FIELDS = (
    "_id", "id", "author", "sha", "lastModified", "private", "gated", "disabled", "downloads", "likes", "tags",
    "cardData", "siblings", "createdAt", "usedStorage",
)  # fmt: skip
MODEL_LIST_FIELDS = (
    "_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag", "library_name",
    "createdAt", "modelId",
)  # fmt: skip
DATASET_LIST_FIELDS = (
    "_id", "id", "author", "sha", "lastModified", "private", "gated", "disabled", "downloads", "likes", "tags",
    "createdAt", "trendingScore",
)  # fmt: skip
LIST_FULL_EXTRA = ("author", "sha", "lastModified", "gated", "disabled", "siblings")


# ---------------------------------------------------------------------------------------------------------------
# Small helpers


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob with this content (what the Hub uses as ETag of regular files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def iso_date(value: object) -> str:
    """Normalise a date (str, date or datetime) to the Hub's ``2024-01-01T00:00:00.000Z`` format."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError(f"not a date: {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fake_object_id(text: str) -> str:
    """A deterministic 24-hex id in the style of the Hub's ``_id``."""
    return hashlib.sha1(text.encode()).hexdigest()[:24]


def parse_card_data(text: str) -> dict[str, Any] | None:
    """The README's YAML front matter as a mapping, or None when absent or unparsable."""
    match = YAML_BLOCK.search(text)
    if match is None:
        return None
    try:
        data = yaml.safe_load(match.group(2))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def make_card(metadata: Mapping[str, Any], body: str = "") -> str:
    """Build a README.md with ``metadata`` as YAML front matter (handy with ``HubSim.add_model``)."""
    front = yaml.safe_dump(dict(metadata), sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n{body}"


def as_str_list(value: object) -> list[str]:
    """Card values that may be a string or a list of strings, as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def dedup(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def json_default(value: object) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def placeholder_content(name: str) -> bytes:
    return b"{}\n" if name.endswith(".json") else f"hubsim placeholder: {name}\n".encode()


def validate_repo_id(repo_id: str) -> tuple[str, str]:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(REPO_PART.fullmatch(p) for p in parts) or ".." in repo_id:
        raise ValueError(f"repo id must look like 'org/name', got {repo_id!r}")
    return parts[0], parts[1]


def validate_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``_hubsim.yaml`` / ``add_model(**meta)`` keys; raise ValueError on anything unexpected."""
    unknown = set(meta) - META_KEYS
    if unknown:
        raise ValueError(f"unknown hubsim metadata keys {sorted(unknown)}; allowed: {sorted(META_KEYS)}")
    out = dict(meta)
    gated = out.get("gated", False)
    if gated is True:
        out["gated"] = "auto"
    elif gated not in (False, None, "auto", "manual"):
        raise ValueError(f"gated must be false, 'auto' or 'manual', got {gated!r}")
    if "sha" in out:
        sha = str(out["sha"]).lower()
        if not SHA_RE.fullmatch(sha):
            raise ValueError(f"sha must be 40 hex digits, got {out['sha']!r}")
        out["sha"] = sha
    for key in ("revisions", "extra_files"):
        if key in out and as_str_list(out[key]) != out[key]:
            raise ValueError(f"{key} must be a list of strings")
    if "card_data" in out and not isinstance(out["card_data"], dict):
        raise ValueError("card_data must be a mapping")
    if out.get("renamed_to") is not None:
        validate_repo_id(str(out["renamed_to"]))
    for key in ("last_modified", "created_at"):
        if key in out:
            out[key] = iso_date(out[key])
    return out


# ---------------------------------------------------------------------------------------------------------------
# Repos on disk


@dataclass(frozen=True)
class RepoFile:
    path: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def oid(self) -> str:
        return git_blob_sha1(self.data)

    @property
    def is_lfs(self) -> bool:
        return self.path.lower().endswith(LFS_SUFFIXES)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def etag(self) -> str:
        """git blob sha1 for regular files, sha256 for LFS files (the Hub's convention)."""
        return self.sha256 if self.is_lfs else self.oid

    def tree_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "file", "oid": self.oid, "size": self.size, "path": self.path}
        if self.is_lfs:
            entry["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": LFS_POINTER_SIZE}
        return entry

    def sibling(self, blobs: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"rfilename": self.path}
        if blobs:
            item.update(size=self.size, blobId=self.oid)
            if self.is_lfs:
                item["lfs"] = {"size": self.size, "sha256": self.sha256, "pointerSize": LFS_POINTER_SIZE}
        return item


@dataclass
class Repo:
    kind: str  # "model" or "dataset"
    repo_id: str
    files: dict[str, RepoFile]
    meta: dict[str, Any]

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]

    @property
    def renamed_to(self) -> str | None:
        return self.meta.get("renamed_to")

    @property
    def private(self) -> bool:
        return bool(self.meta.get("private", False))

    @property
    def gated(self) -> str | bool:
        return self.meta.get("gated") or False

    @cached_property
    def sha(self) -> str:
        if "sha" in self.meta:
            return str(self.meta["sha"])
        digest = hashlib.sha1()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path].data + b"\0")
        return digest.hexdigest()

    def resolve_revision(self, revision: str) -> str | None:
        names = {"main", self.sha, *self.meta.get("revisions", [])}
        return self.sha if revision in names else None

    @property
    def last_modified(self) -> str:
        return str(self.meta.get("last_modified", DEFAULT_DATE))

    @property
    def created_at(self) -> str:
        return str(self.meta.get("created_at", self.last_modified))

    @cached_property
    def card_data(self) -> dict[str, Any] | None:
        if "card_data" in self.meta:
            return dict(self.meta["card_data"])
        readme = self.files.get("README.md")
        if readme is None:
            return None
        return parse_card_data(readme.data.decode("utf-8", errors="replace"))

    def card(self, key: str) -> Any:
        return (self.card_data or {}).get(key)

    @property
    def library_name(self) -> str | None:
        value = self.meta.get("library_name") or self.card("library_name")
        return value if isinstance(value, str) else None

    @property
    def pipeline_tag(self) -> str | None:
        """The task the Hub shows: ``_hubsim.yaml``'s, else the card's, else computed from config.json (the Hub
        computes one for every model it can: hub-api.md §7), never written into ``cardData``."""
        value = self.meta.get("pipeline_tag") or self.card("pipeline_tag")
        if isinstance(value, str):
            return value
        archs = (self.config or {}).get("architectures") if self.kind == "model" else None
        heads = {task for arch in (archs if isinstance(archs, list) else []) if isinstance(arch, str)
                 for head, task in COMPUTED_TASKS.items() if arch.endswith(head)}
        return heads.pop() if len(heads) == 1 else None

    @property
    def base_models(self) -> list[str]:
        return as_str_list(self.card("base_model")) if self.kind == "model" else []

    @property
    def relation(self) -> str | None:
        """Explicit ``base_model_relation``; else merge (several parents), adapter, quantized, finetune."""
        if not self.base_models:
            return None
        declared = self.card("base_model_relation")
        if declared in RELATIONS:
            return str(declared)
        if len(self.base_models) > 1:
            return "merge"
        if any(p.rsplit("/", 1)[-1] == "adapter_config.json" for p in self.files):
            return "adapter"
        if any(p.lower().endswith(".gguf") for p in self.files):
            return "quantized"
        return "finetune"

    @cached_property
    def tags(self) -> list[str]:
        return self._model_tags() if self.kind == "model" else self._dataset_tags()

    def _model_tags(self) -> list[str]:
        tags = [t for t in (self.library_name, self.pipeline_tag) if t]
        tags += as_str_list(self.card("tags")) + as_str_list(self.card("language"))
        tags += [f"dataset:{d}" for d in as_str_list(self.card("datasets"))]
        tags += [f"base_model:{b}" for b in self.base_models]
        tags += [f"base_model:{self.relation}:{b}" for b in self.base_models]
        tags += [f"license:{lic}" for lic in as_str_list(self.card("license"))]
        return dedup([*tags, "region:us"])

    def _dataset_tags(self) -> list[str]:
        tags = as_str_list(self.card("tags"))
        for key in ("task_categories", "language", "size_categories", "license"):
            tags += [f"{key}:{value}" for value in as_str_list(self.card(key))]
        return dedup([*tags, "region:us"])

    @property
    def config(self) -> dict[str, Any] | None:
        config_file = self.files.get("config.json")
        if config_file is None:
            return None
        try:
            value = json.loads(config_file.data)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def siblings(self, blobs: bool) -> list[dict[str, Any]]:
        return [self.files[p].sibling(blobs) for p in sorted(self.files)]

    def tree(self, folder: str, recursive: bool) -> list[dict[str, Any]] | None:
        """Tree entries under ``folder`` (directories first), or None when it is not a directory."""
        prefix = folder.strip("/")
        paths = [p for p in sorted(self.files) if not prefix or p.startswith(prefix + "/")]
        if prefix and not paths:
            return None
        dirs: dict[str, list[str]] = {}
        files: list[str] = []
        for path in paths:
            parts = path[len(prefix) + 1 if prefix else 0 :].split("/")
            depth = len(parts) - 1 if recursive else min(1, len(parts) - 1)
            for i in range(1, depth + 1):
                dirs.setdefault("/".join(filter(None, [prefix, *parts[:i]])), []).append(self.files[path].oid)
            if recursive or len(parts) == 1:
                files.append(path)
        folders = [
            {"type": "directory", "oid": hashlib.sha1("".join(oids).encode()).hexdigest(), "size": 0, "path": d}
            for d, oids in sorted(dirs.items())
        ]
        return folders + [self.files[p].tree_entry() for p in files]


def load_repo(root: Path, kind: str, repo_id: str) -> Repo | None:
    """Read one repo folder (``kind`` is ``models`` or ``datasets``); None when it does not exist."""
    folder = root / kind / repo_id
    if not folder.is_dir():
        return None
    meta_path = folder / META_FILE
    meta: dict[str, Any] = {}
    if meta_path.is_file():
        loaded = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{meta_path}: must be a mapping")
        try:
            meta = validate_meta(loaded)
        except ValueError as exc:
            raise ValueError(f"{meta_path}: {exc}") from exc
    files: dict[str, RepoFile] = {}
    for name in meta.get("extra_files", []):
        files[name] = RepoFile(name, placeholder_content(name))
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel != META_FILE:
            files[rel] = RepoFile(rel, path.read_bytes())
    return Repo(KINDS[kind], repo_id, files, meta)


def iter_repos(root: Path, kind: str) -> Iterator[Repo]:
    base = root / kind
    if not base.is_dir():
        return
    for org in sorted(p for p in base.iterdir() if p.is_dir()):
        for name in sorted(p for p in org.iterdir() if p.is_dir()):
            repo = load_repo(root, kind, f"{org.name}/{name.name}")
            if repo is not None:
                yield repo


def write_repo(
    root: Path, kind: str, repo_id: str, files: Mapping[str, str | bytes] | None, meta: Mapping[str, Any]
) -> Path:
    validate_repo_id(repo_id)
    checked = validate_meta(meta)
    folder = root / kind / repo_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, content in (files or {}).items():
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or "" in parts or name == META_FILE:
            raise ValueError(f"bad file name {name!r}")
        target = folder.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    if checked:
        (folder / META_FILE).write_text(yaml.safe_dump(checked, sort_keys=True), encoding="utf-8")
    return folder


# ---------------------------------------------------------------------------------------------------------------
# Requests, responses, the log


class RequestRecord(NamedTuple):
    """One logged request. ``faults`` names the injected faults applied to it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int
    faults: tuple[str, ...] = ()


@dataclass
class Request:
    method: str
    raw_path: str  # percent-encoded, without the query string
    raw_query: str
    path: str  # decoded
    query: dict[str, list[str]]  # ``expand[]`` values are also merged into ``expand``
    headers: dict[str, str]  # lower-case names

    @classmethod
    def parse(cls, method: str, target: str, headers: Iterable[tuple[str, str]]) -> Request:
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        if "expand[]" in query:
            query.setdefault("expand", []).extend(query["expand[]"])
        lowered = {k.lower(): v for k, v in headers}
        return cls(method, parts.path, parts.query, unquote(parts.path), query, lowered)

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        return auth[7:].strip() or None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str) -> bool:
        return (self.arg(name) or "").lower() in ("1", "true")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    full_size: int | None = None  # size of the whole resource when ``body`` is a range of it
    offset: int = 0  # where ``body`` starts inside the resource


class HubError(Exception):
    """Raised by route handlers to answer with ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(payload: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    # A lone surrogate (a card or config.json may hold "\ud800") goes out as the JSON escape the Hub sends.
    body = json.dumps(payload, default=json_default, ensure_ascii=False).encode("utf-8", "backslashreplace")
    return Response(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def error_response(status: int, code: str | None, message: str, headers: Mapping[str, str] | None = None) -> Response:
    extra = {"X-Error-Message": message, **(headers or {})}
    if code:
        extra["X-Error-Code"] = code
    return json_response({"error": message}, status, extra)


# ---------------------------------------------------------------------------------------------------------------
# Fault injection


@dataclass
class FaultRule:
    kind: str
    pattern: re.Pattern[str] | None
    method: str | None
    remaining: int | None
    seconds: float = 0.0
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    size: int = 0  # huge: the padded body's size
    declare: bool = True  # huge: say that size in Content-Length (else the body ends when the connection does)

    query: re.Pattern[str] | None = None

    def matches(self, method: str, path: str, query: str = "") -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        if self.query is not None and self.query.search(query) is None:
            return False
        return self.pattern is None or self.pattern.search(path) is not None


class Faults:
    """Run-time switches. ``path`` is a regex searched in the decoded URL path (no query string), ``query`` one
    searched in the decoded query string (``filter=base_model:org/name``: one node's listing);
    ``times`` limits a rule to the first N matching requests; ``method`` limits it to one HTTP method."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def _add(self, kind: str, path: str | None, times: int | None, method: str | None, *,
             query: str | None = None, **kw: Any) -> None:
        pattern = re.compile(path) if path is not None else None
        rule = FaultRule(kind, pattern, method.upper() if method else None, times, **kw,
                         query=re.compile(query) if query is not None else None)
        with self._lock:
            self._rules.append(rule)

    def latency(
        self, seconds: float, path: str | None = None, times: int | None = None, method: str | None = None,
        query: str | None = None,
    ) -> None:
        """Delay matching requests by ``seconds`` (several matching latency rules add up), then answer."""
        self._add("latency", path, times, method, seconds=seconds, query=query)

    def status(
        self,
        code: int,
        path: str | None = None,
        times: int | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        query: str | None = None,
    ) -> None:
        """Answer matching requests with ``code``, body ``{"error": ...}`` and the extra ``headers``."""
        self._add("status", path, times, method, status=code, headers=dict(headers or {}), query=query)

    def hang(
        self, seconds: float, path: str | None = None, times: int | None = None, method: str | None = None,
        query: str | None = None,
    ) -> None:
        """Say nothing for ``seconds`` (to trip client timeouts), then answer normally."""
        self._add("hang", path, times, method, seconds=seconds, query=query)

    def truncate(self, path: str | None = None, times: int | None = None, method: str | None = None) -> None:
        """Declare the full Content-Length, send the body only up to the middle of the resource, close."""
        self._add("truncate", path, times, method)

    def drip(self, seconds: float = 0.2, path: str | None = None, times: int | None = None,
             method: str | None = None) -> None:
        """Send the status and headers at once (with the true Content-Length), then the body one byte every
        ``seconds``: each read of the client gets a byte well within any read timeout, so only a total
        deadline ends it. HEAD is not affected."""
        self._add("drip", path, times, method, seconds=seconds)

    def endless(self, path: str | None = None, times: int | None = None, method: str | None = None) -> None:
        """Send the body without a Content-Length, then padding without end (whitespace inside a JSON body,
        text lines after any other): the connection closes only when the client closes it. HEAD is not
        affected (it declares the true size, as a lying server would)."""
        self._add("endless", path, times, method)

    def huge(self, size: int, path: str | None = None, times: int | None = None, method: str | None = None,
             declare: bool = True) -> None:
        """Pad the body to ``size`` bytes (whitespace inside a JSON body, so it still parses; text lines after
        any other), generated while sending, never held in memory. With ``declare``, Content-Length says
        ``size`` (HEAD too, as for a real large file); without, no length is sent and the connection closes
        after the body."""
        self._add("huge", path, times, method, size=size, declare=declare)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, kind: str, method: str, path: str, *, every: bool = False, query: str = "") -> list[FaultRule]:
        """Consume the first (or, with ``every``, all) active rules of ``kind`` matching this request."""
        taken: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.kind == kind and rule.matches(method, path, query):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    taken.append(rule)
                    if not every:
                        break
        return taken

    def peek(self, kind: str, method: str, path: str) -> FaultRule | None:
        """The first active rule of ``kind`` matching this request, without consuming it."""
        with self._lock:
            return next((r for r in self._rules if r.kind == kind and r.matches(method, path)), None)


BODY_FAULTS = ("drip", "endless", "huge")
_PAD_LINE = b"hubsim padding: a body larger than anything a Hub would send for this resource.\n"


def padding(body: bytes, total: int | None, *, json_body: bool) -> Iterator[bytes]:
    """``body`` padded to ``total`` bytes (None: without end), in chunks of 64 KiB. Inside a JSON body the
    padding is whitespace after the first byte (``{`` or ``[``), so the padded body still parses."""
    head, tail = (body[:1], body[1:]) if json_body else (body, b"")
    unit = b" " * 65536 if json_body else _PAD_LINE * (65536 // len(_PAD_LINE))
    yield head
    left = None if total is None else max(0, total - len(body))
    while left is None or left > 0:
        chunk = unit if left is None else unit[: min(left, len(unit))]
        if left is not None:
            left -= len(chunk)
        yield chunk
    yield tail


# ---------------------------------------------------------------------------------------------------------------
# Rendering repo objects


@dataclass
class RenderContext:
    hub: HubSim
    blobs: bool = False


def children_model_count(repo: Repo, ctx: RenderContext) -> dict[str, int] | None:
    if repo.kind != "model":
        return None
    counts: dict[str, int] = {}
    for other in ctx.hub.indexed("models", [f"base_model:{repo.repo_id}"]):
        if repo.repo_id in other.base_models and other.relation and not other.renamed_to:
            counts[other.relation] = counts.get(other.relation, 0) + 1
    return counts


def hub_model_index(repo: Repo, ctx: RenderContext) -> Any:
    """The card's model-index as the Hub serves it: each metric's `verified` is the Hub's own ("automatically
    computed by Hugging Face, do not set"): true only for a verifyToken the Hub issued (here: one in
    ``hub.verify_tokens``), whatever the card says."""
    index = repo.card("model-index")
    if not isinstance(index, list):
        return index
    out = json.loads(json.dumps(index, default=json_default))
    for entry in out:
        for result in (entry.get("results") or []) if isinstance(entry, dict) else []:
            for metric in (result.get("metrics") or []) if isinstance(result, dict) else []:
                if isinstance(metric, dict):
                    metric["verified"] = metric.get("verifyToken") in ctx.hub.verify_tokens
    return out


def base_models_field(repo: Repo, _ctx: RenderContext) -> dict[str, Any] | None:
    if not repo.base_models:
        return None
    models = [{"_id": fake_object_id(f"model:{m}"), "id": m} for m in repo.base_models]
    return {"relation": repo.relation, "models": models}


FieldGetter = Callable[[Repo, RenderContext], Any]
FIELDS: dict[str, FieldGetter] = {
    "_id": lambda r, c: fake_object_id(f"{r.kind}:{r.repo_id}"),
    "id": lambda r, c: r.repo_id,
    "modelId": lambda r, c: r.repo_id if r.kind == "model" else None,
    "author": lambda r, c: r.namespace,
    "sha": lambda r, c: r.sha,
    "lastModified": lambda r, c: r.last_modified,
    "createdAt": lambda r, c: r.created_at,
    "private": lambda r, c: r.private,
    "gated": lambda r, c: r.gated,
    "disabled": lambda r, c: False,
    "downloads": lambda r, c: int(r.meta.get("downloads", 0)),
    "downloadsAllTime": lambda r, c: int(r.meta.get("downloads", 0)),
    "likes": lambda r, c: int(r.meta.get("likes", 0)),
    "trendingScore": lambda r, c: 0,
    "tags": lambda r, c: r.tags,
    "cardData": lambda r, c: r.card_data,
    "siblings": lambda r, c: r.siblings(c.blobs),
    "library_name": lambda r, c: r.library_name if r.kind == "model" else None,
    "pipeline_tag": lambda r, c: r.pipeline_tag if r.kind == "model" else None,
    "model-index": lambda r, c: hub_model_index(r, c) if r.kind == "model" else None,
    "config": lambda r, c: r.config if r.kind == "model" else None,
    "spaces": lambda r, c: [] if r.kind == "model" else None,
    "usedStorage": lambda r, c: sum(f.size for f in r.files.values()),
    "baseModels": base_models_field,
    "childrenModelCount": children_model_count,
}


def render(repo: Repo, fields: Iterable[str], ctx: RenderContext) -> dict[str, Any]:
    """The repo as a JSON object with ``fields`` (unknown or empty values are left out)."""
    out: dict[str, Any] = {}
    for name in fields:
        getter = FIELDS.get(name)
        value = getter(repo, ctx) if getter else None
        if value is not None:
            out[name] = value
    return out


def requested_fields(req: Request, kind: str, *, listing: bool) -> list[str] | None:
    """``_id``, ``id`` and the ``expand`` values, or None without ``expand``; 400 on a bad value."""
    expand = req.query.get("expand")
    if not expand:
        return None
    allowed = MODEL_EXPAND if kind == "models" else DATASET_EXPAND
    bad = [e for e in expand if e not in allowed or (listing and e in LIST_FORBIDDEN_EXPAND)]
    if bad:
        raise HubError(error_response(400, None, f'"expand" contains invalid or not allowed values: {bad}'))
    return dedup(["_id", "id", *expand])


# ---------------------------------------------------------------------------------------------------------------
# Route handlers


def repo_not_found(req: Request) -> HubError:
    status = 404 if req.token else 401
    message = "Repository not found" if req.token else "Repository not found. Invalid username or password."
    return HubError(error_response(status, "RepoNotFound", message))


def find_repo(hub: HubSim, req: Request, params: Mapping[str, str]) -> Repo:
    """The visible repo named by the route, or raise (RepoNotFound, or a 307 for a renamed repo)."""
    kind = params.get("kind") or "models"
    repo_id = f"{params['ns']}/{params['name']}"
    try:
        validate_repo_id(repo_id)
    except ValueError:
        raise repo_not_found(req) from None
    repo = load_repo(hub.root, kind, repo_id)
    if repo is None or (repo.private and req.token not in hub.granted_tokens):
        raise repo_not_found(req)
    if repo.renamed_to:
        location = req.raw_path.replace(f"/{repo_id}/", f"/{repo.renamed_to}/", 1)
        if location == req.raw_path:  # the id ends the path (/api/models/org/name)
            location = req.raw_path[: -len(repo_id)] + repo.renamed_to
        if req.raw_query:
            location += "?" + req.raw_query
        raise HubError(
            Response(307, f"Redirecting to {location}".encode(), {"Location": location, "Content-Type": "text/plain"})
        )
    return repo


def check_revision(repo: Repo, revision: str) -> str:
    sha = repo.resolve_revision(revision)
    if sha is None:
        raise HubError(error_response(404, "RevisionNotFound", f"Invalid rev id: {revision}"))
    return sha


def paginate(hub: HubSim, req: Request, items: list[Any]) -> Response:
    """One page of ``items`` with an absolute ``Link: <...cursor=N>; rel="next"`` when more remain."""
    try:
        start = max(0, int(req.arg("cursor", "0") or 0))
    except ValueError:
        raise HubError(error_response(400, None, "invalid cursor")) from None
    size = max(1, hub.page_size)
    headers: dict[str, str] = {}
    if start + size < len(items):
        query = [(k, v) for k, v in parse_qsl(req.raw_query, keep_blank_values=True) if k != "cursor"]
        query.append(("cursor", str(start + size)))
        headers["Link"] = f'<{hub.url}{req.raw_path}?{urlencode(query)}>; rel="next"'
    return json_response(items[start : start + size], headers=headers)


def agent_harnesses(hub: HubSim, req: Request, params: Mapping[str, str]) -> Response:
    return json_response({"standardEnvVars": [], "harnesses": {}})


def repo_info(hub: HubSim, req: Request, params: Mapping[str, str]) -> Response:
    repo = find_repo(hub, req, params)
    if params.get("rev") is not None:
        check_revision(repo, params["rev"])
    fields = requested_fields(req, params["kind"], listing=False)
    if fields is None:
        fields = list(MODEL_INFO_FIELDS if repo.kind == "model" else DATASET_INFO_FIELDS)
    return json_response(render(repo, fields, RenderContext(hub, blobs=req.flag("blobs"))))


def listing_matches(repo: Repo, req: Request) -> bool:
    if any(tag not in repo.tags for tag in req.query.get("filter", [])):
        return False
    search = (req.arg("search") or "").lower()
    if search and search not in repo.repo_id.lower():
        return False
    author = req.arg("author")
    if author and repo.namespace != author:
        return False
    pipeline = req.arg("pipeline_tag")
    if pipeline and repo.pipeline_tag != pipeline:
        return False
    gated = req.arg("gated")
    return gated is None or bool(repo.gated) == (gated.lower() == "true")


def sort_repos(repos: list[Repo], req: Request) -> list[Repo]:
    key = req.arg("sort")
    keys: dict[str, Callable[[Repo], Any]] = {
        "downloads": lambda r: int(r.meta.get("downloads", 0)),
        "likes": lambda r: int(r.meta.get("likes", 0)),
        "lastModified": lambda r: r.last_modified,
        "createdAt": lambda r: r.created_at,
    }
    if key not in keys:
        return sorted(repos, key=lambda r: r.repo_id.lower())
    return sorted(repos, key=keys[key], reverse=req.arg("direction", "-1") == "-1")


def list_repos(hub: HubSim, req: Request, params: Mapping[str, str]) -> Response:
    kind = params["kind"]
    fields = requested_fields(req, kind, listing=True)
    if fields is None:
        fields = list(MODEL_LIST_FIELDS if kind == "models" else DATASET_LIST_FIELDS)
        fields += LIST_FULL_EXTRA if req.flag("full") else ()
        fields += ("cardData",) if req.flag("cardData") or (req.flag("full") and kind == "datasets") else ()
        fields += ("config",) if req.flag("config") else ()
    repos = [
        r
        for r in hub.indexed(kind, req.query.get("filter", []))
        if not r.renamed_to and (not r.private or req.token in hub.granted_tokens) and listing_matches(r, req)
    ]
    repos = sort_repos(repos, req)
    limit = req.arg("limit")
    if limit and limit.isdigit():
        repos = repos[: int(limit)]
    ctx = RenderContext(hub)
    return paginate(hub, req, [render(r, dedup(fields), ctx) for r in repos])


def repo_tree(hub: HubSim, req: Request, params: Mapping[str, str]) -> Response:
    repo = find_repo(hub, req, params)
    check_revision(repo, params["rev"])
    entries = repo.tree(params.get("path") or "", recursive=req.flag("recursive"))
    if entries is None:
        raise HubError(error_response(404, "EntryNotFound", f"{params.get('path')} does not exist on main"))
    return paginate(hub, req, entries)


def repo_commits(hub: HubSim, req: Request, params: Mapping[str, str]) -> Response:
    repo = find_repo(hub, req, params)
    sha = check_revision(repo, params["rev"])
    commit: dict[str, Any] = {
        "id": sha,
        "title": "hubsim snapshot",
        "message": "",
        "date": repo.last_modified,
        "authors": [{"user": repo.namespace}],
    }
    if "formatted" in req.query.get("expand", []):
        commit["formatted"] = {"title": commit["title"], "message": ""}
    return paginate(hub, req, [commit])


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end) for a single ``bytes=`` range; None to serve everything; raise 416."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header or "")
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
        if int(last) == 0:
            start = size
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    if start >= size:
        raise HubError(error_response(416, None, "Range Not Satisfiable", {"Content-Range": f"bytes */{size}"}))
    return start, end


def gate_check(hub: HubSim, req: Request, repo: Repo) -> None:
    if not repo.gated or req.token in hub.granted_tokens:
        return
    kind = "model" if repo.kind == "model" else "dataset"
    if req.token is None:
        message = f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and be authenticated."
        raise HubError(error_response(401, "GatedRepo", message))
    message = f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized list."
    raise HubError(error_response(403, "GatedRepo", message))


def resolve_file(hub: HubSim, req: Request, params: Mapping[str, str]) -> Response:
    repo = find_repo(hub, req, params)
    gate_check(hub, req, repo)
    sha = check_revision(repo, params["rev"])
    repo_file = repo.files.get(params["path"])
    if repo_file is None:
        message = f"{params['path']} does not exist on {params['rev']}"
        raise HubError(error_response(404, "EntryNotFound", message, {"X-Repo-Commit": sha}))
    headers = {
        "X-Repo-Commit": sha,
        "ETag": f'"{repo_file.etag}"',
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
    }
    span = parse_range(req.headers.get("range"), repo_file.size)
    if span is None:
        return Response(200, repo_file.data, headers, full_size=repo_file.size)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{repo_file.size}"
    return Response(206, repo_file.data[start : end + 1], headers, full_size=repo_file.size, offset=start)


def no_namespace(hub: HubSim, req: Request, params: Mapping[str, str]) -> Response:
    raise repo_not_found(req)


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    handler: Callable[[HubSim, Request, Mapping[str, str]], Response]


def _route(regex: str, handler: Callable[[HubSim, Request, Mapping[str, str]], Response]) -> Route:
    return Route(re.compile(regex), handler)


_REPO = r"(?P<ns>[^/]+)/(?P<name>[^/]+)"
_API = r"/api/(?P<kind>models|datasets)"
# GET and HEAD only; matched with fullmatch against the raw (still percent-encoded) path.
ROUTES: tuple[Route, ...] = (
    _route(r"/api/agent-harnesses", agent_harnesses),
    _route(_API, list_repos),
    _route(_API + "/" + _REPO + r"(?:/revision/(?P<rev>[^/]+))?", repo_info),
    _route(_API + "/" + _REPO + r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.+))?", repo_tree),
    _route(_API + "/" + _REPO + r"/commits/(?P<rev>[^/]+)", repo_commits),
    _route(r"/(?P<kind>datasets)/" + _REPO + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", resolve_file),
    _route(r"/" + _REPO + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", resolve_file),
    _route(_API + r"/[^/]+", no_namespace),
    _route(r"/(?:datasets/)?[^/]+/resolve/.*", no_namespace),
)


def dispatch(hub: HubSim, req: Request) -> Response:
    if req.method not in ("GET", "HEAD"):
        return error_response(405, None, f"hubsim: {req.method} is not emulated")
    for route in ROUTES:
        match = route.pattern.fullmatch(req.raw_path)
        if match is None:
            continue
        params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
        try:
            return route.handler(hub, req, params)
        except HubError as exc:
            return exc.response
        except Exception as exc:  # an emulator bug or a bad fixture: make it loud
            hub.server_errors.append(traceback.format_exc())
            return error_response(500, None, f"hubsim internal error: {exc!r}".replace("\n", " "))
    return error_response(404, None, f"hubsim: no route for {req.raw_path}")


# ---------------------------------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hub: HubSim, address: tuple[str, int]) -> None:
        self.hub = hub
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which can stall on a reverse DNS lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def truncation_point(response: Response) -> int:
    """How much of ``response.body`` a truncated answer sends: everything before the resource's middle.
    So a resumed ``Range`` request past the middle gets nothing, and the download cannot complete."""
    middle = (response.full_size or len(response.body)) // 2
    return max(0, min(len(response.body), middle - response.offset))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK add ~40 ms to every keep-alive response, a delay the real Hub does not have.
    disable_nagle_algorithm = True
    server_version = "hubsim/1.0"
    sys_version = ""
    timeout = 60
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        hub = self.server.hub
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        req = Request.parse(self.command, self.path, self.headers.items())
        response, faults = hub._answer(req)
        cut = None
        body_fault: FaultRule | None = None
        if req.method != "HEAD" and response.body and hub.faults.take("truncate", req.method, req.path):
            faults.append("truncate")
            cut = truncation_point(response)
        elif response.body and cut is None:
            for kind in BODY_FAULTS:
                if req.method == "HEAD":  # a HEAD declares a huge body's size; the other faults leave it be
                    rule = hub.faults.peek(kind, req.method, req.path) if kind == "huge" else None
                    rule = rule if rule is not None and rule.declare else None
                else:
                    rule = next(iter(hub.faults.take(kind, req.method, req.path)), None)
                if rule is not None:
                    faults.append(kind)
                    body_fault = rule
                    break
        # Log before answering, so a client that has its response always finds its request in the log.
        hub._record(req, response.status, tuple(faults))
        try:
            self._send(req, response, cut, body_fault)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _send(self, req: Request, response: Response, cut: int | None, fault: FaultRule | None = None) -> None:
        self.send_response(response.status)
        request_id = req.headers.get("x-amzn-trace-id") or str(uuid.uuid4())
        for name, value in {"X-Request-Id": request_id, **response.headers}.items():
            self.send_header(name, value)
        length: int | None = len(response.body)
        if fault is not None and fault.kind == "huge":
            length = max(fault.size, length) if fault.declare else None
        elif fault is not None and fault.kind == "endless" and req.method != "HEAD":
            length = None
        if length is None:  # the body ends when the connection does
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if req.method == "HEAD":
            return
        if fault is not None:
            self._send_faulty(response, fault)
            return
        if cut is None:
            self.wfile.write(response.body)
            return
        self.wfile.write(response.body[:cut])
        self.wfile.flush()
        self.close_connection = True

    def _send_faulty(self, response: Response, fault: FaultRule) -> None:
        """Drip the body, or send it padded (to a size, or without end), until done, the client goes away or
        the server stops."""
        stopping = self.server.hub._stopping
        self.close_connection = True
        if fault.kind == "drip":
            for i in range(len(response.body)):
                if stopping.wait(fault.seconds):
                    return
                self.wfile.write(response.body[i:i + 1])
            return
        json_body = response.headers.get("Content-Type", "").startswith("application/json")
        total = None if fault.kind == "endless" else max(fault.size, len(response.body))
        for chunk in padding(response.body, total, json_body=json_body):
            if stopping.is_set():
                return
            self.wfile.write(chunk)


# ---------------------------------------------------------------------------------------------------------------
# The public object


class _Index:
    """Repos of one kind by id, and their ids by tag (for listings filtered by tags)."""

    def __init__(self, repos: Iterable[Repo]) -> None:
        self.repos: dict[str, Repo] = {}
        self.by_tag: dict[str, set[str]] = {}
        for repo in repos:
            self.put(repo.repo_id, repo)

    def put(self, repo_id: str, repo: Repo | None) -> None:
        old = self.repos.pop(repo_id, None)
        for tag in old.tags if old is not None else ():
            self.by_tag.get(tag, set()).discard(repo_id)
        if repo is not None:
            self.repos[repo_id] = repo
            for tag in repo.tags:
                self.by_tag.setdefault(tag, set()).add(repo_id)

    def select(self, tags: list[str]) -> list[Repo]:
        if not tags:
            ids: Iterable[str] = self.repos
        else:
            ids = set.intersection(*(self.by_tag.get(t, set()) for t in tags))
        return [self.repos[i] for i in sorted(ids)]


class HubSim:
    """A Hub emulator on a free loopback port.  Use as a context manager or call ``start()``/``stop()``."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *, page_size: int = 1000) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="hubsim-")) if root is None else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.page_size = page_size
        self.granted_tokens: set[str] = set()
        self.verify_tokens: set[str] = set()  # model-index verifyTokens the Hub "issued" (verified: true)
        self.faults = Faults()
        self.server_errors: list[str] = []
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._index: dict[str, _Index] = {}
        self._index_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> HubSim:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self, ("127.0.0.1", 0))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="hubsim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> HubSim:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("HubSim is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the value for ``HF_ENDPOINT``."""
        return f"http://127.0.0.1:{self.port}"

    # fixtures ------------------------------------------------------------------------------------------------
    def add_model(self, repo_id: str, files: Mapping[str, str | bytes] | None = None, **meta: Any) -> Path:
        """Write (or replace) ``<root>/models/<repo_id>`` with ``files``; ``meta`` goes to ``_hubsim.yaml``."""
        folder = write_repo(self.root, "models", repo_id, files, meta)
        self._reindex("models", repo_id)
        return folder

    def add_dataset(self, repo_id: str, files: Mapping[str, str | bytes] | None = None, **meta: Any) -> Path:
        """Same as ``add_model`` for ``<root>/datasets/<repo_id>``."""
        folder = write_repo(self.root, "datasets", repo_id, files, meta)
        self._reindex("datasets", repo_id)
        return folder

    def remove(self, repo_id: str, repo_type: str = "model") -> None:
        """Delete a repo (a later request for it is a 404, as when a repo is deleted mid-walk)."""
        kind = f"{repo_type}s"
        shutil.rmtree(self.root / kind / repo_id, ignore_errors=True)
        self._reindex(kind, repo_id)

    def invalidate(self) -> None:
        """Forget the listing index (call after writing repo folders by hand, not through ``add_*``)."""
        with self._index_lock:
            self._index.clear()

    def indexed(self, kind: str, tags: Iterable[str] = ()) -> list[Repo]:
        """The repos of ``kind`` carrying every tag of ``tags``, by id, from an index read once from disk.

        Listings go through this index (a listing used to reread every repo folder: a 2,000-repo tree walked
        node by node took minutes); ``add_*``/``remove`` keep it current, other endpoints read the disk."""
        with self._index_lock:
            index = self._index.get(kind)
            if index is None:
                index = self._index[kind] = _Index(list(iter_repos(self.root, kind)))
            return index.select(list(tags))

    def _reindex(self, kind: str, repo_id: str) -> None:
        with self._index_lock:
            index = self._index.get(kind)
            if index is not None:
                index.put(repo_id, load_repo(self.root, kind, repo_id))

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo | None:
        """The repo as the server sees it (sha, tags, card data...), for assertions."""
        return load_repo(self.root, f"{repo_type}s", repo_id)

    # log -----------------------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the request log, in order of completion."""
        with self._log_lock:
            return list(self._log)

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path_prefix is None or r.path.startswith(path_prefix))
        )

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # internals -----------------------------------------------------------------------------------------------
    def _record(self, req: Request, status: int, faults: tuple[str, ...]) -> None:
        record = RequestRecord(req.method, req.path, req.query, req.headers, status, faults)
        with self._log_lock:
            self._log.append(record)

    def _answer(self, req: Request) -> tuple[Response, list[str]]:
        """Apply latency, hang and status faults, then route the request."""
        applied: list[str] = []
        query = unquote_plus(req.raw_query)
        delay = sum(rule.seconds for rule in self.faults.take("latency", req.method, req.path, every=True,
                                                              query=query))
        if delay:
            applied.append("latency")
            self._stopping.wait(delay)
        for rule in self.faults.take("hang", req.method, req.path, query=query):
            applied.append("hang")
            self._stopping.wait(rule.seconds)
        for rule in self.faults.take("status", req.method, req.path, query=query):
            applied.append("status")
            message = f"hubsim injected HTTP {rule.status}"
            return json_response({"error": message}, rule.status, rule.headers), applied
        return dispatch(self, req), applied
