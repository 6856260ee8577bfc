"""Every use of xlsxwriter's private API, in one place, each with the public API it stands in for.

xlsxwriter is pinned to 3.x (pyproject.toml); `test_xlsx.py` checks each of
these against the installed version, so an upgrade that removes one fails
loudly instead of writing a file with missing styles or footers.
"""

from __future__ import annotations

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet


def style_index(cell_format: Format) -> int:
    """The xf index of a format used by cells xlsxwriter never sees.

    Missing public API: a format's cell style index. xlsxwriter numbers a
    format, and puts it in styles.xml, the first time a cell it writes asks
    for its index (`Format._get_xf_index`); asking here does the same for the
    XML rows written outside it.
    """
    return cell_format._get_xf_index()


def set_footer_verbatim(sheet: Worksheet, footer: str, codes_only: str) -> None:
    """Set `footer` exactly as given: its literal text may hold `&&G` or `&[Picture]`.

    Missing public API: a footer without image placeholders. `set_footer`
    counts every `&G` as an image placeholder, also the one inside an escaped
    `&&G` (a sprint called "R&G"), turns `&[Picture]` into `&G`, and drops a
    footer whose placeholders outnumber its images, with only a warning. So
    `set_footer` gets `codes_only` (the footer without the untrusted text) to
    set the margin and flags, and `footer` goes into the attribute xlsxwriter
    writes out (`Worksheet.footer`).
    """
    sheet.set_footer(codes_only)
    sheet.footer = footer
