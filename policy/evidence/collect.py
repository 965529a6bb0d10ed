"""The evidence about one model, from its facts: evaluation claims (card model-index, body tables,
`.eval_results/`) judged against the Hub's own verification and an independent file, and lineage stated in the
card's prose but not in its metadata. Pure: the scanner supplies the facts, the caller the reference data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from policy import refdata
from policy.errors import ConfigError
from policy.evidence.claims import (
    Benchmarks,
    Claim,
    Independent,
    agreement,
    claim_evidence,
    claims_from_card,
    claims_from_eval_results,
    classify,
    load_benchmarks,
)
from policy.evidence.fingerprints import Fingerprints, load_fingerprints
from policy.evidence.prose import Names, default_names, prose_lineage
from policy.model.evidence import Evidence
from policy.model.facts import Edge, ModelFacts
from policy.records import record
from policy.scan.cards import as_id_list


@record
class ClaimsView:
    """A model's claims with what each is (verified, self-reported, ...) and the evidence about them."""

    claims: tuple[Claim, ...]
    classes: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    independent: int = 0  # independent values given for this model
    notes: tuple[str, ...] = field(default_factory=tuple)
    # for each claim, the independent value it was judged against (agreeing, or the nearest that contradicts)
    against: tuple[Independent | None, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        against = self.against or (None,) * len(self.claims)
        return [{"benchmark": c.benchmark, "subtask": c.subtask, "name": c.name, "metric": c.metric, "value": c.value,
                 "percent": c.percent, "origin": c.origin, "line": c.line, "class": k,
                 "dataset": c.dataset_id, "revision": c.dataset_revision, "split": c.split,
                 "source": c.source_url, "verified_flag": c.verified_flag, "verify_token": c.has_verify_token,
                 "independent_value": r.value if r else None, "independent_percent": r.percent if r else None,
                 "independent_source": r.where if r else None}
                for c, k, r in zip(self.claims, self.classes, against, strict=True)]


def reference_fingerprints(extra: Sequence[Path] = ()) -> Fingerprints:
    """The shipped reference fingerprints and those of `--rules` folders (`evidence/fingerprints.yaml`), each file
    validated and read once per process (`policy.refdata`)."""
    docs = []
    for path in (refdata.shipped("fingerprints"), *(Path(root) / "evidence" / "fingerprints.yaml" for root in extra)):
        if path.is_file():
            docs.append((str(path), refdata.load("fingerprints", path)))
    try:
        return load_fingerprints(docs)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def family_of(model_id: str, fingerprints: Fingerprints) -> str:
    """The family of a model (llama, qwen, ...) from the model names data or the reference fingerprints."""
    key = model_id.lower()
    for m in names().models:
        if m.id and m.id.lower() == key:
            return m.family
    for group in fingerprints.by_sha.values():
        for fp in group:
            if fp.repo.lower() == key and fp.family:
                return fp.family
    return ""


def benchmarks() -> Benchmarks:
    """The shipped benchmarks (`rules/evidence/benchmarks.yaml`), read once per process."""
    return load_benchmarks()


def names() -> Names:
    """The shipped model names (`rules/evidence/model_names.yaml`), read once per process."""
    return default_names()


def hub_verified(node: ModelFacts, claims: Sequence[Claim], bench: Benchmarks) -> dict[int, bool] | None:
    """What the Hub's API says of each model-index claim (its own `verified`, computed from the verifyToken),
    matched by benchmark, dataset, metric and value; None when the facts did not come from the Hub API."""
    if node.hub_model_index is None:
        return None
    api = claims_from_card({"model-index": node.hub_model_index}, "", 1, bench)
    seen = {(c.benchmark, c.dataset_id, c.metric, c.value): bool(c.verified_flag) for c in api}
    return {i: seen.get((c.benchmark, c.dataset_id, c.metric, c.value), False)
            for i, c in enumerate(claims) if c.origin == "model-index"}


def claims_view(node: ModelFacts, independent: Sequence[Independent] = (), *,
                require_independent: bool = False) -> ClaimsView:
    bench = benchmarks()
    claims = [*claims_from_card(node.card, node.card_text, node.body_line, bench, model_name=node.name),
              *claims_from_eval_results(node.eval_results, bench)]
    verified = hub_verified(node, claims, bench)
    mine = [r for r in independent if _same(r.model, node.id)]
    evidence = _merge_unsourced(node.id, claim_evidence(node.id, node.revision, claims, mine,
                                                        hub_verified=verified,
                                                        require_independent=require_independent,
                                                        benchmarks=bench))
    judged = [agreement(c, mine, node.id, node.revision) for c in claims]
    classes = tuple(classify(c, (verified or {}).get(i), matched=judged[i][0] == "independent",
                             contradicted=judged[i][0] == "contradicted")
                    for i, c in enumerate(claims))
    notes = () if verified is not None else (
        "the Hub's own verification was not read (a local card): no claim can be shown as verified",)
    return ClaimsView(tuple(claims), classes, tuple(evidence), len(mine), notes, tuple(r for _, r in judged))


def _merge_unsourced(subject: str, items: list[Evidence]) -> list[Evidence]:
    """One `claim-unsourced` item per origin (model-index, card-table, eval-results), naming the benchmarks and
    lines: a result table of ten benchmarks is one thing to fix, not ten."""
    groups: dict[str, list[Evidence]] = {}
    out: list[Evidence] = []
    for e in items:
        if e.code == "claim-unsourced":
            groups.setdefault(e.method, []).append(e)
        else:
            out.append(e)
    for method, group in groups.items():
        if len(group) == 1:
            out.append(group[0])
            continue
        names = [str(e.data.get("name") or e.data.get("benchmark") or "?") for e in group]
        lines = sorted({e.line for e in group if e.line})
        missing = sorted({m for e in group for m in (e.data.get("missing") or ())})
        where = f"card lines {lines[0]}–{lines[-1]}" if len(lines) > 1 else f"card line {lines[0]}" if lines else method
        out.append(Evidence(
            code="claim-unsourced",
            message=(f"{subject}'s {len(group)} {method} claims ({', '.join(names[:8])}"
                     f"{', …' if len(names) > 8 else ''}; {where}) give no {' or '.join(missing) or 'source'}."),
            method=method, confidence="medium", source=where, subject=subject, line=lines[0] if lines else 0,
            data={"benchmarks": names, "lines": lines, "missing": missing}))
    return out


def lineage_evidence(node: ModelFacts, known: Sequence[Edge] = ()) -> list[Evidence]:
    """Lineage the card's prose states and nothing declares: neither its front matter nor a curation or the
    policy file (`known`: the subject's edges in the lineage walked), which already put it under the rules."""
    declared: dict[str, list[str]] = {key: as_id_list(node.card.get(key), limit=None)
                                      for key in ("base_model", "teacher_model", "datasets")}
    for edge in known:
        key = ("teacher_model" if edge.relation == "distillation" else
               "datasets" if edge.relation == "trained_on" else "base_model")
        declared[key].append(edge.parent)
    found = prose_lineage(node.id, node.card_text, node.body_line, declared, names())
    if "merge_method" in node.card_text or "slices:" in node.card_text:  # a mergekit configuration in the body
        from policy.evidence.mergeconfig import merge_config_lineage

        said = {e.refers_to.lower() for e in found if e.refers_to}
        found += [e for e in merge_config_lineage(node.id, node.card_text, node.body_line,
                                                  [*declared["base_model"], *declared["teacher_model"]])
                  if e.refers_to and e.refers_to.lower() not in said]
        found.sort(key=lambda e: e.line)
    return found


def subject_evidence(node: ModelFacts, independent: Sequence[Independent] = (), *,
                     require_independent: bool = False, known: Sequence[Edge] = ()) -> list[Evidence]:
    """Every evidence item about the subject of a check (claims, then lineage in prose)."""
    if node.kind != "model" or not (node.card or node.card_text or node.eval_results):
        return []
    view = claims_view(node, independent, require_independent=require_independent)
    return [*view.evidence, *lineage_evidence(node, known)]


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()
