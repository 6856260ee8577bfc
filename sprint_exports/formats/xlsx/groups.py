"""The group subtotals of a grouped template, as a table on a sheet of their own.

Why a sheet of their own: in the Issues table, heading and subtotal rows were
counted by every sum, filter and pivot table and scattered by every sort. Here
each group is one row (its label as the PDF shows it, issue count, story
points) in the Issues table's order, and the table's totals row adds up the
rows shown (SUBTOTAL follows a filter), cached so every reader shows it.
"""

from __future__ import annotations

import polars as pl
from xlsxwriter.worksheet import Worksheet

from sprint_exports.formats.xlsx.printing import PageLayout
from sprint_exports.formats.xlsx.styles import Styles
from sprint_exports.formats.xlsx.tables import Column, add_table
from sprint_exports.report.issue_order import issue_groups, story_points_total
from sprint_exports.report.model import ISSUE_COLUMNS
from sprint_exports.templates import Template

SHEET_NAME = "Groups"
TABLE_NAME = "GroupTable"
GROUP_WIDTH = 24


def group_columns(template: Template, rows: pl.DataFrame) -> list[Column]:
    """The group label, the issue count, and the story points when the table has them."""
    group = template.group_column
    assert group is not None, "only grouped templates have group subtotals"
    columns = [Column("group", ISSUE_COLUMNS[group].label, "text", GROUP_WIDTH), Column("issues", "Issues", "integer", 8)]
    if "story_points" in rows.columns:
        columns.append(Column("story_points", ISSUE_COLUMNS["story_points"].label, "integer", 8))
    return columns


def write_groups(sheet: Worksheet, template: Template, rows: pl.DataFrame, styles: Styles) -> PageLayout:
    """One row per group of `rows` (from `issue_rows`), then a totals row; returns the sheet's page layout."""
    columns = group_columns(template, rows)
    groups = issue_groups(rows, template)
    totals = [{"total_string": "Total"}, visible_sum(columns[1], rows.height)]
    if len(columns) > 2:
        totals.append(visible_sum(columns[2], story_points_total(rows)))
    layout = add_table(sheet, TABLE_NAME, columns, len(groups), styles, totals)
    for row, (label, part) in enumerate(groups, start=1):
        sheet.write_string(row, 0, label)
        sheet.write_number(row, 1, part.height)
        if len(columns) > 2:
            sheet.write_number(row, 2, story_points_total(part))
    return layout


def visible_sum(column: Column, total: int) -> dict[str, object]:
    """A totals-row cell: the sum of the column's visible rows, `total` until a reader recalculates.

    The table's name is spelled out: xlsxwriter's `sum` writes the short form
    `SUBTOTAL(109,[Story points])`, which LibreOffice cannot parse when the
    column name has a space (Err:508).
    """
    return {"total_function": f"SUBTOTAL(109,{TABLE_NAME}[{column.label}])", "total_value": total}
