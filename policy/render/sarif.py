"""SARIF 2.1.0, as GitHub code scanning reads it: one run for the whole batch.

- `tool.driver.rules`: one reporting descriptor per rule that produced a finding, `id` = the pack's rule id
  (stable forever, DESIGN §5), `defaultConfiguration.level` from the rule's severity.
- `results`: one per finding. `level`: a violation keeps its severity (error/warning/note); a review finding is
  `warning` (a person must decide; GitHub shows it), obligations, notes and evidence are `note`. The result
  `kind` stays the default `fail`, because SARIF requires `level: none` for any other kind and GitHub would then
  hide review findings.
- Locations (policy/render/sarif_log.py): a local card file gets a physicalLocation relative to the repository
  root (`uriBaseId` `%SRCROOT%`, which code scanning binds to the checkout) at the card line the
  finding is about: the `license:` line for findings about the model itself, `base_model:` for ancestors
  reached through weights, `teacher_model:` for teachers (outputs) and `datasets:` for data and
  dataset-generating teachers. When the lineage came from a curation or the policy
  file (the card does not name the parent), the `license:` line is where the fix goes; else line 1. A Hub target
  has no file in the repository: its results point at line 1 of the policy file (where a waiver or an allow-list
  entry would go; `policycheck.yaml` at the repository root when none was read), with the repo id as a logical
  location and the card's Hub URL in the result's properties (code scanning takes file locations only).
- Rules carry short and full descriptions and help; `helpUri` is the cited source of the rule's text when it
  has a URL, else absent. At most 5,000 results, the most severe kept (sarif_log).
- `partialFingerprints["policycheck/v1"]`: sha256 of rule|model|ancestor|clause, stable across runs and card edits.
- Waived findings carry `suppressions: [{kind: external, status: accepted, justification}]`.
- Targets that could not be evaluated are `toolExecutionNotifications` of the invocation (which then did not
  succeed). `run.properties` carries the verdict of each subject and the "not legal advice" disclaimer.

Output is deterministic: no clock, no absolute path of this machine (a card path outside the working directory
is given as a file URI, as the user named it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from policy.model.citations import cite_line, describe_source, grade_meaning
from policy.model.facts import LICENSE_KEYS, RELATION_KEYS, WEIGHT_RELATIONS
from policy.model.report import DISCLAIMER, Finding, Report, TargetError
from policy.render.sarif_log import (  # noqa: F401 (rule_name: re-exported for the tests)
    FINGERPRINT_KEY,
    SarifRun,
    artifact_location,
    location,
    policy_artifact,
    rule_descriptor,
    rule_name,
)
from policy.templating import md_escape
from policy.textsafe import key_bytes

HUB = "https://huggingface.co"

LEVELS = {"error": "error", "warning": "warning", "note": "note"}
# Where on the card a finding about an ancestor points, by the first relation from the subject.


def render(results: Sequence[Report | TargetError], options: object = None) -> str:
    return json.dumps(sarif_log(results), indent=2, ensure_ascii=False, default=str) + "\n"


def sarif_log(results: Sequence[Report | TargetError]) -> dict[str, Any]:
    reports = [r for r in results if isinstance(r, Report)]
    errors = [r for r in results if isinstance(r, TargetError)]
    run = SarifRun("check")
    for report in reports:
        seen: dict[str, int] = {}
        for finding in report.findings:
            index = run.rule_index(finding.rule, lambda f=finding: _rule(f))  # type: ignore[misc]
            # Two findings with one key (e.g. waiver findings about no ancestor) are told apart by their order.
            key = fingerprint(finding)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                key = hashlib.sha256(f"{key}#{seen[key]}".encode()).hexdigest()
            run.results.append(_result(report, finding, index, key))
    for e in errors:
        run.notifications.append(_notification(e))
    return run.log(properties={
            "disclaimer": DISCLAIMER,
            "date": reports[0].date if reports else None,
            "packs": _packs(reports),
            "subjects": [{"id": r.subject.id, "revision": r.subject.revision,
                          "source": r.subject.source, "verdict": r.verdict,
                          "license": r.subject.license.resolved,
                          "fail_on": r.policy.fail_on,
                          "open_findings": len(r.open_findings),
                          "waived_findings": len(r.findings) - len(r.open_findings)} for r in reports]
                        + [{"id": e.target, "verdict": "error", "error": e.message} for e in errors],
    })


def _packs(reports: Sequence[Report]) -> list[dict[str, str]]:
    seen: dict[tuple[str, str, str], dict[str, str]] = {}
    for r in reports:
        for p in r.packs:
            seen.setdefault((p.id, p.version, p.sha256), p.to_dict())
    return list(seen.values())


def _rule(f: Finding) -> dict[str, Any]:
    help_text = f.remediation or f.title
    citation = f.citation or {}
    markdown = help_text
    url = None
    if citation:
        line = cite_line(citation)
        url = describe_source(citation.get("source")).url
        markdown += f"\n\nCited: {md_escape(line)}" + (f" <{url}>" if url else "")
        help_text += f"\n\nCited: {line}"
    full = f.title if not f.remediation else f"{f.title}. Remedy: {f.remediation}"
    return rule_descriptor(f.rule, short=f.title, full=full, help_text=help_text, help_markdown=markdown, url=url,
                           level=LEVELS.get(f.severity, "warning"),
                           properties={"kind": f.kind, "pack": f.pack, "severity": f.severity,
                                       "tags": ["license-compliance", f.kind]})


def result_level(f: Finding) -> str:
    if f.kind == "violation":
        return LEVELS.get(f.severity, "warning")
    if f.kind in ("review", "evidence"):
        return "warning"
    return "note"


def fingerprint(f: Finding) -> str:
    key = "|".join((f.rule, f.model, f.ancestor or "", f.clause or ""))
    return hashlib.sha256(key_bytes(key)).hexdigest()


def card_line(f: Finding, lines: Mapping[str, int]) -> int:
    """The 1-based card line a finding is about (see the module docstring)."""
    if f.line > 0:
        return f.line
    keys: tuple[str, ...] = LICENSE_KEYS
    if f.ancestor is not None and f.via:
        first = f.via[0]
        if first in WEIGHT_RELATIONS:
            keys = ("base_model", *LICENSE_KEYS)
        elif first in RELATION_KEYS:
            keys = (*RELATION_KEYS[first], *LICENSE_KEYS)
    for key in keys:
        line = lines.get(key)
        if isinstance(line, int) and line > 0:
            return line
    return 1


def _location(report: Report, f: Finding) -> dict[str, Any]:
    subject = report.subject
    line = card_line(f, subject.card_lines)
    if subject.source == "file" and subject.path:  # a local card
        return location(artifact_location(subject.path), line)
    # No file of the repository holds a Hub model's card: the policy file is where its findings are acted on.
    return location(policy_artifact(report.policy.file), 1, logical=subject.id or None)


def hub_url(report: Report) -> str | None:
    subject = report.subject
    if subject.source in ("hub", "cache") and subject.id:
        rev = subject.revision or "main"
        return f"{HUB}/{quote(subject.id, safe='/')}/blob/{quote(str(rev), safe='')}/README.md"
    return None


def _message(f: Finding) -> str:
    text = f.message or f.title
    if f.ancestor and f.ancestor not in text:
        text += f" (ancestor: {f.ancestor})"
    return text


def _result(report: Report, f: Finding, rule_index: int, key: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": result_level(f),
        "message": {"text": _message(f)},
        "locations": [_location(report, f)],
        "partialFingerprints": {FINGERPRINT_KEY: key},
    }
    if f.status == "waived":
        w = f.waiver or {}
        justification = str(w.get("justification") or "waived in the policy file")
        details = [f"{k.replace('_', ' ')}: {w[k]}" for k in ("reason", "approved_by", "expires") if w.get(k)]
        if details:
            justification += f" ({'; '.join(details)})"
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": justification}]
    props: dict[str, Any] = {"kind": f.kind, "severity": f.severity, "model": f.model, "status": f.status,
                             "verdict": report.verdict}
    url = hub_url(report)
    if url:  # a Hub card: its address, and the line of it the finding is about (the location is the policy file)
        props["url"] = url
        line = card_line(f, report.subject.card_lines)
        if line > 1 or f.line > 0:
            props["card_line"] = line
    if f.ancestor is not None:
        props["ancestor"] = f.ancestor
        props["via"] = list(f.via)
    if f.clause:
        props["clause"] = f.clause
    if f.license:
        props["license"] = f.license
    if f.remediation:
        props["remediation"] = f.remediation
    if f.citation:
        props["citation"] = dict(f.citation)
        if f.citation.get("grade"):
            props["citation"]["grade_meaning"] = grade_meaning(f.citation["grade"])
    result["properties"] = props
    return result


def _notification(e: TargetError) -> dict[str, Any]:
    note: dict[str, Any] = {"level": "error", "message": {"text": f"{e.target}: {e.message}"},
                            "descriptor": {"id": "target-error"}}
    diag = next((d for d in e.diagnostics if d.get("file")), None)
    if diag is not None:
        artifact = artifact_location(str(diag["file"]))
        if artifact.get("uriBaseId"):  # in the repository
            line, col = diag.get("line"), diag.get("col")
            note["locations"] = [location(artifact, line if isinstance(line, int) else None,
                                          col=col if isinstance(col, int) else None)]
    return note


