"""The PDF's fonts: Roboto from the `font_roboto` wheel, registered once per process.

Tracker text is names and summaries in Latin, Greek and Cyrillic scripts. The
PDF standard fonts (Helvetica and friends) only cover Latin-1, so every piece
of text in the PDF uses Roboto, embedded as a subset. The font ships on PyPI,
so the output does not depend on what the machine has in /usr/share/fonts.
Characters Roboto lacks (emoji, CJK) render as the font's blank glyph; they
never raise.
"""

from __future__ import annotations

import threading
from importlib.resources import as_file, files

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "Roboto"
FONT_BOLD = "Roboto-Bold"

_FONT_FILES = {FONT: "Roboto-Regular.ttf", FONT_BOLD: "Roboto-Bold.ttf"}
_lock = threading.Lock()
_registered = False


def register_fonts() -> None:
    """Register Roboto and Roboto Bold with reportlab, plus a family so `<b>` in Paragraphs picks the bold face."""
    global _registered
    with _lock:
        if _registered:
            return
        for name, file_name in _FONT_FILES.items():
            with as_file(files("font_roboto") / "files" / file_name) as font_path:
                pdfmetrics.registerFont(TTFont(name, str(font_path)))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
        _registered = True
