"""The primed NON_PRINTABLE: the same characters as PyYAML's own pattern, and the one PyYAML uses."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml.reader

from policy import regexcache


def test_the_ranges_match_exactly_what_pyyaml_forbids() -> None:
    ours = re.compile(regexcache.NON_PRINTABLE_RANGES)
    theirs = re.compile(regexcache.YAML_NON_PRINTABLE + "|(?!)")  # another key: PyYAML's pattern, compiled anew
    text = "".join(map(chr, range(0x110000)))
    assert [m.start() for m in ours.finditer(text)] == [m.start() for m in theirs.finditer(text)]
    assert len(ours.findall(text)) == 0x09 + 2 + 0x12 + 6 + 0x1A + 0x800 + 2


def test_the_pattern_is_pyyamls() -> None:
    """PyYAML still writes the pattern this module primes (else the priming is idle, and this says so)."""
    assert yaml.reader.Reader.NON_PRINTABLE.pattern in (regexcache.YAML_NON_PRINTABLE,
                                                        regexcache.NON_PRINTABLE_RANGES)


def test_pyyaml_receives_the_primed_pattern_in_a_fresh_process() -> None:
    code = ("import policy, yaml.reader, policy.regexcache as r; "
            "print(yaml.reader.Reader.NON_PRINTABLE.pattern == r.NON_PRINTABLE_RANGES)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


def test_yaml_still_refuses_a_control_character() -> None:
    import pytest

    with pytest.raises(yaml.reader.ReaderError):
        yaml.safe_load("a: b\x07")
    assert yaml.safe_load("a: é\U0001F600") == {"a": "é\U0001F600"}
