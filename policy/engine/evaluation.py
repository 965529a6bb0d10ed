"""The engine: a pure function from (lineage, packs, catalog, policy, today) to a Report.

No I/O and no clock: `today` is injected (waiver expiry). The engine derives the facts rules read (resolved
licenses, ancestors with their path and channel, the clauses that bind on that channel), evaluates every rule
over its bindings, applies waivers, lists obligations and decides the verdict.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from policy.engine.conditions import MISSING, path_getter
from policy.engine.messages import render
from policy.engine.rules import Pack, Rule
from policy.model.catalog import Catalog, Clause, ResolvedLicense
from policy.model.evidence import Evidence
from policy.model.facts import GATED, OK, Lineage, ModelFacts
from policy.model.policyfile import Policy, Waiver
from policy.model.report import (
    EvaluatedNode,
    Finding,
    LicenseInfo,
    LineageEdge,
    Obligation,
    PackRef,
    PolicySummary,
    Report,
    Subject,
    SubjectLicense,
    WeightFile,
    intended_use_words,
)
from policy.model.tasks import FAMILY_OF, KindFact, is_multimodal, kind_facts, performs_similarly
from policy.model.vocab import CARD_TEXT, OWN_RULE, WEIGHT_RELATIONS, at_or_above, verdict_of
from policy.records import record

# Clause types that test a figure of the licensee's own (the policy file's `licensee:`): the figure's key and how
# its amounts read. Llama §2 tests monthly active users once, on the version's release date (the clause's
# `tested_on`); Tongyi Qianwen §4 while the model is used commercially; a revenue limit its annual revenue.
LICENSEE_FIGURES: dict[str, tuple[str, str, str]] = {
    "mau-limit": ("monthly_active_users", "{} monthly active users", "monthly active users"),
    "revenue-limit": ("annual_revenue_usd", "USD {} in annual revenue", "annual revenue in US dollars"),
}

# Clause types that are duties of whoever distributes or uses the model (listed as obligations, when the intended
# use and the model's kind trigger them). `no-patent-grant` is none: the absence of a grant is a risk the core
# pack reports as a note, not a duty (issue 18).
OBLIGATION_TYPES = frozenset({
    "license-copy", "notice-file", "state-changes", "attribution-display", "name-prefix",
    "use-restrictions-passthrough", "mau-limit", "revenue-limit", "retain-notices", "network-source-offer",
    "copyleft", "share-alike", "no-endorsement", "region-exclusion", "no-guardrail-bypass", "non-commercial",
    "research-only", "non-production", "no-derivatives", "corresponding-source",
    "use-latest-version", "no-conflicting-terms", "use-policy", "registration"})
STATUS_RANK = {"verified": 0, "partial": 1, "unverified": 2}
PROFILE_RANK = {"full": 0, "identity": 1}
_SPDX_TOKEN = re.compile(r"[^\s()]+")


class _CatalogFacts:
    """What licenses and clauses mean in catalog terms (name, categories, SPDX form, citation, ...) depends on
    the catalog alone (and, for a clause, on whether the intended use triggers it), and the same few licenses
    recur across models: the contexts rules see of them are built once per catalog, license and clause, and
    shared by every evaluation. Rule contexts are read-only facts: the engine never changes them, and what a
    report keeps of one (a finding's explanation) is a copy (`conditions._show`). Keyed by id() of a
    `catalog.resolve` result (kept with it, and checked) or of a catalog clause (which the catalog keeps).
    """

    def __init__(self, catalog: Catalog) -> None:
        self.licenses: dict[int, tuple[ResolvedLicense, dict[str, Any]]] = {}
        self.clauses: dict[tuple[int, str, bool], dict[str, Any]] = {}
        # the catalog's own clauses (a policy file's clauses are made afresh for each evaluation)
        self.catalog_clauses = frozenset(id(c) for e in catalog.entries.values() for c in e.clauses)
        self.entries = catalog.entries  # (never the catalog itself: it is this cache's weak key)
        self._license_info: dict[str, LicenseInfo | None] = {}

    def license_info(self, license_id: str) -> LicenseInfo | None:
        """The report's catalog facts of a license: an immutable value, so every report may hold the same one."""
        info = self._license_info.get(license_id, MISSING)
        if info is MISSING:
            e = self.entries.get(license_id)
            info = self._license_info[license_id] = (
                LicenseInfo(e.spdx, e.name, e.url, tuple(sorted(e.categories))) if e is not None else None)
        return info


_CATALOG_FACTS: weakref.WeakKeyDictionary[Catalog, _CatalogFacts] = weakref.WeakKeyDictionary()


def channel_of(via: Sequence[str]) -> str:
    """How a model derives from an ancestor: its weights, its outputs (distillation), or its data."""
    channel = "weights"
    for relation in via:
        channel = next_channel(channel, relation)
    return channel


def next_channel(channel: str, relation: str) -> str:
    if channel == "outputs" or relation == "distillation":
        return "outputs"
    if channel == "data" or relation == "trained_on":
        return "data"
    return "weights"


@record
class Binding:
    """An ancestor reached on one channel, by its shortest path."""

    node: ModelFacts
    path: tuple[str, ...]  # ids from the subject's parent to the ancestor
    via: tuple[str, ...]
    channel: str
    child: str
    edge_index: int
    # the first edge of the path read from a card's text rather than declared (a dataset's card saying GPT-4
    # wrote it): "acme/synth's card (line 12)"; empty when every edge is declared
    stated: str = ""


class _Facts:
    """Per-evaluation derived facts, built once and shared by all rules."""

    def __init__(self, lineage: Lineage, catalog: Catalog, policy: Policy) -> None:
        self.lineage = lineage
        self.catalog = catalog
        self.policy = policy
        self.licenses: dict[str, ResolvedLicense] = {
            nid: catalog.resolve(node.license) for nid, node in lineage.nodes.items()}
        self._license_ctx: dict[str, dict[str, Any]] = {}
        shared = _CATALOG_FACTS.get(catalog)
        if shared is None:
            shared = _CATALOG_FACTS[catalog] = _CatalogFacts(catalog)
        self._shared = shared
        self.license_info = shared.license_info
        self._clause_ctx: dict[tuple[int, str], tuple[Clause, dict[str, Any]]] = {}
        self._reach_cache: dict[frozenset[str], frozenset[tuple[str, str]]] = {}
        self._triggered: dict[int, tuple[Clause, bool]] = {}
        self._kind: dict[str, _Kind] = {}
        self._by_child: dict[str, list[tuple[int, Any]]] = {}
        for i, e in enumerate(lineage.edges):
            self._by_child.setdefault(e.child, []).append((i, e))
        self.bindings = self._bindings()

    # -- licenses --------------------------------------------------------------------------------------
    def license_ctx(self, node_id: str) -> dict[str, Any]:
        ctx = self._license_ctx.get(node_id)
        if ctx is None:
            lic = self.licenses[node_id]
            known = self._shared.licenses.get(id(lic))
            if known is None or known[0] is not lic:
                known = self._shared.licenses[id(lic)] = (lic, self._make_license_ctx(lic))
            ctx = self._license_ctx[node_id] = known[1]
        return ctx

    def _make_license_ctx(self, lic: ResolvedLicense) -> dict[str, Any]:
        entries = [self.catalog.entries[i] for i in lic.ids if i in self.catalog.entries]
        categories = sorted({c for e in entries for c in e.categories})
        status = max((e.status for e in entries), key=STATUS_RANK.__getitem__, default="unverified")
        profile = max((e.profile for e in entries), key=PROFILE_RANK.__getitem__, default="identity")
        return {
            "id": lic.ids[0] if len(lic.ids) == 1 else (lic.expression or None),
            "ids": list(lic.ids), "expression": lic.expression, "known": lic.known,
            "categories": categories, "name": " / ".join(e.name for e in entries) or None,
            "spdx": self._spdx(lic) if entries else None, "status": status, "profile": profile,
            "reason": lic.reason, "licensor": sorted({e.licensor for e in entries if e.licensor}),
            "declared": lic.declared.display(), "present": lic.declared.present,
            "unverified": status != "verified" or profile != "full",
            "kind": entries[0].kind if len(entries) == 1 else None,
            "url": entries[0].url if len(entries) == 1 else None,
            "conflict": lic.conflict or None,
            "_resolved": lic,
        }

    def _spdx(self, lic: ResolvedLicense) -> str:
        """The expression with each catalog id replaced by its SPDX id (or LicenseRef-*)."""
        def spdx(match: re.Match[str]) -> str:
            entry = self.catalog.entries.get(match.group(0))
            return entry.spdx if entry else match.group(0)

        return _SPDX_TOKEN.sub(spdx, lic.expression)

    def clauses_for(self, node: ModelFacts, channel: str, choice: frozenset[str] | None = None) -> list[Clause]:
        """The clauses binding on `channel`: of every license named, or of one elected alternative (`choice`,
        for `mit OR gpl-3.0`), plus the clauses the policy file attaches to the node."""
        ids = sorted(choice) if choice is not None else self.licenses[node.id].ids
        out = [c for lid in ids if lid in self.catalog.entries
               for c in self.catalog.entries[lid].clauses if channel in c.applies_to]
        for raw in node.extra_clauses:
            clause = Clause.from_dict(raw, str(raw.get("license", f"policy:{node.id}")))
            if channel in clause.applies_to:
                out.append(clause)
        return out

    def clause_ctx(self, clause: Clause, channel: str) -> dict[str, Any]:
        """The clause as rules see it on `channel`: a catalog clause's context is shared by every evaluation
        (with the same answer to `triggered`); a policy file's clause, made afresh for each evaluation, is built
        once per evaluation."""
        triggered = self.triggered(clause)
        if id(clause) in self._shared.catalog_clauses:
            key = (id(clause), channel, triggered)
            ctx = self._shared.clauses.get(key)
            if ctx is None:
                ctx = self._shared.clauses[key] = self._make_clause_ctx(clause, channel, triggered)
            return ctx
        known = self._clause_ctx.get((id(clause), channel))
        if known is not None and known[0] is clause:
            return known[1]
        ctx = self._make_clause_ctx(clause, channel, triggered)
        self._clause_ctx[(id(clause), channel)] = (clause, ctx)
        return ctx

    def triggered(self, clause: Clause) -> bool:
        """Does the intended use trigger the clause (GPL copyleft binds when the work is conveyed; the Llama
        name prefix when the model is distributed or made available)?"""
        known = self._triggered.get(id(clause))
        if known is not None and known[0] is clause:
            return known[1]
        triggers = clause.params.get("triggers") or ()
        answer = not triggers or any(self.policy.use.get(t, True) for t in triggers)
        self._triggered[id(clause)] = (clause, answer)
        return answer

    def _make_clause_ctx(self, clause: Clause, channel: str, triggered: bool) -> dict[str, Any]:
        entry = self.catalog.entries.get(clause.license_id)
        return {"type": clause.type, "params": dict(clause.params), "obligation": clause.obligation,
                "citation": clause.citation.to_dict(), "applies_to": sorted(clause.applies_to),
                "license": clause.license_id, "verified": clause.verified, "channel": channel,
                "accepts": list(clause.params.get("accepts") or [clause.license_id]), "triggered": triggered,
                "unsettled": channel in (clause.params.get("unsettled") or ()),
                "licensor_orgs": sorted(o.lower() for o in entry.licensor_orgs) if entry else []}

    def used_by(self, binding: Binding) -> str | None:
        """Who used the ancestor's outputs: the child of the first distillation edge on the path (through a
        generated dataset, the model trained on it). None when the ancestor is not reached through outputs."""
        if "distillation" not in binding.via:
            return None
        chain = (self.lineage.subject, *binding.path)
        i = binding.via.index("distillation")
        while i > 0 and self.lineage.nodes[chain[i]].kind == "dataset":
            i -= 1
        return chain[i]

    def is_party(self, user: str | None) -> bool:
        """Is the subject the party bound by a covenant on the use of outputs (it, or a model its own
        publisher trained, used them)? A third party further down the lineage is not."""
        if user is None or user == self.lineage.subject:
            return True
        org, mine = self.lineage.nodes[user].org, self.lineage.root.org
        return bool(org and mine and org.lower() == mine.lower())

    def kind_of(self, node_id: str) -> _Kind:
        """What the node is (its task, whether it is a language model) and which fact says it: its own facts (its
        card's pipeline_tag, the Hub's computed one, its config.json architectures, its library), else what its
        weights parents agree on (a fine-tune, quantization or merge does what its base does). Unknown when nothing
        says or they disagree."""
        known = self._kind.get(node_id)
        if known is not None:
            return known
        self._kind[node_id] = _UNKNOWN  # a cycle back to this node says nothing
        node = self.lineage.nodes[node_id]
        own = kind_facts(node.card, node.hub_task, node.config, node.hub_library)
        task = next(((f.task, f.said_by, node_id) for f in own if f.task is not None), None)
        lm = next(((f.language_model, f.said_by, node_id) for f in own if f.language_model is not None), None)
        if task is None or lm is None:
            parents = [self.kind_of(e.parent) for _, e in self._by_child.get(node_id, ())
                       if e.relation in WEIGHT_RELATIONS and e.parent in self.lineage.nodes]
            if task is None and parents and len({k.task[0] if k.task else None for k in parents}) == 1:
                task = parents[0].task  # every parent does the same (an unknown one leaves it open)
            if lm is None:
                said = [k.language_model for k in parents if k.language_model is not None]
                lm = said[0] if len({v for v, _, _ in said}) == 1 else None  # the parents that say agree
        kind = self._kind[node_id] = _Kind(task, lm, _own_task(own))
        return kind

    # -- ancestors -------------------------------------------------------------------------------------
    def _bindings(self) -> list[Binding]:
        """Every (ancestor, channel) reachable from the subject, with a shortest path to it.

        Breadth-first over (node, channel) states, each visited once: linear in the graph however many
        paths a merge-heavy DAG has. The lineage walk already bounded the depth.
        """
        lineage = self.lineage
        best: dict[tuple[str, str], Binding] = {}
        queue: list[tuple[str, str, tuple[str, ...], tuple[str, ...], str]] = [
            (lineage.subject, "weights", (), (), "")]
        seen = {(lineage.subject, "weights")}
        while queue:
            nxt: list[tuple[str, str, tuple[str, ...], tuple[str, ...], str]] = []
            for node_id, channel, path, via, stated in queue:
                for index, edge in self._by_child.get(node_id, ()):
                    if edge.parent == lineage.subject or edge.parent not in lineage.nodes:
                        continue  # a cycle back to the subject; reported as a lineage problem
                    state = (edge.parent, next_channel(channel, edge.relation))
                    if state in seen:
                        continue
                    seen.add(state)
                    new_path, new_via = (*path, edge.parent), (*via, edge.relation)
                    said = stated or (f"what {edge.child}'s card says ({edge.note})"
                                      if edge.declared_in == CARD_TEXT else "")
                    best[state] = Binding(lineage.nodes[edge.parent], new_path, new_via, state[1], node_id, index,
                                          said)
                    nxt.append((edge.parent, state[1], new_path, new_via, said))
            queue = nxt
        return list(best.values())

    def relicensed_by(self, binding: Binding) -> str | None:
        """The licensor's own model through which the ancestor reaches the subject, when every path on this
        channel goes through one (the licensor may relicense its own work; a third party may not)."""
        lic = self.licenses[binding.node.id]
        orgs = frozenset(o.lower() for lid in lic.ids if lid in self.catalog.entries
                         for o in self.catalog.entries[lid].licensor_orgs)
        if not orgs:
            return None
        subject = self.lineage.subject
        if not self._by_orgs(subject, orgs) and (binding.node.id, binding.channel) in self._reach_avoiding(orgs):
            return None  # reachable without passing a model published by its licensor
        return next((n for n in (subject, *binding.path[:-1]) if self._by_orgs(n, orgs)), subject)

    def _by_orgs(self, node_id: str, orgs: frozenset[str]) -> bool:
        org = self.lineage.nodes[node_id].org
        return bool(org and org.lower() in orgs)

    def _reach_avoiding(self, orgs: frozenset[str]) -> frozenset[tuple[str, str]]:
        """Every (node, channel) reachable from the subject without passing through a model published by
        `orgs` (the last step may land on one). One walk per licensor, so the check is linear in the graph."""
        cached = self._reach_cache.get(orgs)
        if cached is not None:
            return cached
        start = (self.lineage.subject, "weights")
        reached: set[tuple[str, str]] = set()
        queue, expanded = [start], {start}
        while queue:
            node_id, channel = queue.pop()
            for _, edge in self._by_child.get(node_id, ()):
                if edge.parent not in self.lineage.nodes:
                    continue
                state = (edge.parent, next_channel(channel, edge.relation))
                reached.add(state)
                if state not in expanded and not self._by_orgs(edge.parent, orgs):
                    expanded.add(state)
                    queue.append(state)
        result = self._reach_cache[orgs] = frozenset(reached)
        return result


@record(slots=True)
class _Kind:
    """What a node is, each answer with the fact that gave it and the node whose fact it is: (value, words, id)."""

    task: tuple[str, str, str] | None
    language_model: tuple[bool, str, str] | None
    own_task: str | None  # the task the node's own facts give (its multimodality is judged on its own facts)

    def said_by(self, node_id: str, what: str) -> str | None:
        """Which fact decided `what` (task or language_model), in words, seen from `node_id`."""
        answer = self.task if what == "task" else self.language_model
        if answer is None:
            return None
        _, words, source = answer
        return words if source == node_id else f"{words} of its weights ancestor {source}"


_UNKNOWN = _Kind(None, None, None)


def _own_task(facts: Sequence[KindFact]) -> str | None:
    return next((f.task for f in facts if f.task is not None), None)


def _node_ctx(facts: _Facts, node: ModelFacts) -> dict[str, Any]:
    card, notes, name, tag = node.card, node.notes, node.name, node.card.get("pipeline_tag")
    kind = facts.kind_of(node.id)
    return {
        "id": node.id, "name": name, "org": node.org, "kind": node.kind, "source": node.source,
        "status": node.status, "status_detail": node.status_detail, "revision": node.revision,
        "license": facts.license_ctx(node.id), "files": list(node.files), "card": card,
        "notes": [n.code for n in notes],
        "note_text": "; ".join([n.message + (f" (line {n.line})" if n.line else "") for n in notes]) if notes else "",
        "resolved": node.status in (OK, GATED) and facts.licenses[node.id].known, "gated": node.gated,
        "pipeline_tag": tag if isinstance(tag, str) else None,
        "language_model": kind.language_model[0] if kind.language_model else None,
        "language_model_from": kind.said_by(node.id, "language_model"),
        "multimodal": is_multimodal(card, name, kind.own_task),
        "task": (task := kind.task[0] if kind.task else None), "task_from": kind.said_by(node.id, "task"),
        # the task's family (policy.model.tasks): terms that reach only some students name families ("image
        # Outputs ... any competing image-generation" product, FLUX.1 [dev] §2(d), Stability §IV(b))
        "task_family": FAMILY_OF.get(task) if task else None,
    }


def _clause_map(facts: _Facts, clauses: Iterable[Clause], channel: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in clauses:
        if c.type not in out:
            out[c.type] = facts.clause_ctx(c, channel)
    return out


def _score(rules: Sequence[Rule], ctxs: Iterable[Mapping[str, Any]], threshold: str) -> tuple[int, int, int]:
    """How badly one license alternative fares: (violations at or above --fail-on, reviews, findings)."""
    violations = reviews = total = 0
    for ctx in ctxs:
        for rule in rules:
            if rule.kind != "note" and rule.applies(ctx):  # a note (no patent grant) weighs nothing
                total += 1
                if rule.kind == "violation" and at_or_above(rule.severity, threshold):
                    violations += 1
                elif rule.kind in ("review", "evidence"):
                    reviews += 1
    return violations, reviews, total


def _elect(lic: ResolvedLicense, score: Any) -> frozenset[str] | None:
    """For a choice of licenses (`mit OR gpl-3.0`) the licensee elects the alternative that fares best (no
    violation if one has none; fewest findings, then the first as written). None: there is no choice."""
    if len(lic.choices) < 2:
        return None
    return min(lic.choices, key=score)


def _elected_text(lic: ResolvedLicense, choice: frozenset[str] | None) -> str:
    if choice is None:
        return ""
    return f"{' AND '.join(sorted(choice))}, elected from {lic.expression}"


class _Plan:
    """What evaluating a sequence of packs needs of their rules, worked out once per sequence of packs.

    `groups`: (for_each, rules) in the order they are evaluated, each rule as (position in pack order, rule,
    applies, guard slot, guard getter, accepted values, the one accepted value); waivers (evaluated after the
    waivers are applied) left out. The rules of one for_each share its bindings and are evaluated together, so
    that a for_each without bindings (no evidence, no lineage problem) is passed over at once; their findings are
    put back in pack order. (When two rules share an id, whose findings are deduplicated across them, the groups
    are the runs of one for_each in pack order instead, so the first finding kept is still the first in pack
    order.) Rules whose first test is the same path of the same bindings (`clause.type` of ancestor-clauses)
    share a guard slot: an index of those bindings by that value, built once per evaluation.
    """

    __slots__ = ("groups", "pack_refs", "rules_for", "slots")

    def __init__(self, packs: Sequence[Pack]) -> None:
        self.pack_refs = tuple(PackRef(p.id, p.version, p.sha256) for p in packs)  # immutable: shared by reports
        self.rules_for: dict[str, list[Rule]] = {}  # for_each -> rules, in pack order
        for pack in packs:
            for rule in pack.rules:
                self.rules_for.setdefault(rule.for_each, []).append(rule)
        slots: dict[tuple[str, tuple[str, ...]], int] = {}
        rules: list[tuple[int, Rule, Any, int, Any, frozenset[str], str | None]] = []
        for rule in (r for pack in packs for r in pack.rules if r.for_each != "waivers"):
            guard = rule.guard
            if guard is None:
                rules.append((len(rules), rule, rule.applies, -1, None, frozenset(), None))
                continue
            parts, accepted = guard
            slot = slots.setdefault((rule.for_each, parts), len(slots))
            single = next(iter(accepted)) if len(accepted) == 1 else None
            rules.append((len(rules), rule, rule.applies, slot, path_getter(parts), accepted, single))
        unique_ids = len({r[1].id for r in rules}) == len(rules)
        groups: list[tuple[str, list[Any]]] = []
        for entry in rules:
            for_each = entry[1].for_each
            same = next((g for g in groups if g[0] == for_each), None) if unique_ids else \
                (groups[-1] if groups and groups[-1][0] == for_each else None)
            if same is None:
                groups.append((for_each, [entry]))
            else:
                same[1].append(entry)
        self.groups = tuple((for_each, tuple(entries)) for for_each, entries in groups)
        self.slots = len(slots)


class _GuardIndex:
    """A group of bindings by their value at one path. A binding whose value there is a string the rule does not
    accept fails the rule's first test, so the rule never sees it; any other value (missing, a number, a list)
    leaves the binding to the rule itself."""

    __slots__ = ("by_value", "group", "others", "values")

    def __init__(self, group: list[Any], get: Any) -> None:
        self.group = group
        self.values = [get(item[0]) for item in group]
        self.by_value: dict[str, list[Any]] = {}
        self.others = False
        for item, value in zip(group, self.values, strict=True):
            if type(value) is str:
                self.by_value.setdefault(value, []).append(item)
            else:
                self.others = True

    def candidates(self, accepted: frozenset[str], single: str | None) -> list[Any]:
        """The bindings the rule must test, in their order."""
        if single is not None and not self.others:
            return self.by_value.get(single, [])
        return [item for item, v in zip(self.group, self.values, strict=True) if type(v) is not str or v in accepted]


_PLANS: dict[tuple[int, ...], tuple[tuple[Pack, ...], _Plan]] = {}


def _position(item: tuple[int, Finding]) -> int:
    return item[0]


def _plan(packs: Sequence[Pack]) -> _Plan:
    key = tuple(map(id, packs))
    known = _PLANS.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], packs, strict=True)):
        return known[1]
    plan = _Plan(packs)
    if len(_PLANS) >= 64:  # rule sets of a long-lived process (tests, a server): keep the cache bounded
        _PLANS.clear()
    _PLANS[key] = (tuple(packs), plan)  # the packs are kept, so their ids stay theirs
    return plan


