"""The one renderer contract and the registry of every output format.

A renderer is a pure function `(data, options) -> str | bytes | Iterable[str | bytes]`: it turns finished data
into the output and does nothing else (no I/O, no policy). What `data` is depends on the command whose output it
writes:

    check    an iterable of `Report | TargetError`, one per target, in order (streaming formats write each
             as it arrives; document formats read them all and write one document for the batch)
    tree     a `TreeOutput`: the audit's summary and a query for its rows (policy/render/tree.py)
    hub-audit  a `HubAuditOutput`: the same for an audit of a Hub metadata snapshot (policy/render/hub_audit.py)
    lint     an iterable of `FileLint`, one per card (policy/lint/checks.py)
    claims   the `policycheck/claims/v1` mapping of one model
    aiact    the list of AI Act packs (policy/documents/aiact.py)
    annex    an `AnnexInput`: the reports, the parameters and the catalog's license names
    inventory  an `Inventory`: the models a code repository uses (policy/model/inventory.py)

The registry below is the only list of formats: the command line builds its `--format` choices from it, and
`render()` is the only way a command reaches a renderer, so a new format is one row here and one module.
Modules are imported when their format is used, so that a command pays only for the format it writes.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from policy.records import record

Chunk = str | bytes


@record
class RenderOptions:
    """How a renderer writes: user templates, colour, width, concision."""
    templates: tuple[Path, ...] = ()  # user template folders, searched before the shipped templates/
    color: bool = False
    width: int = 80
    concise: bool = False  # text: one line per target
    notes: bool = True  # text: show findings of kind note (risk notes such as "no patent grant"); lint hides them
    day: dt.date | None = None  # the run's date, for documents of a batch in which no target could be read
    fmt: str = ""  # the format being written, for a module that writes several (spdx-json and spdx-tv)
    # Told about a result the format could not write (a bug: that target's exit code becomes 4).
    on_unwritable: Callable[[Any], None] | None = None
    # `check --inventory`: the `Inventory` the batch's models come from; the BOM formats make its application the
    # root component, which depends on every model judged.
    application: Any = None


@record
class Format:
    """One output format of a command: its renderer and how its output is written."""
    name: str  # as given to --format
    entry: str  # "module:function" implementing the contract
    streams: bool = False  # written result by result, in flat memory, as the results arrive
    binary: bool = False  # bytes (written to a file: --output)
    extra: str = ""  # "module:extra": the optional dependency the format needs and the extra that installs it

    def renderer(self) -> Callable[[Any, RenderOptions], Any]:
        if self.extra:
            from importlib.util import find_spec

            needed, _, extra = self.extra.partition(":")
            if find_spec(needed) is None:
                from policy.errors import UsageError

                raise UsageError(f"--format {self.name} needs the optional dependencies of policycheck[{extra}]: "
                                 f"pip install 'policycheck[{extra}]'")
        module, _, function = self.entry.partition(":")
        return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def _table(*formats: Format) -> dict[str, Format]:
    return {f.name: f for f in formats}


REGISTRY: dict[str, dict[str, Format]] = {
    "check": _table(
        Format("text", "policy.render.text:render", streams=True),
        Format("json", "policy.render.json:render", streams=True),
        Format("markdown", "policy.render.markdown:render"),
        Format("html", "policy.render.html:render"),
        Format("sarif", "policy.render.sarif:render"),
        Format("junit", "policy.render.junit:render"),
        Format("spdx-json", "policy.render.spdx:render", extra="spdx_tools:spdx"),
        Format("spdx-tv", "policy.render.spdx:render", extra="spdx_tools:spdx"),
        Format("cyclonedx", "policy.render.cyclonedx:render", extra="cyclonedx:cyclonedx"),
        Format("cyclonedx-1.7", "policy.render.cyclonedx:render", extra="cyclonedx:cyclonedx"),
        Format("spdx3", "policy.render.spdx3:render"),
    ),
    "tree": _table(
        Format("text", "policy.render.tree:render_text", streams=True),
        Format("json", "policy.render.tree:render_json", streams=True),
        Format("csv", "policy.render.tree:render_csv", streams=True),
        Format("markdown", "policy.render.tree:render_markdown", streams=True),
        Format("html", "policy.render.tree_html:render", streams=True),
        Format("sarif", "policy.render.tree:render_sarif", streams=True),
    ),
    "hub-audit": _table(
        Format("text", "policy.render.hub_audit:render_text", streams=True),
        Format("json", "policy.render.hub_audit:render_json", streams=True),
        Format("csv", "policy.render.hub_audit:render_csv", streams=True),
        Format("markdown", "policy.render.hub_audit:render_markdown", streams=True),
        Format("html", "policy.render.hub_audit:render_html", streams=True),
        Format("parquet", "policy.render.hub_audit:render_parquet", binary=True, extra="duckdb:snapshot"),
    ),
    "lint": _table(
        Format("text", "policy.lint.output:render_text", streams=True),
        Format("json", "policy.lint.output:render_json"),
        Format("sarif", "policy.lint.output:render_sarif"),
    ),
    "claims": _table(
        Format("text", "policy.render.claims:render"),
        Format("json", "policy.render.claims:render_json"),
    ),
    "aiact": _table(
        Format("markdown", "policy.documents.aiact_output:render"),
        Format("html", "policy.documents.aiact_output:render"),
        Format("json", "policy.documents.aiact_output:render"),
    ),
    "inventory": _table(
        Format("text", "policy.render.inventory:render_text"),
        Format("json", "policy.render.inventory:render_json"),
        Format("cyclonedx", "policy.render.inventory_bom:render_cyclonedx", extra="cyclonedx:cyclonedx"),
        Format("spdx3", "policy.render.inventory_bom:render_spdx3"),
    ),
    "annex": _table(
        Format("markdown", "policy.documents.annex_output:render"),
        Format("docx", "policy.documents.annex_output:render", binary=True, extra="docxtpl:docx"),
    ),
}

# The formats of `check` that list a Hub subject's weight files with their hashes (one more listing request).
BOM_FORMATS = frozenset({"cyclonedx", "cyclonedx-1.7", "spdx3"})


def formats(command: str) -> tuple[str, ...]:
    """The --format choices of `command`, in the order they are documented (the first is the default)."""
    return tuple(REGISTRY[command])


def render(command: str, fmt: str, data: Any, options: RenderOptions | None = None) -> Iterator[Chunk]:
    """The output of `command` in `fmt`, as chunks to write in order."""
    spec = REGISTRY[command].get(fmt)
    if spec is None:
        raise ValueError(f"unknown {command} output format {fmt!r} (one of {', '.join(formats(command))})")
    renderer = spec.renderer()  # before the batch is read: a missing optional dependency is said at once
    if not spec.streams and isinstance(data, Iterator):
        data = list(data)  # a document covers the whole batch
    out = renderer(data, replace(options or RenderOptions(), fmt=fmt))
    if isinstance(out, str | bytes):
        yield out
    else:
        yield from out


def render_to_string(command: str, fmt: str, data: Any, options: RenderOptions | None = None) -> str:
    """The whole output as one string (for tests and small outputs; a binary format is refused)."""
    parts = list(render(command, fmt, data, options))
    if any(isinstance(p, bytes) for p in parts):
        raise ValueError(f"{command} --format {fmt} writes bytes")
    return "".join(parts)  # type: ignore[arg-type]
