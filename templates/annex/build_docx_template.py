"""Build `templates/annex/annex.docx`, the Word template of `policycheck annex --format docx` (docxtpl).

This script is the template's source: run it after changing the layout, and commit the generated file
(tests/documents/test_annex.py checks that the committed file is what this script builds):

    .venv/bin/python templates/annex/build_docx_template.py

The document is laid out as counsel works in Word, with python-docx and raw WordprocessingML where python-docx
has no API for it:

- named styles instead of direct formatting: paragraph styles (Title, Heading 1/2, "Annex Title Block",
  "Annex Body", "Draft Notice", "Drafting Note", "Annex Clause Heading", "Annex Clause", "Annex Clause Item",
  "Annex Obligation", "Annex Source", "Annex Table Text", "Annex Table Heading"), character styles
  ("Annex Label", "Annex Warning") and a table style ("Annex Table");
- one multi-level list (a `w:abstractNum` with the levels `1.` / `1.1` / `(a)`) bound to the three clause
  styles, so that Word numbers the clauses: the document carries no typed clause numbers, and deleting or
  adding a clause or paragraph renumbers the rest (cross-references in clause text are plain text: check them);
- a title block (title, agreement, parties, date, draft notice), a header with the annex's title and a footer
  with the draft notice and "Page X of Y" (PAGE and NUMPAGES fields);
- table header rows that repeat on every page (`w:tblHeader`) and rows that do not break across pages.

Legal teams may restyle annex.docx in Word directly (fonts, styles, numbering, letterhead) as long as the
Jinja tags stay intact: `{%p ... %}` paragraphs and `{%tr ... %}` table rows are docxtpl's loop tags, and
`{{r p.rich }}` is a clause paragraph as rich text (parameters not set are highlighted). Values are escaped
for XML when the annex is rendered (docxtpl autoescape in a sandboxed environment). A restyled copy can also
be given with `--templates DIR` as DIR/annex/annex.docx.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm

OUT = Path(__file__).resolve().parent / "annex.docx"

NUM_ID = 20  # the clause list (w:num); the default template uses 1-9
ABSTRACT_NUM_ID = 20
CM = 567  # twentieths of a point (twips) per centimetre
FONT = '<w:rFonts w:ascii="Calibri" w:hAnsi="Calibri" w:eastAsia="Calibri" w:cs="Calibri"/>'
DARK = "1F3864"  # headings
GREY = "595959"  # drafting notes, header and footer


def _style(kind: str, style_id: str, name: str, *, based_on: str | None = "Normal", next_: str | None = None,
           ppr: str = "", rpr: str = "", extra: str = "", priority: int = 20, quick: bool = True) -> str:
    parts = [f'<w:style {nsdecls("w")} w:type="{kind}" w:styleId="{style_id}">', f'<w:name w:val="{name}"/>']
    if based_on:
        parts.append(f'<w:basedOn w:val="{based_on}"/>')
    if next_:
        parts.append(f'<w:next w:val="{next_}"/>')
    parts.append(f'<w:uiPriority w:val="{priority}"/>')
    if quick:
        parts.append("<w:qFormat/>")
    if ppr:
        parts.append(f"<w:pPr>{ppr}</w:pPr>")
    if rpr:
        parts.append(f"<w:rPr>{rpr}</w:rPr>")
    parts.append(extra)
    parts.append("</w:style>")
    return "".join(parts)


def _num(ilvl: int) -> str:
    return f'<w:numPr><w:ilvl w:val="{ilvl}"/><w:numId w:val="{NUM_ID}"/></w:numPr>'


def _spacing(before: int = 0, after: int = 120, line: int = 264) -> str:
    return f'<w:spacing w:before="{before}" w:after="{after}" w:line="{line}" w:lineRule="auto"/>'


BORDER = '<w:{side} w:val="single" w:sz="4" w:space="0" w:color="A6A6A6"/>'
TABLE_STYLE = _style(
    "table", "AnnexTable", "Annex Table", based_on="TableNormal", priority=40,
    ppr=_spacing(0, 0, 240),
    extra=("<w:tblPr><w:tblBorders>"
           + "".join(BORDER.format(side=s) for s in ("top", "left", "bottom", "right", "insideH", "insideV"))
           + '</w:tblBorders><w:tblCellMar><w:top w:w="40" w:type="dxa"/><w:left w:w="80" w:type="dxa"/>'
           '<w:bottom w:w="40" w:type="dxa"/><w:right w:w="80" w:type="dxa"/></w:tblCellMar></w:tblPr>'
           '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:bCs/></w:rPr><w:tcPr>'
           '<w:shd w:val="clear" w:color="auto" w:fill="D9E2F3"/></w:tcPr></w:tblStylePr>'))

STYLES = [
    # the built-in styles this template uses, restyled (same ids, so Word and LibreOffice know them)
    _style("paragraph", "Normal", "Normal", based_on=None, priority=0,
           ppr=_spacing(), rpr=FONT + '<w:sz w:val="21"/><w:szCs w:val="21"/><w:lang w:val="en-GB"/>'),
    _style("paragraph", "Title", "Title", next_="AnnexTitleBlock", priority=10,
           ppr='<w:keepNext/>' + _spacing(0, 240, 240) + '<w:outlineLvl w:val="0"/>',
           rpr=FONT + f'<w:b/><w:bCs/><w:color w:val="{DARK}"/><w:sz w:val="36"/><w:szCs w:val="36"/>'),
    _style("paragraph", "Heading1", "heading 1", next_="AnnexBody", priority=9,
           ppr='<w:keepNext/><w:keepLines/>' + _spacing(360, 120, 240) + '<w:outlineLvl w:val="0"/>',
           rpr=FONT + f'<w:b/><w:bCs/><w:color w:val="{DARK}"/><w:sz w:val="28"/><w:szCs w:val="28"/>'),
    _style("paragraph", "Heading2", "heading 2", next_="AnnexBody", priority=9,
           ppr='<w:keepNext/><w:keepLines/>' + _spacing(240, 120, 240) + '<w:outlineLvl w:val="1"/>',
           rpr=FONT + f'<w:b/><w:bCs/><w:color w:val="{DARK}"/><w:sz w:val="24"/><w:szCs w:val="24"/>'),
    _style("paragraph", "Header", "header", priority=99, quick=False,
           ppr=(f'<w:tabs><w:tab w:val="right" w:pos="{round(16.6 * CM)}"/></w:tabs>' + _spacing(0, 0, 240)
                + '<w:jc w:val="right"/>'),
           rpr=f'<w:color w:val="{GREY}"/><w:sz w:val="16"/><w:szCs w:val="16"/>'),
    _style("paragraph", "Footer", "footer", priority=99, quick=False,
           ppr=('<w:pBdr><w:top w:val="single" w:sz="4" w:space="4" w:color="A6A6A6"/></w:pBdr>'
                f'<w:tabs><w:tab w:val="right" w:pos="{round(16.6 * CM)}"/></w:tabs>' + _spacing(0, 0, 240)),
           rpr=f'<w:color w:val="{GREY}"/><w:sz w:val="16"/><w:szCs w:val="16"/>'),
    _style("paragraph", "ListBullet", "List Bullet", priority=36,
           ppr='<w:numPr><w:numId w:val="1"/></w:numPr>' + _spacing(0, 80)),
    # the annex's own styles
    _style("paragraph", "AnnexTitleBlock", "Annex Title Block", next_="AnnexTitleBlock",
           ppr=_spacing(0, 40, 240) + f'<w:ind w:left="{round(0.8 * CM)}" w:hanging="{round(0.8 * CM)}"/>'),
    _style("paragraph", "DraftNotice", "Draft Notice", next_="AnnexBody",
           ppr=('<w:keepLines/><w:pBdr>'
                + "".join(f'<w:{s} w:val="single" w:sz="8" w:space="4" w:color="B00000"/>'
                          for s in ("top", "left", "bottom", "right"))
                + '</w:pBdr><w:shd w:val="clear" w:color="auto" w:fill="FBE9E9"/>' + _spacing(240, 240, 240)
                + '<w:ind w:left="113" w:right="113"/>'),
           rpr='<w:sz w:val="19"/><w:szCs w:val="19"/>'),
    _style("paragraph", "AnnexBody", "Annex Body", next_="AnnexBody", ppr='<w:jc w:val="both"/>'),
    _style("paragraph", "DraftingNote", "Drafting Note", next_="AnnexClause",
           ppr=('<w:keepNext/><w:pBdr><w:left w:val="single" w:sz="12" w:space="6" w:color="BFBFBF"/></w:pBdr>'
                + _spacing(0, 120, 240) + f'<w:ind w:left="{round(0.8 * CM) + 120}"/>'),
           rpr=f'<w:i/><w:iCs/><w:color w:val="{GREY}"/><w:sz w:val="18"/><w:szCs w:val="18"/>'),
    # the clause list: heading "1.", paragraph "1.1", lettered item "(a)" (levels 0, 1, 2 of NUM_ID)
    _style("paragraph", "AnnexClauseHeading", "Annex Clause Heading", based_on="Heading2", next_="DraftingNote",
           ppr=_num(0) + _spacing(300, 120, 240)),
    _style("paragraph", "AnnexClause", "Annex Clause", next_="AnnexClause",
           ppr=_num(1) + '<w:jc w:val="both"/>'),
    _style("paragraph", "AnnexClauseItem", "Annex Clause Item", next_="AnnexClauseItem",
           ppr=_num(2) + _spacing(0, 80) + '<w:jc w:val="both"/>'),
    _style("paragraph", "AnnexObligation", "Annex Obligation", next_="AnnexSource",
           ppr='<w:keepNext/>' + _spacing(120, 40) + '<w:jc w:val="both"/>'),
    _style("paragraph", "AnnexSource", "Annex Source", next_="AnnexObligation",
           ppr=_spacing(0, 120, 240) + f'<w:ind w:left="{round(0.8 * CM)}"/>',
           rpr=f'<w:color w:val="{GREY}"/><w:sz w:val="18"/><w:szCs w:val="18"/>'),
    _style("paragraph", "AnnexTableText", "Annex Table Text", ppr=_spacing(0, 0, 240),
           rpr='<w:sz w:val="17"/><w:szCs w:val="17"/>'),
    _style("paragraph", "AnnexTableHeading", "Annex Table Heading", based_on="AnnexTableText",
           ppr='<w:keepNext/>', rpr="<w:b/><w:bCs/>"),
    _style("character", "AnnexLabel", "Annex Label", based_on="DefaultParagraphFont", rpr="<w:b/><w:bCs/>"),
    _style("character", "AnnexWarning", "Annex Warning", based_on="DefaultParagraphFont",
           rpr='<w:b/><w:bCs/><w:color w:val="B00000"/>'),
    TABLE_STYLE,
]


def _level(ilvl: int, fmt: str, text: str, indent_cm: float, style: str | None = None) -> str:
    left = round(indent_cm * CM)
    hanging = round(0.8 * CM) if ilvl < 3 else round(0.6 * CM)
    pstyle = f'<w:pStyle w:val="{style}"/>' if style else ""
    return (f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>{pstyle}'
            f'<w:suff w:val="tab"/><w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
            f'<w:pPr><w:tabs><w:tab w:val="num" w:pos="{left}"/></w:tabs>'
            f'<w:ind w:left="{left}" w:hanging="{hanging}"/></w:pPr></w:lvl>')


CLAUSE_NUMBERING = (
    f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{ABSTRACT_NUM_ID}"><w:nsid w:val="5A1E7C20"/>'
    '<w:multiLevelType w:val="multilevel"/><w:tmpl w:val="0409001F"/>'
    + _level(0, "decimal", "%1.", 0.8, "AnnexClauseHeading")
    + _level(1, "decimal", "%1.%2", 0.8, "AnnexClause")
    + _level(2, "lowerLetter", "(%3)", 1.6, "AnnexClauseItem")
    + _level(3, "lowerRoman", "(%4)", 2.2)
    + "".join(_level(i, "decimal", f"%{i + 1}.", 2.2 + 0.6 * (i - 3)) for i in range(4, 9))
    + "</w:abstractNum>")


def _install_styles(doc) -> None:
    styles = doc.styles.element
    for xml in STYLES:
        new = parse_xml(xml)
        old = styles.find(f'{qn("w:style")}[@{qn("w:styleId")}="{new.get(qn("w:styleId"))}"]')
        if old is not None:
            if old.get(qn("w:default")):
                new.set(qn("w:default"), old.get(qn("w:default")))
            old.addprevious(new)
            styles.remove(old)
        else:
            styles.append(new)


def _install_numbering(doc) -> None:
    numbering = doc.part.numbering_part.element
    first_num = numbering.find(qn("w:num"))
    first_num.addprevious(parse_xml(CLAUSE_NUMBERING))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{NUM_ID}">'
                               f'<w:abstractNumId w:val="{ABSTRACT_NUM_ID}"/></w:num>'))


def _numbered(paragraph, ilvl: int) -> None:
    """The clause list's level on the paragraph itself too (as Word writes it), besides its style's."""
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = ilvl
    num_pr.get_or_add_numId().val = NUM_ID


def _field(paragraph, instruction: str, shown: str) -> None:
    """A complex field (`PAGE`, `NUMPAGES`) with `shown` as its last result until Word updates it."""
    for xml in ('<w:fldChar w:fldCharType="begin"/>',
                f'<w:instrText xml:space="preserve"> {instruction} </w:instrText>',
                '<w:fldChar w:fldCharType="separate"/>', f"<w:t>{shown}</w:t>",
                '<w:fldChar w:fldCharType="end"/>'):
        paragraph._p.append(parse_xml(f"<w:r {nsdecls('w')}>{xml}</w:r>"))


def labelled(doc, label: str, text: str, style: str = "Annex Title Block") -> None:
    p = doc.add_paragraph(style=style)
    p.add_run(label, style="Annex Label")
    p.add_run(text)


def table(doc, headers: list[str], loop: str, cells: list[str], end: str = "{%tr endfor %}") -> None:
    """A table in the Annex Table style: a header row that repeats on every page, then docxtpl's row loop."""
    t = doc.add_table(rows=4, cols=len(headers))
    t.style = "Annex Table"
    tbl_pr = t._tbl.tblPr
    look = tbl_pr.find(qn("w:tblLook"))
    if look is not None:
        tbl_pr.remove(look)
    tbl_pr.append(parse_xml(f'<w:tblLook {nsdecls("w")} w:val="04A0" w:firstRow="1" w:lastRow="0" '
                            'w:firstColumn="0" w:lastColumn="0" w:noHBand="1" w:noVBand="1"/>'))
    rows = [(t.rows[0], headers, "Annex Table Heading"), (t.rows[1], [loop], "Annex Table Text"),
            (t.rows[2], cells, "Annex Table Text"), (t.rows[3], [end], "Annex Table Text")]
    for i, (row, texts, style) in enumerate(rows):
        for cell, text in zip(row.cells, texts, strict=False):
            cell.paragraphs[0].style = doc.styles[style]
            cell.paragraphs[0].add_run(text)
        for cell in row.cells[len(texts):]:
            cell.paragraphs[0].style = doc.styles[style]
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(parse_xml(f'<w:cantSplit {nsdecls("w")}/>'))
        if i == 0:
            tr_pr.append(parse_xml(f'<w:tblHeader {nsdecls("w")}/>'))  # repeats at the top of each page


