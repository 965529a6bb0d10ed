"""Repo id validation, before any request: no path tricks, no URLs smuggled in as ids."""

from __future__ import annotations

import re

# Optional namespace, then a name, as the Hub allows them (huggingface_hub's validate_repo_id, plus the
# legacy namespace-less ids such as `gpt2`).
# Matched with `fullmatch`: `$` also matches before a trailing newline, which let `org/x\n` through.
_REPO_ID = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}")


def looks_like_repo_id(text: str) -> bool:
    return (isinstance(text, str) and _REPO_ID.fullmatch(text) is not None and ".." not in text and "--" not in text
            and not text.endswith((".", "-")) and not text.lower().endswith(".git"))


def repo_id_problem(text: str) -> str | None:
    """None for a valid id, else why not (one line, for a finding or an error)."""
    if looks_like_repo_id(text):
        return None
    if "://" in text or text.startswith(("http:", "https:", "www.")):
        return f"'{text}' is a URL, not a Hub repo id (org/name)"
    if ".." in text or text.startswith("/"):
        return f"'{text}' is a path, not a Hub repo id (org/name)"
    return f"'{text}' is not a valid Hub repo id (org/name)"
