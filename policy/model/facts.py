"""Facts: what the scanner found, as frozen data. The engine reads these and nothing else.

A `Lineage` is a graph of `ModelFacts` nodes joined by `Edge`s, rooted at the subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

# Relations (DESIGN §3) are part of the shared vocabulary (policy/model/vocab.py), defined there once.
from policy.model.vocab import (  # noqa: F401 (re-exported: the facts are where readers look for them)
    ADAPTER,
    DISTILLATION,
    FINETUNE,
    HUB_RELATIONS,
    MERGE,
    QUANTIZED,
    RELATIONS,
    TRAINED_ON,
    WEIGHT_RELATIONS,
)
from policy.records import record

# The card keys a finding is about (where SARIF and the linter place it): the license keys, and the key naming
# the ancestor for each relation a card declares outside `base_model` (the weights relations are `base_model`).
LICENSE_KEYS = ("license", "license_name", "license_link")
RELATION_KEYS = {DISTILLATION: ("teacher_model",), TRAINED_ON: ("datasets",)}

# Where a fact was declared, in precedence order (later adds to earlier).
SOURCES = ("card", "hub-api", "curation", "policy")

# Node status: how much we know about a node.
OK = "ok"  # card (or curated facts) read
MISSING = "missing"  # not found (404, not offline, not curated)
GATED = "gated"  # gated; license read from model_info where the Hub gives it
PRIVATE = "private"
UNAVAILABLE = "unavailable"  # network fault, offline and not cached, ...
INVALID = "invalid"  # malformed id or card
NODE_STATUSES = (OK, MISSING, GATED, PRIVATE, UNAVAILABLE, INVALID)

@record(slots=True)
class Citation:
    """Where a fact comes from: section, source, a short quote and its grade."""
    section: str
    source: str
    quote: str = ""
    grade: str = "V"  # V | C | S | UNVERIFIED | policy | curation
    note: str = ""

    @property
    def verified(self) -> bool:
        return self.grade in ("V", "C", "policy", "curation")

    def to_dict(self) -> dict[str, str]:
        d = {"section": self.section, "quote": self.quote, "source": self.source, "grade": self.grade}
        if self.note:
            d["note"] = self.note
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Citation:
        return cls(section=str(d.get("section", "")), source=str(d.get("source", "")),
                   quote=str(d.get("quote", "")), grade=str(d.get("grade", "V")), note=str(d.get("note", "")))


@record(slots=True)
class DeclaredLicense:
    """The license as written: the card's `license` value(s), `license_name`, `license_link`."""

    values: tuple[str, ...] = ()
    name: str | None = None
    link: str | None = None
    declared_in: str = "card"  # card | hub-api | curation | policy
    text: str | None = None  # the head of the repo's LICENSE file, read only when `other` names nothing known
    text_file: str | None = None

    @property
    def present(self) -> bool:
        return bool(self.values or self.name)

    def display(self) -> str:
        if not self.values and not self.name:
            return "(none)"
        text = " AND ".join(self.values) if self.values else "other"
        if self.name:
            text += f" [license_name={self.name}]"
        return text


@record(slots=True)
class CardNote:
    """Something irregular about a card that was read anyway (tabs repaired, misspelled key, ...)."""

    code: str
    message: str
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "line": self.line}


@record(slots=True)
class ModelFacts:
    """What is known of one model, dataset or API: card fields, license, status."""
    id: str
    kind: str = "model"  # model | dataset | api
    source: str = "file"  # file | hub | curation | policy | catalog
    status: str = OK
    status_detail: str = ""
    revision: str | None = None  # commit sha evaluated
    last_modified: str | None = None
    license: DeclaredLicense = field(default_factory=DeclaredLicense)
    card: Mapping[str, Any] = field(default_factory=dict)  # front-matter fields
    card_text: str = ""
    files: tuple[str, ...] = ()
    notes: tuple[CardNote, ...] = ()
    path: str | None = None  # local file the facts came from
    gated: str | bool = False
    extra_clauses: tuple[Mapping[str, Any], ...] = ()  # clauses attached by the policy file
    hub_relation: str | None = None  # the relation the Hub's model tree states (baseModels), if fetched
    retrieved_at: str | None = None  # when the scanner read it (UTC ISO)
    requested_revision: str | None = None  # the revision asked for (--revision), resolved to `revision`
    card_lines: Mapping[str, int] = field(default_factory=dict)  # line of license/base_model/... in the card file
    body_line: int = 1  # line of the card body's first line in the card file
    # `.eval_results/*.yaml` of the repo (file name -> parsed YAML), and the Hub's own answer for `model-index`
    # (whose `verified` the Hub computes from the verifyToken; the card's own flag proves nothing)
    eval_results: Mapping[str, Any] = field(default_factory=dict)
    hub_model_index: Any = None
    # model_type and architectures: the Hub's config summary, or the config.json beside a local card (architectures)
    config: Mapping[str, Any] = field(default_factory=dict)
    hub_task: str | None = None  # the pipeline_tag the Hub computes for every model, even when its card has none
    hub_library: str | None = None  # the library_name the Hub computes (from the card, else its files)
    # why a read failed, technically (exception type, HTTP status; no URL, no token): JSON only, never a document
    technical: str = ""

    @property
    def org(self) -> str | None:
        return self.id.split("/", 1)[0] if "/" in self.id else None

    @property
    def name(self) -> str:
        return self.id.rsplit("/", 1)[-1]

    @property
    def resolved(self) -> bool:
        return self.status in (OK, GATED) and (self.license.present or self.kind == "api")


@record(slots=True)
class Edge:
    """One lineage relation: the child derives from the parent (relation, where declared)."""
    child: str
    parent: str
    relation: str
    declared_in: str  # card | hub-api | curation | policy
    inferred: bool = False  # relation inferred as the Hub does, not stated
    parent_kind: str = "model"  # model | dataset | api
    citation: Citation | None = None
    note: str = ""


@record(slots=True)
class LineageProblem:
    """Why the lineage walk stopped or skipped a node (cycle, depth, invalid id)."""
    code: str  # cycle | depth-exceeded | invalid-id
    message: str
    path: tuple[str, ...] = ()


@record(slots=True)
class Lineage:
    """The lineage graph of a subject: its nodes, edges and the walk's problems."""
    subject: str
    nodes: Mapping[str, ModelFacts]
    edges: tuple[Edge, ...]
    problems: tuple[LineageProblem, ...] = ()

    @property
    def root(self) -> ModelFacts:
        return self.nodes[self.subject]

    def parents(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.child == node_id]
