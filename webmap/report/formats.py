"""The report's formats: which writer, media type and file extension each has."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..problems import InvalidParameter
from .collect import Report
from .docx_file import write_docx
from .odt_file import write_odt
from .pdf_file import write_pdf


@dataclass(frozen=True)
class ReportFormat:
    """A writer and what to call its output."""

    media_type: str
    write: Callable[[Report], bytes]


REPORT_FORMATS: dict[str, ReportFormat] = {
    "pdf": ReportFormat("application/pdf", write_pdf),
    "docx": ReportFormat("application/vnd.openxmlformats-officedocument."
                         "wordprocessingml.document", write_docx),
    "odt": ReportFormat("application/vnd.oasis.opendocument.text", write_odt),
}
"""Each format's name is also its file extension."""


def check_format(fmt: str | None) -> ReportFormat:
    """The format named, or ``InvalidParameter`` naming ``format``."""
    if fmt not in REPORT_FORMATS:
        raise InvalidParameter("format", f"format is one of {', '.join(REPORT_FORMATS)}, "
                                         f"not {fmt!r}")
    return REPORT_FORMATS[fmt]
