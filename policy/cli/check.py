"""`policycheck check TARGET...`: check models against the rule packs; the verdict decides the exit code."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from policy.cli.common import (
    VERDICT_EXIT,
    ColorOpt,
    EvalsOpt,
    FailOnOpt,
    NoCacheOpt,
    PolicyOpt,
    RulesOpt,
    TodayOpt,
    choices,
    date,
)
from policy.cli.inventory import IncludeOpt, include_scopes
from policy.cli.streams import err, open_output, terminal
from policy.errors import EXIT_ERROR, EXIT_INTERNAL, EXIT_REVIEW, UsageError, combine_exit_codes
from policy.render.registry import BOM_FORMATS, RenderOptions, render

if TYPE_CHECKING:
    from policy.model.report import Report

ReportFormat = choices("check")
TEXT_REPORT = ReportFormat("text")


def check(
    targets: Annotated[list[str] | None, typer.Argument(help="Model card files, model folders or Hub ids "
                                                        "(org/name).", show_default=False)] = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f",  # type: ignore[valid-type]
                                                 help="Output format.")] = TEXT_REPORT,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the output to this file "
                                                "instead of standard output.")] = None,
    templates: Annotated[list[Path] | None, typer.Option("--templates", help="Folder of templates that "
                                                         "override the shipped ones (repeatable).")] = None,
    color: ColorOpt = None,
    concise: Annotated[bool, typer.Option("--concise", help="Text: one line per target (verdict, id, the "
                                          "decisive finding), then the summary.")] = False,
    policy: PolicyOpt = None,
    rules: RulesOpt = None,
    cards: Annotated[list[Path] | None, typer.Option("--cards", help="Folder of local cards (org__name.md or "
                                                      "org/name/README.md) to resolve ancestors offline.")] = None,
    fail_on: FailOnOpt = None,
    today: TodayOpt = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use only local cards, the Hub cache and "
                                          "curations; send no request (also HF_HUB_OFFLINE=1).")] = False,
    evals: EvalsOpt = None,
    revision: Annotated[str | None, typer.Option("--revision", help="Pin Hub targets to this branch, tag or "
                                                 "commit.")] = None,
    no_cache: NoCacheOpt = False,
    hub_deadline: Annotated[float | None, typer.Option("--hub-deadline", min=0.0, metavar="SECONDS",
                                                       help="Stop a target's Hub work after this long; "
                                                            "what is missing then is a review finding "
                                                            "(default: POLICYCHECK_HUB_DEADLINE or 60).")] = None,
    inventory: Annotated[Path | None, typer.Option("--inventory", metavar="PATH", help="Also check every runtime "
                                                   "model the code repository at PATH uses (see `policycheck "
                                                   "inventory`), with the policy file found from PATH; the BOM "
                                                   "formats make the application their root.")] = None,
    include: IncludeOpt = None,
) -> None:
    """Check models against the rule packs; the verdict decides the exit code.

    Exit codes: 0 pass; 1 fail (an open violation at or above --fail-on); 3 review (a fact needed for a decision
    is missing); 2 a usage, configuration or input error (a target that cannot be read: the others are still
    checked); 4 an internal error. A batch exits with its worst outcome (4, 2, 1, 3, then 0); 141 when the
    reader of the output went away (`| head`). Not legal advice."""
    from policy.model.report import TargetError
    from policy.pipeline.check import CheckOptions, iter_check
    from policy.templating import template_folders

    if not targets and inventory is None:
        raise UsageError("give a target to check (a card file, a model folder, a Hub id) or --inventory PATH")
    if include and inventory is None:
        raise UsageError("--include goes with --inventory PATH")
    day = date(today)
    options = CheckOptions(policy_file=policy, rules=tuple(rules or ()), cards=tuple(cards or ()),
                           fail_on=fail_on.value if fail_on else None, today=day, use_cache=not no_cache,
                           offline=offline, revision=revision, hub_deadline=hub_deadline, evals=evals,
                           weight_hashes=format.value in BOM_FORMATS)
    codes: set[int] = set()  # results are written as they arrive and not kept: a batch's memory stays flat
    found = None
    if inventory is not None:
        from policy.pipeline.inventory import InventoryOptions, take

        found = take(inventory, InventoryOptions(rules=tuple(rules or ()), use_cache=not no_cache,
                                                 include=include_scopes(include)))
        if found.incomplete:
            err(f"policycheck: the inventory of {inventory} is incomplete ({found.incomplete}): models in what "
                "was not read are not checked")
            codes.add(EXIT_REVIEW)

    online = not offline and os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes", "on")

    def counted() -> Iterator[object]:
        for r in iter_check(targets or (), options, inventory=found):
            codes.add(EXIT_INTERNAL if isinstance(r, TargetError) and r.internal else
                      EXIT_ERROR if isinstance(r, TargetError) else VERDICT_EXIT[r.verdict])
            yield r if isinstance(r, TargetError) or not online else with_hub_notices(r)

    templates = list(template_folders(templates))
    use_color, width = terminal(output, color)
    render_options = RenderOptions(templates=tuple(templates or ()), color=use_color, width=width, concise=concise,
                                   day=day, on_unwritable=lambda _r: codes.add(EXIT_INTERNAL), application=found)
    with open_output(output) as write:
        for chunk in render("check", format.value, counted(), render_options):
            write(chunk)
    raise typer.Exit(combine_exit_codes(sorted(codes)))


def with_hub_notices(report: Report) -> Report:
    """An online check whose ancestors were not read from the Hub says so first, in every format: the Hub
    could not serve them (no network, an outage), so the verdict rests on the local cache (`source: cache`) or
    on curated and policy-file facts alone (`source: curation`, `policy`). The JSON report's `evaluated` rows
    carry the same; the pre-push hook, which prints text, must not pass on them silently."""
    ancestors = [e for e in report.evaluated if e.id != report.subject.id]
    cached = [f"{e.id} (cache of {(e.retrieved_at or 'an unknown date')[:10]})" for e in ancestors
              if e.source == "cache"]
    filled = [e for e in ancestors if e.source in ("curation", "policy")]
    notices = []
    if cached:
        notices.append(f"Hub unreachable: {len(cached)} ancestor(s) read from the local cache instead, as last "
                       f"downloaded: {', '.join(cached)}")
    if filled:
        reason = filled[0].detail.rsplit("; license from ", 1)[0] or filled[0].status
        notices.append(f"Hub not read: {len(filled)} ancestor(s) evaluated from curated or policy-file facts only "
                       f"({reason}): {', '.join(e.id for e in filled)}")
    if not notices:
        return report
    return dataclasses.replace(report, notices=(*report.notices, *notices))
