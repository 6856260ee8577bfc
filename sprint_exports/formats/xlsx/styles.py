"""The workbook's cell formats: one set per workbook, shared by every sheet."""

from __future__ import annotations

from dataclasses import dataclass

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Rates and averages show one decimal, as the PDF does: 678.3, not 678.3333333333334.
ONE_DECIMAL_FORMAT = "0.0"


@dataclass(frozen=True)
class Styles:
    title: Format
    header: Format
    datetime: Format
    date: Format
    one_decimal: Format
    wrapped: Format  # long text (a sprint goal) wraps in its column instead of running off the page


def add_styles(workbook: Workbook) -> Styles:
    return Styles(
        title=workbook.add_format({"bold": True, "font_size": 16}),
        header=workbook.add_format({"bold": True}),
        datetime=workbook.add_format({"num_format": DATETIME_FORMAT}),
        date=workbook.add_format({"num_format": DATE_FORMAT, "align": "left"}),
        one_decimal=workbook.add_format({"num_format": ONE_DECIMAL_FORMAT}),
        wrapped=workbook.add_format({"text_wrap": True, "valign": "top"}),
    )