def evaluate(lineage: Lineage, packs: Sequence[Pack], catalog: Catalog, policy: Policy,
             today: dt.date, evidence: Sequence[Evidence] = (), *, catalog_digest: str = "",
             scanned: ModelFacts | None = None, weights: Sequence[WeightFile] | None = None) -> Report:
    """The Report of `lineage`'s subject, final as it is returned.

    `catalog_digest`: the sha256 of the catalog the report names. `scanned`: the subject as the scanner read it,
    before curations and the policy file filled it in; given, the report says where the subject's facts came
    from and whether its card was read (`subject.status`, notices). `weights`: the subject's weight files with
    their sha256, listed in the report when given (the bill-of-materials formats).
    """
    facts = _Facts(lineage, catalog, policy)
    subject = lineage.root
    fail_on = policy.fail_on or "error"
    threshold = fail_on  # --fail-on
    plan = _plan(packs)
    rules_for = plan.rules_for

    model = _node_ctx(facts, subject)
    policy_ctx = {"use": dict(policy.use), "declared": policy.file is not None,
                  "licenses": {"allow": sorted(policy.allow) if policy.allow is not None else None,
                               "deny": sorted(policy.deny)},
                  "licensee": {"region": policy.region, "in_eu": policy.in_eu,
                               "monthly_active_users": policy.monthly_active_users,
                               "annual_revenue_usd": policy.annual_revenue_usd},
                  "requirements": dict(policy.requirements),
                  "models": sorted(policy.models)}
    base = {"model": model, "policy": policy_ctx}

    relicensors = [facts.relicensed_by(b) for b in facts.bindings]
    weight_bindings = [b for b, r in zip(facts.bindings, relicensors, strict=True)
                       if b.channel == "weights" and not r]
    _set_weight_facts(model, facts, weight_bindings, {})  # every alternative, until the elections are made

    # The subject's own license: elect an alternative of a choice, then bind its clauses.
    subject_lic = facts.licenses[subject.id]
    own_choice = _elect(subject_lic, lambda choice: _score(
        rules_for.get("model-clauses", ()),
        ({**base, "clause": facts.clause_ctx(c, "self")} for c in facts.clauses_for(subject, "self", choice)),
        threshold))
    own_clauses = facts.clauses_for(subject, "self", own_choice)
    model["clauses"] = [c.type for c in own_clauses]
    model["clause"] = _clause_map(facts, own_clauses, "self")
    model["elected"] = sorted(own_choice) if own_choice is not None else None

    ancestors: list[tuple[Binding, dict[str, Any], list[Clause]]] = []
    elections: dict[str, frozenset[str]] = {}
    for b, relicensor in zip(facts.bindings, relicensors, strict=True):
        ctx = _node_ctx(facts, b.node)
        edge = lineage.edges[b.edge_index]
        user = facts.used_by(b)
        ctx.update({"relation": b.via[-1], "via": list(b.via), "path": list(b.path), "depth": len(b.path),
                    "channel": b.channel, "child": b.child, "declared_in": edge.declared_in,
                    "inferred": edge.inferred, "relicensed_by": relicensor, "used_by": user,
                    "party": facts.is_party(user),
                    # "trained to perform similarly to the Model" (RAIL, DeepSeek, Gemma): the subject's task
                    # against the ancestor's; None when either is unknown or a person must compare them
                    "performs_similarly": performs_similarly(model["task"], ctx["task"])})

        def bind(choice: frozenset[str] | None, b: Binding = b, ctx: dict[str, Any] = ctx,
                 relicensor: str | None = relicensor) -> tuple[dict[str, Any], list[Clause]]:
            clauses = [] if relicensor else facts.clauses_for(b.node, b.channel, choice)
            actx = {**ctx, "clauses": [c.type for c in clauses], "clause": _clause_map(facts, clauses, b.channel),
                    "elected": sorted(choice) if choice is not None else None}
            return actx, clauses

        def score(choice: frozenset[str], bind: Any = bind) -> tuple[int, int, int]:
            actx, clauses = bind(choice)
            return _score(rules_for.get("ancestor-clauses", ()),
                          ({**base, "ancestor": actx, "clause": facts.clause_ctx(c, actx["channel"])}
                           for c in clauses), threshold)

        choice = None if relicensor else _elect(facts.licenses[b.node.id], score)
        if choice is not None:
            elections[b.node.id] = choice
        actx, clauses = bind(choice)
        ancestors.append((b, actx, clauses))
    if elections or own_choice is not None:  # else the facts above stand as they are
        _set_weight_facts(model, facts, weight_bindings, elections, own_choice)

    found: list[tuple[int, Finding]] = []  # (the rule's position in pack order, finding)
    # One finding per (rule, ancestor, clause): an ancestor reached on two channels is reported once; findings
    # about no ancestor (lineage problems) stay distinct by their message. The first made is kept.
    seen: set[tuple[str | None, ...]] = set()
    bindings: dict[str, list[tuple[dict[str, Any], Clause | None, Binding | None]]] = {}
    indexes: list[_GuardIndex | None] = [None] * plan.slots
    for for_each, entries in plan.groups:
        group = bindings.get(for_each)
        if group is None:  # built once per evaluation, shared by the rules that need it
            group = bindings[for_each] = list(_contexts(for_each, base, own_clauses, ancestors, lineage, facts,
                                                        evidence))
        if not group:
            continue
        for pos, rule, applies, slot, get, accepted, single in entries:
            candidates = group
            if slot >= 0:  # pass over bindings whose value rules the rule out (other clause types)
                index = indexes[slot]
                if index is None:
                    index = indexes[slot] = _GuardIndex(group, get)
                candidates = index.candidates(accepted, single)
            for ctx, clause, binding in candidates:
                if not applies(ctx):
                    continue
                if binding is not None:  # one finding per (rule, ancestor, clause): a duplicate is never rendered
                    key: tuple[str | None, ...] = (rule.id, binding.node.id, clause.type if clause else None,
                                                   clause.license_id if clause else None, None)
                    if key in seen:
                        continue
                    seen.add(key)
                    found.append((pos, _finding(rule, ctx, clause, binding, subject.id)))
                else:
                    f = _finding(rule, ctx, clause, binding, subject.id)
                    key = (f.rule, None, f.clause, f.license, f.message)
                    if key not in seen:
                        seen.add(key)
                        found.append((pos, f))
    found.sort(key=_position)  # pack order (stable: a rule's findings stay in the order of its bindings)
    findings = [f for _, f in found]
    findings, waiver_ctxs = _apply_waivers(findings, policy.waivers, subject.id, today)
    for rule in rules_for.get("waivers", ()):
        for wctx in waiver_ctxs:
            ctx = {**base, "waiver": wctx}
            if rule.applies(ctx):
                findings.append(_finding(rule, ctx, None, None, subject.id))

    obligations = _obligations(facts, subject, model, own_clauses, ancestors, own_choice, elections)
    read = _ReadStatus(scanned, subject) if scanned is not None else None
    return Report(
        subject=_subject(facts, subject, read, weights),
        verdict=verdict(findings, fail_on),
        lineage=tuple(_lineage_entries(facts, ancestors)),
        findings=tuple(findings),
        obligations=tuple(obligations),
        packs=plan.pack_refs,
        evaluated=tuple(_evaluated(n, read) for n in lineage.nodes.values()),
        date=today.isoformat(),
        policy=PolicySummary(file=policy.file, use=dict(policy.use), use_declared=policy.use_declared,
                             fail_on=fail_on, licensee_region=policy.region,
                             licensee_monthly_active_users=policy.monthly_active_users,
                             licensee_annual_revenue_usd=policy.annual_revenue_usd,
                             allow=tuple(sorted(policy.allow)) if policy.allow is not None else None,
                             deny=tuple(sorted(policy.deny))),
        notes=tuple(_notes(subject, policy, read)),
        catalog_digest=catalog_digest,
        notices=read.notices() if read is not None else (),
        evidence=tuple(evidence),
        licenses={lid: info for lic in facts.licenses.values() for lid in lic.ids
                  if (info := facts.license_info(lid)) is not None},
    )