def _drop_stale_parts(doc) -> None:
    """python-docx's default package carries a copy of its own styles for Word 2010 (stylesWithEffects, which
    that version may read instead of styles.xml) and a thumbnail of another document: neither shows this one."""
    for rels, reltype in ((doc.part.rels, "stylesWithEffects"), (doc.part.package.rels, "thumbnail")):
        for r_id in [k for k, rel in rels.items() if rel.reltype.endswith("/" + reltype)]:
            rels.pop(r_id)


def build(out: Path = OUT) -> Path:
    doc = Document()
    _drop_stale_parts(doc)
    _install_styles(doc)
    _install_numbering(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.2))
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.5)
    section.header_distance, section.footer_distance = Cm(1.2), Cm(1.2)

    doc.core_properties.title = "Contract annex (draft)"
    doc.core_properties.author = "policycheck"
    doc.core_properties.comments = "Draft generated by policycheck; not legal advice; review by counsel required."

    header = section.header.paragraphs[0]
    header.style = doc.styles["Header"]
    header.add_run("{{ title }}")
    footer = section.footer.paragraphs[0]
    footer.style = doc.styles["Footer"]
    footer.add_run("DRAFT — not legal advice — for review by counsel", style="Annex Warning")
    footer.add_run("\tPage ")
    _field(footer, "PAGE", "1")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES", "1")

    # the title block: title, agreement, parties, date, draft notice
    doc.add_paragraph("{{ title }}", style="Title")
    labelled(doc, "Agreement: ", "{{ agreement.title }} (reference {{ agreement.reference }}, dated "
                                  "{{ agreement.date }})")
    doc.add_paragraph("{%p for party in parties %}")
    labelled(doc, "{{ party.role }}: ", "{{ party.name }}, {{ party.address }}")
    doc.add_paragraph("{%p endfor %}")
    labelled(doc, "Generated: ", "{{ date }} by policycheck {{ version }}")
    p = doc.add_paragraph(style="Draft Notice")
    p.add_run("DRAFT — NOT LEGAL ADVICE. ", style="Annex Warning")
    p.add_run("{{ draft_notice }}")
    doc.add_paragraph("{%p if missing_parameters %}")
    p = doc.add_paragraph(style="Annex Body")
    p.add_run("Parameters not set: ", style="Annex Label")
    p.add_run("{{ missing_parameters|join(', ') }}. Each is shown as [PARAMETER: name] where it is used.")
    doc.add_paragraph("{%p endif %}")

    doc.add_paragraph("Part A. Schedule of Licensed Models", style="Heading 1")
    table(doc, ["No.", "Model", "Revision", "Licences", "Lineage"], "{%tr for m in schedule %}",
          ["{{ m.number }}", "{{ m.id }}", "{{ m.revision }}", "{{ m.license_stack }}", "{{ m.lineage }}"])
    doc.add_paragraph("{%p for m in schedule %}")
    doc.add_paragraph("{%p for note in m.relicensed %}")
    doc.add_paragraph("{{ m.number }}: {{ note }}.", style="Annex Body")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if lineage %}")
    doc.add_paragraph("Lineage", style="Heading 2")
    table(doc, ["Model", "Ancestor", "Relation", "Ancestor licence", "Declared in", "Source"],
          "{%tr for e in lineage %}",
          ["{{ e.child }}", "{{ e.ancestor }}", "{{ e.relation }}", "{{ e.license }}", "{{ e.declared_in }}",
           "{{ e.source }}"])
    doc.add_paragraph("{%p endif %}")

    doc.add_paragraph("Part B. Obligations flowing to the Recipient", style="Heading 1")
    doc.add_paragraph("These duties come from the Upstream Licences of the Licensed Models and their Lineage, "
                      "as recorded in the license catalog of policycheck with the citation given for each. "
                      "They apply to the Recipient in addition to the clauses of Part C.", style="Annex Body")
    doc.add_paragraph("{%p for o in obligations %}")
    p = doc.add_paragraph(style="Annex Obligation")
    p.add_run("{{ o.number }} {{ o.type }} ", style="Annex Label")  # B.n: an identifier, cited as such
    p.add_run("({{ o.license_name }}, from {{ o.source }}): {{ o.text }}{% if o.concrete %} "
              "{{ o.concrete }}.{% endif %}")
    doc.add_paragraph("Source: {{ o.cite }}{% if o.quote %}: “{{ o.quote }}”{% endif %}. "
                      "Applies to: {{ o.models|join(', ') }}.", style="Annex Source")
    doc.add_paragraph("{%p endfor %}")

    # Part C: Word numbers the clauses (the clause list); the context's numbers are not typed
    doc.add_paragraph("Part C. Clauses", style="Heading 1")
    doc.add_paragraph("{%p for c in clauses %}")
    _numbered(doc.add_paragraph("{{ c.title }}{% if c.emphasised %} (heightened: restrictive terms in the "
                                "lineage){% endif %}", style="Annex Clause Heading"), 0)
    doc.add_paragraph("Drafting note (delete before signature): {{ c.purpose }} Selected: "
                      "{{ c.selected_because }}.", style="Drafting Note")
    doc.add_paragraph("{%p for p in c.paragraphs %}")
    doc.add_paragraph("{%p if p.bullet %}")
    _numbered(doc.add_paragraph("{{r p.rich }}", style="Annex Clause Item"), 2)
    doc.add_paragraph("{%p else %}")
    _numbered(doc.add_paragraph("{{r p.rich }}", style="Annex Clause"), 1)
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")

    doc.add_paragraph("Part D. Parameters", style="Heading 1")
    table(doc, ["Parameter", "Value", "Meaning"], "{%tr for p in parameters %}",
          ["{{ p.name }}", "{{ p.value }}{% if p.missing %} (not set){% endif %}", "{{ p.description }}"])

    doc.add_paragraph("Part E. For counsel: risk notes and open findings (not part of the Annex)",
                      style="Heading 1")
    doc.add_paragraph("{%p for m in schedule if m.risk %}")
    doc.add_paragraph("{{ m.number }} {{ m.id }}: {{ m.risk|join(' ') }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if findings %}")
    doc.add_paragraph("The compliance reports list open findings on the Licensed Models. {% if side == "
                      "'recipient' %}The cure covenant of Part C turns each into a duty of the Provider; record the "
                      "decision on any you waive{% else %}Resolve them, or record a decision, before this Annex is "
                      "signed{% endif %}:", style="Annex Body")
    doc.add_paragraph("{%p for f in findings %}")
    doc.add_paragraph("{{ f.severity }} {{ f.rule }} on {{ f.model }}: {{ f.message }} (Source: {{ f.cite }}.)",
                      style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("The compliance reports list no open findings.", style="Annex Body")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if waived %}")
    doc.add_paragraph("Waived findings (the Provider's policy records a decision):", style="Annex Body")
    doc.add_paragraph("{%p for f in waived %}")
    doc.add_paragraph("{{ f.rule }} on {{ f.model }}: {{ f.message }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endif %}")

    doc.add_paragraph("Evidence", style="Heading 1")
    for text in ("Generated by {{ evidence.tool }} on {{ evidence.date }}; rule packs: "
                 "{{ evidence.packs|join(', ') }}; catalog sha256: {{ evidence.catalog|join(', ') }}.",
                 "Policy file: {{ evidence.policies|join(', ') if evidence.policies else 'none (defaults)' }}.",
                 "Revisions evaluated: {{ evidence.revisions|join('; ') }}.",
                 "{{ disclaimer }}"):
        doc.add_paragraph(text, style="List Bullet")

    doc.save(str(out))
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
