"""XLSX: one sheet per selected section, with real numbers, real dates and native charts.

Why it looks the way it does:

- The issue table is the only part that grows with the sprint, and xlsxwriter
  spends ~12 µs of Python per cell (under 20,000 issues/s). So xlsxwriter
  builds everything else, in memory: styles, the Summary, Team, Burndown and
  Velocity sheets (a few dozen cells, from which the charts cache the values
  they plot), document properties, print setup (`printing`), and the Issues
  sheet's frame (its Excel table's header row, column widths, frozen header)
  without its body rows. Those are XML built column-wise by polars
  (`issues`, `sheet`; over 100,000 rows/s), streamed into the Issues
  worksheet while the finished workbook is copied to `path`, a slice at a
  time, so memory stays flat however many issues there are; the Issues
  table, declared over its header and first row, is widened to the rows
  written. One path for every sprint size, and no temporary files.
- The Issues table holds the issues and nothing else, so it sums, sorts,
  filters and pivots as data; a grouped template's subtotals are a table on
  the Groups sheet (`groups`), and its grouped order is the rows' order.
- Text is never a formula: the other sheets' text goes through
  `write_string` with xlsxwriter's formula/URL/number guessing off, and the
  issue rows hold inline strings. Summaries such as `=SUM(A1:A9)` are kept
  exactly as written, without the CSV quote prefix. The only formulas are
  our own: the Groups totals row's SUBTOTALs.
- Datetimes are Excel serial numbers with a date format, so they sort and
  filter as dates.
- Files are byte-for-byte reproducible: the creation date comes from the
  sprint (xlsxwriter would otherwise use the clock) and every zip member gets
  a fixed 1980 timestamp.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.workbook import Workbook

from sprint_exports.formats import OnRows, progress_slice_rows
from sprint_exports.formats.xlsx.charts import write_burndown, write_velocity
from sprint_exports.formats.xlsx.groups import SHEET_NAME as GROUPS_SHEET
from sprint_exports.formats.xlsx.groups import write_groups
from sprint_exports.formats.xlsx.issues import IssueTable, issue_rows_xml, issue_table
from sprint_exports.formats.xlsx.printing import PageLayout, footer_text, set_page_layout
from sprint_exports.formats.xlsx.private_api import style_index
from sprint_exports.formats.xlsx.sheet import splice_rows
from sprint_exports.formats.xlsx.styles import Styles, add_styles
from sprint_exports.formats.xlsx.summary import write_summary
from sprint_exports.formats.xlsx.tables import Column, add_table, write_table
from sprint_exports.report.issue_order import issue_rows
from sprint_exports.report.model import ISSUE_COLUMNS, SprintReport
from sprint_exports.templates import Template

WORKBOOK_OPTIONS = {
    "in_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
# Issue rows become XML at most this many at a time, so memory does not grow with the row count: a slice
# and polars' working copies take ~4 MB per 1,000 rows; larger slices are no faster.
CHUNK_ROWS = 5_000
# The creation date of sprints the tracker never stamped.
FIXED_CREATED = dt.datetime(2000, 1, 1)
ISSUE_TABLE = "IssueTable"

TEAM_COLUMNS = (
    Column("name", "Name", "text", 24),
    Column("email", "Email", "text", 28),
    Column("role", "Role", "text", 20),
    Column("capacity", "Capacity (hours)", "integer", 16),
)


@dataclass(frozen=True)
class IssueSheet:
    """The Issues worksheet xlsxwriter leaves without body rows, and the rows that go in it."""

    part: str  # its member in the zip
    table: IssueTable
    layout: PageLayout


def render(report: SprintReport, template: Template, path: Path, *, on_rows: OnRows | None = None) -> int:
    fields = template.fields
    issues: IssueSheet | None = None
    workbook_file = io.BytesIO()
    with xlsxwriter.Workbook(workbook_file, WORKBOOK_OPTIONS) as workbook:
        workbook.set_properties({"title": report.sprint.name, "created": creation_date(report)})
        styles = add_styles(workbook)
        layouts: list[PageLayout] = []
        if fields.basic_info or fields.metrics:
            layouts.append(write_summary(workbook.add_worksheet("Summary"), report, template, styles))
        if fields.issues and template.columns:
            rows = issue_rows(report, template)
            issues = add_issue_sheet(workbook, template, rows, styles)
            layouts.append(issues.layout)
            if template.group_column is not None:
                layouts.append(write_groups(workbook.add_worksheet(GROUPS_SHEET), template, rows, styles))
        if fields.team_info:
            layouts.append(write_table(workbook.add_worksheet("Team"), "TeamTable", TEAM_COLUMNS, report.members, styles))
        if fields.metrics:
            charts = template.format_options.include_charts
            layouts.append(write_burndown(workbook, report.metrics.burndown, styles, charts))
            layouts.append(write_velocity(workbook, report.metrics.velocity_history, styles, charts))
        footer = footer_text(report.sprint.name)
        for sheet, layout in zip(workbook.worksheets(), layouts, strict=True):
            set_page_layout(sheet, layout, footer)
    if issues is None:
        path.write_bytes(workbook_file.getvalue())
        return 0
    table = issues.table
    chunks = issue_rows_xml(table, progress_slice_rows(table.rows.height, largest=CHUNK_ROWS), on_rows)
    ranges = {ISSUE_TABLE: table.table_range}
    splice_rows(workbook_file, path, issues.part, table.dimension, chunks, table.xml_size_bound(), ranges)
    return table.rows.height


def creation_date(report: SprintReport) -> dt.datetime:
    """A creation date taken from the data, so the same report gives the same bytes."""
    updated = report.sprint.updated_at
    if updated is None:
        return FIXED_CREATED
    return updated.astimezone(dt.timezone.utc).replace(tzinfo=None) if updated.tzinfo else updated


def issue_column(name: str) -> Column:
    column = ISSUE_COLUMNS[name]
    return Column(column.name, column.label, column.kind, column.width)


def add_issue_sheet(workbook: Workbook, template: Template, rows: pl.DataFrame, styles: Styles) -> IssueSheet:
    """The Issues sheet's table header, widths and frozen row; its body rows come later, as XML.

    xlsxwriter declares the table over the header and one row (it would
    index every cell of a larger range); `splice_rows` widens it to the rows.
    """
    sheet = workbook.add_worksheet("Issues")
    table = issue_table(rows, template, style_index(styles.datetime))
    layout = add_table(sheet, ISSUE_TABLE, [issue_column(name) for name in template.table_columns], 1, styles)
    whole_table = dataclasses.replace(layout, print_area=(table.last_row - 1, len(table.columns) - 1))
    # xlsxwriter names worksheet parts by position: sheet1.xml, sheet2.xml, ...
    return IssueSheet(f"xl/worksheets/sheet{workbook.worksheets().index(sheet) + 1}.xml", table, whole_table)