def _set_weight_facts(model: dict[str, Any], facts: _Facts, weight_bindings: Sequence[Binding],
                      elections: Mapping[str, frozenset[str]], own_choice: frozenset[str] | None = None) -> None:
    """The licenses, categories and publishers of the weights the model contains (elected alternatives only)."""
    catalog, subject = facts.catalog, facts.lineage.root
    licenses: set[str] = set()
    for b in weight_bindings:
        licenses.update(elections.get(b.node.id) or facts.licenses[b.node.id].ids)
    own = own_choice if own_choice is not None else facts.licenses[subject.id].ids
    model["weight_licenses"] = sorted(licenses)
    model["weight_categories"] = sorted({c for lid in licenses | set(own) if lid in catalog.entries
                                         for c in catalog.entries[lid].categories})
    model["weight_orgs"] = sorted({o.lower() for o in (subject.org, *(b.node.org for b in weight_bindings)) if o})


def _contexts(fe: str, base: dict[str, Any], own: list[Clause],
              ancestors: list[tuple[Binding, dict[str, Any], list[Clause]]],
              lineage: Lineage, facts: _Facts,
              evidence: Sequence[Evidence] = ()) -> Iterable[tuple[dict[str, Any], Clause | None, Binding | None]]:
    if fe == "model":
        yield base, None, None
    elif fe == "evidence":
        for e in evidence:
            yield {**base, "evidence": e.to_dict()}, None, None
    elif fe == "model-clauses":
        for c in own:
            yield {**base, "clause": facts.clause_ctx(c, "self")}, c, None
    elif fe == "ancestors":
        for b, actx, _ in ancestors:
            yield {**base, "ancestor": actx}, None, b
    elif fe == "ancestor-clauses":
        for b, actx, clauses in ancestors:
            for c in clauses:
                yield {**base, "ancestor": actx, "clause": facts.clause_ctx(c, b.channel)}, c, b
    elif fe == "licensee-tests":
        yield from _licensee_tests(base, own, ancestors, lineage, facts)
    elif fe == "problems":
        for p in lineage.problems:
            yield {**base, "problem": {"code": p.code, "message": p.message, "path": list(p.path)}}, None, None


