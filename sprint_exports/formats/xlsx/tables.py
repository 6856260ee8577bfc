"""Sheets whose content is one Excel table: the columns, their widths, the table object and its cells.

Why it looks the way it does:

- Every list (issues, group subtotals, team, burndown, velocity) is an
  Excel table (a ListObject): a header row and one row per record, styled,
  filterable, and a named range that sums, sorts and pivots as data. Excel
  requires at least one data row, so an empty list has one blank row.
- Column widths fit their header (bold, beside the filter button): "Story
  points" showed as "Story poi".
- The small sheets are written cell by cell through xlsxwriter, which caches
  the values the charts plot; the Issues sheet's rows are XML (`issues`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from sprint_exports.formats.xlsx.printing import PageLayout
from sprint_exports.formats.xlsx.sheet import EXCEL_DAYS_BEFORE_UNIX_EPOCH
from sprint_exports.formats.xlsx.styles import Styles

TABLE_STYLE = "TableStyleMedium2"
# A bold character is about this many characters of column width; the filter button takes about three.
BOLD_CHARACTER_WIDTH = 1.1
FILTER_BUTTON_WIDTH = 3

CellKind = Literal["text", "integer", "number", "datetime", "date"]  # datetimes: the issue table only
Write = Callable[[int, int, Any, Format | None], int]


@dataclass(frozen=True)
class Column:
    """One column of a sheet's table: where its values come from and how they look."""

    name: str
    label: str
    kind: CellKind
    width: float

    @property
    def fitted_width(self) -> float:
        """The column's width, at least enough to show its header in full."""
        return max(self.width, round(len(self.label) * BOLD_CHARACTER_WIDTH + FILTER_BUTTON_WIDTH, 1))


def table_width(columns: Sequence[Column]) -> float:
    return sum(column.fitted_width for column in columns)


def add_table(
    sheet: Worksheet,
    name: str,
    columns: Sequence[Column],
    data_rows: int,
    styles: Styles,
    totals: Sequence[dict[str, Any]] = (),
) -> PageLayout:
    """An Excel table called `name` from A1 over a header row and `data_rows` rows (at least one); widths set.

    xlsxwriter writes the header cells, with the column labels as the table's
    column names (Excel requires the two to be equal). `totals`, when given,
    adds a totals row: per column, xlsxwriter's `total_string` or
    `total_function` and `total_value`. Returns the sheet's page layout: the
    header row repeats on every printed page.
    """
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.fitted_width)
    last_row = max(data_rows, 1) + (1 if totals else 0)
    table_columns = [{"header": column.label, "header_format": styles.header} for column in columns]
    for table_column, total in zip(table_columns, totals):
        table_column.update(total)
    options = {"name": name, "style": TABLE_STYLE, "columns": table_columns, "total_row": bool(totals)}
    result = sheet.add_table(0, 0, last_row, len(columns) - 1, options)
    if result != 0:
        raise ValueError(f"xlsxwriter refused table {name!r} (code {result})")
    sheet.freeze_panes(1, 0)
    return PageLayout(table_width(columns), title_rows=1, print_area=(last_row, len(columns) - 1))


def write_table(sheet: Worksheet, name: str, columns: Sequence[Column], frame: pl.DataFrame, styles: Styles) -> PageLayout:
    """`frame` as an Excel table, cell by cell; returns the sheet's page layout."""
    layout = add_table(sheet, name, columns, frame.height, styles)
    for col, column in enumerate(columns):
        write, cell_format = cell_writer(sheet, column.kind, styles)
        for row, value in enumerate(cell_values(frame[column.name], column.kind), start=1):
            if value is not None:  # a blank cell is simply not written
                write(row, col, value, cell_format)
    return layout


def cell_writer(sheet: Worksheet, kind: CellKind, styles: Styles) -> tuple[Write, Format | None]:
    """The one write method and format each cell of a column gets: no per-cell type dispatch."""
    if kind == "text":
        return sheet.write_string, None
    if kind == "date":
        return sheet.write_number, styles.date
    if kind == "number":
        return sheet.write_number, styles.one_decimal
    return sheet.write_number, None


def cell_values(series: pl.Series, kind: CellKind) -> list[Any]:
    """A column as the Python values its cells take, converted once; None is a blank cell."""
    if kind == "date":
        series = series.cast(pl.Int32) + EXCEL_DAYS_BEFORE_UNIX_EPOCH
    elif kind == "number":
        series = series.cast(pl.Float64).fill_nan(None)  # xlsxwriter rejects NaN
    return series.to_list()
