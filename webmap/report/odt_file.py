"""The report as an OpenDocument text (odfpy), for staff who edit in LibreOffice.

Headings are outline-level headings with the standard ``Heading n`` styles, maps are frames
with a title and a description (their alt text), and the language is set on the default
style and in the metadata.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from odf import dc, draw, meta, style, svg, table, teletype, text
from odf.opendocument import OpenDocumentText

from .collect import Report

COUNTRIES = {"fi": "FI", "sv": "SE", "en": "GB"}
IMAGE_WIDTH_CM = 16.0
PHOTO_WIDTH_CM = 8.0
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}
HEADING_PT = {1: "20pt", 2: "15pt", 3: "12pt"}


def _styles(document: OpenDocumentText, lang: str) -> dict[str, style.Style]:
    """The default text language and the paragraph, heading and table styles used."""
    default = style.DefaultStyle(family="paragraph")
    default.addElement(style.TextProperties(language=lang, country=COUNTRIES[lang],
                                            fontsize="11pt", fontfamily="DejaVu Sans"))
    document.styles.addElement(default)
    found: dict[str, style.Style] = {}
    body = style.Style(name="Text_20_body", displayname="Text body", family="paragraph")
    body.addElement(style.ParagraphProperties(marginbottom="0.2cm"))
    document.styles.addElement(body)
    found["body"] = body
    title = style.Style(name="Title", family="paragraph")
    title.addElement(style.TextProperties(fontsize="24pt", fontweight="bold"))
    title.addElement(style.ParagraphProperties(marginbottom="0.3cm"))
    document.styles.addElement(title)
    found["title"] = title
    for level, size in HEADING_PT.items():
        heading = style.Style(name=f"Heading_20_{level}", displayname=f"Heading {level}",
                              family="paragraph", defaultoutlinelevel=str(level))
        heading.addElement(style.TextProperties(fontsize=size, fontweight="bold"))
        heading.addElement(style.ParagraphProperties(margintop="0.4cm", marginbottom="0.2cm",
                                                     keepwithnext="always"))
        document.styles.addElement(heading)
        found[f"h{level}"] = heading
    strong = style.Style(name="Table_20_Heading", displayname="Table Heading",
                         family="paragraph")
    strong.addElement(style.TextProperties(fontweight="bold"))
    document.styles.addElement(strong)
    found["th"] = strong
    cell = style.Style(name="report_cell", family="table-cell")
    cell.addElement(style.TableCellProperties(border="0.5pt solid #000000", padding="0.1cm"))
    document.automaticstyles.addElement(cell)
    found["cell"] = cell
    frame = style.Style(name="report_frame", family="graphic")
    frame.addElement(style.GraphicProperties(anchortype="as-char", verticalpos="top"))
    document.automaticstyles.addElement(frame)
    found["frame"] = frame
    return found


class _Writer:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.document = OpenDocumentText()
        self.styles = _styles(self.document, report.lang)
        self.images = 0

    def heading(self, value: str, level: int) -> None:
        self.document.text.addElement(text.H(outlinelevel=level,
                                             stylename=self.styles[f"h{level}"], text=value))

    def paragraph(self, value: str, *, name: str = "body") -> None:
        for part in value.split("\n\n"):
            paragraph = text.P(stylename=self.styles[name])
            teletype.addTextToElement(paragraph, part)  # line breaks, tabs, runs of spaces
            self.document.text.addElement(paragraph)

    def table(self, header: tuple[str, str], rows: Sequence[tuple[str, int]]) -> None:
        grid = table.Table(name=f"table{len(self.document.text.childNodes)}")
        grid.addElement(table.TableColumn(numbercolumnsrepeated=2))
        head = table.TableHeaderRows()
        head.addElement(self._row(header, heading=True))
        grid.addElement(head)
        for label, number in rows:
            grid.addElement(self._row((label, str(number)), heading=False))
        self.document.text.addElement(grid)

    def _row(self, values: Sequence[str], *, heading: bool) -> Any:
        row = table.TableRow()
        for value in values:
            cell = table.TableCell(stylename=self.styles["cell"], valuetype="string")
            cell.addElement(text.P(stylename=self.styles["th" if heading else "body"],
                                   text=value))
            row.addElement(cell)
        return row

    def picture(self, data: bytes, size_px: tuple[int, int], alt: str, *,
                width_cm: float, media_type: str = "image/png") -> None:
        self.images += 1
        href = self.document.addPicture(
            f"Pictures/image{self.images}.{EXTENSIONS[media_type]}", media_type, data)
        height_cm = width_cm * size_px[1] / size_px[0]
        frame = draw.Frame(stylename=self.styles["frame"], name=f"image{self.images}",
                           anchortype="as-char", width=f"{width_cm:.2f}cm",
                           height=f"{height_cm:.2f}cm")
        frame.addElement(draw.Image(href=href))
        frame.addElement(svg.Title(text=alt))
        frame.addElement(svg.Desc(text=alt))
        paragraph = text.P(stylename=self.styles["body"])
        paragraph.addElement(frame)
        self.document.text.addElement(paragraph)


def write_odt(report: Report) -> bytes:
    """The report as ODT bytes."""
    w = report.words
    out = _Writer(report)
    document = out.document
    document.meta.addElement(dc.Title(text=report.heading))
    document.meta.addElement(dc.Subject(text=w["subtitle"]))
    document.meta.addElement(dc.Language(text=f"{report.lang}-{COUNTRIES[report.lang]}"))
    document.meta.addElement(meta.Generator(text="webmap"))
    document.text.addElement(text.P(stylename=out.styles["title"], text=report.heading))
    out.paragraph(w["subtitle"])
    out.paragraph(f"{w['period']}: {report.period}")
    out.paragraph(f"{w['made']}: {report.made}")
    out.paragraph(w["intro"])

    out.heading(w["summary"], 1)
    out.table((w["counted"], w["count"]), report.counts)
    if report.by_theme:
        out.heading(w["by_theme"], 2)
        out.table((w["theme"], w["count"]), report.by_theme)
    if report.by_kind:
        out.heading(w["by_kind"], 2)
        out.table((w["kind"], w["count"]), report.by_kind)
    if report.overview is not None:
        out.heading(w["overview"], 1)
        out.picture(report.overview, report.overview_px, report.overview_alt,
                    width_cm=IMAGE_WIDTH_CM)

    out.heading(w["comments"], 1)
    if not report.comments:
        out.paragraph(w["none_published"])
    for item in report.comments:
        out.heading(w["comment"].format(number=item.number), 2)
        facts = [f"{w['date']}: {item.date}", f"{w['place']}: {item.place}"]
        if item.themes:
            facts.append(f"{w['themes']}: {', '.join(item.themes)}")
        out.paragraph("\n".join(facts))
        if item.image is not None:
            out.picture(item.image, item.image_px, item.alt, width_cm=IMAGE_WIDTH_CM * 0.75)
        out.heading(w["text"], 3)
        out.paragraph(item.text)
        if item.photos:
            out.heading(w["photos"], 3)
            for photo in item.photos:
                out.picture(photo.data, photo.size_px, photo.alt, width_cm=PHOTO_WIDTH_CM,
                            media_type=photo.media_type)
                out.paragraph(photo.alt)
        out.heading(w["response"], 3)
        out.paragraph(item.response or w["no_response"])
        out.paragraph(w["changed"] if item.changed_plan else w["unchanged"])
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()
