"""XLSX: one sheet per selected section, with real numbers, real dates and native charts.

Why it looks the way it does:

- The issue table is the only part that grows with the sprint, and xlsxwriter
  spends ~12 µs of Python per cell (under 20,000 issues/s). So xlsxwriter
  builds everything else, in memory: styles, the Summary, Team, Burndown and
  Velocity sheets (a few dozen cells, from which the charts cache the values
  they plot), document properties, and the Issues sheet's frame (bold header
  row, column widths, frozen header, autofilter over the final row count)
  without its body rows. Those are XML built column-wise by polars
  (`xlsx_issues`, `xlsx_sheet`; over 100,000 rows/s), streamed into the Issues
  worksheet while the finished workbook is copied to `path`, a slice at a
  time, so memory stays flat however many issues there are. One path for
  every sprint size, and no temporary files.
- A cell is never a formula: the other sheets' text goes through
  `write_string` with xlsxwriter's formula/URL/number guessing off, and the
  issue rows hold inline strings. Summaries such as `=SUM(A1:A9)` are kept
  exactly as written, without the CSV quote prefix.
- Datetimes are Excel serial numbers with a date format, so they sort and
  filter as dates.
- Files are byte-for-byte reproducible: the creation date comes from the
  sprint (xlsxwriter would otherwise use the clock) and every zip member gets
  a fixed 1980 timestamp.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from sprint_exports.formats import OnRows, progress_slice_rows
from sprint_exports.report.issue_order import issue_rows
from sprint_exports.formats.xlsx.issues import IssueTable, issue_rows_xml, issue_table
from sprint_exports.formats.xlsx.sheet import EXCEL_DAYS_BEFORE_UNIX_EPOCH, splice_rows
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

CellKind = Literal["text", "integer", "number", "datetime", "date"]  # datetimes: the issue table only
Write = Callable[[int, int, Any, Format | None], int]


@dataclass(frozen=True)
class Column:
    """One column of a sheet's table: where its values come from and how they look."""

    name: str
    label: str
    kind: CellKind
    width: float


@dataclass(frozen=True)
class Styles:
    title: Format
    header: Format
    datetime: Format
    date: Format
    group: Format
    subtotal: Format


@dataclass(frozen=True)
class IssueSheet:
    """The Issues worksheet xlsxwriter leaves without body rows, and the rows that go in it."""

    part: str  # its member in the zip
    table: IssueTable


TEAM_COLUMNS = (
    Column("name", "Name", "text", 24),
    Column("email", "Email", "text", 28),
    Column("role", "Role", "text", 20),
    Column("capacity", "Capacity (hours)", "integer", 16),
)
BURNDOWN_COLUMNS = (
    Column("day", "Day", "date", 12),
    Column("remaining_points", "Remaining points", "integer", 17),
    Column("ideal_points", "Ideal points", "number", 13),
)
VELOCITY_COLUMNS = (
    Column("name", "Sprint", "text", 24),
    Column("velocity", "Velocity", "integer", 10),
)
CHART_SIZE = {"x_scale": 1.5, "y_scale": 1.5}


def render(report: SprintReport, template: Template, path: Path, *, on_rows: OnRows | None = None) -> int:
    fields = template.fields
    issues: IssueSheet | None = None
    workbook_file = io.BytesIO()
    with xlsxwriter.Workbook(workbook_file, WORKBOOK_OPTIONS) as workbook:
        workbook.set_properties({"title": report.sprint.name, "created": creation_date(report)})
        styles = add_styles(workbook)
        if fields.basic_info or fields.metrics:
            write_summary(workbook.add_worksheet("Summary"), report, template, styles)
        if fields.issues and template.columns:
            issues = add_issue_sheet(workbook, template, issue_rows(report, template), styles)
        if fields.team_info:
            write_table(workbook.add_worksheet("Team"), TEAM_COLUMNS, report.members, styles)
        if fields.metrics:
            charts = template.format_options.include_charts
            write_burndown(workbook, report.metrics.burndown, styles, charts)
            write_velocity(workbook, report.metrics.velocity_history, styles, charts)
    if issues is None:
        path.write_bytes(workbook_file.getvalue())
        return 0
    table = issues.table
    chunks = issue_rows_xml(table, progress_slice_rows(table.rows.height, largest=CHUNK_ROWS), on_rows)
    splice_rows(workbook_file, path, issues.part, table.dimension, chunks, table.xml_size_bound())
    return table.rows.height


def creation_date(report: SprintReport) -> dt.datetime:
    """A creation date taken from the data, so the same report gives the same bytes."""
    updated = report.sprint.updated_at
    if updated is None:
        return FIXED_CREATED
    return updated.astimezone(dt.timezone.utc).replace(tzinfo=None) if updated.tzinfo else updated


def add_styles(workbook: Workbook) -> Styles:
    return Styles(
        title=workbook.add_format({"bold": True, "font_size": 16}),
        header=workbook.add_format({"bold": True}),
        datetime=workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        date=workbook.add_format({"num_format": "yyyy-mm-dd"}),
        group=workbook.add_format({"bold": True, "bg_color": "#DDE7F3"}),
        subtotal=workbook.add_format({"bold": True, "italic": True, "top": 1}),
    )


