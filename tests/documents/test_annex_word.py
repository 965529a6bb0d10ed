"""The Word annex as counsel uses Word (read back with python-docx and its XML): Word numbers the clauses from a
numbering definition bound to the clause styles (no typed numbers), paragraphs and tables use named styles, the
footer carries the draft notice and "Page X of Y" fields, table header rows repeat, and a title block opens the
document. Where LibreOffice is installed, the annex also converts to PDF."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.documents.test_annex import ROOT, _example_args, _md_plain

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CLAUSE_STYLES = {"Annex Clause Heading": 0, "Annex Clause": 1, "Annex Clause Item": 2}
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The example annex rendered afresh, as Markdown and as a python-docx Document."""
    import docx

    from policy.cli.app import main

    out = tmp_path_factory.mktemp("annex")
    md, docx_out = out / "annex.md", out / "annex.docx"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        assert main([str(a) for a in _example_args(md, "markdown")]) == 1
        assert main([str(a) for a in _example_args(docx_out, "docx")]) == 1
    return {"md": md.read_text(encoding="utf-8"), "path": docx_out, "doc": docx.Document(str(docx_out))}


def _val(element: Any, tag: str) -> str | None:
    child = element.find(f"{W}{tag}") if element is not None else None
    return None if child is None else child.get(f"{W}val")


def _num_pr(paragraph: Any) -> tuple[int, int] | None:
    """(numId, ilvl) of a paragraph: its own w:numPr, else its style's (as Word resolves it)."""
    chain = [paragraph._p.pPr]
    style = paragraph.style
    while style is not None:
        chain.append(style.element.pPr)
        style = style.base_style
    for ppr in chain:
        num_pr = ppr.find(f"{W}numPr") if ppr is not None else None
        if num_pr is not None and _val(num_pr, "numId") is not None:
            return int(_val(num_pr, "numId") or 0), int(_val(num_pr, "ilvl") or 0)
    return None


def _levels(doc: Any, num_id: int) -> dict[int, dict[str, str | None]]:
    """The levels of a list (w:num -> w:abstractNum): format, text, bound paragraph style."""
    numbering = doc.part.numbering_part.element
    num = numbering.find(f"{W}num[@{W}numId='{num_id}']")
    abstract_id = _val(num, "abstractNumId")
    abstract = numbering.find(f"{W}abstractNum[@{W}abstractNumId='{abstract_id}']")
    return {int(lvl.get(f"{W}ilvl")): {"fmt": _val(lvl, "numFmt"), "text": _val(lvl, "lvlText"),
                                        "style": _val(lvl, "pStyle"), "start": _val(lvl, "start")}
            for lvl in abstract.findall(f"{W}lvl")}


def _letter(n: int) -> str:
    return chr(ord("a") + n - 1)


def _word_numbers(doc: Any) -> list[tuple[str, str]]:
    """What Word shows: every numbered clause paragraph's number as its list counts it (each level restarts
    after a higher one), with the paragraph's text."""
    shown: list[tuple[str, str]] = []
    counters: dict[int, list[int]] = {}
    for p in doc.paragraphs:
        num = _num_pr(p)
        if num is None or p.style.name not in CLAUSE_STYLES:
            continue
        num_id, ilvl = num
        levels = _levels(doc, num_id)
        count = counters.setdefault(num_id, [0] * 9)
        count[ilvl] += 1
        count[ilvl + 1:] = [0] * (8 - ilvl)
        text = levels[ilvl]["text"] or ""
        for level in range(ilvl + 1):
            value = count[level] + int(levels[level]["start"] or 1) - 1
            text = text.replace(f"%{level + 1}",
                                _letter(value) if levels[level]["fmt"] == "lowerLetter" else str(value))
        shown.append((text, p.text))
    return shown


def _markdown_numbers(md: str) -> list[tuple[str, str]]:
    part_c = md.split("## Part C. Clauses", 1)[1].split("## Part D.", 1)[0]
    shown = []
    for line in part_c.splitlines():
        if m := re.match(r"### (\d+\.) (.+)$", line):
            shown.append((m[1], _md_plain(m[2])))
        elif m := re.match(r"(?:- )?(\d+\.\d+|\([a-z]\)) (.+)$", line):
            shown.append((m[1], _md_plain(m[2])))
    return shown


