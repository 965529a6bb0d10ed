"""Rule conditions: `all` / `any` / `not` and typed leaves `<dotted.path>: {<op>: <operand>}`.

Conditions compile once into small objects with `test(ctx)`; `explain(ctx)` lists the leaves that decided
a finding. A leaf whose path does not resolve is false (`exists: false` is the only way to ask for absence),
so a missing fact never makes a rule pass silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.model import catalog as licenses
from policy.model.names import starts_with_prefix
from policy.records import record

# `matches` uses RE2 (linear time: no catastrophic backtracking on `(a+)+$`) over at most MAX_MATCH_LENGTH
# characters of the value; a longer value does not match. Patterns RE2 cannot compile (backreferences,
# lookaround) are rule errors at load.
MAX_MATCH_LENGTH = 4096
MAX_PATTERN_LENGTH = 1024

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>", "__bool__": lambda self: False})()

# The fact model a rule may read (documented in rules/README.md). Keys below `card`, `params` and `use` are free-form.
LICENSE_FIELDS = frozenset({"id", "ids", "expression", "known", "categories", "name", "spdx", "status",
                            "profile", "reason", "licensor", "declared", "present", "unverified", "kind", "url",
                            "conflict"})
NODE_FIELDS = frozenset({"id", "name", "org", "kind", "source", "status", "status_detail", "revision",
                         "license", "clauses", "clause", "files", "card", "notes", "note_text",
                         "weight_licenses", "weight_categories", "weight_orgs", "resolved", "gated",
                         "pipeline_tag", "language_model", "language_model_from", "multimodal", "task", "task_from",
                         "task_family", "elected"})
ANCESTOR_FIELDS = NODE_FIELDS | {"relation", "via", "path", "depth", "channel", "child", "declared_in",
                                 "inferred", "relicensed_by", "used_by", "party", "performs_similarly"}
FACT_MODEL: dict[str, frozenset[str]] = {
    "model": NODE_FIELDS,
    "ancestor": ANCESTOR_FIELDS,
    "clause": frozenset({"type", "params", "obligation", "citation", "applies_to", "license", "verified",
                         "channel", "accepts", "triggered", "unsettled", "licensor_orgs"}),
    "policy": frozenset({"use", "licenses", "licensee", "declared", "models", "requirements"}),
    "problem": frozenset({"code", "message", "path"}),
    "test": frozenset({"fact", "measure", "value", "value_text", "limit", "limit_text", "over", "tested_on",
                       "condition", "license_name", "section", "holders", "own", "first", "all"}),
    "waiver": frozenset({"rule", "model", "ancestor", "reason", "justification", "approved_by", "ticket",
                         "expires", "expired", "used", "days_left", "file", "line"}),
    "evidence": frozenset({"code", "message", "method", "confidence", "source", "subject", "line", "quote",
                           "refers_to", "data"}),
}
FREE_BELOW = frozenset({"card", "params", "use", "licenses", "licensee", "citation", "clause", "declared",
                        "requirements", "data"})

LICENSE_OPS = frozenset({"license_includes", "license_avoids", "license_satisfiable_with"})


class ConditionError(Exception):
    def __init__(self, path: tuple[str | int, ...], message: str, help: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.help = help


def resolve_path(ctx: Mapping[str, Any], parts: Sequence[str]) -> Any:
    value: Any = ctx
    for part in parts:
        try:
            value = value.get(part, MISSING)  # every fact container is a mapping
        except AttributeError:
            return MISSING
        if value is MISSING or value is None:
            return MISSING
    return value


@record(slots=True)
class Ref:
    """A `{{ path }}` reference into the evaluation context."""
    parts: tuple[str, ...]

    def get(self, ctx: Mapping[str, Any]) -> Any:
        return resolve_path(ctx, self.parts)

    def __str__(self) -> str:
        return "{ref: " + ".".join(self.parts) + "}"


class Condition:
    """A compiled condition. Each subclass binds `test` at construction to a closure specialised for its shape
    (path length, operator, constant operand), so evaluating a rule is a few plain calls per leaf."""

    def test(self, ctx: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def explain(self, ctx: Mapping[str, Any], want: bool = True) -> list[dict[str, Any]]:
        """The leaves whose value differed from `want` (what made the condition come out the other way)."""
        raise NotImplementedError

    def paths(self) -> list[str]:
        raise NotImplementedError


@record
class All(Condition):
    """True when every item holds."""
    items: tuple[Condition, ...]
    combine = staticmethod(all)

    def __post_init__(self) -> None:
        object.__setattr__(self, "test", _combined(tuple(c.test for c in self.items), self.combine is any))

    def explain(self, ctx: Mapping[str, Any], want: bool = True) -> list[dict[str, Any]]:
        return [leaf for c in self.items if c.test(ctx) != want for leaf in c.explain(ctx, want)]

    def paths(self) -> list[str]:
        return [p for c in self.items for p in c.paths()]


@record
class Any_(All):
    """True when some item holds."""
    combine = staticmethod(any)


@record
class Not(Condition):
    """True when the item does not hold."""
    item: Condition

    def __post_init__(self) -> None:
        inner = self.item.test
        object.__setattr__(self, "test", lambda ctx: not inner(ctx))

    def explain(self, ctx: Mapping[str, Any], want: bool = True) -> list[dict[str, Any]]:
        return self.item.explain(ctx, not want)

    def paths(self) -> list[str]:
        return self.item.paths()


@record
class Leaf(Condition):
    """One comparison of a context value (`path op operand`)."""
    path: str
    parts: tuple[str, ...]
    op: str
    operand: Any
    fn: Callable[[Any, Any], bool]

    def __post_init__(self) -> None:
        object.__setattr__(self, "test", _leaf_test(self.parts, self.op, self.operand, self.fn))

    def explain(self, ctx: Mapping[str, Any], want: bool = True) -> list[dict[str, Any]]:
        if self.test(ctx) == want:
            return []
        value = resolve_path(ctx, self.parts)
        operand = self.operand.get(ctx) if isinstance(self.operand, Ref) else self.operand
        return [{"path": self.path, "op": self.op, "expected": _show(operand), "actual": _show(value),
                 "negated": not want}]

    def paths(self) -> list[str]:
        return [self.path]


def _combined(tests: tuple[Callable[[Mapping[str, Any]], bool], ...], any_: bool) -> Callable[[Any], bool]:
    """`all` / `any` over the items' tests, left to right, stopping at the first that decides."""
    if any_:
        def test_any(ctx: Mapping[str, Any]) -> bool:
            for t in tests:
                if t(ctx):
                    return True
            return False
        return test_any

    def test_all(ctx: Mapping[str, Any]) -> bool:
        for t in tests:
            if not t(ctx):
                return False
        return True
    return test_all


