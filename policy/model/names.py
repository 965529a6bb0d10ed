"""Homoglyph-safe model-name comparison for `name-prefix` duties ("include “Llama” at the beginning").

A name passes only when its leading characters are the required prefix itself: ASCII case may differ, but a
Cyrillic “а”, a fullwidth “Ｌ”, or a zero-width character never stands in for the Latin letters.
"""

from __future__ import annotations

import unicodedata

_INVISIBLE = {"\u00ad", "\u034f", "\u061c", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u180e", "\u3164", "\uffa0"}


def invisible_chars(text: str) -> list[str]:
    """Format/control characters and fillers that render as nothing (zero-width space, joiners, BOM...)."""
    return [c for c in text if unicodedata.category(c) in ("Cf", "Cc", "Co", "Cn") or c in _INVISIBLE]


def lookalikes(text: str) -> list[str]:
    """Non-ASCII letters whose compatibility/confusable form is an ASCII letter (Cyrillic а, fullwidth Ｌ, ...)."""
    out = []
    for c in text:
        if ord(c) < 128 or not c.isalpha():
            continue
        decomposed = unicodedata.normalize("NFKD", c)
        base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        name = unicodedata.name(c, "")
        if (base.isascii() and base.isalpha()) or any(
                name.startswith(p) for p in ("CYRILLIC", "GREEK", "FULLWIDTH", "MATHEMATICAL", "ARMENIAN")):
            out.append(c)
    return out


# Hub repo names cannot contain spaces: where a required prefix has a space ("Llama 3"), the name may join the
# words with one hyphen, one underscore, a space, or nothing ("Llama-3-8B", "Llama_3", "Llama3").
SEPARATORS = frozenset(" -_")


def starts_with_prefix(name: str, prefix: str) -> bool:
    """True when `name` begins with `prefix` (ASCII-case-insensitive), letter for letter, with nothing hidden.

    Each space in `prefix` may be written as one space, hyphen or underscore, or left out.
    """
    words = prefix.split()
    if not name or not words:
        return False
    pos = 0
    for index, word in enumerate(words):
        if index and pos < len(name) and name[pos] in SEPARATORS:
            pos += 1
        head = name[pos: pos + len(word)]
        if invisible_chars(head) or not head.isascii() or head.lower() != word.lower():
            return False
        pos += len(word)
    return True


def describe_name_problem(name: str, prefix: str) -> str:
    """Why `name` does not start with `prefix`, for finding explanations."""
    head = name[: len(prefix) + 2]
    hidden = invisible_chars(head)
    if hidden:
        return "the name contains invisible characters " + ", ".join(f"U+{ord(c):04X}" for c in hidden)
    fakes = lookalikes(head)
    if fakes:
        return "the name uses look-alike characters " + ", ".join(
            f"'{c}' (U+{ord(c):04X} {unicodedata.name(c, '?')})" for c in fakes)
    return f"the name does not begin with “{prefix}”"
