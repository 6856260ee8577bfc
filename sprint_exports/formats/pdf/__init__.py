"""PDF: the document, its issue table, charts, fonts and colours."""

from sprint_exports.formats.pdf.document import render

__all__ = ["render"]
