"""Print setup of every sheet: orientation, one page wide, repeated header rows, a footer naming the sprint.

Why it looks the way it does:

- Spreadsheet apps print a sheet at 100 % in portrait by default, so a wide
  table came out column by column (LibreOffice printed one sprint as 34-38
  pages, the Summary's labels on one page and their values on the next).
  Each sheet is fitted one page wide, as many pages tall as it needs, in
  landscape when its content is wider than a portrait page.
- A table's header row repeats on every printed page (print titles).
- The footer is the sprint's name, the sheet's name and "Page N of M". The
  name is untrusted text inside Excel's header/footer mini-language, where
  `&` starts a code (`&P` page number, `&N` page count, `&"font"`, `&14` font
  size, `&G` picture): every `&` of the name is doubled, which Excel and
  LibreOffice print as one `&`. Characters XML cannot hold become spaces,
  and the name is cut so the footer stays within Excel's 255 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xlsxwriter.worksheet import Worksheet

from sprint_exports.formats.xlsx.private_api import set_footer_verbatim

# Excel's limit on a header or footer string, in UTF-16 code units (xlsxwriter drops a longer one).
HEADER_FOOTER_LIMIT = 255
# The footer after the sprint's name: the sheet's name in the middle, "Page N of M" on the right.
FOOTER_CODES = "&C&A&RPage &P of &N"
# Content wider than this many characters of the default font does not fit a portrait A4 or
# Letter page at 100 % (about 6.9 inches between Excel's default 0.7-inch margins).
PORTRAIT_CHARACTERS = 90
# Pixels per character of column width, as Excel converts them for the default font (Calibri 11).
PIXELS_PER_CHARACTER = 7
_NOT_PRINTABLE = re.compile("[\x00-\x1f\x7f\ufffe\uffff]")
TRUNCATED = "…"


@dataclass(frozen=True)
class PageLayout:
    """How one sheet prints: its content's width, the header rows that repeat, its print area."""

    width_characters: float
    title_rows: int = 0  # rows at the top repeated on every page
    print_area: tuple[int, int] | None = None  # last row and column (0-based) from A1, when the area is known


def footer_text(sprint_name: str) -> str:
    """The footer of every sheet: the sprint's name as literal text on the left, then FOOTER_CODES."""
    budget = HEADER_FOOTER_LIMIT - utf16_len("&L" + FOOTER_CODES + TRUNCATED)
    name = _NOT_PRINTABLE.sub(" ", sprint_name)
    escaped = header_footer_literal(name)
    if utf16_len(escaped) + utf16_len(TRUNCATED) > budget:
        kept: list[str] = []
        for char in name:  # cut between characters, never inside a doubled `&`
            piece = header_footer_literal(char)
            if utf16_len("".join(kept)) + utf16_len(piece) > budget:
                break
            kept.append(piece)
        escaped = "".join(kept) + TRUNCATED
    return "&L" + escaped + FOOTER_CODES


def header_footer_literal(text: str) -> str:
    """`text` as literal text in a header or footer: `&` starts a code, `&&` is one ampersand."""
    return text.replace("&", "&&")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def set_page_layout(sheet: Worksheet, layout: PageLayout, footer: str) -> None:
    """Landscape when wide, one page wide, header rows on every page, the print area, the footer."""
    if layout.width_characters > PORTRAIT_CHARACTERS:
        sheet.set_landscape()
    sheet.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    if layout.title_rows:
        sheet.repeat_rows(0, layout.title_rows - 1)
    if layout.print_area is not None:
        sheet.print_area(0, 0, *layout.print_area)
    set_footer_verbatim(sheet, footer, FOOTER_CODES)


def chart_characters(chart_pixels: float) -> float:
    """A chart's width as characters of column width, to add to its sheet's content width."""
    return chart_pixels / PIXELS_PER_CHARACTER