def path_getter(parts: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Any]:
    """`resolve_path(ctx, parts)` as a function of the context, unrolled for the usual two or three parts."""
    if len(parts) == 2:
        a, b = parts

        def get2(ctx: Mapping[str, Any]) -> Any:
            try:
                value = ctx.get(a, MISSING)
            except AttributeError:
                return MISSING
            if value is MISSING or value is None:
                return MISSING
            try:
                value = value.get(b, MISSING)
            except AttributeError:
                return MISSING
            return MISSING if value is None else value
        return get2
    if len(parts) == 3:
        a, b, c = parts

        def get3(ctx: Mapping[str, Any]) -> Any:
            try:
                value = ctx.get(a, MISSING)
            except AttributeError:
                return MISSING
            if value is MISSING or value is None:
                return MISSING
            try:
                value = value.get(b, MISSING)
            except AttributeError:
                return MISSING
            if value is MISSING or value is None:
                return MISSING
            try:
                value = value.get(c, MISSING)
            except AttributeError:
                return MISSING
            return MISSING if value is None else value
        return get3
    return lambda ctx: resolve_path(ctx, parts)


def _eq2(parts: tuple[str, ...], operand: Any) -> Callable[[Mapping[str, Any]], bool]:
    """`a.b: operand`: path_getter's get2 and the comparison in one function."""
    a, b = parts

    def test_eq2(ctx: Mapping[str, Any]) -> bool:
        try:
            value = ctx.get(a, MISSING)
        except AttributeError:
            return False
        if value is MISSING or value is None:
            return False
        try:
            value = value.get(b, MISSING)
        except AttributeError:
            return False
        return value is not MISSING and value is not None and value == operand
    return test_eq2


