"""`policycheck annex MODEL...`: a partner-agreement annex drafted from the checks of the licensed models."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from policy.cli.common import VERDICT_EXIT, CardsOpt, OfflineOpt, PolicyOpt, RevisionOpt, RulesOpt, choices, date
from policy.cli.streams import err, open_output
from policy.errors import EXIT_ERROR, EXIT_INTERNAL, combine_exit_codes
from policy.render.registry import RenderOptions, render

AnnexFormat = choices("annex")
MARKDOWN = AnnexFormat("markdown")


class AnnexSide(str, Enum):
    provider = "provider"
    recipient = "recipient"


PROVIDER = AnnexSide.provider


def annex(
    targets: Annotated[list[str], typer.Argument(help="The licensed models: card files, model folders or Hub ids.")],
    side: Annotated[AnnexSide, typer.Option("--side", help="Whose protection the annex is drafted for: the "
                                            "provider's (the recipient's duties, audit, no-distillation) or the "
                                            "recipient's (the provider's warranties, a covenant to cure each "
                                            "open finding before delivery, an indemnity against upstream "
                                            "licensors' claims).")] = PROVIDER,
    with_clause: Annotated[list[str] | None, typer.Option("--with-clause", metavar="CLAUSE", help="Include a "
                                                          "clause of the other side as well, e.g. audit or "
                                                          "no-distillation on the recipient's side (repeatable; "
                                                          "the audit rights then run both ways).")] = None,
    party: Annotated[str | None, typer.Option("--provider", "--party", help="The Provider (the party supplying "
                                              "the models): its legal name (parameter party.name).")] = None,
    counterparty: Annotated[str | None, typer.Option("--recipient", "--counterparty", help="The Recipient (the "
                                                     "party receiving them): its legal name (parameter "
                                                     "counterparty.name).")] = None,
    params: Annotated[Path | None, typer.Option("--params", help="YAML file of annex parameters (schema: "
                                                "policycheck/annex/v1; see rules/schema/annex.json).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", metavar="NAME=VALUE", help="Set one parameter, "
                                                    "e.g. --param governing_law='the laws of Germany' "
                                                    "(repeatable; overrides --params).")] = None,
    governing_law: Annotated[str | None, typer.Option("--governing-law", help="Parameter governing_law.")] = None,
    format: Annotated[AnnexFormat, typer.Option("--format", "-f", help="Output format (docx needs "
                                                "--output).")] = MARKDOWN,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the annex to this file.")] = None,
    templates: Annotated[list[Path] | None, typer.Option("--templates", help="Folder overriding the shipped "
                                                         "annex/ and clauses/ templates (repeatable).")] = None,
    policy: PolicyOpt = None,
    rules: RulesOpt = None,
    cards: CardsOpt = None,
    today: Annotated[str | None, typer.Option("--today", help="Date of the annex and of waiver checks "
                                              "(YYYY-MM-DD; default: today).")] = None,
    offline: OfflineOpt = False,
    revision: RevisionOpt = None,
) -> None:
    """Render a partner-agreement annex (a draft for counsel, not legal advice) from the checks of TARGETs.

    The exit code is the checks' (0 pass, 1 fail, 3 review; the annex is written in every case and lists the
    open findings for counsel); 2 for a usage or parameter error or a target that cannot be read."""
    from policy.documents.annex import build_annex, load_library, load_params, merge_params, parse_param_option
    from policy.errors import UsageError
    from policy.model.report import Report, TargetError
    from policy.pipeline.session import CheckOptions, Session
    from policy.templating import template_folders

    if format.value == "docx" and output is None:
        raise UsageError("--format docx writes a Word file: give it with --output FILE.docx")
    templates = list(template_folders(templates))
    overrides: dict[str, object] = dict(parse_param_option(p) for p in param or ())
    overrides.update({k: v for k, v in (("party.name", party), ("counterparty.name", counterparty),
                                        ("governing_law", governing_law)) if v is not None})
    values = merge_params(load_params(params) if params else {}, overrides)
    options = CheckOptions(policy_file=policy, rules=tuple(rules or ()), cards=tuple(cards or ()),
                           today=date(today), offline=offline, revision=revision)
    with Session(options) as session:
        results = list(session.check_all(targets))
        names = {e.id: e.name for e in session.catalog.entries.values()}
    failed = [r for r in results if isinstance(r, TargetError)]
    if failed:
        for r in failed:
            err(f"policycheck: {r.message}")
            for frame in r.frames:
                err(frame)
        err("policycheck: no annex written: every licensed model must be checked")
        raise typer.Exit(EXIT_INTERNAL if any(r.internal for r in failed) else EXIT_ERROR)
    reports = [r for r in results if isinstance(r, Report)]
    folders = tuple(templates or ())
    context = build_annex(reports, values, load_library(folders), license_names=names, template_dirs=folders,
                          side=side.value, also=tuple(with_clause or ()))
    with open_output(output) as write:
        for chunk in render("annex", format.value, context, RenderOptions(templates=folders)):
            write(chunk)
    missing = context["missing_parameters"]
    if missing:
        err(f"policycheck: annex written with {len(missing)} parameter(s) not set, shown as "
            f"[PARAMETER: name]: {', '.join(missing)}")
    raise typer.Exit(combine_exit_codes(sorted({VERDICT_EXIT[r.verdict] for r in results})))  # type: ignore[union-attr]
