"""The report as a tagged PDF (WeasyPrint, PDF/UA-1): the document to publish.

The HTML carries what PDF/UA asks for and WeasyPrint tags it: the language on ``<html>``, a
title, headings in order, tables with header cells, alt text on every map.
"""

from __future__ import annotations

import base64
import logging
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, Template, select_autoescape

from ..problems import ServiceUnavailable
from .collect import Report, ReportPhoto

TEMPLATES = Path(__file__).parent / "templates"
log = logging.getLogger("webmap.report")


@cache
def _template() -> Template:
    environment = Environment(loader=FileSystemLoader(TEMPLATES),
                              autoescape=select_autoescape(["html"]))
    return environment.get_template("report.html")


def _data_uri(data: bytes | None, media_type: str = "image/png") -> str:
    return "" if data is None else \
        f"data:{media_type};base64," + base64.b64encode(data).decode()


def _photo_uri(photo: ReportPhoto) -> str:
    return _data_uri(photo.data, photo.media_type)


def report_html(report: Report) -> str:
    """The report as one HTML document (images inline), the PDF's source."""
    return _template().render(report=report, w=report.words,
                              overview=_data_uri(report.overview),
                              images=[_data_uri(item.image) for item in report.comments],
                              photo_uri=_photo_uri)


def write_pdf(report: Report) -> bytes:
    """The report as tagged PDF bytes."""
    try:
        from weasyprint import HTML  # loads Pango: only when a PDF is asked for
    except OSError:
        log.exception("WeasyPrint cannot load its libraries")
        raise ServiceUnavailable("the PDF report needs Pango (apt-get install libpango-1.0-0 "
                                 "libpangoft2-1.0-0); DOCX and ODT work without it") from None

    pdf: bytes = HTML(string=report_html(report), base_url=str(TEMPLATES)).write_pdf(
        pdf_variant="pdf/ua-1", pdf_tags=True, uncompressed_pdf=False)
    return pdf