def test_word_numbers_the_clauses_as_the_markdown_does(example: dict[str, Any]) -> None:
    doc = example["doc"]
    clause_paragraphs = [p for p in doc.paragraphs if p.style.name in CLAUSE_STYLES]
    assert len(clause_paragraphs) > 30
    for p in clause_paragraphs:
        own = p._p.pPr.find(f"{W}numPr")  # on the paragraph, as Word writes it, and from its style
        assert own is not None and _val(own, "ilvl") == str(CLAUSE_STYLES[p.style.name]), p.text[:60]
        assert _num_pr(p) == (int(_val(own, "numId") or 0), CLAUSE_STYLES[p.style.name])
        assert not re.match(r"\s*(\d+(\.\d+)*\.?|\([a-z]\))[\t ]", p.text), f"typed number: {p.text[:60]}"
    numbers = _word_numbers(doc)
    expected = _markdown_numbers(example["md"])
    assert [n for n, _ in numbers] == [n for n, _ in expected]
    assert [n for n, _ in numbers[:5]] == ["1.", "1.1", "1.2", "(a)", "(b)"] and numbers[-1][0] == "10.3"
    assert numbers[0][1] == "Definitions and precedence" and numbers[3][1].startswith('"Licensed Models" means')
    for (_, word_text), (_, md_text) in zip(numbers, expected, strict=True):
        assert word_text == md_text


def test_the_numbering_part_defines_the_clause_levels(example: dict[str, Any]) -> None:
    doc = example["doc"]
    num_ids = {_num_pr(p)[0] for p in doc.paragraphs if p.style.name in CLAUSE_STYLES}  # type: ignore[index]
    assert len(num_ids) == 1
    levels = _levels(doc, num_ids.pop())
    assert (levels[0]["fmt"], levels[0]["text"]) == ("decimal", "%1.")
    assert (levels[1]["fmt"], levels[1]["text"]) == ("decimal", "%1.%2")
    assert (levels[2]["fmt"], levels[2]["text"]) == ("lowerLetter", "(%3)")
    # each level is bound to its style, and each style carries the list: a paragraph counsel adds in the style
    # is numbered, and deleting one renumbers the rest
    by_id = {s.style_id: s.name for s in doc.styles}
    assert {by_id[levels[i]["style"]] for i in range(3)} == set(CLAUSE_STYLES)  # type: ignore[index]
    for name, ilvl in CLAUSE_STYLES.items():
        num_pr = doc.styles[name].element.pPr.find(f"{W}numPr")
        assert _val(num_pr, "ilvl") == str(ilvl) and _val(num_pr, "numId") is not None


def test_paragraphs_use_named_styles_not_direct_formatting(example: dict[str, Any]) -> None:
    doc = example["doc"]
    body = [p for p in doc.paragraphs if p.text.strip()]
    for table in doc.tables:
        body += [p for row in table.rows for cell in row.cells for p in cell.paragraphs]
    used = {p.style.name for p in body}
    assert "Normal" not in used, [p.text[:60] for p in body if p.style.name == "Normal"][:3]
    assert {"Title", "Annex Title Block", "Draft Notice", "Heading 1", "Drafting Note", "Annex Body",
            "Annex Obligation", "Annex Source", "Annex Table Heading", "Annex Table Text",
            "List Bullet"} | set(CLAUSE_STYLES) <= used
    direct_ppr = {"ind", "spacing", "jc", "pBdr", "shd", "tabs"}
    direct_rpr = {"b", "i", "sz", "color", "rFonts", "u"}
    for p in body:
        ppr = p._p.pPr
        assert ppr is None or not {c.tag.removeprefix(W) for c in ppr} & direct_ppr, p.text[:60]
        for run in p.runs:
            rpr = run._r.rPr
            tags = {c.tag.removeprefix(W) for c in rpr} if rpr is not None else set()
            assert not tags & direct_rpr, (p.text[:60], tags)  # rStyle and the placeholders' highlight only
    assert doc.styles["Drafting Note"].font.italic and doc.styles["Annex Label"].font.bold


