"""One regular expression of a dependency, compiled the fast way before the dependency compiles it.

PyYAML's `Reader` compiles, when `yaml` is imported, the characters YAML forbids as a negated class over all of
Unicode (`[^\\x09\\x0A ... \\U00010000-\\U0010ffff]`). CPython's `re` builds a bitmap of the Basic Multilingual
Plane for it, about 15 ms: a tenth of the pre-commit hook's whole run. The same set written as the few ranges it
leaves out compiles in well under a millisecond. `prime()` compiles that and files it in `re`'s cache under
PyYAML's own pattern, so PyYAML's `re.compile` returns it; PyYAML only calls `.search` on it. A test checks that
both patterns match exactly the same code points, and that PyYAML received the primed one.

If `re`'s cache is not a dict keyed as CPython 3.11-3.13 key it, or PyYAML changes its pattern, nothing happens
and PyYAML compiles its own pattern, as it always did.
"""

from __future__ import annotations

import re

# PyYAML 6 (yaml/reader.py, Reader.NON_PRINTABLE): the characters YAML 1.1 allows in a stream, negated
YAML_NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"
# the same set, listed: C0 controls but tab, LF and CR; DEL and C1 controls but NEL; surrogates; U+FFFE, U+FFFF
NON_PRINTABLE_RANGES = "[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uD800-\uDFFF\uFFFE\uFFFF]"


def prime() -> bool:
    """File the fast compilation of PyYAML's NON_PRINTABLE in `re`'s cache; True when it was filed."""
    cache = getattr(re, "_cache", None)
    if not isinstance(cache, dict):
        return False
    key = (str, YAML_NON_PRINTABLE, 0)
    if key not in cache:
        cache[key] = re.compile(NON_PRINTABLE_RANGES)
    return True
