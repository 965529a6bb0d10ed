"""The one SARIF 2.1.0 builder, as GitHub code scanning reads it, for every producer: `check`
(policy/render/sarif.py), `lint` (policy/lint/output.py) and `tree` (policy/render/tree.py).

A producer adds its rules and results to a `SarifRun`; the run gives the log as a mapping (written whole), or as
a head and a tail around results streamed one at a time (a tree audit of any size). Either way the run has the
same parts: the tool and the rules met (each with its index), the results, one invocation (successful unless a
target could not be read, with a notification for each one that could not), the column kind, and properties.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from policy import __version__

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# The project has no public home yet: this reserved-TLD URI is a stable placeholder (RFC 2606), to be replaced
# by the project's public URL. Rule help URIs hang off it by pack and rule id.
INFORMATION_URI = "https://policycheck.invalid/"
FINGERPRINT_KEY = "policycheck/v1"
COLUMN_KIND = "unicodeCodePoints"


def rule_name(rule_id: str) -> str:
    """`teacher-forbids-distillation` -> `TeacherForbidsDistillation` (SARIF's human-readable rule name)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_id) if part) or rule_id


def artifact_location(path: str | Path) -> dict[str, Any]:
    """A local file as an artifact location: relative to the working directory (`%SRCROOT%`, which code
    scanning binds to the checkout) when it lies in it, else a file URI, as the user named it."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return {"uri": p.as_uri()}
    rel = PurePosixPath(*p.parts) if p.parts else PurePosixPath(".")
    return {"uri": quote(str(rel), safe="/"), "uriBaseId": "%SRCROOT%"}


class SarifRun:
    """One run: add rules (by id, once) and results; then `log()`, or `head()` + streamed results + `tail()`."""

    def __init__(self, version: str = __version__) -> None:
        self.version = version
        self.rules: dict[str, dict[str, Any]] = {}
        self.results: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []

    def rule_index(self, rule_id: str, descriptor: Callable[[], dict[str, Any]]) -> int:
        """The index of `rule_id` among the run's rules; `descriptor()` makes it the first time it is met."""
        if rule_id not in self.rules:
            self.rules[rule_id] = descriptor()
        return list(self.rules).index(rule_id)

    def notify(self, level: str, text: str, descriptor_id: str, **extra: Any) -> None:
        """A tool-execution notification (a target that could not be read, an audit left incomplete)."""
        self.notifications.append({"level": level, "message": {"text": text}, "descriptor": {"id": descriptor_id},
                                   **extra})

    def tool(self) -> dict[str, Any]:
        return {"driver": {"name": "policycheck", "version": self.version, "semanticVersion": self.version,
                           "informationUri": INFORMATION_URI, "rules": list(self.rules.values())}}

    def invocation(self, successful: bool | None = None) -> dict[str, Any]:
        """Successful unless told otherwise or a notification says an error happened."""
        ok = successful if successful is not None else not self.notifications
        out: dict[str, Any] = {"executionSuccessful": ok}
        if self.notifications:
            out["toolExecutionNotifications"] = list(self.notifications)
        return out

    def log(self, properties: dict[str, Any] | None = None, successful: bool | None = None) -> dict[str, Any]:
        """The whole log, results held (check and lint)."""
        run: dict[str, Any] = {"tool": self.tool(), "invocations": [self.invocation(successful)],
                               "results": self.results, "columnKind": COLUMN_KIND}
        if properties is not None:
            run["properties"] = properties
        return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}

    # Streaming: results are written between the head and the tail as they are made; the tool and its rules come
    # after them in the run (JSON key order is free), so that the rules met while streaming can be listed.
    @staticmethod
    def head() -> str:
        return (f'{{"$schema": {_dumps(SCHEMA_URI)}, "version": "2.1.0", "runs": [{{\n'
                f'"columnKind": "{COLUMN_KIND}",\n"results": [')

    def tail(self, properties: dict[str, Any], successful: bool | None = None) -> str:
        return (f'\n],\n"tool": {_dumps(self.tool())},\n"invocations": [{_dumps(self.invocation(successful))}],\n'
                f'"properties": {_dumps(properties)}\n}}]}}\n')


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, default=str)  # streamed to terminals too: no raw control text
