"""`policycheck tree ROOT`: audit every descendant of a Hub model, resumably."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from policy.cli.common import (
    ColorOpt,
    FailOnOpt,
    NoCacheOpt,
    RulesOpt,
    TodayOpt,
    choices,
    date,
    run_audit,
    write_audit,
)
from policy.cli.streams import terminal
from policy.errors import PolicyError
from policy.model.vocab import HUB_RELATIONS

TreeFormat = choices("tree")
TEXT_TREE = TreeFormat("text")


class Discovery(str, Enum):
    walk = "walk"
    index = "index"


Relation = Enum("Relation", {r: r for r in HUB_RELATIONS}, type=str)  # type: ignore[misc]  # the Hub's four


def tree(
    root: Annotated[str, typer.Argument(help="The Hub id (org/name) whose descendants to audit.")],
    format: Annotated[TreeFormat, typer.Option("--format", "-f",  # type: ignore[valid-type]
                                               help="Output format.")] = TEXT_TREE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the output to this file "
                                                "instead of standard output.")] = None,
    state: Annotated[Path | None, typer.Option("--state", help="SQLite file keeping the audit's progress: an "
                                               "interrupted audit resumes from it, a re-run judges again only "
                                               "what changed (default: a temporary file).")] = None,
    relation: Annotated[list[Relation] | None, typer.Option("--relation", help="Follow only these relations "
                                                            "(repeatable; default: all four).")] = None,
    depth: Annotated[int | None, typer.Option("--depth", min=1, help="Descend at most this many levels "
                                              "(1: the root's children only).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Stop after this many "
                                              "descendants.")] = None,
    min_downloads: Annotated[int, typer.Option("--min-downloads", min=0, help="Leave out descendants with "
                                               "fewer downloads (their own descendants are still "
                                               "audited).")] = 0,
    discovery: Annotated[Discovery, typer.Option("--discovery", help="walk: one listing request per node "
                                                 "(the Hub's base_model tag names direct parents only); index: "
                                                 "one pass over the Hub's whole listing, ~1 request per 1,000 "
                                                 "models on the Hub, whatever the tree's size.")] = Discovery.walk,
    snapshot: Annotated[str | None, typer.Option("--snapshot", metavar="SOURCE", help="Discover the descendants "
                                                 "and read their card data from a Hub metadata snapshot (a "
                                                 "Parquet file, or hf://datasets/<org>/<name>@<revision>/<path>), "
                                                 "with no listing request.")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="With --snapshot: fetch each descendant from the Hub, "
                                         "pinned to its commit, instead of trusting the snapshot's "
                                         "card data.")] = False,
    color: ColorOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on standard error.")] = False,
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy file (default: policycheck.yaml "
                                                 "found upward from the current folder).")] = None,
    rules: RulesOpt = None,
    fail_on: FailOnOpt = None,
    today: TodayOpt = None,
    no_cache: NoCacheOpt = False,
    hub_deadline: Annotated[float | None, typer.Option("--hub-deadline", min=0.0, metavar="SECONDS",
                                                       help="Stop each batch's Hub fetches after this "
                                                            "long (default: POLICYCHECK_HUB_DEADLINE "
                                                            "or 60).")] = None,
    walk_deadline: Annotated[float | None, typer.Option("--walk-deadline", min=1.0, metavar="SECONDS",
                                                        help="Stop the walk after this long; a stopped audit is "
                                                             "incomplete (review at best) and resumes from "
                                                             "--state (default: POLICYCHECK_TREE_DEADLINE or "
                                                             "14400, 4 hours).")] = None,
) -> None:
    """Audit every descendant of a Hub model (fine-tunes, adapters, merges, quantizations), from the Hub's
    listing or a metadata snapshot; the audit's verdict decides the exit code.

    Exit codes: 0 pass; 1 fail; 3 review (an incomplete audit is review at best); 2 a usage or input error
    (the root cannot be read); 4 an internal error; 130 interrupted (resumable with --state)."""
    from policy.audit.tree import TreeOptions, TreeResult, audit_tree
    from policy.cli.progress import ProgressDisplay
    from policy.render.tree import TreeOutput
    from policy.scan.ids import repo_id_problem

    problem = repo_id_problem(root)
    if problem:
        raise typer.BadParameter(f"'{root}' is not a Hub repo id (org/name): {problem}", param_hint="ROOT")
    if verify and not snapshot:
        raise typer.BadParameter("--verify checks a snapshot's rows against the Hub; give --snapshot too",
                                 param_hint="--verify")
    if not snapshot and os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise PolicyError("policycheck tree needs the Hub's listing (or --snapshot), and HF_HUB_OFFLINE is set")
    options = TreeOptions(root=root, relations=frozenset(r.value for r in relation) if relation else None,
                          depth=depth, limit=limit, min_downloads=min_downloads, state=state,
                          policy_file=policy, rules=tuple(rules or ()), fail_on=fail_on.value if fail_on else None,
                          today=date(today), use_cache=not no_cache, hub_deadline=hub_deadline,
                          discovery=discovery.value, walk_deadline=walk_deadline, snapshot=snapshot, verify=verify)
    use_color, width = terminal(output, color)
    err_color = color if color is not None else not os.environ.get("NO_COLOR")

    def audit() -> TreeResult:
        with ProgressDisplay(root, enabled=not quiet, color=err_color) as progress:
            return audit_tree(options, progress)

    result = run_audit(f"tree audit of {root}", state, audit)
    with result:
        write_audit("tree", format.value, TreeOutput(result.summary, result.rows), result.verdict, output, use_color,
                    width)
