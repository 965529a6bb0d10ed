"""How a citation names its source, and what its grade means: one reading for every format.

The catalog records a clause's source as a pinned reference, `owner/repo@commit:path` (a file in a public Git
repository at one commit), so that a lawyer can open exactly the text that was read. A few provider pages exist
only on the web; their source is the page's address with the version read in brackets. A link to a branch
(`/blob/main/...`) is not pinned: the text behind it can change, and every format says so.

A finding of one of policycheck's own rules (an unresolved ancestor is `review`, a missing license is `review`)
cites that rule, not a license: it carries no grade and is shown as policycheck's rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from policy.model.vocab import GRADE_MEANINGS, OWN_RULE
from policy.records import record

# owner/repo@commit:path, optionally followed by " (what the file is)"
_PINNED = re.compile(r"(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)@(?P<commit>[0-9a-f]{7,40}):(?P<path>[^()\n]+?)"
                     r"(?: \((?P<what>[^\n]*)\))?")
# a link to a moving branch of a Git host (GitHub, the Hugging Face Hub)
_BRANCH = re.compile(r"https://(?:github\.com|huggingface\.co)/(?:[^/\s]+/)+(?:blob|resolve|raw|tree)/"
                     r"(?!(?:[0-9a-f]{40})(?:/|$))[^/\s]+/")
# a GitHub link to a file at one commit: as pinned as `owner/repo@commit:path`
_COMMIT_URL = re.compile(r"https://github\.com/(?P<repo>[^/\s]+/[^/\s]+)/blob/(?P<commit>[0-9a-f]{40})/(?P<path>[^\s]+)")
_URL = re.compile(r"https?://[^\s<>\"'()]+")

@record(slots=True)
class Source:
    """A citation's source as shown: `label` for reading, `url` to open it (None for plain text), and whether
    it is pinned (a commit), a web page, a moving branch, or a text that names no address."""

    label: str
    url: str | None
    kind: str  # pinned | web | branch | text


def describe_source(source: Any) -> Source:
    """`meta-llama/llama-models@a9c89c4:models/llama3/LICENSE` reads as `meta-llama/llama-models@a9c89c4
    models/llama3/LICENSE` and links to that commit's file on GitHub."""
    text = str(source or "").strip()
    m = _PINNED.fullmatch(text)
    if m:
        repo, commit, path = m.group("repo"), m.group("commit"), m.group("path").strip()
        label = f"{repo}@{commit} {path}" + (f" ({m.group('what')})" if m.group("what") else "")
        return Source(label, f"https://github.com/{repo}/blob/{commit}/{quote(path)}", "pinned")
    commit = _COMMIT_URL.fullmatch(text)
    if commit:
        repo, sha, path = commit.group("repo"), commit.group("commit"), unquote(commit.group("path"))
        return Source(f"{repo}@{sha[:10]} {path}", text, "pinned")
    url = _URL.match(text)
    if url:
        if _BRANCH.match(url.group(0)):
            return Source(f"{text} (a branch, not pinned to a commit: the text behind it can change)",
                          url.group(0), "branch")
        return Source(text, url.group(0), "web")
    return Source(text, None, "text")


def is_own_rule(citation: Mapping[str, Any] | None) -> bool:
    """Does this citation name one of policycheck's own rules rather than a clause of a license or contract?"""
    return bool(citation) and citation.get("basis") == OWN_RULE  # type: ignore[union-attr]


def grade_meaning(grade: Any) -> str:
    """The plain words for a grade letter; empty for none or one this version does not know."""
    return GRADE_MEANINGS.get(str(grade or ""), "")


def grades_used(citations: Any) -> dict[str, str]:
    """The grades that occur among `citations` (mappings or None), strongest first, with their meaning: the
    legend a document prints once."""
    seen = {str(c.get("grade")) for c in citations if isinstance(c, Mapping) and c.get("grade")}
    return {g: m for g, m in GRADE_MEANINGS.items() if g in seen}


def cite_line(citation: Mapping[str, Any] | None, license_name: str = "") -> str:
    """A citation on one line of plain text, for the formats that have no room for more (SARIF help, JUnit,
    the annex): `Llama 3.1 §1.b.i(A), meta-llama/llama-models@a9c89c4 models/llama3_1/LICENSE (grade V: read
    against the licensor's own text)`, or `policycheck's own rule ancestor-unresolved (core pack), not a
    license clause: §3 Lineage (…)`. The caller escapes it for its format."""
    if not citation:
        return "no citation"
    source = describe_source(citation.get("source")).label
    section = str(citation.get("section") or "")
    if is_own_rule(citation):
        pack = f" ({citation['pack']} pack)" if citation.get("pack") else ""
        text = f"policycheck's own rule {citation.get('rule') or ''}{pack}, not a license clause"
        text += f": {section}" if section else ""
        return text + (f" ({source})" if source else "")
    text = " ".join(p for p in (license_name or str(citation.get("license") or ""), section) if p)
    if source:
        text = f"{text}, {source}" if text else source
    grade = str(citation.get("grade") or "")
    if grade:
        meaning = grade_meaning(grade)
        text += f" (grade {grade}{': ' + meaning if meaning else ''})"
    return text.strip(", ") or "no citation"