def _eq3(parts: tuple[str, ...], operand: Any) -> Callable[[Mapping[str, Any]], bool]:
    """`a.b.c: operand`: path_getter's get3 and the comparison in one function."""
    a, b, c = parts

    def test_eq3(ctx: Mapping[str, Any]) -> bool:
        try:
            value = ctx.get(a, MISSING)
        except AttributeError:
            return False
        if value is MISSING or value is None:
            return False
        try:
            value = value.get(b, MISSING)
        except AttributeError:
            return False
        if value is MISSING or value is None:
            return False
        try:
            value = value.get(c, MISSING)
        except AttributeError:
            return False
        return value is not MISSING and value is not None and value == operand
    return test_eq3


def _leaf_test(parts: tuple[str, ...], op: str, operand: Any,
               fn: Callable[[Any, Any], bool]) -> Callable[[Mapping[str, Any]], bool]:
    """The leaf's test: false on a missing value (or a missing referenced operand), except for `exists`."""
    get = path_getter(parts)
    if isinstance(operand, Ref):
        ref = path_getter(operand.parts)
        if op == "exists":
            return lambda ctx: (get(ctx) is not MISSING) == bool(ref(ctx))

        def test_ref(ctx: Mapping[str, Any]) -> bool:
            value = get(ctx)
            other = ref(ctx)
            if value is MISSING or other is MISSING:
                return False
            return fn(value, other)
        return test_ref
    if op == "exists":
        want = bool(operand)
        return lambda ctx: (get(ctx) is not MISSING) == want
    if op == "eq":
        if len(parts) == 3:  # the commonest leaf (`model.license.known: true`), with its path inlined
            return _eq3(parts, operand)
        if len(parts) == 2:
            return _eq2(parts, operand)

        def test_eq(ctx: Mapping[str, Any]) -> bool:
            value = get(ctx)
            return value is not MISSING and value == operand
        return test_eq
    if op in ("in", "not_in"):
        try:
            members = _as_set(operand)
        except TypeError:  # an unhashable member: the operator itself raises, as it would at each call
            members = None
        if members is not None:
            negate = op == "not_in"

            def test_in(ctx: Mapping[str, Any]) -> bool:
                value = get(ctx)
                return value is not MISSING and (value in members) is not negate
            return test_in

    def test(ctx: Mapping[str, Any]) -> bool:
        value = get(ctx)
        return value is not MISSING and fn(value, operand)
    return test


def _show(value: Any) -> Any:
    """A value for a finding's explanation (which the report keeps): lists and dicts copied, so that a report
    never holds a part of the facts rules read (which evaluations share)."""
    if value is MISSING:
        return None
    if isinstance(value, Mapping) and "expression" in value:
        return value.get("expression") or value.get("declared") or "(unknown)"
    if isinstance(value, frozenset | set):
        return sorted(value)
    if type(value) is list:
        return list(value)
    if type(value) is dict:
        return dict(value)
    return value


# --- operators ------------------------------------------------------------------------------------------

def _as_set(v: Any) -> frozenset[Any]:
    if isinstance(v, str):
        return frozenset((v,))
    if isinstance(v, Mapping):
        return frozenset(v.keys())
    try:
        return frozenset(v)
    except TypeError:
        return frozenset((v,))


