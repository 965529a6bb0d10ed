"""The one rule for hostile text: which characters no output may carry as they are, and what they become.

Card values, file names, messages and URLs are written by whoever wrote the card. Every output goes through one
of three functions here, so the terminal, the documents and the links all agree on what is unsafe:

- `printable(value)`: text for a terminal (text reports, tree and claims output, error messages, the lint
  hook). Each unsafe character becomes a visible escape (`\\x1b`, `\\u202e`, `\\n`), so the output has exactly
  the lines policycheck writes and no card can drive the terminal, forge a line or reorder what is shown.
- `clean(value)`: text for a document (Markdown, HTML, the annex, the AI Act pack). One line: tabs and line
  breaks become spaces (with `collapse=True` every run of whitespace becomes one space and the ends are
  trimmed, as the annex lays out its own lines); every other unsafe character the same escape as `printable`.
- `safe_url(value)`: a URL that may become a link: http(s), a host, no credentials, and only characters that
  are inert in an HTML attribute, a CommonMark autolink (`<url>`) and an inline link (`[text](url)`);
  anything else is "" (the caller shows the value as text).

Whatever a renderer leaves, the writers (standard output, `--output` files) encode through `encodable(text)`:
a lone surrogate, which no UTF-8 output can carry, becomes U+FFFD there instead of failing the write (text
output has shown it as its escape before that). Hashes that identify a value take its `key_bytes(text)`.

Unsafe characters (`UNSAFE`): the C0 controls and DEL, the C1 controls, every Unicode format character (bidi
embeddings, overrides, isolates and marks such as U+061C, U+200E and U+200F; zero-width space, joiners and the
word joiner; the BOM U+FEFF; soft hyphen; tag characters), the line and paragraph separators U+2028/U+2029, and
lone surrogates U+D800-U+DFFF (a file name that is not UTF-8; they cannot even be encoded). That is Unicode's
general categories Cc, Cf, Cs, Zl and Zp, listed here as ranges so that no import pays for a table of Unicode.

Ground floor: imports nothing from policy/.
"""

from __future__ import annotations

import re
from typing import Any

# Cc, Cf, Cs, Zl and Zp (Unicode 14; tests/test_textsafe.py checks the list against the running Python's tables).
UNSAFE_RANGES = (
    "\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
UNSAFE = re.compile(f"[{UNSAFE_RANGES}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BREAKS = re.compile(r"[\t\n\r]+")


def escape_char(ch: str) -> str:
    """The visible escape of one unsafe character: `\\n`, `\\t`, `\\r`; `\\x1b` below U+0080; `\\u202e`;
    `\\U000e0041` beyond the Basic Multilingual Plane."""
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    if code < 0x80:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _escape(match: re.Match[str]) -> str:
    return escape_char(match.group(0))


def printable(value: object) -> str:
    """`value` as text that is safe to print: each unsafe character becomes a visible escape (`\\x1b`,
    `\\u009b`, `\\n`), so the output has exactly the lines policycheck writes."""
    return UNSAFE.sub(_escape, str(value))


def printable_lines(text: str) -> str:
    """A block of lines written by policycheck (a message with its code frame): each line made `printable`,
    the line breaks kept."""
    return "\n".join(printable(line) for line in str(text).split("\n"))


def clean(value: Any, *, collapse: bool = False) -> str:
    """`value` as one line of document text with no unsafe character left: tabs and line breaks become spaces
    (`collapse`: every run of whitespace one space, the ends trimmed), every other unsafe character the visible
    escape `printable` shows. None is empty."""
    if value is None:
        return ""
    text = " ".join(str(value).split()) if collapse else _BREAKS.sub(" ", str(value))
    return UNSAFE.sub(_escape, text)


def encodable(text: str) -> str:
    """`text` with each lone surrogate (half of a UTF-16 pair from a JSON `\\ud800` escape, or a byte of a file
    name that is not UTF-8) replaced by U+FFFD, so that it can be encoded as UTF-8. Text without one comes back
    as it is (the scan is the only cost)."""
    if text.isascii() or not _SURROGATE.search(text):  # isascii: a flag of the string, no scan
        return text
    return _SURROGATE.sub("\ufffd", text)


def key_bytes(text: str) -> bytes:
    """The bytes of `text` for a hash that identifies it (an id, a fingerprint): UTF-8, a lone surrogate kept as
    its own three bytes, so that it cannot fail and values that differ only there stay apart."""
    return text.encode("utf-8", "surrogatepass")


# A link target: http(s); a host name or an IPv6 literal, so no `user:password@` (a credential, or a host
# that is not the one shown); an optional port; then only characters that need no escaping in an HTML attribute,
# a CommonMark autolink or an inline link destination (parentheses only balanced, as an inline link needs).
_URL = (r"https?://(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
        r"(?:[/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?")


def safe_url(value: Any) -> str:
    """`value` when it is an http(s) URL that can be a link as it is; else "" (show it as text only)."""
    if not isinstance(value, str) or not re.fullmatch(_URL, value):  # compiled on first use (re's cache)
        return ""
    depth = 0
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return ""
    return value if depth == 0 else ""


def without_surrogates(value: Any) -> Any:
    """`value` (JSON data: str, list, dict, scalars) with every lone surrogate replaced by U+FFFD. `json.loads`
    turns a `\\ud800` escape with no partner into one, which no UTF-8 writer (a file, SQLite, a terminal) can
    encode: one hostile string would stop whatever writes it. A valid pair is one character after loading, so
    any surrogate left is a lone one. Lists and mappings are copied (tuples become lists, as JSON has them);
    recursive, so nesting deeper than the interpreter's limit raises RecursionError, as `json.loads` does."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list | tuple):
        return [without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    return value