def style_index(cell_format: Format) -> int:
    """The xf index of a format used by cells xlsxwriter never sees.

    xlsxwriter numbers a format, and puts it in styles.xml, the first time a
    cell it writes asks for its index (`Format._get_xf_index`, xlsxwriter 3.x);
    asking here does the same for the XML rows written outside it.
    """
    return cell_format._get_xf_index()


def issue_column(name: str) -> Column:
    column = ISSUE_COLUMNS[name]
    return Column(column.name, column.label, column.kind, column.width)


def write_summary(sheet: Worksheet, report: SprintReport, template: Template, styles: Styles) -> None:
    """The title, then the sprint's facts and metrics as label/value rows."""
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 48)
    sheet.write_string(0, 0, template.title, styles.title)
    row = 2
    if template.fields.basic_info:
        for label, value in report.facts():
            sheet.write_string(row, 0, label, styles.header)
            sheet.write_string(row, 1, value)
            row += 1
        row += 1
    if template.fields.metrics:
        for label, value in report.metric_rows():
            sheet.write_string(row, 0, label, styles.header)
            if isinstance(value, str):  # "nothing planned": never a formula, never a number
                sheet.write_string(row, 1, value)
            else:
                sheet.write_number(row, 1, value)
            row += 1
        for note in report.burndown_notes():  # why the burndown ends above planned - completed
            sheet.write_string(row, 0, note)
            row += 1


def add_issue_sheet(workbook: Workbook, template: Template, rows: pl.DataFrame, styles: Styles) -> IssueSheet:
    """The Issues sheet's header, widths, frozen row and filter; its body rows come later, as XML."""
    sheet = workbook.add_worksheet("Issues")
    table = issue_table(
        rows, template, style_index(styles.datetime), style_index(styles.group), style_index(styles.subtotal)
    )
    write_header(sheet, [issue_column(name) for name in template.table_columns], table.body_rows, styles)
    # xlsxwriter names worksheet parts by position: sheet1.xml, sheet2.xml, ...
    return IssueSheet(f"xl/worksheets/sheet{workbook.worksheets().index(sheet) + 1}.xml", table)


def write_table(sheet: Worksheet, columns: Sequence[Column], frame: pl.DataFrame, styles: Styles) -> int:
    """A bold, frozen, filterable header row, then one row per frame row; returns the row count.

    For the small sheets only (team, burndown, velocity): cell by cell through
    xlsxwriter, which caches the values the charts plot.
    """
    write_header(sheet, columns, frame.height, styles)
    for col, column in enumerate(columns):
        write, cell_format = cell_writer(sheet, column.kind, styles)
        for row, value in enumerate(cell_values(frame[column.name], column.kind), start=1):
            if value is not None:  # a blank cell is simply not written
                write(row, col, value, cell_format)
    return frame.height


def write_header(sheet: Worksheet, columns: Sequence[Column], body_rows: int, styles: Styles) -> None:
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width)
        sheet.write_string(0, index, column.label, styles.header)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, body_rows, len(columns) - 1)


def cell_writer(sheet: Worksheet, kind: CellKind, styles: Styles) -> tuple[Write, Format | None]:
    """The one write method and format each cell of a column gets: no per-cell type dispatch."""
    if kind == "text":
        return sheet.write_string, None
    if kind == "date":
        return sheet.write_number, styles.date
    return sheet.write_number, None


def cell_values(series: pl.Series, kind: CellKind) -> list[Any]:
    """A column as the Python values its cells take, converted once; None is a blank cell."""
    if kind == "date":
        series = series.cast(pl.Int32) + EXCEL_DAYS_BEFORE_UNIX_EPOCH
    elif kind == "number":
        series = series.cast(pl.Float64).fill_nan(None)  # xlsxwriter rejects NaN
    return series.to_list()


def write_burndown(workbook: Workbook, burndown: pl.DataFrame, styles: Styles, charts: bool) -> None:
    sheet = workbook.add_worksheet("Burndown")
    days = write_table(sheet, BURNDOWN_COLUMNS, burndown, styles)
    if not (charts and days):
        return
    chart = workbook.add_chart({"type": "line"})
    for col, colour in ((1, "#1f77b4"), (2, "#ff7f0e")):
        chart.add_series(
            {
                "name": ["Burndown", 0, col],
                "categories": ["Burndown", 1, 0, days, 0],
                "values": ["Burndown", 1, col, days, col],
                "line": {"color": colour, "dash_type": "dash" if col == 2 else "solid"},
            }
        )
    chart.set_title({"name": "Burndown"})
    chart.set_x_axis({"date_axis": True, "num_format": "mm-dd"})
    chart.set_y_axis({"name": "Story points", "min": 0})
    sheet.insert_chart(1, len(BURNDOWN_COLUMNS) + 1, chart, CHART_SIZE)


def write_velocity(workbook: Workbook, history: pl.DataFrame, styles: Styles, charts: bool) -> None:
    sheet = workbook.add_worksheet("Velocity")
    sprints = write_table(sheet, VELOCITY_COLUMNS, history, styles)
    if not (charts and sprints):
        return
    chart = workbook.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": ["Velocity", 0, 1],
            "categories": ["Velocity", 1, 0, sprints, 0],
            "values": ["Velocity", 1, 1, sprints, 1],
        }
    )
    chart.set_title({"name": "Velocity"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"name": "Completed points", "min": 0})
    sheet.insert_chart(1, len(VELOCITY_COLUMNS) + 1, chart, CHART_SIZE)
