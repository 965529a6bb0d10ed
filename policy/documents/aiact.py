"""The EU AI Act documentation pack (`policycheck aiact`): what Article 53 asks of a general-purpose AI model's
provider, filled from the judged lineage, with every item a card cannot answer shown as a gap.

Pure over a finished `Report` and the shipped data `rules/aiact/gpai.yaml` (articles, quotes of 25 words at most,
sources; `rules/schema/aiact.json` is its schema). Nothing is invented: an item is filled only from what the card,
the curations or the policy declare, says where each value came from, and is otherwise a gap. The pack never
decides that a model is exempt or compliant; its status is always `review` (a draft a person completes), and the
assessments (open-source exemption, systemic risk, who is the provider) say what the lineage suggests and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from policy import __version__, refdata
from policy.errors import ConfigError
from policy.model.facts import WEIGHT_RELATIONS
from policy.model.report import DISCLAIMER, LineageEdge, Report
from policy.records import record
from policy.refdata import DataProblem
from policy.textsafe import clean, safe_url

SECTIONS = (
    ("technical-documentation", "Technical documentation", "Article 53(1)(a), Annex XI"),
    ("downstream-information", "Information for downstream providers", "Article 53(1)(b), Annex XII"),
    ("copyright-policy", "Copyright policy", "Article 53(1)(c)"),
    ("training-summary", "Public summary of training content", "Article 53(1)(d), AI Office template"),
)
OPEN = frozenset({"permissive", "copyleft", "weak-copyleft", "public-domain", "share-alike"})
CLOSED = frozenset({"non-commercial", "research-only", "no-derivatives"})  # Guidelines §83
RESTRICTED = frozenset({"use-restricted", "model-license", "provider-terms", "unknown"})  # §84: case by case
USER_THRESHOLD_CLAUSES = frozenset({"mau-limit"})
USE_CLAUSES = ("use-restriction", "acceptable-use", "use-policy")  # use-policy: the Llama AUP binds own use
MAX_VALUES = 50  # values listed per item (a card can declare thousands of datasets)
# fills that only hint at an answer: shown under a gap, never counted as filled (a repo's last change is not its
# release date)
HINTS = frozenset({"release_date"})


@record
class AiActData:
    act: Mapping[str, Any]
    sources: Mapping[str, Mapping[str, Any]]
    applicability: tuple[Mapping[str, Any], ...]
    items: tuple[Mapping[str, Any], ...]

    def statement(self, sid: str) -> dict[str, Any]:
        entry = next((a for a in self.applicability if a["id"] == sid), None)
        if entry is None:
            raise ConfigError(f"{NAME}: no applicability entry '{sid}'")
        return self.cited(entry)

    def cited(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        source = self.sources.get(entry["source"], {})
        return {**entry, "source_title": source.get("title", entry["source"]),
                "source_short": source.get("short") or source.get("title", entry["source"]),
                "url": safe_url(source.get("url")) or None}


MAX_QUOTE_WORDS = 25
NAME = "rules/aiact/gpai.yaml"


def load_data() -> AiActData:
    """The shipped `rules/aiact/gpai.yaml`, validated (`parse_data`) and read once per process (`policy.refdata`);
    bad data is a `ConfigError` at `file:line:col`."""
    return refdata.load("aiact", build=_build)  # type: ignore[no-any-return]


def parse_data(data: Any) -> AiActData:
    """Validate parsed AI Act data by `rules/schema/aiact.json`; every `source` must be listed, every id unique
    and every quote 25 words at most. Bad data is a `ConfigError`."""
    return refdata.check("aiact", data, build=_build)  # type: ignore[no-any-return]


def _build(data: Any) -> AiActData:
    """AiActData from schema-valid data, after the checks a schema cannot make (`DataProblem` at the entry)."""
    seen: set[str] = set()
    entries = [(("applicability", i), e) for i, e in enumerate(data["applicability"])]
    entries += [(("items", i), e) for i, e in enumerate(data["items"])]
    for at, entry in entries:
        if entry["id"] in seen:
            raise DataProblem(f"{entry['id']}: the id is used twice", (*at, "id"))
        seen.add(entry["id"])
        if entry["source"] not in data["sources"]:
            raise DataProblem(f"{entry['id']}: unknown source '{entry['source']}'", (*at, "source"))
        if len(entry["quote"].split()) > MAX_QUOTE_WORDS:
            raise DataProblem(f"{entry['id']}: a quote is {MAX_QUOTE_WORDS} words at most", (*at, "quote"))
    return AiActData(data["act"], data["sources"], tuple(data["applicability"]), tuple(data["items"]))


# -- what the lineage can answer ------------------------------------------------------------------------------
class _Facts:
    """The report read for the pack: one list of plain strings per `fill` key (empty: a gap)."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.subject = report.subject
        self.sid = report.subject.id
        own = next((e for e in report.evaluated if e.id == self.sid), None)
        self.card: Mapping[str, Any] = own.card if own is not None else {}
        self.lineage = list(report.lineage)

    @staticmethod
    def _license(entry: LineageEdge) -> str:
        return entry.parent_license or "license unknown"

    @staticmethod
    def _origin(entry: LineageEdge) -> str:
        where = {"card": "the card", "hub-api": "the Hub's model tree", "curation": "a policycheck curation",
                 "policy": "the policy file"}.get(entry.declared_in, entry.declared_in)
        cite = entry.citation or {}
        return f"{where}, citing {cite['source']}" if cite.get("source") else where

    def edges(self, relations: Iterable[str], child: str | None = None) -> list[LineageEdge]:
        wanted = set(relations)
        return [e for e in self.lineage if e.relation in wanted and (child is None or e.child == child)]

    def weight_edges(self) -> list[LineageEdge]:
        """The edges of the subject's own weights lineage (its bases, their bases, ...), not those of a teacher's
        or a dataset's ancestry: a teacher's base does not govern the student's weights."""
        reached, out = {self.sid}, []
        for e in self.lineage:  # the lineage lists edges in walk order: a child comes before its parents' edges
            if e.relation in WEIGHT_RELATIONS and e.child in reached:
                out.append(e)
                reached.add(e.parent)
        return out

    def model_id(self) -> list[str]:
        rev = self.subject.revision
        return [self.sid, f"commit {rev}" if rev else "no commit recorded (read from a local card)"]

    def provider(self) -> list[str]:
        org = self.sid.split("/", 1)[0] if "/" in self.sid else ""
        return [f"{org} (the repository's organisation; the provider is whoever places the model on the EU "
                "market)"] if org else []

    def license(self) -> list[str]:
        lic = self.subject.license
        if not lic.declared:
            return []
        resolved = lic.resolved if lic.known else None
        return [f"declared: {lic.declared}", f"resolved: {resolved}" if resolved else "not resolved by policycheck"]

    def base_models(self) -> list[str]:
        return [f"{e.child} is a {e.relation} of {e.parent} ({self._license(e)}; from {self._origin(e)})"
                for e in self.weight_edges()]

    def library(self) -> list[str]:
        lib = self.card.get("library")
        return [f"{lib} (the card's library_name; its version is not declared)"] if lib else []

    def datasets(self) -> list[str]:
        return [f"{e.parent} ({self._license(e)}; from {self._origin(e)}; whether it is publicly available is "
                "not checked)" for e in self.edges(("trained_on",), self.sid)]

    def synthetic_data(self) -> list[str]:
        """The models whose outputs trained the subject: its teachers, and those of the datasets it was trained on
        (not the teachers somewhere in a base's or a teacher's own ancestry)."""
        own = {self.sid, *(e.parent for e in self.edges(("trained_on",), self.sid))}
        out = []
        for e in (e for e in self.edges(("distillation",)) if e.child in own):
            api = " (an API model)" if e.parent_kind == "api" else ""
            if e.child == self.sid:
                what = f"outputs of {e.parent}{api} trained {self.sid}"
            else:
                what = f"{e.child} was generated with {e.parent}{api}"
            out.append(f"{what} ({self._license(e)}; from {self._origin(e)})")
        return out

    def task(self) -> list[str]:
        return [f"task: {self.card['task']} (the card's pipeline_tag)"] if self.card.get("task") else []

    def languages(self) -> list[str]:
        return [", ".join(self.card["languages"])] if self.card.get("languages") else []

    def architecture(self) -> list[str]:
        out = []
        if self.card.get("model_type"):
            out.append(f"model type: {self.card['model_type']}")
        if self.card.get("architectures"):
            out.append(f"architectures: {', '.join(self.card['architectures'])}")
        if out:
            out.append("number of parameters: not declared in the card's metadata")
        return out

    def evaluations(self) -> list[str]:
        out = []
        for e in self.card.get("evaluations") or ():
            where = " ".join(str(x) for x in (e.get("name") or e.get("dataset"), e.get("split")) if x)
            out.append(f"{where}: {e.get('metric') or 'score'} {e.get('value'):g} (self-reported in the card's "
                       "model-index)")
        questioned = [x for x in self.report.evidence if x.code.startswith("claim-")]
        if out and questioned:
            out.append(f"{len(questioned)} evaluation finding(s) need review: see `policycheck claims`")
        return out

    def release_date(self) -> list[str]:
        last = self.subject.last_modified
        return [f"{str(last)[:10]} (the repository's last change: a proxy, not the release date)"] if last else []

    def acceptable_use(self) -> list[str]:
        return [f"{o.license} of {o.source}: {o.text}" for o in self.report.obligations
                if any(k in o.clause for k in USE_CLAUSES)]

    def model_card(self) -> list[str]:
        if not self.card.get("has_text"):
            return []  # a card with no text documents nothing
        if self.subject.source in ("hub", "cache"):
            rev = self.subject.revision
            return [f"https://huggingface.co/{self.sid}" + (f"/blob/{rev}/README.md" if rev else "")]
        return ["the model card (a local file)"] if self.subject.path else []

    def values(self, key: str | None) -> list[str]:
        fill: Callable[[], list[str]] | None = getattr(self, key, None) if key else None
        return list(dict.fromkeys(fill()))[:MAX_VALUES] if fill else []