def test_table_headers_repeat_and_tables_use_the_table_style(example: dict[str, Any]) -> None:
    doc = example["doc"]
    assert len(doc.tables) == 3  # schedule, lineage, parameters
    for table in doc.tables:
        assert table.style.name == "Annex Table"
        rows = table.rows
        assert rows[0]._tr.trPr.find(f"{W}tblHeader") is not None, rows[0].cells[0].text
        assert all(r._tr.trPr is None or r._tr.trPr.find(f"{W}tblHeader") is None for r in rows[1:])
        assert all(r._tr.trPr.find(f"{W}cantSplit") is not None for r in rows)
        assert {c.paragraphs[0].style.name for c in rows[0].cells} == {"Annex Table Heading"}
    assert [c.text for c in doc.tables[0].rows[0].cells] == ["No.", "Model", "Revision", "Licences", "Lineage"]
    assert doc.tables[0].rows[1].cells[0].text == "A.1"
    header_row = doc.styles["Annex Table"].element.find(f"{W}tblStylePr[@{W}type='firstRow']")
    assert header_row is not None


def test_footer_has_the_draft_notice_and_page_x_of_y(example: dict[str, Any]) -> None:
    doc = example["doc"]
    section = doc.sections[0]
    footer = section.footer._element
    instructions = [" ".join((t.text or "").split()) for t in footer.iter(f"{W}instrText")]
    instructions += [f.get(f"{W}instr", "").strip() for f in footer.iter(f"{W}fldSimple")]
    assert instructions == ["PAGE", "NUMPAGES"]
    text = "\n".join(p.text for p in section.footer.paragraphs)
    assert "not legal advice" in text and "counsel" in text
    assert re.search(r"Page \d+ of \d+", text)
    assert not section.footer.is_linked_to_previous
    header = "\n".join(p.text for p in section.header.paragraphs)
    assert header == "Annex 2: Licensed Models, Lineage and Model-Use Terms"


def test_a_title_block_opens_the_annex(example: dict[str, Any]) -> None:
    doc = example["doc"]
    paragraphs = [p for p in doc.paragraphs if p.text.strip()]
    first_part = next(i for i, p in enumerate(paragraphs) if p.text.startswith("Part A."))
    block = paragraphs[:first_part]
    assert (block[0].style.name, block[0].text) == ("Title", "Annex 2: Licensed Models, Lineage and Model-Use "
                                                             "Terms")
    lines = {p.text.split(":", 1)[0]: p for p in block if p.style.name == "Annex Title Block"}
    assert list(lines) == ["Agreement", "Provider", "Recipient", "Generated"]
    assert lines["Provider"].text.startswith("Provider: Acme GmbH")
    assert lines["Generated"].text.startswith("Generated: 2026-12-01")
    assert lines["Provider"].runs[0].style.name == "Annex Label"
    notice = [p for p in block if p.style.name == "Draft Notice"]
    assert len(notice) == 1 and "NOT LEGAL ADVICE" in notice[0].text and "qualified lawyer" in notice[0].text
    assert doc.core_properties.title == "Contract annex (draft)"


def test_the_drafting_note_follows_each_clause_heading(example: dict[str, Any]) -> None:
    paragraphs = example["doc"].paragraphs
    headings = [i for i, p in enumerate(paragraphs) if p.style.name == "Annex Clause Heading"]
    assert headings
    for i in headings:
        assert paragraphs[i + 1].style.name == "Drafting Note"
        assert paragraphs[i + 1].text.startswith("Drafting note (delete before signature):")
        assert paragraphs[i + 2].style.name in CLAUSE_STYLES


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_renders_the_annex_to_pdf(example: dict[str, Any], tmp_path: Path) -> None:
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(example["path"])], check=True, timeout=300,
                   capture_output=True)
    pdf = tmp_path / "annex.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                              text=True).stdout
        assert re.search(r"Page 1 of [2-9]", text) and "not legal advice" in text
        assert re.search(r"^\s*1\.1\s+This Annex forms part", text, re.M)  # numbered by the list, not typed
        assert re.search(r"^\s*\(a\)\s+", text, re.M)
