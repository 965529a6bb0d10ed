"""The checks every SARIF log of policycheck must pass, for each producer (check, lint, tree): the SARIF 2.1.0
JSON schema (tests/schemas/sarif-2.1.0.json, no network), then GitHub code scanning's ingestion rules as the
SARIF multitool's GitHub rules state them:

- GH1001/GH1003/GH1005/GH1007: every result has a physical location whose `artifactLocation.uri` is relative to
  the repository root (no scheme, no leading `/`, no `..`), with `uriBaseId` `%SRCROOT%`, and a `region` whose
  `startLine` is at least 1;
- every rule has `shortDescription`, `fullDescription` and `help` (text and markdown), none empty; a `helpUri`,
  when there is one, is a real https URL (no placeholder domain);
- each result's `ruleId` and `ruleIndex` name the same rule;
- `runs[].automationDetails.id` is `policycheck/<producer>/`, so the three producers' uploads do not collide;
- at most 5,000 results a run (what code scanning shows; over 25,000 it rejects the upload whole).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
GITHUB_MAX_RESULTS = 5000
PLACEHOLDER = re.compile(r"\.(invalid|example|test|localhost)(/|$)|example\.(com|org|net)", re.I)


def validate_schema(log: dict[str, Any]) -> None:
    cls = jsonschema.validators.validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    errors = sorted(cls(SCHEMA, format_checker=cls.FORMAT_CHECKER).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    draft7 = list(jsonschema.Draft7Validator(SCHEMA).iter_errors(log))
    assert not draft7, draft7[0].message


def _text(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("text"), str) and bool(value["text"].strip())


def github_problems(log: dict[str, Any], producer: str) -> list[str]:
    """What GitHub's ingestion rules find wrong with `log` (empty: it would be accepted and annotate)."""
    problems: list[str] = []
    for n, run in enumerate(log.get("runs") or ()):
        where = f"runs[{n}]"
        auto = (run.get("automationDetails") or {}).get("id")
        if auto != f"policycheck/{producer}/":
            problems.append(f"{where}.automationDetails.id is {auto!r}, not 'policycheck/{producer}/'")
        results = run.get("results") or []
        if len(results) > GITHUB_MAX_RESULTS:
            problems.append(f"{where} has {len(results)} results (GitHub shows {GITHUB_MAX_RESULTS})")
        driver = run["tool"]["driver"]
        rules = driver.get("rules") or []
        for uri in (driver.get("informationUri"), *(r.get("helpUri") for r in rules)):
            if uri is not None and (not str(uri).startswith("https://") or PLACEHOLDER.search(str(uri))):
                problems.append(f"{where}: {uri!r} is not a real page")
        for rule in rules:
            rid = rule.get("id")
            for key in ("shortDescription", "fullDescription"):
                if not _text(rule.get(key)):
                    problems.append(f"rule {rid}: no {key}")
            help_ = rule.get("help") or {}
            if not _text(help_) or not str(help_.get("markdown") or "").strip():
                problems.append(f"rule {rid}: help needs text and markdown")
        for i, result in enumerate(results):
            at = f"{where}.results[{i}] ({result.get('ruleId')})"
            index = result.get("ruleIndex")
            if not isinstance(index, int) or index >= len(rules) or rules[index].get("id") != result.get("ruleId"):
                problems.append(f"{at}: ruleIndex does not name its rule")
            locations = result.get("locations") or []
            if not locations:
                problems.append(f"{at}: no location")
            for loc in locations:
                phys = loc.get("physicalLocation") or {}
                art = phys.get("artifactLocation") or {}
                uri = str(art.get("uri") or "")
                if not uri or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri) or uri.startswith("/") or \
                        ".." in uri.split("/"):
                    problems.append(f"{at}: uri {uri!r} is not relative to the repository root")
                if art.get("uriBaseId") != "%SRCROOT%":
                    problems.append(f"{at}: uriBaseId is {art.get('uriBaseId')!r}")
                line = (phys.get("region") or {}).get("startLine")
                if not isinstance(line, int) or line < 1:
                    problems.append(f"{at}: no region startLine >= 1")
    return problems


def check_sarif(log: dict[str, Any], producer: str) -> None:
    """The schema, then GitHub's rules."""
    validate_schema(log)
    problems = github_problems(log, producer)
    assert not problems, "\n".join(problems[:20])