def _licensee_tests(base: dict[str, Any], own: list[Clause],
                    ancestors: list[tuple[Binding, dict[str, Any], list[Clause]]], lineage: Lineage,
                    facts: _Facts) -> Iterable[tuple[dict[str, Any], Clause, None]]:
    """One binding per license test of a figure of the licensee's (a mau-limit or revenue-limit clause) that binds
    the subject, however many of its ancestors carry the license: the subject's own and its ancestors' on the
    channels the clause applies to (the weights, for Llama §2), nearest first. `test.first` marks the first
    test of its figure the intended use triggers, and `test.all` lists every such test, so that a missing figure
    is said once with every license that needs it."""
    if not any(c.type in LICENSEE_FIGURES for c in own) and not any(
            c.type in LICENSEE_FIGURES for _, _, clauses in ancestors for c in clauses):
        return  # what most lineages have: no license tests a figure of the licensee's
    found: dict[tuple[str, str], tuple[Clause, str, list[str]]] = {}
    holders = [(c, "self", lineage.subject) for c in own]
    for b, _, clauses in sorted(ancestors, key=lambda a: (len(a[0].path), a[0].node.id)):
        holders += [(c, b.channel, b.node.id) for c in clauses]
    for clause, channel, holder in holders:
        if clause.type in LICENSEE_FIGURES:
            models = found.setdefault((clause.type, clause.license_id), (clause, channel, []))[2]
            if holder not in models:
                models.append(holder)
    tests = [(clause, channel, _licensee_test(facts, clause, models, lineage.subject))
             for clause, channel, models in found.values()]
    for fact in {test["fact"] for _, _, test in tests}:
        same = [test for c, _, test in tests if test["fact"] == fact and facts.triggered(c)]
        listed = [{k: test[k] for k in ("license_name", "section", "limit_text", "condition")} for test in same]
        for test in same:
            test["first"], test["all"] = test is same[0], listed
    for clause, channel, test in tests:
        yield {**base, "clause": facts.clause_ctx(clause, channel), "test": test}, clause, None


