"""The XLSX Issues sheet's body: one row per issue, as XML a slice at a time.

Why it looks the way it does:

- The body is a clean data range, the data of the sheet's Excel table: a
  header row, then one row per issue and nothing else. Group headings and
  subtotal rows inside it would be counted by every sum, pivot table and
  filter (a column sum gave twice the planned points) and scattered by every
  sort. The grouped order is the rows' sort order (`issue_rows` sorts by the
  group first); group subtotals have their own sheet (`groups`).
- Slices end at multiples of the slice size, and each is reported to
  `on_rows` once handed to the zip writer: at least every tenth of a long
  table. A small sprint is one slice, so one polars call.

Pure: no xlsxwriter, no Dagster. The xf style indices come from the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from sprint_exports.formats import OnRows
from sprint_exports.formats.xlsx.sheet import SheetColumn, cell_range, rows_xml, xml_size_bound
from sprint_exports.report.model import ISSUE_COLUMNS
from sprint_exports.templates import Template

FIRST_BODY_ROW = 2  # 1-based, below the header row


@dataclass(frozen=True)
class IssueTable:
    """The issue rows of a sheet, in order, and how each column's cells are written."""

    rows: pl.DataFrame
    columns: tuple[SheetColumn, ...]

    @property
    def last_row(self) -> int:
        """The 1-based row of the table's last data row: an Excel table has at least one, blank when no issues."""
        return max(self.rows.height, 1) + FIRST_BODY_ROW - 1

    @property
    def dimension(self) -> str:
        return cell_range(self.rows.height + 1, len(self.columns) - 1)

    @property
    def table_range(self) -> str:
        return cell_range(self.last_row, len(self.columns) - 1)

    def xml_size_bound(self) -> int:
        return xml_size_bound(self.rows, self.columns, self.rows.height)


def issue_table(rows: pl.DataFrame, template: Template, datetime_style: int) -> IssueTable:
    """`rows` (from `issue_rows`) as the Issues sheet shows them; dates in `datetime_style`."""
    kinds = {name: ISSUE_COLUMNS[name].kind for name in template.table_columns}
    return IssueTable(
        rows=rows,
        columns=tuple(
            SheetColumn(name, kind, datetime_style if kind == "datetime" else None) for name, kind in kinds.items()
        ),
    )


def issue_rows_xml(table: IssueTable, chunk_rows: int, on_rows: OnRows | None = None) -> Iterator[bytes]:
    """The body rows as XML, a slice at a time; each slice's issues reported to `on_rows` once it is taken."""
    for offset in range(0, table.rows.height, chunk_rows):
        frame = table.rows.slice(offset, chunk_rows)
        yield rows_xml(frame, table.columns, FIRST_BODY_ROW + offset)
        if on_rows is not None:
            on_rows(frame.height)