# -- what the lineage suggests --------------------------------------------------------------------------------
def _categories(report: Report, expression: str | None) -> set[str]:
    out: set[str] = set()
    for token in str(expression or "").replace("(", " ").replace(")", " ").split():
        info = report.licenses.get(token)
        out.update(info.categories if info is not None else ())
    return out


def _open_source(report: Report, facts: _Facts, data: AiActData) -> dict[str, Any]:
    lic = report.subject.license
    own = set(lic.categories) if lic.known else set()
    chain = [(e.parent, str(e.parent_license), _categories(report, e.parent_license)) for e in facts.weight_edges()]
    thresholds = sorted({o.source for o in report.obligations if o.clause in USER_THRESHOLD_CLAUSES})
    basis = ["open-source-exemption", "open-source-exemption-conditions",
             "open-source-exemption-excludes-systemic-risk"]
    if not lic.known:
        answer = "Cannot tell: the model's licence is not resolved."
    elif closed := [f"{m} ({li})" for m, li, cats in [(facts.sid, lic.id, own), *chain] if cats & CLOSED]:
        answer = ("Not a candidate: limited to non-commercial or research-only use in " + ", ".join(closed) + ".")
        basis.append("open-source-licence-noncommercial-disqualifies")
    elif thresholds:
        answer = ("Not a candidate as the weights stand: the terms of " + ", ".join(thresholds) + " restrict use "
                  "above a user threshold.")
        basis.append("open-source-licence-user-threshold-disqualifies")
    elif restricted := [f"{m} ({li})" for m, li, cats in [(facts.sid, lic.id, own), *chain]
                        if cats & RESTRICTED or not cats & OPEN]:
        answer = ("Review: use restrictions come from " + ", ".join(restricted) + "; only proportionate, "
                  "safety-oriented restrictions are compatible with the exemption.")
        basis.append("open-source-licence-safety-restrictions-allowed")
    else:
        answer = ("A candidate, for a person to confirm: the licence chain reads as free and open-source. The "
                  "exemption also needs public weights, architecture and usage information, and no monetisation.")
        basis.append("open-source-no-monetisation")
    basis.append("open-source-not-exempt-copyright-summary")
    return {"question": "Open-source exemption (Article 53(2))", "answer": answer,
            "basis": [data.statement(b) for b in basis]}


