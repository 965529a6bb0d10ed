"""`policycheck aiact MODEL...`: the EU AI Act documentation pack of a general-purpose AI model's provider."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from policy.cli.common import CardsOpt, OfflineOpt, PolicyOpt, RevisionOpt, RulesOpt, choices, date
from policy.cli.streams import err, open_output
from policy.errors import EXIT_ERROR, EXIT_INTERNAL, EXIT_REVIEW
from policy.render.registry import RenderOptions, render

AiActFormat = choices("aiact")
MARKDOWN = AiActFormat("markdown")


def aiact(
    targets: Annotated[list[str], typer.Argument(help="The models: card files, model folders or Hub ids.")],
    format: Annotated[AiActFormat, typer.Option("--format", "-f", help="Output format.")] = MARKDOWN,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the pack to this file.")] = None,
    templates: Annotated[list[Path] | None, typer.Option("--templates", help="Folder overriding the shipped "
                                                         "aiact/ templates (repeatable).")] = None,
    policy: PolicyOpt = None,
    rules: RulesOpt = None,
    cards: CardsOpt = None,
    today: Annotated[str | None, typer.Option("--today", help="Date of the pack (YYYY-MM-DD; default: "
                                              "today).")] = None,
    offline: OfflineOpt = False,
    revision: RevisionOpt = None,
) -> None:
    """Draft the EU AI Act documentation of a general-purpose AI model's provider (Article 53: technical
    documentation, information for downstream providers, copyright policy, public summary of training content)
    from the lineage of TARGETs, with every item the card cannot answer shown as a gap. Not legal advice.

    Exit 3: the pack is a draft for a person to complete (always, since some items are never in a card);
    2 for a usage error or a target that cannot be read."""
    from policy.documents.aiact import build_packs
    from policy.model.report import Report, TargetError
    from policy.pipeline.check import CheckOptions, iter_check
    from policy.templating import template_folders

    templates = list(template_folders(templates))
    options = CheckOptions(policy_file=policy, rules=tuple(rules or ()), cards=tuple(cards or ()),
                           today=date(today), offline=offline, revision=revision)
    results = list(iter_check(targets, options))
    failed = [r for r in results if isinstance(r, TargetError)]
    for r in failed:
        err(f"policycheck: {r.message}")
        for frame in r.frames:
            err(frame)
    packs = build_packs([r for r in results if isinstance(r, Report)])
    if packs:
        with open_output(output) as write:
            for chunk in render("aiact", format.value, packs, RenderOptions(templates=tuple(templates or ()))):
                write(chunk)
        gaps = sum(p["counts"]["gaps"] for p in packs)
        err(f"policycheck: AI Act pack written for {len(packs)} model(s): a draft with {gaps} gap(s) for a "
             "person to complete; not legal advice")
    if failed:
        raise typer.Exit(EXIT_INTERNAL if any(r.internal for r in failed) else EXIT_ERROR)
    raise typer.Exit(EXIT_REVIEW)
