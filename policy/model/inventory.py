"""An inventory: the models a code repository uses, each once, with every place it is used (`policycheck/inventory/v1`).

Pure data, built by the scanner (`policy.scan.inventory`) and read by the pipeline (which judges the selected
models) and the renderers. Every value that comes from the repository (ids, file names, details) is kept as
written; the renderers make it safe for their output (`policy.textsafe`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field
from typing import Any, Literal

from policy import __version__
from policy.records import record

INVENTORY_SCHEMA = "policycheck/inventory/v1"

# Where a use is, by the file's place in the repository: the application itself, its tests, its documentation.
Scope = Literal["runtime", "test", "docs"]
SCOPES: tuple[Scope, ...] = ("runtime", "test", "docs")  # strongest first: a model used anywhere at runtime is runtime
SCOPE_RANK = {scope: i for i, scope in enumerate(SCOPES)}
# What `--include` may add to the runtime models that are judged, and the scope each word stands for.
INCLUDE_WORDS = {"tests": "test", "test": "test", "docs": "docs", "doc": "docs"}

# What kind of model: a Hub repo, a model behind a provider's API, weights in the repository itself, a model
# of the Ollama library (not a Hub repo).
Kind = Literal["hub", "api", "local-weights", "ollama"]
KINDS: tuple[Kind, ...] = ("hub", "api", "local-weights", "ollama")
KIND_RANK = {kind: i for i, kind in enumerate(KINDS)}

# How a location uses the model.
Use = Literal["loaded", "downloaded", "api-call", "config", "weights", "docs"]
USES: tuple[Use, ...] = ("loaded", "downloaded", "api-call", "config", "weights", "docs")


@record(slots=True)
class Location:
    """One place a model is named: the file (relative to the repository's root, `/`-separated), the line (1-based;
    0 for a whole file, such as a weight file), how it is used there and in which scope."""

    file: str
    line: int
    use: str  # a Use
    scope: str  # a Scope
    detail: str = ""  # what names it: `AutoModel.from_pretrained`, `ENV HF_MODEL_ID`, `FROM` of a Modelfile
    setting: str = ""  # the environment variable, option or setting that overrides the value found (configurable)
    column: int = 0  # 1-based, when known
    cell: int = 0  # the notebook cell (1-based), for a notebook

    @property
    def where(self) -> str:
        """`file:line`, `file:cell 3:line`, or `file` for a whole file."""
        cell = f"cell {self.cell}:" if self.cell else ""
        return f"{self.file}:{cell}{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"file": self.file, "line": self.line, "column": self.column, "use": self.use,
                             "scope": self.scope, "detail": self.detail, "setting": self.setting or None}
        if self.cell:
            d["cell"] = self.cell
        return d


@record
class ModelUse:
    """One model of the inventory and every location that names it."""

    id: str  # org/name for the Hub, provider/model for an API, the path for local weights, ollama/name:tag
    kind: str  # a Kind
    locations: tuple[Location, ...]
    license: str | None = None  # local weights: the license their header declares
    base_models: tuple[str, ...] = ()  # local weights: the Hub models their header or config names as bases
    files: tuple[str, ...] = ()  # local weights: the weight files (relative paths)
    notes: tuple[str, ...] = ()  # what the scanner could not read of it (a header cut short, ...)

    @property
    def subject_id(self) -> str:
        """The id its report carries when it is judged: local weights as a relative path (`./models/tiny.gguf`),
        which no reader takes for a Hub id (no purl, no Hub organisation as supplier); the others their id."""
        return f"./{self.id}" if self.kind == "local-weights" else self.id

    @property
    def scopes(self) -> tuple[str, ...]:
        found = {loc.scope for loc in self.locations}
        return tuple(s for s in SCOPES if s in found)

    @property
    def scope(self) -> str:
        """The strongest scope of its locations: runtime, else test, else docs."""
        return self.scopes[0] if self.scopes else "docs"

    @property
    def settings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(loc.setting for loc in self.locations if loc.setting))

    @property
    def configurable(self) -> bool:
        """Some location's value is only a default: an environment variable, option or setting overrides it."""
        return bool(self.settings)

    def selected(self, include: Iterable[str] = ()) -> bool:
        """Whether it is judged: a runtime model, or one of a scope `include` adds (`test`, `docs`)."""
        include = set(include)
        return any(s == "runtime" or s in include for s in self.scopes)

    def to_dict(self, include: Iterable[str] = ()) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "kind": self.kind, "scope": self.scope, "scopes": list(self.scopes),
                             "judged": self.selected(include), "configurable": self.configurable,
                             "settings": list(self.settings)}
        if self.kind == "local-weights":
            d.update({"license": self.license, "base_models": list(self.base_models), "files": list(self.files)})
        if self.notes:
            d["notes"] = list(self.notes)
        d["locations"] = [loc.to_dict() for loc in self.locations]
        return d


