"""Card parsing over real corpus cards and their traps."""

from __future__ import annotations

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


def test_every_fixture_card_parses() -> None:
    for path in sorted(CARDS.glob("*__*.md")):
        parse_card(path.read_text(encoding="utf-8"), str(path))
