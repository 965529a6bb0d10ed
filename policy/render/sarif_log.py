"""The one SARIF 2.1.0 builder, as GitHub code scanning reads it, for every producer: `check`
(policy/render/sarif.py), `lint` (policy/lint/output.py) and `tree` (policy/render/tree.py).

A producer adds its rules and results to a `SarifRun`; the run gives the log as a mapping (written whole), or as
a head and a tail around results streamed one at a time (a tree audit of any size). Either way the run has the
same parts: the tool and the rules met (each with its index), the results, one invocation (successful unless a
target could not be read, with a notification for each one that could not), the column kind, the automation
id of the producer, and properties.

What GitHub's ingestion rules (the SARIF multitool's GH rules) ask, and this module gives every producer:
- every rule has `shortDescription`, `fullDescription` and `help` (text and markdown) (`rule_descriptor`); a
  `helpUri` only when there is a real page to point at (a rule's cited source), never a placeholder;
- every result has a `physicalLocation` whose `artifactLocation.uri` is relative to the repository root (the
  nearest directory above the working directory holding `.git`, else the working directory), with `uriBaseId`
  `%SRCROOT%`, and a `region` (line 1 when the line is not known) (`location`);
- `automationDetails.id` is `policycheck/<producer>/`, so that the check, lint and tree uploads of one commit
  are separate analyses rather than one replacing another;
- at most `MAX_RESULTS` (5,000, what code scanning shows of a run; it rejects a run of more than 25,000 whole)
  results a run, the most severe kept first (`Budget`); how many were left out is said by a notification and by
  `run.properties.results_omitted`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from policy import __version__

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "policycheck/v1"
COLUMN_KIND = "unicodeCodePoints"
SRCROOT = "%SRCROOT%"
MAX_RESULTS = 5000
LEVELS = ("error", "warning", "note", "none")  # most severe first
PRODUCERS = ("check", "lint", "tree")
OMITTED_ID = "results-omitted"


def rule_name(rule_id: str) -> str:
    """`teacher-forbids-distillation` -> `TeacherForbidsDistillation` (SARIF's human-readable rule name)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_id) if part) or rule_id


def repository_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` (the working directory) holding `.git` (a directory, or the file
    of a worktree or submodule); the working directory itself when there is none. No subprocess."""
    here = Path(os.path.abspath(start or Path.cwd()))
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return here


def artifact_location(path: str | Path, root: Path | None = None) -> dict[str, Any]:
    """A local file as an artifact location relative to the repository root (`%SRCROOT%`, which code scanning
    binds to the checkout), wherever in the repository the command ran. A file outside the repository keeps the
    name the user gave it: a file URI when that was absolute, else the relative path (code scanning cannot show
    either)."""
    p = Path(path)
    base = root or repository_root()
    full = Path(os.path.normpath(p if p.is_absolute() else Path.cwd() / p))
    try:
        rel = full.relative_to(base)
    except ValueError:
        if p.is_absolute():
            return {"uri": p.as_uri()}
        return {"uri": quote(PurePosixPath(*p.parts).as_posix(), safe="/")}
    return {"uri": quote(PurePosixPath(*rel.parts).as_posix() if rel.parts else ".", safe="/"), "uriBaseId": SRCROOT}


def policy_artifact(path: str | Path | None = None) -> dict[str, Any]:
    """Where a result about a model with no file in the repository (a Hub model, a tree descendant) is acted on:
    the policy file that was read, else `policycheck.yaml` at the repository root."""
    from policy.model.policyfile import POLICY_FILENAMES

    return artifact_location(path or repository_root() / POLICY_FILENAMES[0])


def region(line: int | None = None, col: int | None = None, end_col: int | None = None) -> dict[str, Any]:
    """A region GitHub accepts: `startLine` at least 1 (line 1 when the line is not known)."""
    out: dict[str, Any] = {"startLine": line if isinstance(line, int) and line > 0 else 1}
    if isinstance(col, int) and col > 0:
        out["startColumn"] = col
        if isinstance(end_col, int) and end_col > col:
            out["endColumn"] = end_col
    return out


def location(artifact: Mapping[str, Any], line: int | None = None, *, col: int | None = None,
             end_col: int | None = None, logical: str | None = None) -> dict[str, Any]:
    """A result location: the artifact at a region, and the model it is about as a logical location."""
    out: dict[str, Any] = {"physicalLocation": {"artifactLocation": dict(artifact),
                                                "region": region(line, col, end_col)}}
    if logical:
        out["logicalLocations"] = [{"name": logical.rsplit("/", 1)[-1], "fullyQualifiedName": logical,
                                    "kind": "module"}]
    return out


def help_uri(url: str | None) -> str | None:
    """A rule's `helpUri`: only a real http(s) page."""
    return url if isinstance(url, str) and re.match(r"https?://[^\s/]+\.[^\s/]+", url) else None


def rule_descriptor(rule_id: str, *, short: str, full: str | None = None, help_text: str | None = None,
                    help_markdown: str | None = None, url: str | None = None, level: str = "warning",
                    properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A reporting descriptor with everything GitHub asks of a rule (none of its texts empty)."""
    short = short.strip() or rule_id
    full = (full or "").strip() or short
    text = (help_text or "").strip() or full
    out: dict[str, Any] = {"id": rule_id, "name": rule_name(rule_id), "shortDescription": {"text": short},
                           "fullDescription": {"text": full},
                           "help": {"text": text, "markdown": (help_markdown or "").strip() or text}}
    uri = help_uri(url)
    if uri:
        out["helpUri"] = uri
    out["defaultConfiguration"] = {"level": level if level in LEVELS else "warning"}
    if properties:
        out["properties"] = dict(properties)
    return out


class Budget:
    """Which results a run keeps under `MAX_RESULTS`: every result of the most severe levels first, in the order
    they come. Given the number of results of each level up front, `admit(level)` says whether this one is kept
    (so that a streamed run keeps the same ones as a held one); `omitted` counts the others."""

    def __init__(self, counts: Mapping[str, int], cap: int = MAX_RESULTS) -> None:
        self.quota: dict[str, int] = {}
        left = cap
        for level in LEVELS:
            self.quota[level] = min(int(counts.get(level, 0)), left)
            left -= self.quota[level]
        self.omitted = 0

    def admit(self, level: str) -> bool:
        key = level if level in LEVELS else "warning"
        if self.quota.get(key, 0) > 0:
            self.quota[key] -= 1
            return True
        self.omitted += 1
        return False


def level_counts(levels: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for level in levels:
        key = level if level in LEVELS else "warning"
        counts[key] = counts.get(key, 0) + 1
    return counts


class SarifRun:
    """One run of `producer` (check, lint or tree): add rules (by id, once) and results; then `log()`, or
    `head()` + streamed results (each passed through `budget.admit`) + `tail()`."""

    def __init__(self, producer: str, version: str = __version__, cap: int = MAX_RESULTS) -> None:
        if producer not in PRODUCERS:
            raise ValueError(f"unknown SARIF producer {producer!r}")
        self.producer = producer
        self.version = version
        self.cap = cap
        self.rules: dict[str, dict[str, Any]] = {}
        self.results: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.omitted = 0

    def rule_index(self, rule_id: str, descriptor: Callable[[], dict[str, Any]]) -> int:
        """The index of `rule_id` among the run's rules; `descriptor()` makes it the first time it is met."""
        if rule_id not in self.rules:
            self.rules[rule_id] = descriptor()
        return list(self.rules).index(rule_id)

    def notify(self, level: str, text: str, descriptor_id: str, **extra: Any) -> None:
        """A tool-execution notification (a target that could not be read, an audit left incomplete)."""
        self.notifications.append({"level": level, "message": {"text": text}, "descriptor": {"id": descriptor_id},
                                   **extra})

    def budget(self, counts: Mapping[str, int]) -> Budget:
        return Budget(counts, self.cap)

    def tool(self) -> dict[str, Any]:
        return {"driver": {"name": "policycheck", "version": self.version, "semanticVersion": self.version,
                           "rules": list(self.rules.values())}}

    def automation(self) -> dict[str, Any]:
        return {"id": f"policycheck/{self.producer}/"}

    def _omitted(self, omitted: int) -> None:
        self.omitted = omitted
        if omitted:
            self.notify("warning", f"{omitted} result(s) left out: code scanning shows at most {self.cap} a run "
                        "(the most severe are kept; the json format has them all)", OMITTED_ID)

    def invocation(self, successful: bool | None = None) -> dict[str, Any]:
        """Successful unless told otherwise or a notification says an error happened."""
        ok = successful if successful is not None else not any(n.get("level") == "error"
                                                               for n in self.notifications)
        out: dict[str, Any] = {"executionSuccessful": ok}
        if self.notifications:
            out["toolExecutionNotifications"] = list(self.notifications)
        return out

    def _properties(self, properties: Mapping[str, Any] | None) -> dict[str, Any]:
        out = dict(properties or {})
        if self.omitted:
            out["results_omitted"] = self.omitted
        return out

    def log(self, properties: dict[str, Any] | None = None, successful: bool | None = None) -> dict[str, Any]:
        """The whole log, results held (check and lint), capped at the run's budget."""
        budget = self.budget(level_counts(r.get("level", "warning") for r in self.results))
        results = [r for r in self.results if budget.admit(r.get("level", "warning"))]
        self._omitted(budget.omitted)
        run: dict[str, Any] = {"tool": self.tool(), "automationDetails": self.automation(),
                               "invocations": [self.invocation(successful)], "results": results,
                               "columnKind": COLUMN_KIND}
        props = self._properties(properties)
        if properties is not None or props:
            run["properties"] = props
        return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}

    # Streaming: results are written between the head and the tail as they are made; the tool and its rules come
    # after them in the run (JSON key order is free), so that the rules met while streaming can be listed.
    @staticmethod
    def head() -> str:
        return (f'{{"$schema": {_dumps(SCHEMA_URI)}, "version": "2.1.0", "runs": [{{\n'
                f'"columnKind": "{COLUMN_KIND}",\n"results": [')

    def tail(self, properties: dict[str, Any], successful: bool | None = None, omitted: int = 0) -> str:
        self._omitted(omitted)
        return (f'\n],\n"tool": {_dumps(self.tool())},\n"automationDetails": {_dumps(self.automation())},\n'
                f'"invocations": [{_dumps(self.invocation(successful))}],\n'
                f'"properties": {_dumps(self._properties(properties))}\n}}]}}\n')


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, default=str)  # streamed to terminals too: no raw control text