def _contains(v: Any, o: Any) -> bool:
    if isinstance(v, str):
        return isinstance(o, str) and o in v
    if isinstance(v, Mapping | list | tuple | set | frozenset):
        return o in v
    return False


def _cmp(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def op(v: Any, o: Any) -> bool:
        try:
            return fn(v, o)
        except TypeError:
            return False
    return op


def _license_op(fn: Callable[[licenses.ResolvedLicense, frozenset[str]], bool]) -> Callable[[Any, Any], bool]:
    def op(v: Any, o: Any) -> bool:
        resolved = v.get("_resolved") if isinstance(v, Mapping) else v
        if not isinstance(resolved, licenses.ResolvedLicense):
            return False
        return fn(resolved, _as_set(o))
    return op


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda v, o: v == o,
    "ne": lambda v, o: v != o,
    "in": lambda v, o: v in _as_set(o),
    "not_in": lambda v, o: v not in _as_set(o),
    "contains": _contains,
    "not_contains": lambda v, o: not _contains(v, o),
    "starts_with": lambda v, o: isinstance(v, str) and isinstance(o, str) and v.startswith(o),
    "ends_with": lambda v, o: isinstance(v, str) and isinstance(o, str) and v.endswith(o),
    "matches": lambda v, o: isinstance(v, str) and len(v) <= MAX_MATCH_LENGTH and o.fullmatch(v) is not None,
    "exists": lambda v, o: True,  # handled in Leaf.test
    "empty": lambda v, o: (len(v) == 0) == bool(o) if hasattr(v, "__len__") else not o,
    "any_in": lambda v, o: bool(_as_set(v) & _as_set(o)),
    "all_in": lambda v, o: _as_set(v) <= _as_set(o),
    "none_in": lambda v, o: not (_as_set(v) & _as_set(o)),
    "gt": _cmp(lambda v, o: v > o),
    "ge": _cmp(lambda v, o: v >= o),
    "lt": _cmp(lambda v, o: v < o),
    "le": _cmp(lambda v, o: v <= o),
    "name_starts_with": lambda v, o: isinstance(v, str) and isinstance(o, str) and starts_with_prefix(v, o),
    "license_includes": _license_op(licenses.includes),
    "license_avoids": _license_op(licenses.avoids),
    "license_satisfiable_with": _license_op(licenses.satisfiable_with),
}


def compile_regex(pattern: Any) -> tuple[Any, str]:
    """A compiled RE2 pattern (full-match semantics through `.fullmatch`), or (None, the problem)."""
    import re2

    if not isinstance(pattern, str):
        return None, "a regular expression must be a string"
    if len(pattern) > MAX_PATTERN_LENGTH:
        return None, f"regular expression longer than {MAX_PATTERN_LENGTH} characters"
    try:
        options = re2.Options()
        options.log_errors = False
        return re2.compile(pattern, options), ""
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
        return None, f"invalid regular expression: {reason}"


# --- compilation ----------------------------------------------------------------------------------------

