"""`policycheck rules list|validate|test` and `policycheck licenses`: the rule packs and the license catalog."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from policy.cli.common import Format, FormatOpt, RulesOpt
from policy.cli.streams import err, out, say
from policy.errors import EXIT_FAIL, EXIT_PASS


def rules_list(rules: RulesOpt = None, format: FormatOpt = Format.text) -> None:
    """List the rules of every loaded pack."""
    from policy.engine.loader import load_bundle

    bundle = load_bundle(tuple(rules or ()))
    rows = [{"pack": p.id, "version": p.version, "rule": r.id, "severity": r.severity, "kind": r.kind,
             "for_each": r.for_each, "title": r.title} for p in bundle.packs for r in p.rules]
    if format is Format.json:
        out(json.dumps(rows, indent=2) + "\n")
        return
    width = max(len(r["rule"]) for r in rows)
    for r in rows:
        say(f"{r['pack']}/{r['rule']:<{width}}  {r['severity']:<7}  {r['kind']:<9}  {r['title']}")


def rules_validate(rules: RulesOpt = None) -> None:
    """Validate every pack, catalog entry and curation; report all problems at once."""
    from policy.diagnostics import format_diagnostic
    from policy.engine.loader import load_bundle

    bundle = load_bundle(tuple(rules or ()), use_cache=False, lint=True)
    for w in bundle.warnings:
        err(format_diagnostic(w))
    n_rules = sum(len(p.rules) for p in bundle.packs)
    out(f"ok: {len(bundle.catalog.entries)} licenses, {len(bundle.packs)} pack(s) with {n_rules} rules, "
         f"{len(bundle.curations)} curated models"
         + (f"; {len(bundle.warnings)} warning(s)" if bundle.warnings else "") + "\n")


def rules_test(rules: RulesOpt = None,
               rule: Annotated[list[str] | None, typer.Option("--rule", help="Only these rule ids.")] = None) -> None:
    """Run the test cases written in the packs; print one line per case that fails and a summary."""
    from policy.engine.loader import load_bundle
    from policy.engine.ruletest import run_pack_tests

    bundle = load_bundle(tuple(rules or ()))
    results = run_pack_tests(bundle.packs, bundle.catalog, tuple(rule or ()))
    failed = [r for r in results if not r.ok]
    for r in failed:
        say(f"FAIL {r.pack}/{r.rule}: {r.case}")
        if r.error:
            say(f"  error: {r.error}")
        for m in r.missing:
            say(f"  missing (false negative): {json.dumps(m, default=str)}")
        for u in r.unexpected:
            say(f"  unexpected (false positive): {json.dumps(u, default=str)}")
    out(f"{len(results) - len(failed)} passed, {len(failed)} failed\n")
    raise typer.Exit(EXIT_FAIL if failed or not results else EXIT_PASS)


def licenses(
    category: Annotated[str | None, typer.Option("--category", "-c", help="Only licenses in this category.")] = None,
    rules: RulesOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """List the license catalog: id, SPDX, categories, research status and clause count."""
    from policy.engine.loader import load_bundle

    bundle = load_bundle(tuple(rules or ()))
    entries = sorted(bundle.catalog.entries.values(), key=lambda e: e.id)
    if category:
        entries = [e for e in entries if category in e.categories]
    rows = [{"id": e.id, "name": e.name, "spdx": e.spdx, "categories": sorted(e.categories), "status": e.status,
             "profile": e.profile, "hub_id": e.hub_id, "clauses": [c.type for c in e.clauses]} for e in entries]
    if format is Format.json:
        out(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    for r in rows:
        say(f"{r['id']:<36} {r['status']:<10} {r['profile']:<8} {len(r['clauses']):>2} clauses  "
             f"{', '.join(r['categories'])}  ({r['name']})")
    out(f"{len(rows)} license(s)\n")
