"""The license catalog (`rules/licenses/*.yaml`): license identity, categories and clauses, and how a
declared license (Hub id, `license: other` + `license_name`/`license_link`, SPDX expression) resolves to it.

Unknown ids and `other` without a recognised name resolve to *unknown*, never to a permissive default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import field
from functools import cached_property
from typing import Any

from policy.model.facts import Citation, DeclaredLicense
from policy.records import record

UNKNOWN = "unknown"
PLACEHOLDERS = frozenset({"other", "unknown"})


@record(slots=True)
class Clause:
    """One clause of a license: its type, what it applies to, citation and parameters."""
    type: str
    applies_to: frozenset[str]
    citation: Citation
    params: Mapping[str, Any] = field(default_factory=dict)
    obligation: str = ""
    license_id: str = ""  # the catalog entry (or policy/curation source) that carries it

    @property
    def verified(self) -> bool:
        return self.citation.verified

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], license_id: str) -> Clause:
        return cls(type=d["type"], applies_to=frozenset(d.get("applies_to", ("self", "weights"))),
                   citation=Citation.from_dict(d.get("citation", {})), params=dict(d.get("params") or {}),
                   obligation=str(d.get("obligation", "")), license_id=license_id)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "applies_to": sorted(self.applies_to), "params": dict(self.params),
                "obligation": self.obligation, "citation": self.citation.to_dict(),
                "verified": self.verified, "license": self.license_id}


def license_ref(license_id: str) -> str:
    """The `LicenseRef-` SPDX id of a catalog id that has no SPDX id: SPDX allows only letters, digits, `.` and
    `-` (`openrail++` -> `LicenseRef-policycheck-openrail-plus-plus`)."""
    text = re.sub(r"[^A-Za-z0-9.-]+", "-", license_id.replace("+", "-plus"))
    return "LicenseRef-policycheck-" + text.strip("-")


@record(slots=True)
class LicenseEntry:
    """One license of the catalog: identity, categories, clauses and sources."""
    id: str
    name: str
    spdx: str
    categories: frozenset[str]
    status: str  # verified | partial | unverified
    profile: str  # full | identity
    kind: str = "license"
    hub_id: bool = False
    url: str = ""
    licensor: str = ""
    licensor_orgs: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    api_models: tuple[str, ...] = ()
    open_weights: tuple[str, ...] = ()
    text_patterns: tuple[str, ...] = ()
    clauses: tuple[Clause, ...] = ()
    notes: tuple[str, ...] = ()
    file: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], file: str = "") -> LicenseEntry:
        lid = str(d["id"])
        licensor = d.get("licensor") or {}
        return cls(
            id=lid, name=str(d["name"]), spdx=str(d.get("spdx") or license_ref(lid)),
            categories=frozenset(d.get("categories", ())), status=str(d.get("status", "unverified")),
            profile=str(d.get("profile", "identity")), kind=str(d.get("kind", "license")),
            hub_id=bool(d.get("hub_id", False)), url=str(d.get("url", "")),
            licensor=str(licensor.get("name", "")), licensor_orgs=frozenset(licensor.get("orgs", ())),
            aliases=tuple(d.get("aliases", ())), links=tuple(d.get("links", ())),
            api_models=tuple(d.get("api_models", ())), open_weights=tuple(d.get("open_weights", ())),
            text_patterns=tuple(d.get("text_patterns", ())),
            clauses=tuple(Clause.from_dict(c, lid) for c in d.get("clauses", ())),
            notes=tuple(d.get("notes", ())), file=file)

    @property
    def unverified_clauses(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if not c.verified)


@record(slots=True)
class ResolvedLicense:
    """A declared license resolved against the catalog.

    `choices` is the expression in disjunctive normal form: each choice is a set of catalog ids that together
    satisfy it (`mit OR agpl-3.0` -> [{mit}, {agpl-3.0}]; `mit AND agpl-3.0` -> [{mit, agpl-3.0}]).
    """

    expression: str  # over catalog ids, e.g. "llama3.1" or "mit OR apache-2.0"
    ids: tuple[str, ...]  # every catalog id named
    choices: tuple[frozenset[str], ...]
    known: bool
    declared: DeclaredLicense
    reason: str = ""  # why it is unknown, or how it was recognised (alias, link)
    unknown_terms: tuple[str, ...] = ()
    conflict: str = ""  # the card's license fields name different licenses (license vs license_name/link)


class Catalog:
    def __init__(self, entries: Iterable[LicenseEntry]) -> None:
        self.entries: dict[str, LicenseEntry] = {}
        for e in entries:
            self.entries[e.id] = e
        self._alias: dict[str, str] = {}
        for e in self.entries.values():
            for alias in (e.id, e.spdx, e.name, *e.aliases):
                self._alias.setdefault(_norm(alias), e.id)
        for e in self.entries.values():  # catalog ids always win over another entry's alias
            self._alias[_norm(e.id)] = e.id
        self._cache: dict[DeclaredLicense, ResolvedLicense] = {}

    def __contains__(self, license_id: str) -> bool:
        return license_id in self.entries

    def get(self, license_id: str) -> LicenseEntry | None:
        return self.entries.get(license_id)

    def lookup(self, text: str) -> str | None:
        """A catalog id for an id, SPDX id, name or alias (case-insensitive), or None."""
        return self._alias.get(_norm(text))

    @cached_property
    def _links(self) -> list[tuple[re.Pattern[str], str]]:
        return [(re.compile(p, re.IGNORECASE), e.id) for e in self.entries.values() for p in e.links]

    @cached_property
    def _api(self) -> list[tuple[re.Pattern[str], str]]:
        return [(re.compile(p, re.IGNORECASE), e.id) for e in self.entries.values() for p in e.api_models]

    @cached_property
    def _open_weights(self) -> list[re.Pattern[str]]:
        return [re.compile(p, re.IGNORECASE) for e in self.entries.values() for p in e.open_weights]

    @cached_property
    def _texts(self) -> list[tuple[re.Pattern[str], str]]:
        return [(re.compile(p, re.IGNORECASE | re.MULTILINE), e.id) for e in self.entries.values()
                for p in e.text_patterns]

    def by_text(self, text: str) -> str | None:
        """Identify a license by the title its text opens with (the first non-blank lines of a LICENSE file).

        Only the title counts, not text further down (a Llama agreement may mention the Apache License), and a
        title that matches more than one license identifies none.
        """
        title = "\n".join([line.strip() for line in text[:3000].splitlines() if line.strip()][:3])
        found = {lid for pattern, lid in self._texts if pattern.search(title)}
        return found.pop() if len(found) == 1 else None

    def needs_text(self, declared: DeclaredLicense) -> bool:
        """True for `license: other` with no `license_name` and no recognised link: only the LICENSE file can
        tell. A name the card gives, even one we do not know, is never overridden by a file's title."""
        return (bool(declared.values) and all(_norm(v) == "other" for v in declared.values)
                and not declared.name and not self.resolve(declared).known)

    def api_terms(self, model_id: str) -> str | None:
        """The provider-terms entry governing an API model id such as `openai/gpt-4o`, or None.

        A provider's open-weight Hub repos (`openai/gpt2`, `openai/gpt-oss-20b`) are models with a card and a
        license of their own: provider terms govern the API, not those weights.
        """
        if any(p.fullmatch(model_id) for p in self._open_weights):
            return None
        for pattern, lid in self._api:
            if pattern.fullmatch(model_id):
                return lid
        return None

    def by_link(self, link: str) -> str | None:
        for pattern, lid in self._links:
            if pattern.search(link):
                return lid
        return None

    @cached_property
    def _licensing(self) -> Any:
        from license_expression import LicenseSymbol, Licensing

        symbols = []
        for e in self.entries.values():
            aliases = {e.spdx, *e.aliases} - {e.id}
            symbols.append(LicenseSymbol(e.id, aliases=tuple(a for a in aliases if _is_symbol(a))))
        return Licensing(symbols)

    def resolve(self, declared: DeclaredLicense) -> ResolvedLicense:
        cached = self._cache.get(declared)
        if cached is None:
            cached = self._cache[declared] = self._resolve(declared)
        return cached

    def _resolve(self, declared: DeclaredLicense) -> ResolvedLicense:
        if not declared.present:
            return ResolvedLicense("", (), (), False, declared, "no license declared")
        values = declared.values or ("other",)
        parts: list[tuple[str, tuple[frozenset[str], ...]]] = []
        reasons: list[str] = []
        unknown: list[str] = []
        for value in values:
            resolved = self._resolve_value(value, declared, reasons)
            if resolved is None:
                unknown.append(value if _norm(value) not in PLACEHOLDERS else (declared.name or value))
            else:
                parts.append(resolved)
        if unknown:
            return ResolvedLicense(" AND ".join(values), (), (), False, declared,
                                   "; ".join(reasons) or "not in the catalog", tuple(unknown))
        # Several values on one card: all of them apply (conservative AND).
        expression = " AND ".join(f"({e})" if " " in e and len(parts) > 1 else e for e, _ in parts)
        choices: tuple[frozenset[str], ...] = (frozenset(),)
        try:
            for _, part_choices in parts:
                choices = _bounded({a | b for a in choices for b in part_choices})
        except _TooComplex:
            reason = (f"the license expression is too complex to evaluate: more than {MAX_CHOICES} different sets "
                      "of licenses would satisfy its values together")
            return ResolvedLicense(" AND ".join(values), (), (), False, declared, reason, tuple(values))
        ids = tuple(sorted({i for c in choices for i in c}))
        return ResolvedLicense(expression, ids, _minimal(choices), True, declared, "; ".join(reasons),
                               conflict=self._conflict(declared, frozenset(ids)))

    def _conflict(self, declared: DeclaredLicense, ids: frozenset[str]) -> str:
        """Why `license_name` or `license_link` names another license than the one resolved, or "".

        A name or link that identifies the same license (an alias, the license's own URL) agrees; a link that
        names no catalog license (the repo's own LICENSE file) says nothing either way.
        """
        problems = []
        concrete = [v for v in declared.values if _norm(v) not in PLACEHOLDERS]
        if declared.name and concrete:
            named = self.lookup(declared.name)
            if named is None and not self._loosely_names(declared.name, ids):
                problems.append(f"license_name '{declared.name}' is not {' AND '.join(concrete)}")
            elif named is not None and named not in ids and named not in PLACEHOLDERS:
                problems.append(f"license_name '{declared.name}' names {named}, not {' AND '.join(concrete)}")
        if declared.link:
            linked = self.by_link(declared.link)
            if linked is not None and linked not in ids:
                problems.append(f"license_link {declared.link} is {linked}, not {' AND '.join(sorted(ids))}")
        return "; ".join(problems)

    def _loosely_names(self, name: str, ids: frozenset[str]) -> bool:
        """`Apache License, Version 2.0` names apache-2.0: the same words once filler words are dropped."""
        wanted = _loose(name)
        return bool(wanted) and any(
            wanted in {_loose(t) for t in (e.id, e.name, e.spdx, *e.aliases)}
            for e in (self.entries[i] for i in ids if i in self.entries))

    def _resolve_value(self, value: str, declared: DeclaredLicense,
                       reasons: list[str]) -> tuple[str, tuple[frozenset[str], ...]] | None:
        norm = _norm(value)
        if norm in PLACEHOLDERS:
            if declared.name:
                lid = self.lookup(declared.name)
                if lid and lid not in PLACEHOLDERS:
                    reasons.append(f"license_name '{declared.name}' recognised as {lid}")
                    return lid, (frozenset({lid}),)
            if declared.link:
                lid = self.by_link(declared.link)
                if lid:
                    reasons.append(f"license_link recognised as {lid}")
                    return lid, (frozenset({lid}),)
            if declared.text and not declared.name:
                lid = self.by_text(declared.text)
                if lid:
                    reasons.append(f"identified as {lid} from the title of the repo's {declared.text_file}")
                    return lid, (frozenset({lid}),)
            if norm == "unknown":
                reasons.append("the card declares license: unknown")
            elif declared.name:
                reasons.append(f"license: other with unrecognised license_name '{declared.name}'")
            else:
                reasons.append("license: other without a license_name")
            return None
        lid = self.lookup(value)
        if lid is not None:
            if lid in PLACEHOLDERS:
                return None
            if _norm(value) != _norm(lid):
                reasons.append(f"'{value}' recognised as {lid}")
            return lid, (frozenset({lid}),)
        if re.search(r"\s(and|or|with)\s|[()]", value, re.IGNORECASE):
            return self._parse_expression(value, reasons)
        reasons.append(f"'{value}' is not a known license id")
        return None

    def _parse_expression(self, value: str, reasons: list[str]) -> tuple[str, tuple[frozenset[str], ...]] | None:
        from license_expression import ExpressionError

        too_deep = (f"the license expression is too complex to evaluate: parentheses nested more than {MAX_NESTING} "
                    "deep")
        if _nesting(value) > MAX_NESTING:
            reasons.append(too_deep)
            return None
        try:
            parsed = self._licensing.parse(value, validate=True)
            if parsed is None:
                return None
            choices = _dnf(parsed)
            text = str(parsed)
        except ExpressionError as exc:
            reasons.append(f"'{value}' is not a valid license expression of known ids ({exc})")
            return None
        except RecursionError:  # (the nesting is checked above: never expected)
            reasons.append(too_deep)
            return None
        except _TooComplex:
            reasons.append(f"the license expression is too complex to evaluate: more than {MAX_CHOICES} different "
                           "sets of licenses would satisfy it")
            return None
        placeholders = {i for c in choices for i in c} & PLACEHOLDERS
        if placeholders:
            reasons.append(f"'{value}' names {', '.join(sorted(placeholders))}, which identifies no license")
            return None
        return text, choices