@dataclass
class Compiler:
    """Compiles condition mappings; `roots` are the bindings the rule's `for_each` provides."""

    roots: frozenset[str]
    license_lookup: Callable[[str], str | None]
    errors: list[ConditionError]

    def compile(self, node: Any, path: tuple[str | int, ...]) -> Condition | None:
        if not isinstance(node, Mapping) or len(node) != 1:
            self.errors.append(ConditionError(path, "a condition is a mapping with exactly one key",
                                              "combine several conditions with all: [...]"))
            return None
        ((key, value),) = node.items()
        key = str(key)
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                self.errors.append(ConditionError((*path, key), f"'{key}' takes a non-empty list of conditions"))
                return None
            items = [self.compile(v, (*path, key, i)) for i, v in enumerate(value)]
            if any(i is None for i in items):
                return None
            return (All if key == "all" else Any_)(tuple(i for i in items if i is not None))
        if key == "not":
            inner = self.compile(value, (*path, key))
            return Not(inner) if inner is not None else None
        return self._leaf(key, value, (*path, key))

    def _leaf(self, key: str, value: Any, path: tuple[str | int, ...]) -> Condition | None:
        parts = tuple(key.split("."))
        if not self._check_path(parts, path):
            return None
        if isinstance(value, Mapping):
            if len(value) != 1:
                self.errors.append(ConditionError(path, "a leaf takes exactly one operator"))
                return None
            ((op, operand),) = value.items()
        else:
            op, operand = "eq", value
        if op not in OPERATORS:
            close = _near(str(op), OPERATORS)
            self.errors.append(ConditionError((*path, str(op)), f"unknown operator '{op}'",
                                              f"did you mean '{close[0]}'?" if close else
                                              "operators: " + ", ".join(sorted(OPERATORS))))
            return None
        if isinstance(operand, Mapping):
            if set(operand) != {"ref"} or not isinstance(operand["ref"], str):
                self.errors.append(ConditionError((*path, op), "an operand mapping must be {ref: <path>}"))
                return None
            ref_parts = tuple(operand["ref"].split("."))
            if not self._check_path(ref_parts, (*path, op, "ref")):
                return None
            return Leaf(key, parts, op, Ref(ref_parts), OPERATORS[op])
        if op == "matches":
            compiled, problem = compile_regex(operand)
            if compiled is None:
                self.errors.append(ConditionError((*path, op), problem,
                                                  "RE2 syntax: no backreferences or lookaround"))
                return None
            operand = compiled
        if op in ("in", "not_in", "any_in", "all_in", "none_in") and not isinstance(operand, list):
            self.errors.append(ConditionError((*path, op), f"'{op}' takes a list"))
            return None
        if op in LICENSE_OPS:
            ids = operand if isinstance(operand, list) else [operand]
            resolved = []
            for lid in ids:
                cid = self.license_lookup(lid) if isinstance(lid, str) else None  # never str() of a structure
                if cid is None:
                    shown = lid if isinstance(lid, str | int | float) else f"a {type(lid).__name__}"
                    self.errors.append(ConditionError((*path, op), f"unknown license id '{shown}'",
                                                      "use a catalog id (policycheck licenses)"))
                    return None
                resolved.append(cid)
            operand = frozenset(resolved)
        return Leaf(key, parts, op, operand, OPERATORS[op])

    def _check_path(self, parts: tuple[str, ...], where: tuple[str | int, ...]) -> bool:
        root = parts[0]
        if root not in self.roots:
            self.errors.append(ConditionError(
                where, f"'{root}' is not bound here", "this rule's for_each binds: " + ", ".join(sorted(self.roots))))
            return False
        if len(parts) < 2:
            return True
        fields = FACT_MODEL[root]
        field = parts[1]
        if root not in ("clause",) and field not in fields:
            close = _near(field, fields)
            self.errors.append(ConditionError(where, f"no field '{field}' on {root}",
                                              f"did you mean '{root}.{close[0]}'?" if close else
                                              f"fields: {', '.join(sorted(fields))}"))
            return False
        if root == "clause" and field not in fields:
            close = _near(field, fields)
            self.errors.append(ConditionError(where, f"no field '{field}' on clause",
                                              f"did you mean 'clause.{close[0]}'?" if close else ""))
            return False
        if field == "license" and len(parts) > 2 and parts[2] not in LICENSE_FIELDS:
            close = _near(parts[2], LICENSE_FIELDS)
            self.errors.append(ConditionError(where, f"no field '{parts[2]}' on a license",
                                              f"did you mean '{close[0]}'?" if close else
                                              f"fields: {', '.join(sorted(LICENSE_FIELDS))}"))
            return False
        return True


def _near(word: str, options: Iterable[str]) -> list[str]:
    """The closest of `options` to a misspelled `word` (a list of at most one), for an error's hint."""
    import difflib  # only rule data with an error needs it

    return difflib.get_close_matches(word, list(options), n=1)
