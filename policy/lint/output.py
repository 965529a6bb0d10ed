"""The linter's formats under the renderer contract (policy/render/registry.py): `(results, options)` over the
`FileLint` of each card, in order. Text streams (card by card, control characters made visible); JSON is
`policycheck/lint/v1` with the run's exit code; SARIF comes from the one SARIF builder."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from policy.errors import combine_exit_codes
from policy.lint.checks import FileLint, iter_text, json_document
from policy.textsafe import printable_lines

if TYPE_CHECKING:
    from policy.render.registry import RenderOptions

# The JSON and SARIF writers are imported by the formats that use them: the pre-commit hook writes text.


def render_text(results: Iterable[FileLint], options: RenderOptions) -> Iterator[str]:
    for chunk in iter_text(iter(results), notes=options.notes):
        yield printable_lines(chunk)


def render_json(results: Iterable[FileLint], options: RenderOptions) -> str:
    from policy.render.json import dumps

    results = list(results)
    return dumps(json_document(results, combine_exit_codes([r.exit_code for r in results]))) + "\n"


def render_sarif(results: Iterable[FileLint], options: RenderOptions) -> str:
    from policy.render.json import dumps

    return dumps(sarif_document(list(results))) + "\n"


def sarif_document(results: Sequence[FileLint]) -> dict[str, Any]:
    """SARIF 2.1.0: one run, a result per problem at its line and column (rule findings keep their rule id)."""
    import hashlib

    from policy.render.sarif_log import FINGERPRINT_KEY, SarifRun, artifact_location, location, rule_descriptor

    run = SarifRun("lint")
    for r in results:
        artifact = artifact_location(r.file)
        if r.error is not None:
            run.notify("error", f"{r.file}: {r.error}", "target-error")
        for p in r.problems:
            d = p.diag
            index = run.rule_index(d.code, lambda d=d, p=p: rule_descriptor(  # type: ignore[misc]
                d.code, short=d.code.replace("-", " "), full=f"{p.source} check {d.code}: {d.message}",
                help_text=d.help or d.message, level=d.severity if d.severity in ("error", "warning") else "warning",
                properties={"source": p.source}))
            key = hashlib.sha256(f"{d.code}|{r.file}|{d.message}".encode()).hexdigest()
            result: dict[str, Any] = {
                "ruleId": d.code, "ruleIndex": index,
                "level": d.severity if d.severity in ("error", "warning", "note") else "warning",
                "message": {"text": d.message + (f" Help: {d.help}" if d.help else "")},
                "locations": [location(artifact, d.line, col=d.col or 1, end_col=(d.col or 1) + max(d.span, 1))],
                "partialFingerprints": {FINGERPRINT_KEY: key}}
            if p.fix is not None:
                result["fixes"] = [{"description": {"text": f"{p.fix.old} -> {p.fix.new}"}, "artifactChanges": [{
                    "artifactLocation": artifact, "replacements": [{"deletedRegion": {
                        "startLine": p.fix.line, "startColumn": p.fix.col,
                        "endColumn": p.fix.col + len(p.fix.old)}, "insertedContent": {"text": p.fix.new}}]}]}]
            run.results.append(result)
    return run.log()