def _licensee_test(facts: _Facts, clause: Clause, models: list[str], subject: str) -> dict[str, Any]:
    key, amount, measure = LICENSEE_FIGURES[clause.type]
    value, limit = getattr(facts.policy, key), clause.params.get("limit")
    entry = facts.catalog.entries.get(clause.license_id)
    return {"fact": key, "measure": measure, "value": value, "limit": limit,
            "value_text": amount.format(_amount(value)) if value is not None else None,
            "limit_text": amount.format(_amount(limit)) if isinstance(limit, int) else None,
            "over": value > limit if value is not None and isinstance(limit, int) else None,
            "tested_on": clause.params.get("tested_on"), "condition": clause.params.get("condition") or "",
            "license_name": entry.name if entry else clause.license_id, "section": clause.citation.section,
            "holders": models, "own": subject in models, "first": False, "all": []}


def _amount(n: int) -> str:
    """700000000 -> '700 million'; 1234567 -> '1,234,567'."""
    return f"{n // 1_000_000:,} million" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n:,}"


def _finding(rule: Rule, ctx: Mapping[str, Any], clause: Clause | None, binding: Binding | None,
             subject: str) -> Finding:
    explanation = tuple(rule.require.explain(ctx, want=True)) if rule.require is not None else ()
    render_ctx: dict[str, Any] = {}

    def text(source: str) -> str:
        if "{" not in source:  # no Jinja syntax: the text as rendering would give it, without the template engine
            return " ".join(source.split())
        if not render_ctx:
            render_ctx.update(ctx, rule={"id": rule.id, "title": rule.title, "severity": rule.severity},
                              failed=list(explanation))
        return render(source, render_ctx)

    try:
        message = text(rule.message)
        remediation = text(rule.remediation) if rule.remediation else ""
    except Exception as exc:  # a fact the template needs is absent (e.g. a policy clause without params)
        from policy.templating import template_error, template_fault

        if template_fault(exc) is not None:  # the template is wrong whatever the facts: the pack is
            raise template_error(exc, rule.file or f"rule pack {rule.pack}", rule.line or None,
                                 f"rule {rule.id}: its message or remediation") from None
        # the kind of failure only: an exception's text can quote the facts (a card's values)
        message = f"{rule.title} ({subject}{', ancestor ' + binding.node.id if binding else ''}; " \
                  f"the message could not be rendered: {type(exc).__name__})"
        remediation = ""
    kind = rule.kind
    citation: dict[str, Any] | None
    if rule.cite == "clause" and clause is not None:
        citation = {**clause.citation.to_dict(), "license": clause.license_id}
        channel = binding.channel if binding is not None else "self"
        if not clause.verified and kind == "violation":
            kind = "review"
            message += (f" [the clause is graded {clause.citation.grade}: not verified against the primary "
                        "text, so this needs legal review rather than a fail]")
        elif channel in (clause.params.get("unsettled") or ()) and kind == "violation":
            kind = "review"
            reached = ("a model trained on the licensed data" if channel == "data" else
                       f"a model derived through the licensed model's {channel}")
            message += f" [whether this clause reaches {reached} is an open legal question: a person must decide]"
    else:
        citation = rule.references[0].to_dict() if rule.references else None
        if citation is not None and not citation.get("grade"):  # policycheck's own rule, not a license clause
            citation.update(basis=OWN_RULE, rule=rule.id, pack=rule.pack)
    if binding is not None and binding.stated and kind == "violation":
        kind = "review"
        message += (f" [this lineage rests on {binding.stated}, not on declared metadata: a person must confirm it "
                    "before it can fail]")
    severity = rule.severity
    if rule.severity_from:
        required = (ctx.get("policy") or {}).get("requirements", {}).get(rule.severity_from)
        severity = required if required in ("error", "warning", "note") else severity
    return Finding(rule=rule.id, title=rule.title, severity=severity, kind=kind, model=subject,
                   ancestor=binding.node.id if binding else None, via=binding.via if binding else (),
                   message=message, remediation=remediation, citation=citation, pack=rule.pack,
                   explanation=explanation, clause=clause.type if clause else None,
                   license=clause.license_id if clause else None, line=_line(ctx))


