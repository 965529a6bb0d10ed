"""JUnit XML for CI test reports: one `<testsuite>` per subject, one `<testcase>` per (rule, subject).

The report carries findings, not the list of rules that passed, so a subject's testcases are:
- one per rule that produced a finding for it (all findings of that rule, e.g. one per ancestor, in one case):
  - `<failure type="violation">` when an open violation is at or above the report's `fail_on`;
  - else `<failure type="review">` when an open finding needs review (a person must decide: never green);
  - else `<skipped>` when every finding of the rule is waived (with the waiver's justification);
  - else it passes, its findings (obligations, notes, evidence, violations below `fail_on`) in `<system-out>`;
- one `verdict` testcase that fails on a `fail` and on a `review` verdict (type = the verdict), so that a CI never
  goes green on a report a person still has to decide.
A target that could not be evaluated is a suite with one `verdict` testcase in `<error>`.

The file has the shape the Jenkins xUnit plugin's `junit-10.xsd` accepts (and GitLab's reader reads): the root
`<testsuites>` carries `tests`, `failures`, `errors` and `time` but not `skipped` (that schema has no such attribute
there; each `<testsuite>` carries its own `skipped` count). The tests check it against a strict schema of that
shape, `tests/schemas/junit.xsd`.

Built with xml.etree.ElementTree (escaping is automatic); characters XML 1.0 cannot carry (C0 controls other
than tab/newline/CR, lone surrogates, U+FFFE/U+FFFF) are written as visible `\\xNN`/`\\uNNNN` escapes.
Output is deterministic: `time` is 0 and no timestamp or hostname is written.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from policy import __version__
from policy.model.citations import cite_line
from policy.model.report import DISCLAIMER, Finding, Report, TargetError
from policy.model.vocab import at_or_above

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Text safe for XML 1.0: invalid characters shown as escapes (never dropped silently)."""
    text = "" if value is None else str(value)
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else
                            f"\\u{ord(m.group()):04x}", text)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    el = ET.SubElement(parent, tag, {k.rstrip("_"): xml_text(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = xml_text(text)
    return el


def _describe(f: Finding) -> str:
    lines = [f"[{f.severity} {f.kind}{' waived' if f.status == 'waived' else ''}] {f.message}"]
    if f.ancestor:
        lines.append(f"  ancestor: {f.ancestor} (via {' > '.join(f.via) or '-'})")
    if f.remediation:
        lines.append(f"  remediation: {f.remediation}")
    cite = f.citation or {}
    if cite:
        lines.append(f"  citation: {cite_line(cite)}")
    if f.status == "waived" and f.waiver:
        w = f.waiver
        lines.append(f"  waiver: {w.get('justification') or ''} (reason: {w.get('reason')}; approved by "
                     f"{w.get('approved_by')}; expires {w.get('expires')})")
    return "\n".join(lines)


def case_outcome(findings: Sequence[Finding], fail_on: str) -> str:
    """violation | review | skipped | passed, for the findings of one rule on one subject."""
    open_ = [f for f in findings if f.status == "open"]
    if any(f.kind == "violation" and at_or_above(f.severity, fail_on) for f in open_):
        return "violation"
    if any(f.kind == "review" for f in open_):
        return "review"
    if findings and not open_:
        return "skipped"
    return "passed"


def _suite(root: ET.Element, report: Report) -> dict[str, int]:
    subject = report.subject.id
    fail_on = report.policy.fail_on or "error"
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule, []).append(f)
    suite = _el(root, "testsuite", name=subject, tests=len(by_rule) + 1, failures=0, errors=0, skipped=0,
                time="0")
    props = _el(suite, "properties")
    lic = report.subject.license
    for name, value in (("verdict", report.verdict), ("revision", report.subject.revision or ""),
                        ("license.declared", lic.declared or ""),
                        ("license.resolved", lic.resolved or ""), ("fail_on", fail_on),
                        ("date", report.date), ("policycheck.version", __version__),
                        *((f"pack.{p.id}", f"{p.version} sha256:{p.sha256}") for p in report.packs),
                        ("disclaimer", DISCLAIMER)):
        _el(props, "property", name=name, value=value)
    counts = {"tests": len(by_rule) + 1, "failures": 0, "errors": 0, "skipped": 0}
    classname = subject
    for rule, findings in by_rule.items():
        case = _el(suite, "testcase", classname=classname, name=rule, time="0")
        outcome = case_outcome(findings, fail_on)
        details = "\n".join(_describe(f) for f in findings)
        if outcome in ("violation", "review"):
            decisive = [f for f in findings if f.status == "open" and
                        (f.kind == "violation" if outcome == "violation" else f.kind == "review")]
            _el(case, "failure", details, type=outcome, message=decisive[0].message)
            counts["failures"] += 1
        elif outcome == "skipped":
            w = findings[0].waiver or {}
            _el(case, "skipped", details, message=f"waived: {w.get('justification') or 'in the policy file'}")
            counts["skipped"] += 1
        else:
            _el(case, "system-out", details)
    verdict = _el(suite, "testcase", classname=classname, name="verdict", time="0")
    if report.verdict in ("fail", "review"):
        decisive = report.decisive()
        message = f"verdict {report.verdict}" + (f": {decisive.message}" if decisive else "")
        text = "\n".join([*report.notices, *(_describe(f) for f in report.open_findings)])
        _el(verdict, "failure", text, type=report.verdict, message=message)
        counts["failures"] += 1
    else:
        _el(verdict, "system-out", "\n".join([f"verdict {report.verdict}", *report.notices, *report.notes]))
    for key in ("failures", "skipped"):
        suite.set(key, str(counts[key]))
    return counts


def _error_suite(root: ET.Element, error: TargetError) -> dict[str, int]:
    suite = _el(root, "testsuite", name=error.target, tests=1, failures=0, errors=1, skipped=0, time="0")
    case = _el(suite, "testcase", classname=error.target, name="verdict", time="0")
    text = "\n".join(error.frames) if error.frames else "\n".join(
        f"{d.get('file')}:{d.get('line')}:{d.get('col')}: {d.get('message')}" for d in error.diagnostics)
    _el(case, "error", text or error.message, type="internal" if error.internal else "input", message=error.message)
    return {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}


def build(results: Sequence[Report | TargetError]) -> ET.Element:
    root = ET.Element("testsuites", {"name": "policycheck"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in results:
        counts = _suite(root, r) if isinstance(r, Report) else _error_suite(root, r)
        for k, v in counts.items():
            totals[k] += v
    for k in ("tests", "failures", "errors"):  # Jenkins' xUnit schema has no `skipped` on <testsuites>
        root.set(k, str(totals[k]))
    root.set("time", "0")
    return root


def render(results: Sequence[Report | TargetError], options: Any = None) -> bytes:
    root = build(results)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