@record(slots=True)
class Skipped:
    """A file the scanner did not read, or read only in part, and why (`line`/`column` when a parser said)."""

    file: str
    reason: str
    line: int = 0
    column: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "reason": self.reason}


@record(slots=True)
class WalkStats:
    """What the walk saw: entries listed, files read (by the scanner of their type), bytes read, and the files it
    did not read because of their type (binary, unknown)."""

    entries: int = 0
    files_read: int = 0
    bytes_read: int = 0
    not_read: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "files_read": self.files_read, "bytes_read": self.bytes_read,
                "not_read": self.not_read, "seconds": round(self.seconds, 3)}


@record
class Inventory:
    """Every model a repository uses, once each, sorted by scope, kind and id; the files not read and why."""

    root: str  # the folder as given
    name: str  # the application's name (its project file's, else the folder's)
    models: tuple[ModelUse, ...]
    skipped: tuple[Skipped, ...] = ()
    skipped_total: int = 0  # skipped files beyond the ones listed are only counted
    stats: WalkStats = field(default_factory=WalkStats)
    incomplete: str = ""  # why the walk stopped before the end (a bound), "" when it saw the whole tree
    notes: tuple[str, ...] = ()  # what the inventory could not do here (TOML on Python 3.10, ...)
    version: str = ""  # the application's version, when its project file states one
    include: tuple[str, ...] = ()  # the scopes judged beside runtime (`--include tests,docs`: test, docs)

    def selected(self) -> tuple[ModelUse, ...]:
        """The models `check --inventory` judges: the runtime ones, and those of the scopes `include` adds."""
        return tuple(m for m in self.models if m.selected(self.include))

    def by_scope(self) -> dict[str, int]:
        counts = dict.fromkeys(SCOPES, 0)
        for m in self.models:
            counts[m.scope] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": INVENTORY_SCHEMA,
            "tool": {"name": "policycheck", "version": __version__},
            "application": {"name": self.name, "version": self.version or None, "root": self.root},
            "complete": not self.incomplete, "incomplete_reason": self.incomplete or None,
            "summary": {"models": len(self.models), "judged": len(self.selected()),
                        "by_scope": self.by_scope(), "include": list(self.include), **self.stats.to_dict(),
                        "skipped": self.skipped_total},
            "models": [m.to_dict(self.include) for m in self.models],
            "skipped": [s.to_dict() for s in self.skipped],
            "notes": list(self.notes),
        }


def order(model: ModelUse) -> tuple[int, int, str]:
    """How an inventory lists its models: by scope (runtime first), kind (Hub, API, local weights, Ollama), id."""
    return SCOPE_RANK[model.scope], KIND_RANK.get(model.kind, len(KINDS)), model.id.lower()


def parse_include(words: Iterable[str]) -> tuple[str, ...]:
    """`--include tests,docs` (repeatable, comma-separated) as scopes; ValueError names a word it does not know."""
    out: list[str] = []
    for item in words:
        for word in str(item).split(","):
            word = word.strip().lower()
            if not word:
                continue
            if word not in INCLUDE_WORDS:
                raise ValueError(f"--include takes tests and docs, not {word!r}")
            out.append(INCLUDE_WORDS[word])
    return tuple(dict.fromkeys(out))
