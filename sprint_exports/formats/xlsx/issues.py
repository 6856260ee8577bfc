"""The XLSX Issues sheet's body: issue rows, group headings and subtotals, as XML a slice at a time.

Why it looks the way it does:

- Grouped templates get a heading row before and a story-points subtotal row
  after each group, labelled as in the PDF (`issue_groups`,
  `story_points_total`). Each is a one-row frame shaped like the issue table
  with a per-row style, so one writer (`xlsx_sheet.rows_xml`) writes every row.
- Groups are zero-copy slices of the sorted table (`issue_groups`), not
  copies (150 MB saved at a million issues).
- Slices end at multiples of the slice size counted over the whole table, not
  restarting in each group, and each is reported to `on_rows` once handed to
  the zip writer: at least every tenth of a long table. A small sprint is one
  slice, so one polars call.

Pure: no xlsxwriter, no Dagster. The xf style indices come from the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from sprint_exports.formats import OnRows
from sprint_exports.report.issue_order import issue_groups, story_points_total
from sprint_exports.formats.xlsx.sheet import ROW_STYLE, SheetColumn, cell_range, rows_xml, xml_size_bound
from sprint_exports.report.model import ISSUE_COLUMNS
from sprint_exports.templates import Template

FIRST_BODY_ROW = 2  # 1-based, below the header row


@dataclass(frozen=True)
class IssueTable:
    """The issue rows of a sheet, grouped as the template says, and the styles of the rows added around them."""

    rows: pl.DataFrame
    columns: tuple[SheetColumn, ...]
    groups: list[tuple[str, pl.DataFrame]]  # one unlabelled group when not grouping
    group_label: str | None  # the grouping column's label; None when not grouping
    group_style: int
    subtotal_style: int

    @property
    def body_rows(self) -> int:
        """Rows below the header: the issues, and a heading and a subtotal per group."""
        return self.rows.height + (2 * len(self.groups) if self.group_label else 0)

    @property
    def dimension(self) -> str:
        return cell_range(self.body_rows + 1, len(self.columns) - 1)

    def xml_size_bound(self) -> int:
        return xml_size_bound(self.rows, self.columns, self.body_rows)


def issue_table(
    rows: pl.DataFrame, template: Template, datetime_style: int, group_style: int, subtotal_style: int
) -> IssueTable:
    """`rows` (from `issue_rows`) as the Issues sheet shows them; dates in `datetime_style`."""
    kinds = {name: ISSUE_COLUMNS[name].kind for name in template.table_columns}
    group = template.group_column
    return IssueTable(
        rows=rows,
        columns=tuple(
            SheetColumn(name, kind, datetime_style if kind == "datetime" else None) for name, kind in kinds.items()
        ),
        groups=issue_groups(rows, template),
        group_label=ISSUE_COLUMNS[group].label if group else None,
        group_style=group_style,
        subtotal_style=subtotal_style,
    )


def issue_rows_xml(table: IssueTable, chunk_rows: int, on_rows: OnRows | None = None) -> Iterator[bytes]:
    """The body rows as XML, a slice at a time; each slice's issues reported to `on_rows` once it is taken."""
    first_row = FIRST_BODY_ROW
    for frame, issue_count in issue_slices(table, chunk_rows):
        yield rows_xml(frame, table.columns, first_row)
        first_row += frame.height
        if on_rows is not None and issue_count:
            on_rows(issue_count)


def issue_slices(table: IssueTable, chunk_rows: int) -> Iterator[tuple[pl.DataFrame, int]]:
    """The body rows in sheet order, in slices of at most `chunk_rows` issues; with each, its issue count.

    Slices end at multiples of `chunk_rows` issues counted over the whole table;
    a group's heading and subtotal rows travel in the slices of its first and
    last issue.
    """
    pending: list[pl.DataFrame] = []
    done = count = 0  # issues in earlier slices, and in `pending`
    for label, part in table.groups:
        if table.group_label:
            pending.append(group_heading(table, label, part))
        offset = 0
        while offset < part.height:
            piece = part.slice(offset, chunk_rows - (done + count) % chunk_rows)
            pending.append(piece)
            offset += piece.height
            count += piece.height
            if (done + count) % chunk_rows == 0:
                yield pl.concat(pending, how="diagonal"), count
                pending, done, count = [], done + count, 0
        if table.group_label:
            pending.append(group_subtotal(table, label, part))
    if pending:
        yield pl.concat(pending, how="diagonal"), count


def group_heading(table: IssueTable, label: str, part: pl.DataFrame) -> pl.DataFrame:
    heading = f"{table.group_label}: {label} ({part.height} issues)"
    return styled_row(part, {table.columns[0].name: heading}, table.group_style)


def group_subtotal(table: IssueTable, label: str, part: pl.DataFrame) -> pl.DataFrame:
    total = story_points_total(part)
    values: dict[str, object] = {table.columns[0].name: f"Subtotal {label}: {total} story points"}
    if "story_points" in part.columns:
        values["story_points"] = total
    return styled_row(part, values, table.subtotal_style)


def styled_row(part: pl.DataFrame, values: dict[str, object], style: int) -> pl.DataFrame:
    """A one-row frame shaped like `part`, holding `values` (the rest blank), every cell in `style`."""
    return pl.DataFrame([{**values, ROW_STYLE: style}], schema={**part.schema, ROW_STYLE: pl.Int64})
