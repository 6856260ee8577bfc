"""The one text cleaner: tracker text made safe for a header, a PDF line or a table cell.

Tracker text is arbitrary Unicode, control characters and line breaks
included. Control characters have no glyph and line breaks would break a mail
header, so each place that shows text asks for one of two forms: one line
(headers, titles, footers) or lines (table cells, where a break is kept).
The same patterns serve Python strings and polars columns.
"""

from __future__ import annotations

import re

import polars as pl

# Every line break, including Unicode's line and paragraph separators and NEL.
LINE_BREAKS = r"\r\n?|[\n\x0b\x0c\x85\u2028\u2029]"
# Control characters other than the line breaks above.
CONTROL_CHARACTERS = r"[\x00-\x09\x0e-\x1f\x7f]"
_ONE_LINE = re.compile(rf"(?:{LINE_BREAKS}|{CONTROL_CHARACTERS})+")


def one_line(text: str) -> str:
    """`text` on one line: every run of line breaks and control characters becomes one space."""
    return _ONE_LINE.sub(" ", text).strip()


def cell_lines(column: pl.Expr) -> pl.Expr:
    """A text column with every line break as `\\n` and every other control character as a space."""
    return column.str.replace_all(LINE_BREAKS, "\n").str.replace_all(CONTROL_CHARACTERS, " ")