def _assessments(report: Report, facts: _Facts, data: AiActData) -> list[dict[str, Any]]:
    out = [_open_source(report, facts, data),
           {"question": "Systemic risk (Article 51)",
            "answer": "Unknown: policycheck does not read training compute; ask the provider. Above 10^25 FLOP a "
                      "model is presumed to have systemic risk; then the open-source exemption never applies and "
                      "Article 55 adds duties.",
            "basis": [data.statement(b) for b in ("systemic-risk-presumption", "systemic-risk-obligations",
                                                  "open-source-exemption-excludes-systemic-risk")]}]
    bases = facts.edges(WEIGHT_RELATIONS, facts.sid)
    if bases:
        names = ", ".join(dict.fromkeys(e.parent for e in bases))
        out.append({"question": "Who is the provider of a modified model",
                    "answer": f"This model modifies {names}. Its modifier is the provider only if the modification "
                              "used more than a third of the original model's training compute; the duties then "
                              "cover the modification. policycheck does not read that compute: ask the provider.",
                    "basis": [data.statement(b) for b in ("fine-tuner-becomes-provider",
                                                          "fine-tuner-threshold-fallback",
                                                          "fine-tuner-obligations-limited")]})
    return out


# -- the pack -------------------------------------------------------------------------------------------------
def build_pack(report: Report, data: AiActData | None = None) -> dict[str, Any]:
    """The context of `templates/aiact/*.j2`: applicability, assessments, and every item filled or a gap."""
    data = data or load_data()
    facts = _Facts(report)
    sections = []
    filled = gaps = 0
    for sid, title, article in SECTIONS:
        items = []
        for item in (i for i in data.items if i["section"] == sid):
            found = facts.values(item["fill"])
            hint = item["fill"] in HINTS
            values = [] if hint else found
            filled, gaps = filled + bool(values), gaps + (not values)
            items.append({**data.cited(item), "status": "filled" if values else "gap", "answers": values,
                          "hints": found if hint else [], "derivable": item["fill"] is not None,
                          "systemic_only": bool(item.get("systemic_only"))})
        sections.append({"id": sid, "title": title, "article": article, "entries": items})
    generators = facts.synthetic_data()
    assessments = _assessments(report, facts, data)
    subject = report.subject
    return _cleaned({
        "schema": "policycheck/aiact-pack/v1",
        "title": f"EU AI Act documentation pack: {facts.sid}",
        "tool": f"policycheck {__version__}", "date": report.date, "disclaimer": DISCLAIMER,
        "status": "review",
        "status_reason": f"a draft for a person to complete and check: {gaps} of {filled + gaps} items are gaps",
        "subject": {"id": facts.sid, "revision": subject.revision, "source": subject.source,
                    "license": subject.license.declared, "verdict": report.verdict},
        "notices": list(report.notices),
        "act": dict(data.act),
        "applicability": [data.cited(a) for a in data.applicability],
        "assessments": assessments,
        # the per-item note on Article 53(2) is left out where the lineage already rules the exemption out
        "exemption_possible": not assessments[0]["answer"].startswith("Not a candidate"),
        "synthetic_data": generators,
        "sections": sections,
        "counts": {"total": filled + gaps, "filled": filled, "gaps": gaps},
        "packs": [p.to_dict() for p in report.packs], "catalog_sha256": report.catalog_digest,
    })


def _cleaned(value: Any) -> Any:
    """Every string of the pack as one line with no control character left (a card's ESC or bidi character
    becomes a visible escape), so no format prints one to a terminal."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {k: _cleaned(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(v) for v in value]
    return value


def build_packs(reports: Sequence[Report]) -> list[dict[str, Any]]:
    data = load_data()
    return [build_pack(r, data) for r in reports]
