"""Card parsing over real corpus cards and their traps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policy.errors import InputError
from policy.scan.cards import as_id_list, declared_license, parse_card
from tests.conftest import CARDS, card


def parse(name: str):
    path = card(name)
    return parse_card(path.read_text(encoding="utf-8"), str(path))


def test_crlf_card_reads_license_name() -> None:
    assert b"\r\n" in card("deepseek-ai/DeepSeek-V2-Chat-0628").read_bytes()
    c = parse("deepseek-ai/DeepSeek-V2-Chat-0628")
    lic = declared_license(c.fields)
    assert (lic.values, lic.name) == (("other",), "deepseek")
    assert lic.link == "https://github.com/deepseek-ai/DeepSeek-V2/blob/main/LICENSE-MODEL"


def test_leading_blank_lines_are_tolerated_and_noted() -> None:
    c = parse("QuantFactory/Meta-Llama-3-8B-Instruct-GGUF")
    assert c.fields["license"] == "llama3"
    assert [n.code for n in c.notes] == ["leading-blank-lines"]


def test_tab_indented_yaml_is_read_and_noted_with_its_line() -> None:
    c = parse("lighteternal/stsb-xlm-r-greek-transfer")
    assert c.fields["license"] == "apache-2.0"
    (note,) = c.notes
    assert note.code == "tabs-in-yaml"
    assert note.line == 17  # the first tab-indented line of the file


def test_license_as_list() -> None:
    assert declared_license(parse("NousResearch/Nous-Capybara-34B").fields).values == ("mit",)
    assert declared_license(parse("eaddario/gemma-3-12b-it-pruned-GGUF").fields).values == ("gemma",)


def test_no_front_matter_is_not_an_error() -> None:
    c = parse("timdettmers/guanaco-65b")
    assert c.fields == {}
    assert [n.code for n in c.notes] == ["no-front-matter"]


def test_bom_and_misspelled_key() -> None:
    c = parse_card("\ufeff---\nlicence: mit\nbase-model: acme/base\n---\nbody", "x.md")
    assert declared_license(c.fields).values == ("mit",)
    assert as_id_list(c.fields["base_model"]) == ["acme/base"]
    assert {n.code for n in c.notes} == {"misspelled-key"}


def test_base_model_forms() -> None:
    assert as_id_list(None) == []
    assert as_id_list("") == []
    assert as_id_list("a/b") == ["a/b"]
    assert as_id_list(["a/b", "a/b", "c/d"]) == ["a/b", "c/d"]
    assert as_id_list([{"id": "a/b"}, None]) == ["a/b"]


def test_malformed_front_matter_names_file_and_line() -> None:
    text = "---\nlicense: mit\nbase_model: [acme/a\ndatasets: x\n---\n"
    with pytest.raises(InputError) as info:
        parse_card(text, "broken.md")
    (diag,) = info.value.diagnostics
    assert diag.file == "broken.md"
    assert diag.line >= 3
    assert "broken.md:" in info.value.message


def test_front_matter_must_be_a_mapping() -> None:
    with pytest.raises(InputError, match="not a mapping"):
        parse_card("---\n- a\n- b\n---\n", "list.md")


def _big_card(mb: float, license: str = "mit", extra: str = "") -> str:
    """A card whose front matter is `mb` megabytes of keys (the costliest shape to compose)."""
    keys = "".join(f"key_{i}: value {i}\n" for i in range(int(mb * 1024 * 1024 / 22)))
    return f"---\nlicense: {license}\n{extra}{keys}---\n# big\n"


@pytest.mark.parametrize("mb", [1.2, 2.0])
def test_front_matter_over_the_cap_is_not_read_in_part(mb: float) -> None:
    from policy.scan.cards import MAX_FRONT_MATTER

    text = _big_card(mb)
    assert len(text) > MAX_FRONT_MATTER
    with pytest.raises(InputError) as info:
        parse_card(text, "big.md")
    (diag,) = info.value.diagnostics
    assert (diag.file, diag.line, diag.code) == ("big.md", 1, "front-matter-too-large")
    assert "was not read" in diag.message


def test_front_matter_under_the_cap_is_read() -> None:
    card = parse_card(_big_card(0.5), "half.md")
    assert card.fields["license"] == "mit" and len(card.fields) > 20_000


def test_a_card_over_the_cap_never_passes(run_cli: Any, tmp_path: Path) -> None:
    """As the target: an input error (exit 2). As an ancestor: not examined, so review."""
    big = tmp_path / "acme__big.md"
    big.write_text(_big_card(1.5), encoding="utf-8")
    result = run_cli("check", big, "--offline")
    assert result.code == 2 and "more than the 1 MB policycheck reads" in result.out
    child = tmp_path / "child.md"
    child.write_text("---\nlicense: mit\nbase_model: acme/big\n---\n# child\n", encoding="utf-8")
    result = run_cli("check", child, "--offline", "--cards", tmp_path, "--format", "json")
    assert result.code == 3
    [finding] = [f for f in result.json()["findings"] if f["rule"] == "ancestor-unresolved"]
    assert "front matter is 1.5 MB" in finding["message"]


def test_every_fixture_card_parses() -> None:
    for path in sorted(CARDS.glob("*__*.md")):
        parse_card(path.read_text(encoding="utf-8"), str(path))


# --- where keys and values are: the reader's spans, from the YAML parser's marks --------------------------

def test_spans_in_the_file_as_written_bom_crlf_and_leading_blank_lines() -> None:
    c = parse_card("\ufeff\r\n---\r\nlicense: 'MIT'\r\nbase_model:\r\n  - acme/a\r\n---\r\nbody", "x.md")
    assert c.layout is not None and (c.layout.open_line, c.layout.close_line, c.body_line) == (2, 6, 7)
    lic, base = c.layout.keys
    assert (lic.key.line, lic.key.col, lic.value.line, lic.value.col, lic.value.text) == (3, 1, 3, 11, "MIT")
    assert [(s.line, s.col, s.text) for s in base.items] == [(5, 5, "acme/a")]
    assert c.key_lines == {"license": 3, "base_model": 4}


def test_spans_count_tabs_as_written_when_they_were_read_as_spaces() -> None:
    c = parse_card("---\nlicense: mit\nbase_model:\n\t- acme/a\n\t-  'acme/b'\n---\n", "x.md")
    assert [n.code for n in c.notes] == ["tabs-in-yaml"]
    (base,) = [k for k in c.layout.keys if k.key.text == "base_model"]
    assert [(s.line, s.col, s.text) for s in base.items] == [(4, 4, "acme/a"), (5, 6, "acme/b")]


def test_lines_inside_strings_and_flow_collections_are_not_keys() -> None:
    c = parse_card('---\ndescription: "a\nlicense: x\n  b"\nwidget: {a: 1,\nlicence: y}\nlicense: mit\n---\n', "x.md")
    assert [k.key.text for k in c.layout.keys] == ["description", "widget", "license"]
    assert c.key_lines == {"license": 7}
    assert [n.code for n in c.notes] == []  # no misspelled `licence` key


def test_nested_positions_are_the_loaders_marks() -> None:
    """With `nested`, every key and value is where `policy.yamlload.load_marked` puts it, and so are the
    repeated keys (over every fixture and corpus card)."""
    from policy.scan.cards import normalise, read_front_matter, split_front_matter
    from policy.yamlload import load_marked

    checked = 0
    for path in sorted([*CARDS.glob("*.md"), *(CARDS.parent / "corpus" / "cards").glob("*.md")]):
        block = split_front_matter(normalise(path.read_text(encoding="utf-8")))
        if block is None:
            continue
        try:
            marked = load_marked(block.yaml, path.name, block.open_line)
        except Exception:  # not readable without repairs: nothing to compare
            continue
        data, layout = read_front_matter(block, path.name, nested=True)
        assert data == marked.data
        assert layout.marks == {p: m for p, m in marked.marks.items() if p in layout.marks}
        assert layout.key_marks == {p: m for p, m in marked.key_marks.items() if p in layout.key_marks}
        assert set(marked.key_marks) - set(layout.key_marks) == set()  # no aliases in these cards
        assert [(d.line, d.col, d.message) for d in layout.duplicates] == [
            (d.line, d.col, d.message) for d in marked.diagnostics]
        checked += 1
    assert checked > 100