def _line(ctx: Mapping[str, Any]) -> int:
    evidence = ctx.get("evidence")
    line = evidence.get("line") if isinstance(evidence, Mapping) else 0
    return line if isinstance(line, int) and line > 0 else 0


def _waiver_matches(w: Waiver, f: Finding) -> bool:
    return (w.rule == f.rule and fnmatch.fnmatchcase(f.model, w.model)
            and (w.ancestor is None or w.ancestor == f.ancestor))


def _apply_waivers(findings: list[Finding], waivers: Sequence[Waiver], subject: str,
                   today: dt.date) -> tuple[list[Finding], list[dict[str, Any]]]:
    relevant = [w for w in waivers if fnmatch.fnmatchcase(subject, w.model)]
    used: set[int] = set()
    out = []
    for f in findings:
        matching = [i for i, w in enumerate(relevant) if _waiver_matches(w, f)]
        used.update(matching)
        valid = [i for i in matching if relevant[i].expires >= today]
        if valid:
            f = replace(f, status="waived", waiver=relevant[valid[0]].to_dict())
        out.append(f)
    ctxs = [{**w.to_dict(), "expired": w.expires < today, "used": i in used,
             "days_left": (w.expires - today).days, "line": w.line}
            for i, w in enumerate(relevant)]
    return out, ctxs


