"""SPDX 2.3 (`spdx-json`, `spdx-tv`), built and written with spdx-tools: one Document for the whole batch.

Packages: one per model, dataset and API teacher of each report's lineage (the subject and every evaluated
ancestor; a node shared by several reports is one package). SPDXID: `SPDXRef-<kind>-<id, other characters as
'-'>-<8 hex of sha256(kind:id)>`, so it is deterministic and unique. `version`: the commit sha evaluated,
omitted when there is none (an SPDX version of "NOASSERTION" would read as a version string, and the tag-value
grammar refuses it; NTIA's version element is then unmet: only a commit read from the Hub gives one).
`supplier`: `Organization: <the Hub namespace>` (the organisation or user that publishes it; "Hugging Face" for
a legacy Hub model with none), NOASSERTION for a local path (policy/render/purl.py). `downloadLocation`:
`https://huggingface.co/<id>` (datasets `/datasets/<id>`) for Hub repos (every ancestor named by a Hub id, even
when its card was read from `--cards`), NOASSERTION for a subject given as a local card and for an API model.
`filesAnalyzed` is false (policycheck reads cards, not the files).

Licenses: `licenseConcluded` is the resolved license (catalog ids mapped to their SPDX ids or `LicenseRef-*`),
NOASSERTION when it could not be resolved; `licenseDeclared` is what the card declares, mapped the same way when
the catalog knows it, a `LicenseRef-policycheck-declared-<hash>` whose extracted text is the declaration as
written when it does not, NONE when the card declares nothing and NOASSERTION when the card was not read. Every
`LicenseRef-` used gets an ExtractedLicensingInfo (name, "See <url>", the URL as cross reference).

External refs: `purl` (PACKAGE-MANAGER) `pkg:huggingface/<org>/<name>[@<sha>]` (policy/render/purl.py, the
one builder CycloneDX and SPDX 3 use too) for Hub models (the purl type has
no dataset form, so datasets get none); no purl for a subject given as a local card, whose Hub identity is only
its file name.

Relationships (child → parent, SPDX 2.3 semantics):
    DOCUMENT DESCRIBES each subject
    finetune, adapter, merge → child DESCENDANT_OF parent  (same lineage, a modified version of the parent's work)
    quantized               → child GENERATED_FROM parent  (produced mechanically from the parent's weights)
    distillation            → child GENERATED_FROM teacher (a student trained on, or a dataset made of, the
                                                            teacher's outputs)
    trained_on              → model DEPENDS_ON dataset     (the model's terms depend on the data's; TEST_DATA_OF
                                                            and DATA_FILE_OF describe files, not training)
each with a comment naming the policycheck relation, where it was declared and whether it was inferred; a
DESCENDANT_OF or GENERATED_FROM edge is doubled by a child DEPENDS_ON parent (the composition relationship that
NTIA conformance checkers follow from the described package: every ancestor is reachable from its subject).

Card text in tag-value (`_tv_value`): every value is printable on its one `Tag: value` line (a line break or a
control character becomes its visible escape, as in text output), so no card writes a tag of its own; only the
document comment spans lines, inside `<text>...</text>`; `<text>` and `</text>` in a value are written `&lt;text>`;
a value spdx-tools would read as a keyword, an actor or a date (`NONE`, `Tool: x`) is put in double quotes.

Creation info: created = the report date at 00:00:00Z, creator `Tool: policycheck-<version>`, namespace
`https://policycheck.invalid/spdx/<sha256 of the subjects (id@revision) and the date>`: the same batch gives the
same bytes. Verdicts, packs and "not legal advice" are in the document comment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from policy import __version__
from policy.model.report import DISCLAIMER, LicenseInfo, Report, TargetError
from policy.records import record
from policy.render.purl import purl, supplier
from policy.textsafe import encodable, key_bytes, printable, printable_lines

HUB = "https://huggingface.co"
NAMESPACE_BASE = "https://policycheck.invalid/spdx/"
KIND_PREFIX = {"model": "Model", "dataset": "Dataset", "api": "API"}
_OPERATORS = frozenset({"AND", "OR", "WITH"})
_TOKEN = re.compile(r"[^\s()]+")


def map_catalog_expression(expression: str | None, table: Mapping[str, LicenseInfo],
                           term: Callable[[LicenseInfo], str] = lambda e: e.spdx) -> str | None:
    """An expression over catalog ids with each id replaced by `term(entry)` (its SPDX id by default), or None
    when a term is not a catalog id with an SPDX id. Operators and parentheses are kept as written."""
    if not expression:
        return None
    out: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(expression):
        token = m.group(0)
        out.append(expression[pos:m.start()])
        pos = m.end()
        if token in _OPERATORS:
            out.append(token)
            continue
        entry = table.get(token)
        if entry is None or not entry.spdx:
            return None
        out.append(term(entry))
    out.append(expression[pos:])
    return "".join(out)
_IDSTRING = re.compile(r"[^A-Za-z0-9.-]+")


@record
class _LicenseInfo:
    name: str
    url: str


def spdx_id(kind: str, node_id: str) -> str:
    digest = hashlib.sha256(key_bytes(f"{kind}:{node_id}")).hexdigest()[:8]
    slug = _IDSTRING.sub("-", node_id).strip("-")[:80] or "x"
    return f"SPDXRef-{KIND_PREFIX.get(kind, 'Item')}-{slug}-{digest}"


class _Licenses:
    """Catalog expressions to SPDX expressions, collecting the LicenseRef- ids that need extracted text."""

    def __init__(self, table: Mapping[str, LicenseInfo]) -> None:
        self.table = table  # catalog id -> spdx, name, url: the reports' own `licenses`
        self.refs: dict[str, _LicenseInfo] = {}

    def from_catalog(self, expression: str | None) -> str | None:
        """An expression over catalog ids as SPDX, or None when a term is not a catalog id."""
        return map_catalog_expression(expression, self.table,
                                      lambda e: self._use(e.spdx, e.name, e.url))

    def from_spdx(self, expression: str | None) -> str | None:
        """An SPDX expression already resolved by the engine; LicenseRef- ids get their catalog name and URL."""
        if not expression:
            return None
        by_spdx = {e.spdx: e for e in self.table.values()}
        for token in _TOKEN.findall(expression):
            if token.startswith("LicenseRef-"):
                entry = by_spdx.get(token)
                self._use(token, entry.name if entry else token, entry.url if entry else "")
        return expression

    def declared_text(self, text: str) -> str:
        """A LicenseRef- for a declaration the catalog does not know, its text the declaration as written."""
        ref = "LicenseRef-policycheck-declared-" + hashlib.sha256(key_bytes(text)).hexdigest()[:12]
        self.refs.setdefault(ref, _LicenseInfo(name=f"As declared: {text}"[:200], url=""))
        return ref

    def _use(self, spdx: str, name: str, url: str) -> str:
        if spdx.startswith("LicenseRef-"):
            self.refs.setdefault(spdx, _LicenseInfo(name=name or spdx, url=url))
        return spdx


@dataclass
class _Node:
    id: str
    kind: str
    source: str
    status: str
    revision: str | None
    declared: str | None  # SPDX expression, "NONE", "NOASSERTION"
    concluded: str | None
    comment: str
    subject: bool = False


def _expression(value: str | None) -> Any:
    from spdx_tools.common.spdx_licensing import spdx_licensing
    from spdx_tools.spdx.model import SpdxNoAssertion, SpdxNone

    if value is None or value == "NOASSERTION":
        return SpdxNoAssertion()
    if value == "NONE":
        return SpdxNone()
    return spdx_licensing.parse(value)


def _nodes(report: Report, lic: _Licenses) -> list[_Node]:
    subject = report.subject
    slic = subject.license
    evaluated = {e.id: e for e in report.evaluated}
    parent_license: dict[str, tuple[str | None, bool]] = {}
    for entry in report.lineage:
        parent_license.setdefault(entry.parent, (entry.parent_license, entry.resolved))
    out: list[_Node] = []
    sid = subject.id
    s_eval = evaluated.get(sid)
    if slic.known and slic.resolved:
        concluded = lic.from_spdx(slic.resolved)
        declared = concluded
    else:
        concluded = None
        text = slic.declared
        declared = lic.declared_text(text) if text else "NONE"
    out.append(_Node(sid, (s_eval.kind if s_eval else "") or "model",
                     str((s_eval.source if s_eval else "") or subject.source),
                     (s_eval.status if s_eval else "") or "ok", subject.revision, declared, concluded,
                     f"subject of the report; verdict {report.verdict}", subject=True))
    for nid, e in evaluated.items():
        if nid == sid:
            continue
        status = e.status or ""
        kind = e.kind or "model"
        raw, resolved = parent_license.get(nid, (None, False))
        mapped = lic.from_catalog(raw) if raw else None
        if mapped is not None:
            concluded = mapped if resolved else None  # resolved: read (ok/gated) and known to the catalog
            declared = mapped
        elif raw:
            concluded, declared = None, lic.declared_text(str(raw))
        else:
            concluded = None
            declared = "NONE" if status == "ok" and kind != "api" else "NOASSERTION"
        detail = f"status {status}" + (f": {e.detail}" if e.detail else "")
        out.append(_Node(nid, kind, e.source or "", status, e.revision, declared, concluded,
                         f"ancestor of {sid}; {detail}"))
    return out


def _on_hub(node: _Node) -> bool:
    """A Hub repo: an ancestor named by a Hub id (wherever its card was read), or a subject read from the Hub.
    A subject given as a local card file is not (its id comes from the file name)."""
    if node.kind == "api" or not node.id or node.id.startswith(("/", ".")):
        return False
    return node.source in ("hub", "cache") if node.subject else node.status != "invalid"


def _download(node: _Node) -> Any:
    from spdx_tools.spdx.model import SpdxNoAssertion

    if not _on_hub(node):
        return SpdxNoAssertion()
    path = quote(node.id, safe="/")
    return f"{HUB}/datasets/{path}" if node.kind == "dataset" else f"{HUB}/{path}"


def _package(node: _Node) -> Any:
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        SpdxNoAssertion,
    )

    refs = []
    if node.kind == "model" and _on_hub(node):
        refs.append(ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl",
                                       purl(node.id, node.revision)))
    org = supplier(node.id, _on_hub(node))
    return Package(
        spdx_id=spdx_id(node.kind, node.id), name=node.id, download_location=_download(node),
        version=node.revision or None, files_analyzed=False,
        supplier=Actor(ActorType.ORGANIZATION, org) if org else SpdxNoAssertion(),
        license_concluded=_expression(node.concluded), license_declared=_expression(node.declared),
        copyright_text=SpdxNoAssertion(), external_references=refs,
        comment=f"{node.kind} ({node.source}); {node.comment}")


def _relationships(report: Report, ids: dict[str, str]) -> list[Any]:
    from spdx_tools.spdx.model import Relationship, RelationshipType

    kinds = {e.id: e.kind or "model" for e in report.evaluated}
    out = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, ids[report.subject.id])]
    for e in report.lineage:
        child, parent, relation = e.child, e.parent, e.relation
        if child not in ids or parent not in ids:
            continue
        if relation in ("finetune", "adapter", "merge"):
            rtype = RelationshipType.DESCENDANT_OF
        elif relation in ("quantized", "distillation"):
            rtype = RelationshipType.GENERATED_FROM
        elif relation == "trained_on":
            rtype = RelationshipType.DEPENDS_ON
        else:
            rtype = RelationshipType.OTHER
        comment = f"policycheck relation {relation}" + (" (inferred)" if e.inferred else "") + \
            f", declared in {e.declared_in}"
        if relation == "distillation":
            comment += (": the dataset was generated by this teacher" if kinds.get(child) == "dataset" else
                        ": trained on this teacher's outputs")
        out.append(Relationship(ids[child], rtype, ids[parent], comment=comment))
        if rtype != RelationshipType.DEPENDS_ON:  # the dependency NTIA checkers follow from the described package
            out.append(Relationship(ids[child], RelationshipType.DEPENDS_ON, ids[parent],
                                    comment=f"{comment}; the {rtype.name} relationship as a dependency"))
    return out


def _packs(report: Report) -> str:
    return ", ".join(f"{p.id} {p.version}" for p in report.packs) or "none"


def build_document(results: Sequence[Report | TargetError]) -> Any:
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        CreationInfo,
        Document,
        ExtractedLicensingInfo,
    )

    reports = [r for r in results if isinstance(r, Report)]
    errors = [r for r in results if isinstance(r, TargetError)]
    day = dt.date.fromisoformat(reports[0].date) if reports else dt.date(1970, 1, 1)
    created = dt.datetime(day.year, day.month, day.day)
    subjects = [f"{r.subject.id}@{r.subject.revision or ''}" for r in reports]
    digest = hashlib.sha256(key_bytes("\n".join([*subjects, *(e.target for e in errors), day.isoformat()]))
                            ).hexdigest()
    lic = _Licenses({lid: info for r in reports for lid, info in r.licenses.items()})
    packages: dict[str, Any] = {}
    ids: dict[str, str] = {}
    relationships: list[Any] = []
    for report in reports:
        local_ids: dict[str, str] = {}
        for node in _nodes(report, lic):
            pid = spdx_id(node.kind, node.id)
            local_ids[node.id] = pid
            if pid not in packages:
                packages[pid] = _package(node)
        ids.update(local_ids)
        for rel in _relationships(report, local_ids):
            key = (rel.spdx_element_id, rel.relationship_type, rel.related_spdx_element_id)
            if all((r.spdx_element_id, r.relationship_type, r.related_spdx_element_id) != key
                   for r in relationships):
                relationships.append(rel)
    comment = [DISCLAIMER, *(f"{r.subject.id}: verdict {r.verdict} (packs {_packs(r)}; catalog sha256 "
                             f"{r.catalog_digest or 'n/a'})" for r in reports),
               *(f"{e.target}: not evaluated: {e.message}" for e in errors)]
    name = "policycheck " + (", ".join(r.subject.id for r in reports[:3]) or "report")
    if len(reports) > 3:
        name += f" and {len(reports) - 3} more"
    info = CreationInfo(
        spdx_version="SPDX-2.3", spdx_id="SPDXRef-DOCUMENT", name=name, data_license="CC0-1.0",
        document_namespace=NAMESPACE_BASE + digest, creators=[Actor(ActorType.TOOL, f"policycheck-{__version__}")],
        created=created, creator_comment=DISCLAIMER, document_comment="\n".join(printable(line) for line in comment))
    extracted = [ExtractedLicensingInfo(
        license_id=ref, extracted_text=f"See {info_.url}" if info_.url else info_.name, license_name=info_.name,
        cross_references=[info_.url] if info_.url else [],
        comment="policycheck catalog entry" if info_.url else "license as declared; not in the policycheck catalog")
        for ref, info_ in sorted(lic.refs.items())]
    return Document(info, packages=list(packages.values()), relationships=relationships,
                    extracted_licensing_info=extracted)


# The one value policycheck writes on several lines (a line per report, each made printable as it is built):
# spdx-tools writes it as `Tag: <text>...</text>`. Every other value is one `Tag: value` line.
_TV_MULTILINE = frozenset({"document_comment"})
# `<text>` opens a text block wherever it follows a tag's colon (the lexer's `:\s*<text>`), `</text>` closes one
# wherever it is (spdx-tools matches them case-sensitively; other readers may not).
_TV_TEXT_TAG = re.compile(r"<(/?text>)", re.IGNORECASE)


@functools.cache
def _tv_lexer() -> Any:
    from spdx_tools.spdx.parser.tagvalue.lexer import SPDXLexer

    lexer = SPDXLexer()
    lexer.build()
    return lexer


def _tv_plain(value: str) -> bool:
    """Whether spdx-tools reads `value` back as the plain text of a line, not as a keyword (NONE, NOASSERTION,
    a tag's name), an actor (`Tool: ...`), a date or a checksum, which its grammar refuses where a name goes."""
    lexer = _tv_lexer()
    if value.strip() in lexer.reserved:
        return False
    if ":" not in value:  # every other token a value could be read as has a colon (`Tool:`, dates, checksums)
        return True
    lexer.input(f"PackageName: {value}\n")
    return [t.type for t in iter(lexer.token, None)] == ["PKG_NAME", "LINE"]


def _tv_value(value: str, field: str) -> str:
    """A string of the document as tag-value writes it: printable (a line break or a control character becomes
    its visible escape, so no card value writes a line of its own or drives a terminal), the line breaks of
    `_TV_MULTILINE` kept; `<text>` and `</text>` written `&lt;text>`, so no value opens or closes a text block;
    a one-line value the reader would take for something else than text (`NONE`, `Tool: x`) in double quotes."""
    if field in _TV_MULTILINE:
        return _TV_TEXT_TAG.sub(r"&lt;\1", printable_lines(value))
    line = _TV_TEXT_TAG.sub(r"&lt;\1", printable(value))
    return line if not line.strip() or _tv_plain(line) else f'"{line}"'


def _json_value(value: str, field: str) -> str:
    """A string of the document as JSON writes it: the JSON writer escapes control characters, but would write a
    lone surrogate as a `\\ud800` escape that strict readers refuse."""
    return encodable(value)


def _each_string(value: Any, change: Callable[[str, str], str], field: str = "") -> Any:
    """`value` (a document or any part of it) with each string `s` of a field `f` replaced by `change(s, f)`,
    changed in place. Enums, dates, license expressions (ids and operators only), NOASSERTION and NONE are
    not strings and stay as they are."""
    if isinstance(value, str):
        return change(value, field)
    if isinstance(value, list):
        return [_each_string(item, change, field) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _each_string(old, change, f.name)
            if new != old:
                setattr(value, f.name, new)
    return value


def render(results: Sequence[Report | TargetError], options: Any = None, fmt: str | None = None) -> str:
    fmt = fmt or getattr(options, "fmt", "") or "spdx-json"
    document = build_document(results)
    validate = bool(document.packages)
    stream = io.StringIO()
    if fmt == "spdx-tv":
        from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import write_document_to_stream as write_tv

        write_tv(_each_string(document, _tv_value), stream, validate=validate)
    else:
        from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream as write_json

        write_json(_each_string(document, _json_value), stream, validate=validate)
    text = stream.getvalue()
    return text if text.endswith("\n") else text + "\n"
