"""The command line: a thin typer layer and the only place exceptions become exit codes.

    policycheck org/model            same as `policycheck check org/model` (also a card file or a folder)
    policycheck check TARGET...      card files, model folders or Hub ids; `check gpt2` for a one-word Hub id
    policycheck lint CARD... [--fix] card metadata problems and rule findings at the line to change
    policycheck tree org/model       audit every descendant of a Hub model (resumable with --state FILE)
    policycheck claims TARGET        a model's evaluation claims, judged (--evals FILE: independent values)
    policycheck rules list|validate|test
    policycheck licenses [--category C]

Exit codes: 0 pass, 1 fail, 3 review, 2 usage/configuration/input error, 4 internal error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from policy import __version__
from policy.errors import EXIT_ERROR, EXIT_FAIL, EXIT_INTERNAL, EXIT_PASS, EXIT_REVIEW, PolicyError, combine_exit_codes
from policy.model.facts import HUB_RELATIONS

HELP = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None, context_settings=HELP,
                  help="policycheck: license and compliance checks for ML models and their lineage. "
                       "Not legal advice.")
rules_app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings=HELP,
                        help="List, validate and test rule packs.")
app.add_typer(rules_app, name="rules")


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"policycheck {__version__}\n")
        raise typer.Exit(EXIT_PASS)


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """policycheck: license and compliance checks for ML models and their lineage. Not legal advice."""

VERDICT_EXIT = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "review": EXIT_REVIEW}


class Format(str, Enum):
    text = "text"
    json = "json"


class ReportFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"
    sarif = "sarif"
    junit = "junit"
    spdx_json = "spdx-json"
    spdx_tv = "spdx-tv"
    cyclonedx = "cyclonedx"
    cyclonedx_17 = "cyclonedx-1.7"
    spdx3 = "spdx3"


BOM_FORMATS = frozenset({"cyclonedx", "cyclonedx-1.7", "spdx3"})  # these list a Hub subject's weight hashes


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    note = "note"


RulesOpt = Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule data: a folder of packs, "
                                                      "catalog entries and curations (repeatable).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
FailOnOpt = Annotated[Severity | None, typer.Option("--fail-on", help="Lowest severity that fails "
                                                    "(default: error).")]
TodayOpt = Annotated[str | None, typer.Option("--today", help="Evaluate waivers as of this date "
                                              "(YYYY-MM-DD; default: today).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Re-validate rule data instead of using the "
                                          "validated cache.")]
EvalsOpt = Annotated[Path | None, typer.Option("--evals", metavar="FILE", help="Independent evaluation values "
                                               "(CSV or JSON rows: model, revision, benchmark, value, scale, "
                                               "source), e.g. a frozen leaderboard export; claims are judged "
                                               "against them. Never fetched.")]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Policy file (default: policycheck.yaml found "
                                                "upward from the target).")]
CardsOpt = Annotated[list[Path] | None, typer.Option("--cards", help="Folder of local cards to resolve ancestors "
                                                     "offline.")]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Send no request to the Hub.")]
RevisionOpt = Annotated[str | None, typer.Option("--revision", help="Pin Hub targets to this revision.")]
ColorOpt = Annotated[bool | None, typer.Option("--color/--no-color", help="Colour the text output (default: "
                                               "on a terminal, unless NO_COLOR is set).")]


def _terminal(output: Path | None, color: bool | None) -> tuple[bool, int]:
    """(colour, width) of text output. Colour only on a terminal and never under NO_COLOR
    (https://no-color.org) unless asked for; 80 columns unless the terminal says otherwise (COLUMNS or its
    size), never fewer than 60 nor more than 120."""
    tty = output is None and sys.stdout.isatty()
    use_color = color if color is not None else tty and not os.environ.get("NO_COLOR")
    width = min(shutil.get_terminal_size((80, 24)).columns, 120) if tty or "COLUMNS" in os.environ else 80
    return use_color, max(width, 60)


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _say(line: str) -> None:
    """One line of text output whose values come from rule data or cards: control characters made visible."""
    from policy.render.text import printable

    _out(printable(line) + "\n")


def _err(text: str) -> None:
    """An error message for the terminal: its lines kept, control characters in them shown as escapes."""
    from policy.render.text import printable

    lines = text[:-1] if text.endswith("\n") else text
    sys.stderr.write("\n".join(printable(line) for line in lines.split("\n")) + "\n")


@app.command()
def check(
    targets: Annotated[list[str], typer.Argument(help="Model card files, model folders or Hub ids (org/name).")],
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")] = ReportFormat.text,
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
) -> None:
    """Check models against the rule packs; the verdict decides the exit code."""
    from policy.model.report import TargetError
    from policy.pipeline.check import CheckOptions, iter_check

    day = _date(today)
    options = CheckOptions(policy_file=policy, rules=tuple(rules or ()), cards=tuple(cards or ()),
                           fail_on=fail_on.value if fail_on else None, today=day, use_cache=not no_cache,
                           offline=offline, revision=revision, hub_deadline=hub_deadline, evals=evals,
                           weight_hashes=format.value in BOM_FORMATS)
    codes: set[int] = set()  # results are written as they arrive and not kept: a batch's memory stays flat

    def code_of(r: object, failed: bool = False) -> None:
        codes.add(EXIT_INTERNAL if failed or (isinstance(r, TargetError) and r.internal) else
                  EXIT_ERROR if isinstance(r, TargetError) else VERDICT_EXIT[r.verdict])  # type: ignore[attr-defined]

    for folder in templates or ():
        if not folder.is_dir():
            raise PolicyError(f"--templates {folder}: no such folder")
    results = iter_check(targets, options)
    with _output(output) as write:
        if format is ReportFormat.json:
            from policy.render.json import write_json

            write_json(results, write, code_of)
        elif format is ReportFormat.text:
            from policy.render.text import iter_text

            def counted() -> Iterator[object]:
                for r in results:
                    code_of(r)
                    yield r

            use_color, width = _terminal(output, color)
            for chunk in iter_text(counted(), color=use_color, width=width,  # type: ignore[arg-type]
                                   concise=concise):
                write(chunk)
        else:
            from policy.render import RenderOptions, render_document

            collected = []
            for r in results:  # a document covers the whole batch
                code_of(r)
                collected.append(r)
            document = render_document(format.value, collected,
                                       RenderOptions(templates=tuple(templates or ()), day=day))
            write(document)
    raise typer.Exit(_combine(sorted(codes)))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                                "help_option_names": []}, add_help_option=False)
def lint(ctx: typer.Context) -> None:
    """Lint model cards: metadata problems and rule findings at the line to change (offline by default).

    Options and help: `policycheck lint -h` (policy/lint/command.py)."""
    from policy.lint.command import run

    raise typer.Exit(run(ctx.args))


class AnnexFormat(str, Enum):
    markdown = "markdown"
    docx = "docx"


@app.command()
def annex(
    targets: Annotated[list[str], typer.Argument(help="The licensed models: card files, model folders or Hub ids.")],
    party: Annotated[str | None, typer.Option("--party", help="The Provider (the party supplying the models): "
                                              "its legal name (parameter party.name).")] = None,
    counterparty: Annotated[str | None, typer.Option("--counterparty", help="The Recipient: its legal name "
                                                     "(parameter counterparty.name).")] = None,
    params: Annotated[Path | None, typer.Option("--params", help="YAML file of annex parameters (schema: "
                                                "policycheck/annex/v1; see rules/schema/annex.json).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", metavar="NAME=VALUE", help="Set one parameter, "
                                                    "e.g. --param governing_law='the laws of Germany' "
                                                    "(repeatable; overrides --params).")] = None,
    governing_law: Annotated[str | None, typer.Option("--governing-law", help="Parameter governing_law.")] = None,
    format: Annotated[AnnexFormat, typer.Option("--format", "-f", help="Output format (docx needs "
                                                "--output).")] = AnnexFormat.markdown,
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
    from policy.documents.annex import load_params, merge_params, parse_param_option
    from policy.documents.annex_output import render_annex
    from policy.engine.loader import load_bundle
    from policy.errors import UsageError
    from policy.model.report import TargetError
    from policy.pipeline.check import CheckOptions, iter_check

    if format is AnnexFormat.docx and output is None:
        raise UsageError("--format docx writes a Word file: give it with --output FILE.docx")
    for folder in templates or ():
        if not folder.is_dir():
            raise UsageError(f"--templates {folder}: no such folder")
    overrides: dict[str, object] = dict(parse_param_option(p) for p in param or ())
    overrides.update({k: v for k, v in (("party.name", party), ("counterparty.name", counterparty),
                                        ("governing_law", governing_law)) if v is not None})
    values = merge_params(load_params(params) if params else {}, overrides)
    options = CheckOptions(policy_file=policy, rules=tuple(rules or ()), cards=tuple(cards or ()),
                           today=_date(today), offline=offline, revision=revision)
    results = list(iter_check(targets, options))
    failed = [r for r in results if isinstance(r, TargetError)]
    if failed:
        for r in failed:
            _err(f"policycheck: {r.message}")
            for frame in r.frames:
                _err(frame)
        _err("policycheck: no annex written: every licensed model must be checked")
        raise typer.Exit(EXIT_INTERNAL if any(r.internal for r in failed) else EXIT_ERROR)
    names = {e.id: e.name for e in load_bundle(tuple(rules or ())).catalog.entries.values()}
    document = render_annex(results, values, format.value,  # type: ignore[arg-type]
                            template_dirs=tuple(templates or ()), license_names=names)
    with _output(output) as write:
        write(document.content)
    if document.missing_parameters:
        _err(f"policycheck: annex written with {len(document.missing_parameters)} parameter(s) not set, shown as "
             f"[PARAMETER: name]: {', '.join(document.missing_parameters)}")
    raise typer.Exit(_combine(sorted({VERDICT_EXIT[r.verdict] for r in results})))  # type: ignore[union-attr]


class AiActFormat(str, Enum):
    markdown = "markdown"
    html = "html"
    json = "json"


@app.command()
def aiact(
    targets: Annotated[list[str], typer.Argument(help="The models: card files, model folders or Hub ids.")],
    format: Annotated[AiActFormat, typer.Option("--format", "-f", help="Output format.")] = AiActFormat.markdown,
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
    from policy.documents.aiact_output import render_aiact
    from policy.errors import UsageError
    from policy.model.report import Report, TargetError
    from policy.pipeline.check import CheckOptions, iter_check

    for folder in templates or ():
        if not folder.is_dir():
            raise UsageError(f"--templates {folder}: no such folder")
    options = CheckOptions(policy_file=policy, rules=tuple(rules or ()), cards=tuple(cards or ()),
                           today=_date(today), offline=offline, revision=revision)
    results = list(iter_check(targets, options))
    failed = [r for r in results if isinstance(r, TargetError)]
    for r in failed:
        _err(f"policycheck: {r.message}")
        for frame in r.frames:
            _err(frame)
    packs = build_packs([r for r in results if isinstance(r, Report)])
    if packs:
        with _output(output) as write:
            write(render_aiact(packs, format.value, tuple(templates or ())))
        gaps = sum(p["counts"]["gaps"] for p in packs)
        _err(f"policycheck: AI Act pack written for {len(packs)} model(s): a draft with {gaps} gap(s) for a "
             "person to complete; not legal advice")
    if failed:
        raise typer.Exit(EXIT_INTERNAL if any(r.internal for r in failed) else EXIT_ERROR)
    raise typer.Exit(EXIT_REVIEW)


class TreeFormat(str, Enum):
    text = "text"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"
    sarif = "sarif"


class Discovery(str, Enum):
    walk = "walk"
    index = "index"


Relation = Enum("Relation", {r: r for r in HUB_RELATIONS}, type=str)  # type: ignore[misc]  # the Hub's four


@app.command()
def tree(
    root: Annotated[str, typer.Argument(help="The Hub id (org/name) whose descendants to audit.")],
    format: Annotated[TreeFormat, typer.Option("--format", "-f", help="Output format.")] = TreeFormat.text,
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
) -> None:
    """Audit every descendant of a Hub model (fine-tunes, adapters, merges, quantizations), from the Hub's
    listing; the audit's verdict decides the exit code."""
    from policy.audit.tree import TreeOptions, audit_tree
    from policy.cli.progress import ProgressDisplay
    from policy.render.tree import iter_tree
    from policy.scan.ids import repo_id_problem

    problem = repo_id_problem(root)
    if problem:
        raise typer.BadParameter(f"'{root}' is not a Hub repo id (org/name): {problem}", param_hint="ROOT")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise PolicyError("policycheck tree needs the Hub's listing, and HF_HUB_OFFLINE is set")
    options = TreeOptions(root=root, relations=frozenset(r.value for r in relation) if relation else None,
                          depth=depth, limit=limit, min_downloads=min_downloads, state=state,
                          policy_file=policy, rules=tuple(rules or ()), fail_on=fail_on.value if fail_on else None,
                          today=_date(today), use_cache=not no_cache, hub_deadline=hub_deadline,
                          discovery=discovery.value)
    use_color, width = _terminal(output, color)
    err_color = color if color is not None else not os.environ.get("NO_COLOR")
    try:
        with ProgressDisplay(root, enabled=not quiet, color=err_color) as progress:
            result = audit_tree(options, progress)
    except KeyboardInterrupt:
        where = f"; run the same command again to resume from {state}" if state else (
            "; nothing was kept (give --state FILE to make an audit resumable)")
        _err(f"policycheck: tree audit of {root} interrupted{where}")
        raise typer.Exit(130) from None
    with result, _output(output) as write:
        for chunk in iter_tree(format.value, result.summary, result.rows,
                               color=use_color and format is TreeFormat.text, width=width):
            write(chunk)
    raise typer.Exit(VERDICT_EXIT[result.verdict])