def verdict(findings: Iterable[Finding], fail_on: str = "error") -> str:
    """Fail on an open violation at or above `fail_on`; review when an open finding needs a person (evidence: a
    fact the card does not declare, DESIGN §7); else pass."""
    return verdict_of(((f.kind, f.severity) for f in findings if f.status == "open"), fail_on)


def _obligations(facts: _Facts, subject: ModelFacts, model: Mapping[str, Any], own: list[Clause],
                 ancestors: list[tuple[Binding, dict[str, Any], list[Clause]]],
                 own_choice: frozenset[str] | None, elections: Mapping[str, frozenset[str]]) -> list[Obligation]:
    out: list[Obligation] = []
    seen: set[tuple[str, str, str]] = set()

    def add(clause: Clause, source: str, via: tuple[str, ...], node: Mapping[str, Any], channel: str,
            elected: str = "") -> None:
        if clause.type not in OBLIGATION_TYPES or not _owed(facts, clause, node, channel):
            return
        text = clause.obligation or clause.type
        key = (clause.type, clause.license_id, text)
        if key in seen:
            return
        seen.add(key)
        out.append(Obligation(clause=clause.type, source=source, license=clause.license_id, text=text,
                              citation=clause.citation.to_dict(), via=via, params=dict(clause.params),
                              elected=elected))

    own_elected = _elected_text(facts.licenses[subject.id], own_choice)
    for c in own:
        add(c, subject.id, (), model, "self", own_elected)
    for b, actx, clauses in sorted(ancestors, key=lambda a: (len(a[0].path), a[0].node.id)):
        elected = _elected_text(facts.licenses[b.node.id], elections.get(b.node.id))
        for c in clauses:
            add(c, b.node.id, b.via, actx, b.channel, elected)
    return out


def _owed(facts: _Facts, clause: Clause, node: Mapping[str, Any], channel: str) -> bool:
    """Is the duty owed at all: the intended use triggers it (the Llama name prefix binds a model that is
    distributed or made available), the licensed model is of the kind it names (the Llama 3.2+ EU exclusion covers
    multimodal models), and a model trained on outputs is the derivative the license defines (one trained to
    perform similarly to it)? A fact that is unknown keeps the duty listed: the findings say what is missing."""
    if not facts.triggered(clause):
        return False
    if clause.params.get("multimodal_only") and node.get("multimodal") is False:
        return False
    return not (channel == "outputs" and clause.params.get("scope") == "similar"
                and node.get("performs_similarly") is False)


MAX_SUMMARY_ITEMS = 32  # languages or architectures kept per node in the report (a card can list thousands)
MAX_SUMMARY_TEXT = 200


def card_summary(node: ModelFacts) -> dict[str, Any]:
    """What a card says of the model itself, for the AI-BOM and AI Act formats: the Hub's task, languages and
    library, and the config's model type and architectures. Strings only (anything else on the card is
    dropped, never stringified), each cut to MAX_SUMMARY_TEXT and each list to MAX_SUMMARY_ITEMS."""

    card, config, body = node.card, node.config, node.card_text
    return {"task": _summary_text(card.get("pipeline_tag")), "languages": _summary_texts(card.get("language")),
            "library": _summary_text(card.get("library_name")), "model_type": _summary_text(config.get("model_type")),
            "architectures": _summary_texts(config.get("architectures") or []),
            "evaluations": _declared_results(card),
            "has_text": body != "" and not body.isspace()}  # bool(body.strip()), without copying the body


class _Summary(Mapping[str, Any]):
    """`card_summary(node)`, worked out when a format first reads it: the AI-BOM, AI Act and JSON formats do; the
    text output and a tree audit's rows never do, and need not pay for it on every node of every lineage. The
    summary is a function of the node's frozen facts alone, so when it is worked out changes nothing."""

    __slots__ = ("_node", "_summary")

    def __init__(self, node: ModelFacts) -> None:
        self._node: ModelFacts | None = node
        self._summary: dict[str, Any] | None = None

    def _data(self) -> dict[str, Any]:
        summary = self._summary
        if summary is None:
            node = self._node
            if node is None:  # another thread finished it between the two reads
                return self._summary  # type: ignore[return-value]
            summary = self._summary = card_summary(node)
            self._node = None  # the facts are not kept once read
        return summary

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __repr__(self) -> str:
        return repr(self._data())


def _summary_text(value: Any) -> str | None:
    return value.strip()[:MAX_SUMMARY_TEXT] or None if isinstance(value, str) else None