_SEPARATORS = re.compile(r"[\s_]+")


def _norm(text: str) -> str:
    return _SEPARATORS.sub("-", str(text).strip().lower())


_FILLER = re.compile(r"\b(the|license|licence|agreement|version|v|community|public)\b|[^a-z0-9.+]")


def _loose(text: str) -> str:
    return _FILLER.sub("", str(text).lower())


def _is_symbol(text: str) -> bool:
    return bool(text) and " " not in text and "(" not in text


# A license expression's disjunctive normal form (its choices) grows as the product of its ANDed alternatives: 20
# ANDed OR-pairs have 2^20 choices (and cost seconds and gigabytes to list). Past MAX_CHOICES different choices, or
# MAX_NESTING levels of parentheses, an expression is too complex to evaluate: unknown, so a person reviews it.
MAX_CHOICES = 256
MAX_NESTING = 32


class _TooComplex(Exception):
    """The expression has more than MAX_CHOICES minimal choices."""


def _nesting(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth = max(0, depth - 1)
    return deepest


def _dnf(expr: Any) -> tuple[frozenset[str], ...]:
    """The minimal choices of `expr`; _TooComplex past MAX_CHOICES (checked at every step, so that no
    intermediate list grows past MAX_CHOICES squared)."""
    from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol

    if isinstance(expr, LicenseWithExceptionSymbol):
        return (frozenset({expr.license_symbol.key}),)
    if isinstance(expr, LicenseSymbol):
        return (frozenset({expr.key}),)
    if isinstance(expr, OR):
        return _bounded({c for arg in expr.args for c in _dnf(arg)})
    if isinstance(expr, AND):
        out: tuple[frozenset[str], ...] = (frozenset(),)
        for arg in expr.args:
            out = _bounded({a | b for a in out for b in _dnf(arg)})
        return out
    raise ValueError(f"unsupported license expression node {expr!r}")


def _bounded(choices: set[frozenset[str]]) -> tuple[frozenset[str], ...]:
    if len(choices) > MAX_CHOICES:
        raise _TooComplex
    return _minimal(tuple(choices))


def _minimal(choices: tuple[frozenset[str], ...]) -> tuple[frozenset[str], ...]:
    unique = sorted(set(choices), key=lambda c: (len(c), sorted(c)))
    return tuple(c for c in unique if not any(o < c for o in unique))


# --- choice-aware operators (used by rule conditions) ----------------------------------------------------

def avoids(license_: ResolvedLicense, ids: frozenset[str]) -> bool:
    """Some compliant choice uses none of `ids` (`mit OR agpl-3.0` avoids agpl; `mit AND agpl-3.0` does not)."""
    return license_.known and any(not (c & ids) for c in license_.choices)


def includes(license_: ResolvedLicense, ids: frozenset[str]) -> bool:
    """Every compliant choice uses one of `ids`."""
    return license_.known and all(c & ids for c in license_.choices)


def satisfiable_with(license_: ResolvedLicense, ids: frozenset[str]) -> bool:
    """Some compliant choice uses only `ids` (an allow-list check)."""
    return license_.known and any(c <= ids for c in license_.choices)
