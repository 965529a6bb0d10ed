"""`policycheck hub-audit --snapshot SOURCE`: judge every model of a Hub metadata snapshot, resumably."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from policy.cli.common import ColorOpt, FailOnOpt, RulesOpt, TodayOpt, choices, date, run_audit, write_audit
from policy.cli.streams import terminal
from policy.model.vocab import HUB_RELATIONS

HubAuditFormat = choices("hub-audit")
TEXT = HubAuditFormat("text")
Relation = Enum("Relation", {r: r for r in HUB_RELATIONS}, type=str)  # type: ignore[misc]  # the Hub's four


def hub_audit(
    snapshot: Annotated[str, typer.Option("--snapshot", metavar="SOURCE", help="The Hub metadata snapshot: a "
                                          "Parquet file, or hf://datasets/<org>/<name>@<revision>/<path> "
                                          "(downloaded once, cached).")],
    license: Annotated[list[str] | None, typer.Option("--license", help="Only models whose card declares this "
                                                      "license id (repeatable).")] = None,
    author: Annotated[list[str] | None, typer.Option("--author", help="Only models of this organisation or user "
                                                     "(repeatable).")] = None,
    relation: Annotated[list[Relation] | None, typer.Option("--relation", help="Only models whose relation to "
                                                            "their base is this (repeatable).")] = None,
    min_downloads: Annotated[int, typer.Option("--min-downloads", min=0, help="Only models with at least this "
                                               "many downloads.")] = 0,
    root: Annotated[str | None, typer.Option("--root", help="Only this model and its descendants.")] = None,
    shard: Annotated[str | None, typer.Option("--shard", metavar="K/N", help="Only the K-th of N shards (whole "
                                              "families, the same split on every machine).")] = None,
    format: Annotated[HubAuditFormat, typer.Option("--format", "-f",  # type: ignore[valid-type]
                                                   help="Output format (parquet needs --output).")] = TEXT,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the output to this file "
                                                "instead of standard output.")] = None,
    state: Annotated[Path | None, typer.Option("--state", help="SQLite file keeping the audit's progress: an "
                                               "interrupted audit resumes from it without judging again what "
                                               "it finished (default: a temporary file).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Processes judging in parallel "
                                                "(default: one per core).")] = None,
    color: ColorOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on standard error.")] = False,
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy file (default: policycheck.yaml "
                                                 "found upward from the current folder).")] = None,
    rules: RulesOpt = None,
    fail_on: FailOnOpt = None,
    today: TodayOpt = None,
) -> None:
    """Judge every model of a Hub metadata snapshot against its lineage within the snapshot (an ancestor the
    snapshot lacks is review, with the reason); nothing is fetched. The summary counts verdicts, declared
    licenses against each family root's, rules and organisations; then the rows, most downloaded first.

    Exit codes: 0 pass; 1 fail; 3 review; 2 a usage or input error (a snapshot that cannot be read, a missing
    column); 4 an internal error; 130 interrupted (resumable with --state)."""
    from policy.audit.hub import HubAuditOptions, HubAuditResult, audit_hub
    from policy.cli.progress import ProgressDisplay
    from policy.render.hub_audit import HubAuditOutput

    parts = shard.split("/") if shard else None
    if parts is not None and not (len(parts) == 2 and all(p.isdigit() for p in parts)
                                  and 1 <= int(parts[0]) <= int(parts[1])):
        raise typer.BadParameter(f"{shard!r}: K/N with 1 <= K <= N, e.g. 2/8", param_hint="--shard")
    if format.value == "parquet" and output is None:
        raise typer.BadParameter("parquet is binary: give --output FILE", param_hint="--format")
    options = HubAuditOptions(snapshot=snapshot, licenses=tuple(license or ()), authors=tuple(author or ()),
                              relations=tuple(r.value for r in relation or ()), min_downloads=min_downloads,
                              root=root, shard=(int(parts[0]), int(parts[1])) if parts else None, state=state,
                              policy_file=policy, rules=tuple(rules or ()),
                              fail_on=fail_on.value if fail_on else None, today=date(today), workers=workers)
    use_color, width = terminal(output, color)
    err_color = color if color is not None else not os.environ.get("NO_COLOR")

    def audit() -> HubAuditResult:
        with ProgressDisplay("--snapshot " + snapshot, enabled=not quiet, color=err_color,
                             command="hub-audit") as progress:
            return audit_hub(options, progress)

    result = run_audit("hub audit", state, audit)
    with result:
        write_audit("hub-audit", format.value, HubAuditOutput(result.summary, result.rows), result.verdict, output,
                    use_color, width)