def _summary_texts(value: Any) -> list[str]:
    if value is None or value == []:  # what most cards have: nothing to keep
        return []
    items = value if isinstance(value, list) else [value]
    out = [t for t in (_summary_text(v) for v in items[:MAX_SUMMARY_ITEMS]) if t]
    return list(dict.fromkeys(out))


def _declared_results(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The card's `model-index` results as declared (benchmark as named, metric, value, split, source), bounded;
    whether they hold up is the evidence layer's question, not this summary's."""
    if not isinstance(card.get("model-index"), list):
        return []
    from policy.evidence.claims import claims_from_card  # only cards with results pay for it

    out = []
    for c in claims_from_card({"model-index": card["model-index"]}, "", 1, _no_benchmarks())[:MAX_SUMMARY_ITEMS]:
        out.append({"name": c.name[:MAX_SUMMARY_TEXT], "metric": (c.metric or "")[:MAX_SUMMARY_TEXT] or None,
                    "value": c.value, "dataset": c.dataset_id and c.dataset_id[:MAX_SUMMARY_TEXT],
                    "split": c.split and c.split[:MAX_SUMMARY_TEXT],
                    "source": c.source_url and c.source_url[:MAX_SUMMARY_TEXT]})
    return out


@cache
def _no_benchmarks() -> Any:
    """An empty benchmark table: results are summarised with their benchmarks as named, none resolved. An
    empty table resolves no name, so this one does not look (normalising each name twice, with and without its
    settings, was most of the summary of a card's results)."""
    from policy.evidence.claims import Benchmarks

    class NoBenchmarks(Benchmarks):
        def resolve(self, name_or_dataset_id: Any, config: Any = None) -> None:
            return None

    return NoBenchmarks((), {}, {})


@record
class _ReadStatus:
    """Where the subject's facts came from and whether its card was read: `scanned` is what the scanner
    returned, `evaluated` the node after curations and the policy file filled it in. A subject whose card could
    not be read is `source: curation` (or `policy`) with the scanner's status; one read from the warm cache
    because the Hub was unreachable is `source: cache`."""

    scanned: ModelFacts
    evaluated: ModelFacts

    @property
    def source(self) -> str:
        if self.evaluated.source in ("hub", "file", "cache", "curation", "policy"):
            return self.evaluated.source
        return "none" if self.scanned.status != OK else "file"

    @property
    def filled_in(self) -> bool:
        """Evaluated from curated or policy-file facts only: the card was not read."""
        return self.source in ("curation", "policy")

    def notices(self) -> tuple[str, ...]:
        """Why the verdict rests on less than the subject's own card, shown first in every format."""
        read = self.scanned
        if self.source == "cache":
            return (read.status_detail,)
        if self.filled_in:
            return (f"the card of {read.id} was not read ({read.status_detail or read.status}); evaluated from "
                    f"{'curated' if self.source == 'curation' else 'policy-file'} facts only, which a person must "
                    "confirm: the verdict cannot be pass",)
        if read.status not in (OK, GATED):
            return (f"{read.id} could not be examined: {read.status_detail or read.status}",)
        return ()


def _subject(facts: _Facts, node: ModelFacts, read: _ReadStatus | None = None,
             weights: Sequence[WeightFile] | None = None) -> Subject:
    lic = facts.licenses[node.id]
    ctx = facts.license_ctx(node.id)
    if read is not None:
        source = read.source
    else:
        source = node.source if node.source in ("hub", "cache", "curation", "policy") else "file"
    return Subject(
        id=node.id, source=source, revision=node.revision, path=node.path, last_modified=node.last_modified,
        name=node.name,
        license=SubjectLicense(declared=lic.declared.display() if lic.declared.present else None,
                               resolved=ctx["spdx"] if lic.known else None, id=ctx["id"] if lic.known else None,
                               known=lic.known, reason=lic.reason, categories=tuple(ctx["categories"])),
        card_notes=tuple(node.notes), card_lines=dict(node.card_lines),
        weights=tuple(weights) if weights is not None else None,
        status=read.scanned.status if read is not None else None,
        status_detail=read.scanned.status_detail if read is not None else "")


def _evaluated(node: ModelFacts, read: _ReadStatus | None = None) -> EvaluatedNode:
    status, detail, technical = node.status, node.status_detail, node.technical
    if read is not None and read.filled_in and node.id == read.scanned.id:  # what the scanner found, not the fill
        status, detail, technical = read.scanned.status, read.scanned.status_detail, read.scanned.technical
    return EvaluatedNode(id=node.id, kind=node.kind, source=node.source, revision=node.revision,
                         requested_revision=node.requested_revision, last_modified=node.last_modified,
                         retrieved_at=node.retrieved_at, status=status, detail=detail, path=node.path,
                         card=_Summary(node), technical=technical)


def _lineage_entries(facts: _Facts, ancestors: list[tuple[Binding, dict[str, Any], list[Clause]]]) -> list[
        LineageEdge]:
    relicensed = {b.node.id: ctx["relicensed_by"] for b, ctx, _ in ancestors if ctx["relicensed_by"]}
    elected = {b.node.id: _elected_text(facts.licenses[b.node.id], frozenset(ctx["elected"]))
               for b, ctx, _ in ancestors if ctx["elected"]}
    out = []
    for e in facts.lineage.edges:
        parent = facts.lineage.nodes.get(e.parent)
        lic = facts.licenses.get(e.parent)
        out.append(LineageEdge(
            child=e.child, parent=e.parent, relation=e.relation, declared_in=e.declared_in, inferred=e.inferred,
            parent_kind=e.parent_kind,
            parent_license=(lic.expression if lic and lic.known else
                            (lic.declared.display() if lic and lic.declared.present else None)),
            parent_spdx=facts.license_ctx(e.parent)["spdx"] if lic and lic.known else None,
            resolved=bool(parent and parent.status in (OK, GATED) and lic and lic.known),
            parent_status=parent.status if parent else "unavailable",
            parent_source=parent.source if parent else None,
            parent_revision=parent.revision if parent else None,
            citation=e.citation.to_dict() if e.citation is not None else None,
            note=e.note, relicensed_by=relicensed.get(e.parent), elected=elected.get(e.parent, "")))
    return out


def _notes(subject: ModelFacts, policy: Policy, read: _ReadStatus | None = None) -> list[str]:
    notes = []
    if read is not None and read.source == "cache":  # why the card is the cached one, first
        notes.append(read.scanned.status_detail)
    if not policy.use_declared:
        notes.append(f"No intended use declared (policy file `use:`); assumed {intended_use_words(policy.use)}.")
    for n in subject.notes:
        notes.append(f"card: {n.message}" + (f" (line {n.line})" if n.line else ""))
    return notes
