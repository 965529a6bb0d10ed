"""`policycheck inventory PATH`: the models a code repository uses, found without running or importing any of it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from policy.cli.common import ColorOpt, NoCacheOpt, RulesOpt, choices
from policy.cli.streams import open_output, terminal
from policy.errors import EXIT_PASS, EXIT_REVIEW, UsageError
from policy.render.registry import RenderOptions, render

InventoryFormat = choices("inventory")
TEXT_INVENTORY = InventoryFormat("text")

IncludeOpt = Annotated[list[str] | None, typer.Option("--include", metavar="tests,docs", help="Also judge (with "
                                                      "check --inventory) the models only the tests or the "
                                                      "documentation use (comma-separated, repeatable).")]


def include_scopes(words: list[str] | None) -> tuple[str, ...]:
    """`--include tests,docs` as the scopes it adds; a usage error for a word it does not know."""
    from policy.model.inventory import parse_include

    try:
        return parse_include(words or ())
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def inventory(
    path: Annotated[Path, typer.Argument(help="The repository's folder.")],
    format: Annotated[InventoryFormat, typer.Option("--format", "-f",  # type: ignore[valid-type]
                                                    help="Output format.")] = TEXT_INVENTORY,
    include: IncludeOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the output to this file "
                                                "instead of standard output.")] = None,
    color: ColorOpt = None,
    rules: RulesOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """List the models a code repository uses: each once, with every place it is loaded, downloaded, called
    through an API, configured or documented.

    Python is read by its syntax tree; YAML, JSON and TOML configuration, Dockerfiles, compose files, Kubernetes
    manifests, shell scripts and Ollama Modelfiles as text; GGUF and safetensors weights by their headers.
    Nothing in the repository is run or imported. Models are runtime (the application), test or docs; only
    runtime models are judged by `check --inventory PATH` unless --include says otherwise.

    Exit codes: 0 the inventory is complete; 3 a bound (files, entries, bytes, models) was reached, so models
    may be missing; 2 a usage error (PATH is not a folder); 141 when the reader of the output went away."""
    from policy.pipeline.inventory import InventoryOptions, take

    found = take(path, InventoryOptions(rules=tuple(rules or ()), use_cache=not no_cache,
                                        include=include_scopes(include)))
    use_color, width = terminal(output, color)
    options = RenderOptions(color=use_color, width=width, day=dt.date.today())
    with open_output(output) as write:
        for chunk in render("inventory", format.value, found, options):
            write(chunk)
    raise typer.Exit(EXIT_REVIEW if found.incomplete else EXIT_PASS)
