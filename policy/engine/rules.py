"""Rule packs (`rules/packs/*.yaml`): loading, validation and compilation of rules.

A finding is `when and not require`, evaluated once per binding of `for_each`. Everything that can be
checked at load is: schema, fact paths, operators and operand types, license ids, regexes, message templates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.diagnostics import Diagnostic
from policy.engine.conditions import All, Any_, Compiler, Condition, ConditionError, Leaf, Not
from policy.model.facts import Citation
from policy.records import record
from policy.yamlload import MarkedYaml

BINDINGS: dict[str, frozenset[str]] = {
    "model": frozenset({"model", "policy"}),
    "ancestors": frozenset({"model", "policy", "ancestor"}),
    "model-clauses": frozenset({"model", "policy", "clause"}),
    "ancestor-clauses": frozenset({"model", "policy", "ancestor", "clause"}),
    "licensee-tests": frozenset({"model", "policy", "clause", "test"}),
    "problems": frozenset({"model", "policy", "problem"}),
    "waivers": frozenset({"model", "policy", "waiver"}),
    "evidence": frozenset({"model", "policy", "evidence"}),
}


@record
class Rule:
    """A compiled rule of a pack: when it applies, what it finds and its kind."""
    id: str
    title: str
    severity: str
    kind: str  # violation | review
    for_each: str
    message: str
    when: Condition | None = None
    require: Condition | None = None
    remediation: str = ""
    cite: str = "rule"
    references: tuple[Citation, ...] = ()
    category: str = ""
    description: str = ""
    tests: tuple[Mapping[str, Any], ...] = ()
    pack: str = ""
    line: int = 0
    file: str = ""  # the pack file (a template error in the message is reported there)
    severity_from: str = ""  # a key of the policy's `requirements`, whose value (a severity) overrides `severity`

    def __post_init__(self) -> None:
        object.__setattr__(self, "applies", _applies(self.when, self.require))

    @property
    def guard(self) -> tuple[tuple[str, ...], frozenset[str]] | None:
        """(path, values) when the rule's first test is `path` equal to (or in) constant strings: a binding whose
        value there is a string not among `values` is no finding, whatever else the rule says. The engine uses
        it to pass over the bindings of other clause types without testing them; None when there is none."""
        return _guard(self.when)

    def applies(self, ctx: Mapping[str, Any]) -> bool:
        """True when the binding is a finding: `when` holds and `require` does not."""
        if self.when is not None and not self.when.test(ctx):
            return False
        return self.require is None or not self.require.test(ctx)


def _guard(when: Condition | None) -> tuple[tuple[str, ...], frozenset[str]] | None:
    first = when.items[0] if type(when) is All else when  # `all` tests its items in order: the first decides first
    if not isinstance(first, Leaf):
        return None
    if first.op == "eq" and type(first.operand) is str:
        return first.parts, frozenset((first.operand,))
    if first.op == "in" and isinstance(first.operand, list) and all(type(v) is str for v in first.operand):
        return first.parts, frozenset(first.operand)
    return None


def _applies(when: Condition | None, require: Condition | None) -> Any:
    """`Rule.applies` bound to the rule's compiled conditions (no attribute lookups per binding)."""
    if when is None and require is None:
        return lambda ctx: True
    if require is None:
        if type(when) in (All, Any_, Not):  # their tests return True or False already
            return when.test
        when_test = when.test
        return lambda ctx: bool(when_test(ctx))
    require_test = require.test
    if when is None:
        return lambda ctx: not require_test(ctx)
    when_test = when.test
    return lambda ctx: bool(when_test(ctx)) and not require_test(ctx)


@record
class Pack:
    """A compiled rule pack: id, version, digest and its rules."""
    id: str
    version: str
    sha256: str
    rules: tuple[Rule, ...]
    file: str = ""
    title: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


@dataclass
class PackSource:
    """A pack file's raw data (as loaded or cached) plus its digest."""

    file: str
    data: Mapping[str, Any]
    sha256: str
    marks: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)


def digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def compile_pack(source: PackSource, license_lookup: Any, check_templates: bool = True,
                 marked: MarkedYaml | None = None) -> tuple[Pack, list[Diagnostic]]:
    """Compile a validated pack. Semantic problems come back as diagnostics placed in the file."""
    data = source.data
    diagnostics: list[Diagnostic] = []
    rules: list[Rule] = []
    seen: dict[str, int] = {}

    def where(path: Sequence[Any]) -> tuple[int, int]:
        return marked.mark(tuple(path)) if marked is not None else (0, 0)

    for index, raw in enumerate(data.get("rules", ())):
        base: tuple[Any, ...] = ("rules", index)
        rule_id = str(raw["id"])
        line, col = where((*base, "id"))
        if rule_id in seen:
            diagnostics.append(Diagnostic(source.file, line, col, "duplicate-rule",
                                          f"rule id '{rule_id}' is used twice", span=len(rule_id)))
        seen[rule_id] = index
        for_each = str(raw.get("for_each", "model"))
        roots = BINDINGS[for_each]
        errors: list[ConditionError] = []
        compiler = Compiler(roots=roots, license_lookup=license_lookup, errors=errors)
        when = compiler.compile(raw["when"], (*base, "when")) if "when" in raw else None
        require = compiler.compile(raw["require"], (*base, "require")) if "require" in raw else None
        for err in errors:
            line, col = where(err.path)
            diagnostics.append(Diagnostic(source.file, line, col, "rule-condition",
                                          f"rule {rule_id}: {err.message}", help=err.help))
        if check_templates:
            from policy.templating import check_template  # jinja2: only when rule data is (re)validated

            allowed = roots | {"rule", "failed"}
            for key in ("message", "remediation"):
                if key in raw:
                    problem = check_template(str(raw[key]), allowed)
                    if problem:
                        line, col = where((*base, key))
                        diagnostics.append(Diagnostic(source.file, line, col, "rule-template",
                                                      f"rule {rule_id} {key}: {problem}"))
        cite = str(raw.get("cite", "clause" if for_each.endswith("clauses") else "rule"))
        if cite == "clause" and "clause" not in roots:
            line, col = where((*base, "cite"))
            diagnostics.append(Diagnostic(source.file, line, col, "rule-cite",
                                          f"rule {rule_id}: cite: clause needs for_each model-clauses or "
                                          "ancestor-clauses"))
        if cite == "rule" and not raw.get("references"):
            line, col = where(base)
            diagnostics.append(Diagnostic(source.file, line, col, "rule-cite",
                                          f"rule {rule_id}: a rule that cites itself needs references",
                                          help="every finding carries a citation"))
        rules.append(Rule(
            id=rule_id, title=str(raw["title"]), severity=str(raw["severity"]),
            kind=str(raw.get("kind", "violation")), for_each=for_each, message=str(raw["message"]),
            when=when, require=require, remediation=str(raw.get("remediation", "")), cite=cite,
            references=tuple(_reference(r) for r in raw.get("references", ())),
            category=str(raw.get("category", "")), description=str(raw.get("description", "")),
            tests=tuple(raw.get("tests", ())), pack=str(data["id"]), line=where(base)[0], file=source.file,
            severity_from=str(raw.get("severity_from", ""))))
    pack = Pack(id=str(data["id"]), version=str(data["version"]), sha256=source.sha256, rules=tuple(rules),
                file=source.file, title=str(data.get("title", "")))
    return pack, diagnostics


def lint_tests(pack: Pack, marked: MarkedYaml | None) -> list[Diagnostic]:
    """Every rule has at least one case that expects it and one that does not (Semgrep's meta-rule)."""
    out = []
    for index, rule in enumerate(pack.rules):
        positive = any(any(e.get("rule") == rule.id for e in t.get("expect", ())) for t in rule.tests)
        negative = any(all(e.get("rule") != rule.id for e in t.get("expect", ())) for t in rule.tests)
        if not (positive and negative):
            line, col = marked.mark(("rules", index)) if marked else (rule.line, 1)
            missing = "a case that expects it" if not positive else "a case that does not expect it"
            out.append(Diagnostic(pack.file, line, col, "rule-tests", f"rule {rule.id} has no test: {missing}",
                                  severity="warning"))
    return out


def _reference(raw: Mapping[str, Any]) -> Citation:
    """A rule's reference. One that names a grade cites a clause of a license or contract (GPL-3.0 §10 for the
    copyleft conflict); one without cites policycheck's own rule (its design, the policy file, the Hub's
    conventions) and carries no grade, so that no format shows it as a graded license clause."""
    return Citation.from_dict({"grade": "", **raw})
