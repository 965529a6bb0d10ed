"""The one rule for hostile text (policy/textsafe.py): which characters are unsafe, the escape each becomes in
terminal and document text, which URLs may become links; and that every output follows it."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from policy.render.registry import formats
from policy.textsafe import UNSAFE, clean, escape_char, printable, printable_lines, safe_url
from tests.hubsim import make_card

CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def test_the_unsafe_set_is_every_control_format_surrogate_and_separator_character() -> None:
    missing = [f"U+{c:04X}" for c in range(sys.maxunicode + 1)
               if unicodedata.category(chr(c)) in CATEGORIES and not UNSAFE.match(chr(c))]
    assert not missing, missing
    # nothing else: only characters of those categories, or code points this Python's Unicode has not assigned yet
    extra = [f"U+{c:04X}" for c in range(sys.maxunicode + 1)
             if UNSAFE.match(chr(c)) and unicodedata.category(chr(c)) not in CATEGORIES | {"Cn"}]
    assert not extra, extra


@pytest.mark.parametrize(("raw", "shown"), [
    ("a\x1bb", "a\\x1bb"), ("\x7f", "\\x7f"), ("\n\r\t", "\\n\\r\\t"), ("\u009b", "\\u009b"),
    ("\u202e", "\\u202e"), ("\u2066", "\\u2066"), ("\u061c", "\\u061c"), ("\u200e\u200f", "\\u200e\\u200f"),
    ("\ufeff", "\\ufeff"), ("Lla\u200bma", "Lla\\u200bma"), ("\u200d\u2060\u00ad", "\\u200d\\u2060\\u00ad"),
    ("\u2028\u2029", "\\u2028\\u2029"), ("x\udcff.md", "x\\udcff.md"), ("\U000e0041", "\\U000e0041"),
])
def test_printable_shows_each_unsafe_character_as_an_escape(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_escape_char_names_the_code_point() -> None:
    assert [escape_char(ch) for ch in "\n\x00\x7f\x85\u202e\U000e007f"] == [
        "\\n", "\\x00", "\\x7f", "\\u0085", "\\u202e", "\\U000e007f"]


def test_printable_keeps_ordinary_text() -> None:
    text = "Llama 3 — ok ✓ 日本 café Ελληνικά עברית العربية 👍🏽 ❤️"
    assert printable(text) == text and clean(text) == text
    assert printable(None) == "None" and printable(42) == "42"


def test_printable_lines_keeps_the_breaks_only() -> None:
    assert printable_lines("policycheck: bad\x1b[2J\n 1 | x\u202e") == "policycheck: bad\\x1b[2J\n 1 | x\\u202e"


def test_clean_is_one_line_with_the_same_escapes() -> None:
    assert clean(None) == ""
    assert clean("a\tb\r\n\nc  d ") == "a b c  d "  # breaks become one space; other spacing kept
    assert clean("  a\tb\r\n\nc  d \u2028e ", collapse=True) == "a b c d e"  # the annex: all whitespace collapsed
    for raw in ("\x1b", "\u009b", "\u202e", "\u061c", "\u200e", "\u200f", "\ufeff", "\u200b", "\udc80"):
        assert clean(f"x{raw}y") == clean(f"x{raw}y", collapse=True) == printable(f"x{raw}y")


@pytest.mark.parametrize("url", [
    "https://huggingface.co/meta-llama/Llama-3.1-8B",
    "http://www.wtfpl.net/",
    "https://eur-lex.europa.eu/legal-content/EN/ALL/?uri=CELEX:32024R1689",
    "https://example.com:8443/a/b#section-2",
    "https://en.wikipedia.org/wiki/Apache_License_(software)",
    "https://[2001:db8::1]/terms",
    "https://huggingface.co/evil/%3Cscript%3E",
    "https://example.com/a@b+c~d",
])
def test_safe_url_accepts_plain_http_links(url: str) -> None:
    assert safe_url(url) == url


@pytest.mark.parametrize("url", [
    None, 42, "", "huggingface.co/x", "javascript:alert(1)", "data:text/html,x", "ftp://example.com/",
    "HTTPS://example.com/", "https://", "https:///path", "//example.com/x",
    "https://user:secret@example.com/",  # a credential in a link
    "https://huggingface.co@evil.example/",  # the host shown is not the host
    "https://example.com/a b", "https://example.com/<script>", 'https://example.com/"x', "https://example.com/a|b",
    "https://example.com/a\\b", "https://example.com/a`b", "https://example.com/\x1b[31m",
    "https://example.com/\u202e", "https://example.com/x\n", "https://exämple.com/",
    "https://example.com/x)![i](https://evil.example/t.png",  # would close an inline Markdown link
    "https://example.com/(x",
])
def test_safe_url_refuses_anything_else(url: Any) -> None:
    assert safe_url(url) == ""


# -- every output follows the one rule --------------------------------------------------------------------------
HIDDEN = {"\x1b": "\\x1b", "\u009b": "\\u009b", "\u202e": "\\u202e", "\u061c": "\\u061c", "\u200e": "\\u200e",
          "\u200f": "\\u200f", "\ufeff": "\\ufeff", "\u200b": "\\u200b", "\u2060": "\\u2060"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    cards = tmp_path_factory.mktemp("cards")
    value = "evil" + "".join(f"{ch}{i}" for i, ch in enumerate(HIDDEN))
    child = cards / "acme__child.md"
    child.write_text(make_card({"license": "other", "license_name": value}), encoding="utf-8")
    return cards, child


@pytest.mark.parametrize("args", [
    ("check", "-f", "text"), ("check", "-f", "markdown"), ("check", "-f", "html"),
    ("aiact", "-f", "markdown"), ("aiact", "-f", "html"), ("annex",),
])
def test_every_output_escapes_the_same_characters_the_same_way(run_cli: Any, hostile: tuple[Path, Path],
                                                               args: tuple[str, ...]) -> None:
    cards, child = hostile
    result = run_cli(*args, child, "--offline", "--cards", cards, "--today", "2026-12-01")
    assert result.code in (1, 3), result.err
    raw = [f"U+{ord(ch):04X}" for ch in UNSAFE.findall(result.out) if ch not in "\n\t"]
    assert not raw, raw
    plain = result.out.replace("\\\\", "\\")  # Markdown writes a backslash as `\\`
    for escape in HIDDEN.values():
        assert escape in plain, escape


# -- a lone surrogate (a JSON `\ud800` escape, a file name that is not UTF-8) never stops a writer ---------------
def _surrogate_report(bundle: Any, s: str) -> Any:
    """A report the engine made from a card whose id, license, base model, name and text hold `s`."""
    import datetime as dt

    from policy.engine.evaluation import evaluate
    from policy.model.facts import ModelFacts
    from policy.model.policyfile import Policy
    from policy.scan.cards import declared_license
    from policy.scan.lineage import build_lineage
    from policy.scan.local import LocalSource

    fields = {"license": f"mit{s}", "base_model": f"acme/base{s}", "model_name": f"m{s}", "tags": [f"t{s}"],
              "license_name": f"n{s}", "license_link": f"https://example.com/{s}"}
    subject = ModelFacts(f"acme/s{s}", card=fields, card_text=f"# Summary {s}\n", license=declared_license(fields))
    lineage = build_lineage(subject, LocalSource(), bundle.catalog, (bundle.curations, {}))
    return evaluate(lineage, bundle.packs, bundle.catalog, Policy(), dt.date(2026, 12, 1))


@pytest.mark.parametrize("fmt", formats("check"))
def test_every_format_writes_a_report_holding_lone_surrogates(bundle: Any, tmp_path: Path, fmt: str) -> None:
    from policy.cli.streams import open_output
    from policy.render.registry import RenderOptions, render

    report = _surrogate_report(bundle, "\ud800x\udfff")
    out = tmp_path / "report"
    with open_output(out) as write:
        for chunk in render("check", fmt, [report], RenderOptions()):
            write(chunk)
    text = out.read_bytes().decode("utf-8")  # strict: what was written is UTF-8
    if fmt == "text":
        assert "acme/s\\ud800x\\udfff" in text  # shown as its escape
    elif fmt not in ("markdown", "html", "junit", "spdx-tv"):  # documents escape it as text does
        assert json.loads(text) and "\ufffdx\ufffd" in json.dumps(json.loads(text), ensure_ascii=False)


@pytest.mark.parametrize("fmt", formats("check"))
def test_a_card_file_name_that_is_not_utf8_is_written_in_every_format(run_cli: Any, tmp_path: Path,
                                                                       fmt: str) -> None:
    card = tmp_path / "acme__s\udcff.md"  # the byte 0xff in the file system's name
    card.write_text(make_card({"license": "mit"}, "# m\n"), encoding="utf-8")
    result = run_cli("check", "--offline", card, "-f", fmt, "--output", tmp_path / "out")
    assert result.code == 0, result.err
    assert "acme" in (tmp_path / "out").read_bytes().decode("utf-8")  # strict: what was written is UTF-8