@app.command()
def claims(
    target: Annotated[str, typer.Argument(help="A model card file, a model folder or a Hub id (org/name).")],
    evals: EvalsOpt = None,
    format: FormatOpt = Format.text,
    policy: PolicyOpt = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use only local files and the Hub cache; send "
                                          "no request.")] = False,
    revision: Annotated[str | None, typer.Option("--revision", help="Pin a Hub target to this revision.")] = None,
) -> None:
    """The evaluation claims a model makes (model-index, result tables in the card, .eval_results/), what each
    is (verified by the Hub, self-reported, matched to an independent value) and the evidence about them.
    Exit 3 when a claim needs review, 0 otherwise."""
    from policy.pipeline.check import CheckOptions, claims_of
    from policy.render.claims import render_claims

    result = claims_of(target, CheckOptions(policy_file=policy, offline=offline, revision=revision, evals=evals))
    if format is Format.json:
        _out(json.dumps(result, indent=2, ensure_ascii=True) + "\n")
    else:
        use_color, width = _terminal(None, None)
        _out(render_claims(result, color=use_color, width=width))
    raise typer.Exit(EXIT_REVIEW if result["verdict"] == "review" else EXIT_PASS)


@app.command()
def fingerprint(
    repo: Annotated[str, typer.Argument(help="The Hub id (org/name) whose weight files to record.")],
    revision: Annotated[str | None, typer.Option("--revision", help="A branch, tag or commit (default: main, "
                                                 "recorded as its commit).")] = None,
) -> None:
    """Print a reference-fingerprint entry for `evidence/fingerprints.yaml`: the sha256 of the repo's LFS
    weight files from the Hub's file listing, pinned to a commit, with its source (no weights downloaded)."""
    from policy.pipeline.check import fingerprint_entry

    _out(fingerprint_entry(repo, revision))


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[Callable[[str | bytes], None]]:
    """A writer for the output: standard output, or a file written whole (a half-written report never
    replaces a good one: it goes to a temporary file that is renamed at the end)."""
    if path is None:
        def write_stdout(chunk: str | bytes) -> None:
            if isinstance(chunk, bytes):
                sys.stdout.flush()
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
            else:
                _out(chunk)
        yield write_stdout
        return
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            yield lambda chunk: fh.write(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8"))
        os.replace(tmp, path)
    except OSError as exc:
        raise PolicyError(f"--output {path}: cannot write ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _combine(codes: Sequence[int]) -> int:
    """A batch exits with its worst outcome: internal error, input error, then fail, review, pass."""
    return combine_exit_codes(codes)


def _date(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a date (YYYY-MM-DD)", param_hint="--today") from None


@rules_app.command("list")
def rules_list(rules: RulesOpt = None, format: FormatOpt = Format.text) -> None:
    """List the rules of every loaded pack."""
    from policy.engine.loader import load_bundle

    bundle = load_bundle(tuple(rules or ()))
    rows = [{"pack": p.id, "version": p.version, "rule": r.id, "severity": r.severity, "kind": r.kind,
             "for_each": r.for_each, "title": r.title} for p in bundle.packs for r in p.rules]
    if format is Format.json:
        _out(json.dumps(rows, indent=2) + "\n")
        return
    width = max(len(r["rule"]) for r in rows)
    for r in rows:
        _say(f"{r['pack']}/{r['rule']:<{width}}  {r['severity']:<7}  {r['kind']:<9}  {r['title']}")


@rules_app.command("validate")
def rules_validate(rules: RulesOpt = None) -> None:
    """Validate every pack, catalog entry and curation; report all problems at once."""
    from policy.diagnostics import format_diagnostic
    from policy.engine.loader import load_bundle

    bundle = load_bundle(tuple(rules or ()), use_cache=False, lint=True)
    for w in bundle.warnings:
        _err(format_diagnostic(w))
    n_rules = sum(len(p.rules) for p in bundle.packs)
    _out(f"ok: {len(bundle.catalog.entries)} licenses, {len(bundle.packs)} pack(s) with {n_rules} rules, "
         f"{len(bundle.curations)} curated models"
         + (f"; {len(bundle.warnings)} warning(s)" if bundle.warnings else "") + "\n")


@rules_app.command("test")
def rules_test(rules: RulesOpt = None,
               rule: Annotated[list[str] | None, typer.Option("--rule", help="Only these rule ids.")] = None) -> None:
    """Run the test cases written in the packs; print one line per case that fails and a summary."""
    from policy.engine.loader import load_bundle
    from policy.engine.ruletest import run_pack_tests

    bundle = load_bundle(tuple(rules or ()))
    results = run_pack_tests(bundle.packs, bundle.catalog, tuple(rule or ()))
    failed = [r for r in results if not r.ok]
    for r in failed:
        _say(f"FAIL {r.pack}/{r.rule}: {r.case}")
        if r.error:
            _say(f"  error: {r.error}")
        for m in r.missing:
            _say(f"  missing (false negative): {json.dumps(m, default=str)}")
        for u in r.unexpected:
            _say(f"  unexpected (false positive): {json.dumps(u, default=str)}")
    _out(f"{len(results) - len(failed)} passed, {len(failed)} failed\n")
    raise typer.Exit(EXIT_FAIL if failed or not results else EXIT_PASS)


@app.command()
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
        _out(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    for r in rows:
        _say(f"{r['id']:<36} {r['status']:<10} {r['profile']:<8} {len(r['clauses']):>2} clauses  "
             f"{', '.join(r['categories'])}  ({r['name']})")
    _out(f"{len(rows)} license(s)\n")


@app.command()
def version() -> None:
    """Print the version."""
    _out(f"policycheck {__version__}\n")


COMMANDS = {"check", "lint", "annex", "aiact", "tree", "claims", "fingerprint", "rules", "licenses", "version"}
_BARE_WORD = re.compile(r"[A-Za-z0-9_-]+")  # no `/`, no `.`: a command name, not a Hub id (org/name) or a file


def _shorthand_problem(word: str) -> str | None:
    """`policycheck WORD ...` means `policycheck check WORD ...` only for an `org/name` id, a card file or a
    folder. A bare word is a usage error: a mistyped command (`licences`, `rule list`, `chek x`) must not turn
    into a Hub lookup. One-word legacy Hub ids (`gpt2`) are checked with `policycheck check gpt2`."""
    if not _BARE_WORD.fullmatch(word) or Path(word).exists():
        return None
    close = difflib.get_close_matches(word.lower(), sorted(COMMANDS), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" ({', '.join(sorted(COMMANDS))})."
    return f"'{word}' is not a command{hint} To check a one-word Hub id, run `policycheck check {word}`."


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. `policycheck org/model ...` is shorthand for `policycheck check org/model ...`."""
    from policy.errors import guarded

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] not in COMMANDS and not args[0].startswith("-"):
        problem = _shorthand_problem(args[0])
        if problem:
            _err(f"policycheck: usage error: {problem}")
            return EXIT_ERROR
        args.insert(0, "check")
    return guarded(lambda: app(args=args, prog_name="policycheck", standalone_mode=True))


if __name__ == "__main__":
    sys.exit(main())
