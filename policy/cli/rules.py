"""`policycheck rules list|validate|test` and `policycheck licenses [ID]`: the rule packs and the license catalog."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Annotated

import typer

from policy.cli.common import ColorOpt, Format, FormatOpt, RulesOpt
from policy.cli.streams import err, out, say, table, terminal
from policy.errors import EXIT_FAIL, EXIT_PASS, UsageError

if TYPE_CHECKING:
    from policy.model.catalog import Catalog


def rules_list(rules: RulesOpt = None, format: FormatOpt = Format.text, color: ColorOpt = None) -> None:
    """List the rules of every loaded pack (rule, severity, kind, title)."""
    from policy.engine.loader import load_bundle

    bundle = load_bundle(tuple(rules or ()))
    rows = [{"pack": p.id, "version": p.version, "rule": r.id, "severity": r.severity, "kind": r.kind,
             "for_each": r.for_each, "title": r.title} for p in bundle.packs for r in p.rules]
    if format is Format.json:
        out(json.dumps(rows, indent=2) + "\n")
        return
    use_color, width = terminal(None, color)
    table(("RULE", "SEVERITY", "KIND", "TITLE"),
          [(f"{r['pack']}/{r['rule']}", r["severity"], r["kind"], r["title"]) for r in rows], width,
          color=use_color, first_max=30)


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
    license_id: Annotated[str | None, typer.Argument(
        metavar="[ID]", help="Show this license's clauses with their citations (a catalog id, alias or name).",
        show_default=False)] = None,
    category: Annotated[str | None, typer.Option("--category", "-c", help="Only licenses in this category "
                                                 "(an unknown one is a usage error that lists them).")] = None,
    rules: RulesOpt = None,
    format: FormatOpt = Format.text,
    color: ColorOpt = None,
) -> None:
    """List the license catalog (id, research status, profile, clauses, categories); with an ID, show that
    license's identity, notes and every clause with its citation (section, quote, pinned source, grade)."""
    from policy.engine.loader import load_bundle

    bundle = load_bundle(tuple(rules or ()))
    use_color, width = terminal(None, color)
    if license_id is not None:
        _show_license(bundle.catalog, license_id, format, width)
        return
    entries = sorted(bundle.catalog.entries.values(), key=lambda e: e.id)
    if category is not None:
        known = sorted({c for e in entries for c in e.categories})
        if category not in known:
            close = difflib.get_close_matches(category, known, n=1)
            raise UsageError(f"no license category '{category}'" + (f" (did you mean {close[0]}?)" if close else "")
                             + f"; the categories are: {', '.join(known)}")
        entries = [e for e in entries if category in e.categories]
    rows = [{"id": e.id, "name": e.name, "spdx": e.spdx, "categories": sorted(e.categories), "status": e.status,
             "profile": e.profile, "hub_id": e.hub_id, "clauses": [c.type for c in e.clauses]} for e in entries]
    if format is Format.json:
        out(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    table(("ID", "STATUS", "PROFILE", "CLAUSES", "CATEGORIES"),
          [(r["id"], r["status"], r["profile"], str(len(r["clauses"])), ", ".join(r["categories"])) for r in rows],
          width, color=use_color, first_max=28)
    out(f"{len(rows)} license(s)" + (f" in category {category}" if category else "")
        + "; `policycheck licenses ID` shows one with its clauses\n")


def _show_license(catalog: Catalog, license_id: str, format: Format, width: int = 80) -> None:
    """One catalog entry: what it is, and each clause with its citation (where its text was read, how well),
    wrapped to `width` columns."""
    import textwrap

    from policy.textsafe import printable

    def put(line: str) -> None:
        """`say`, wrapped: continuation lines two columns further in than the line's own indent."""
        text = printable(line)
        deeper = " " * (len(text) - len(text.lstrip(" ")) + 2)
        out("\n".join(textwrap.wrap(text, width, subsequent_indent=deeper, break_long_words=False,
                                     break_on_hyphens=False)) + "\n")
    from policy.model.citations import describe_source
    from policy.model.vocab import GRADE_MEANINGS

    lid = license_id if license_id in catalog.entries else catalog.lookup(license_id)
    entry = catalog.get(lid) if lid else None
    if entry is None:
        close = difflib.get_close_matches(license_id.lower(), sorted(catalog.entries), n=3)
        raise UsageError(f"no license '{license_id}' in the catalog" +
                         (f" (did you mean {', '.join(close)}?)" if close else "") +
                         "; `policycheck licenses` lists them")
    if format is Format.json:
        data = {"id": entry.id, "name": entry.name, "spdx": entry.spdx, "kind": entry.kind,
                "categories": sorted(entry.categories), "status": entry.status, "profile": entry.profile,
                "hub_id": entry.hub_id, "url": entry.url, "licensor": entry.licensor,
                "aliases": list(entry.aliases), "api_models": list(entry.api_models),
                "notes": list(entry.notes),
                "clauses": [c.to_dict() for c in entry.clauses]}
        out(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    put(f"{entry.id}: {entry.name}")
    put(f"  status {entry.status}, profile {entry.profile}; SPDX {entry.spdx}; {', '.join(sorted(entry.categories))}")
    if entry.url:
        put(f"  url: {entry.url}")
    if entry.aliases:
        put(f"  aliases: {', '.join(entry.aliases)}")
    if entry.profile == "identity" or not entry.clauses:
        put("  no clauses profiled: rules answer review for this license" if entry.profile == "identity"
            else "  no clause restricts or obliges under this license (see its notes)")
    for n, c in enumerate(entry.clauses, 1):
        cit = c.citation
        put(f"  {n}. {c.type} [{', '.join(sorted(c.applies_to))}]" +
            (f" {json.dumps(dict(c.params), ensure_ascii=False, sort_keys=True)}" if c.params else ""))
        if c.obligation:
            put(f"     {c.obligation}")
        put(f"     {cit.section}: \u201c{cit.quote}\u201d" if cit.quote else f"     {cit.section}")
        meaning = GRADE_MEANINGS.get(cit.grade, "")
        put(f"     source: {describe_source(cit.source).label} [grade {cit.grade}{': ' + meaning if meaning else ''}]")
        if cit.note:
            put(f"     note: {cit.note}")
    for note in entry.notes:
        put(f"  note: {note}")
    out(f"{len(entry.clauses)} clause(s)\n")
