"""The report as a Word document (python-docx), for staff to edit before publishing.

Headings use Word's own Heading styles (a screen reader and the navigation pane find them),
every map has alt text, and the document's language is set on its default style.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm

from .collect import Report

LOCALES = {"fi": "fi-FI", "sv": "sv-SE", "en": "en-GB"}
IMAGE_WIDTH_CM = 16.0
PHOTO_WIDTH_CM = 8.0


def _language(document: DocxDocument, locale: str) -> None:
    """Set the language of the default paragraph style (spell checking, screen readers)."""
    rpr = document.styles["Normal"].element.get_or_add_rPr()
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), locale)


def _run_language(run: Any, locale: str) -> None:
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), locale)
    run._r.get_or_add_rPr().append(lang)


def _picture(document: DocxDocument, png: bytes, alt: str, *, width_cm: float) -> None:
    document.add_picture(io.BytesIO(png), width=Cm(width_cm))
    inline = document.inline_shapes[-1]._inline
    inline.docPr.set("descr", alt)
    inline.docPr.set("title", alt)


def _table(document: DocxDocument, header: tuple[str, str],
           rows: Sequence[tuple[str, int]]) -> None:
    table = document.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    for cell, value in zip(table.rows[0].cells, header, strict=True):
        cell.text = value
        for run in cell.paragraphs[0].runs:
            run.bold = True
    # the first row repeats on each page and is read as the header
    trpr = table.rows[0]._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))
    for label, number in rows:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = str(number)


def write_docx(report: Report) -> bytes:
    """The report as DOCX bytes."""
    w = report.words
    document = Document()
    _language(document, LOCALES[report.lang])
    props = document.core_properties
    props.title = report.heading
    props.subject = w["subtitle"]
    props.language = LOCALES[report.lang]
    props.author = ""
    document.add_heading(report.heading, level=0)
    document.add_paragraph(w["subtitle"])
    document.add_paragraph(f"{w['period']}: {report.period}")
    document.add_paragraph(f"{w['made']}: {report.made}")
    document.add_paragraph(w["intro"])

    document.add_heading(w["summary"], level=1)
    _table(document, (w["counted"], w["count"]), report.counts)
    if report.by_theme:
        document.add_heading(w["by_theme"], level=2)
        _table(document, (w["theme"], w["count"]), report.by_theme)
    if report.by_kind:
        document.add_heading(w["by_kind"], level=2)
        _table(document, (w["kind"], w["count"]), report.by_kind)
    if report.overview is not None:
        document.add_heading(w["overview"], level=1)
        _picture(document, report.overview, report.overview_alt, width_cm=IMAGE_WIDTH_CM)

    document.add_heading(w["comments"], level=1)
    if not report.comments:
        document.add_paragraph(w["none_published"])
    for item in report.comments:
        document.add_heading(w["comment"].format(number=item.number), level=2)
        facts = [f"{w['date']}: {item.date}", f"{w['place']}: {item.place}"]
        if item.themes:
            facts.append(f"{w['themes']}: {', '.join(item.themes)}")
        document.add_paragraph("\n".join(facts))
        if item.image is not None:
            _picture(document, item.image, item.alt, width_cm=IMAGE_WIDTH_CM * 0.75)
        document.add_heading(w["text"], level=3)
        for part in item.text.split("\n\n"):
            paragraph = document.add_paragraph(part)
            if item.language != report.lang:  # a Swedish comment in a Finnish report
                for run in paragraph.runs:
                    _run_language(run, LOCALES.get(item.language, item.language))
        if item.photos:
            document.add_heading(w["photos"], level=3)
            for photo in item.photos:
                _picture(document, photo.data, photo.alt, width_cm=PHOTO_WIDTH_CM)
                document.add_paragraph(photo.alt)
        document.add_heading(w["response"], level=3)
        for part in (item.response or w["no_response"]).split("\n\n"):
            document.add_paragraph(part)
        document.add_paragraph(w["changed"] if item.changed_plan else w["unchanged"])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
