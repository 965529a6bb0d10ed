"""`policycheck claims TARGET` and `policycheck fingerprint REPO`: a model's evaluation claims, judged, and
a reference fingerprint of a Hub repo's weight files."""

from __future__ import annotations

from typing import Annotated

import typer

from policy.cli.common import EvalsOpt, PolicyOpt, choices
from policy.cli.streams import out, terminal
from policy.errors import EXIT_PASS, EXIT_REVIEW
from policy.render.registry import RenderOptions, render

ClaimsFormat = choices("claims")
TEXT = ClaimsFormat("text")


def claims(
    target: Annotated[str, typer.Argument(help="A model card file, a model folder or a Hub id (org/name).")],
    evals: EvalsOpt = None,
    format: Annotated[ClaimsFormat, typer.Option("--format", "-f",  # type: ignore[valid-type]
                                                 help="Output format.")] = TEXT,
    policy: PolicyOpt = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use only local files and the Hub cache; send "
                                          "no request.")] = False,
    revision: Annotated[str | None, typer.Option("--revision", help="Pin a Hub target to this revision.")] = None,
) -> None:
    """The evaluation claims a model makes (model-index, result tables in the card, .eval_results/), what each
    is (verified by the Hub, self-reported, matched to an independent value) and the evidence about them.
    Exit 3 when a claim needs review, 0 otherwise."""
    from policy.pipeline.claims import CheckOptions, claims_of
    result = claims_of(target, CheckOptions(policy_file=policy, offline=offline, revision=revision, evals=evals))
    use_color, width = terminal(None, None)
    for chunk in render("claims", format.value, result, RenderOptions(color=use_color, width=width)):
        out(chunk)  # type: ignore[arg-type]
    raise typer.Exit(EXIT_REVIEW if result["verdict"] == "review" else EXIT_PASS)


def fingerprint(
    repo: Annotated[str, typer.Argument(help="The Hub id (org/name) whose weight files to record.")],
    revision: Annotated[str | None, typer.Option("--revision", help="A branch, tag or commit (default: main, "
                                                 "recorded as its commit).")] = None,
) -> None:
    """Print a reference-fingerprint entry for `evidence/fingerprints.yaml`: the sha256 of the repo's LFS
    weight files from the Hub's file listing, pinned to a commit, with its source (no weights downloaded)."""
    from policy.pipeline.fingerprint import fingerprint_entry

    out(fingerprint_entry(repo, revision))
