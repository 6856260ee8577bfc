"""XLSX: one sheet per selected section, with real numbers, real dates and native charts.

Why it looks the way it does:

- Large sprints (over STREAMING_ROWS issues) use xlsxwriter's constant-memory
  mode, which streams each row to a temporary file beside the export as soon
  as the next one starts, so memory stays flat however many issues there are;
  rows must therefore be written in order, top to bottom. Small sprints are
  built in memory, which saves the temporary files' cost.
- Text only ever goes through `write_string`, and formula/URL/number guessing
  is switched off: a string cell is never a formula, so summaries such as
  `=SUM(A1:A9)` are kept exactly as written, without the CSV quote prefix.
  xlsxwriter truncates text beyond Excel's 32,767-character cell limit and
  escapes control characters XML cannot hold (`\\x00` becomes `_x0000_`).
- Datetimes are Excel serial numbers with a date format, so they sort and
  filter as dates. Each column is converted once per slice of rows, in
  polars; the row loop only calls `write_string`/`write_number`. The issue
  table's slices are also its progress steps (`on_rows`): at least ten for a
  long table.
- Files are byte-for-byte reproducible: the creation date comes from the
  sprint (xlsxwriter would otherwise use the clock) and xlsxwriter already
  gives every zip entry a fixed 1980 timestamp.
"""

from __future__ import annotations

import datetime as dt
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
from sprint_exports.formats.cells import issue_groups, issue_rows, story_points_total
from sprint_exports.report import ISSUE_COLUMNS, SprintReport
from sprint_exports.templates import Template

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
# Above this many issues the sheets stream to temporary files beside the export (flat memory);
# below it the workbook is built in memory: the temporary files cost ~100 ms per small sprint.
STREAMING_ROWS = 20_000
# Excel serials count days from 1899-12-30 (exact from March 1900, after Excel's phantom 29 February 1900).
EXCEL_DAYS_BEFORE_UNIX_EPOCH = 25_569
MICROSECONDS_PER_DAY = 86_400_000_000
# Columns become Python lists a slice at a time, so memory does not grow with the row count.
CHUNK_ROWS = 10_000
# The creation date of sprints the tracker never stamped.
FIXED_CREATED = dt.datetime(2000, 1, 1)

CellKind = Literal["text", "integer", "number", "datetime", "date"]
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
    written = 0
    with xlsxwriter.Workbook(str(path), workbook_options(report, path)) as workbook:
        workbook.set_properties({"title": report.sprint.name, "created": creation_date(report)})
        styles = add_styles(workbook)
        if fields.basic_info or fields.metrics:
            write_summary(workbook.add_worksheet("Summary"), report, template, styles)
        if fields.issues and template.columns:
            rows = issue_rows(report, template)
            written = write_issues(workbook.add_worksheet("Issues"), template, rows, styles, on_rows)
        if fields.team_info:
            write_table(workbook.add_worksheet("Team"), TEAM_COLUMNS, report.members, styles)
        if fields.metrics:
            charts = template.format_options.include_charts
            write_burndown(workbook, report.metrics.burndown, styles, charts)
            write_velocity(workbook, report.metrics.velocity_history, styles, charts)
    return written


def workbook_options(report: SprintReport, path: Path) -> dict:
    if report.issues.height > STREAMING_ROWS:
        return {**WORKBOOK_OPTIONS, "constant_memory": True, "tmpdir": str(path.parent)}
    return {**WORKBOOK_OPTIONS, "in_memory": True}


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
        for label, number in report.metric_rows():
            sheet.write_string(row, 0, label, styles.header)
            sheet.write_number(row, 1, number)
            row += 1


def write_table(
    sheet: Worksheet,
    columns: Sequence[Column],
    frame: pl.DataFrame,
    styles: Styles,
    chunk_rows: int = CHUNK_ROWS,
    on_rows: OnRows | None = None,
) -> int:
    """A bold, frozen, filterable header row, then one row per frame row; returns the row count."""
    write_header(sheet, columns, frame.height, styles)
    write_frame_rows(sheet, columns, frame, 1, styles, chunk_rows, on_rows)
    return frame.height


def write_issues(
    sheet: Worksheet, template: Template, rows: pl.DataFrame, styles: Styles, on_rows: OnRows | None = None
) -> int:
    """The issue table; when grouping, each group gets a heading row and a story-points subtotal row."""
    columns = [issue_column(name) for name in template.table_columns]
    # Slices of at most a tenth of the table (and CHUNK_ROWS), so progress comes at least every tenth;
    # they end at multiples of chunk_rows counted over the whole table, not restarting in each group.
    chunk_rows = progress_slice_rows(rows.height, largest=CHUNK_ROWS)
    groups = issue_groups(rows, template)
    if template.group_column is None:
        return write_table(sheet, columns, rows, styles, chunk_rows, on_rows)
    write_header(sheet, columns, rows.height + 2 * len(groups), styles)
    points_col = template.table_columns.index("story_points") if "story_points" in template.table_columns else None
    row, written = 1, 0
    for label, part in groups:
        heading = f"{ISSUE_COLUMNS[template.group_column].label}: {label} ({part.height} issues)"
        sheet.write_string(row, 0, heading, styles.group)
        row = write_frame_rows(sheet, columns, part, row + 1, styles, chunk_rows, on_rows, written)
        written += part.height
        sheet.write_string(row, 0, f"Subtotal {label}: {story_points_total(part)} story points", styles.subtotal)
        if points_col is not None:
            sheet.write_number(row, points_col, story_points_total(part), styles.subtotal)
        row += 1
    return rows.height


def write_header(sheet: Worksheet, columns: Sequence[Column], body_rows: int, styles: Styles) -> None:
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width)
        sheet.write_string(0, index, column.label, styles.header)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, body_rows, len(columns) - 1)


def write_frame_rows(
    sheet: Worksheet,
    columns: Sequence[Column],
    frame: pl.DataFrame,
    first_row: int,
    styles: Styles,
    chunk_rows: int = CHUNK_ROWS,
    on_rows: OnRows | None = None,
    written_before: int = 0,
) -> int:
    """Write `frame` from `first_row` down; returns the next free row.

    Rows go in slices that end at multiples of `chunk_rows`, counting the
    `written_before` rows of the same table already written; each slice is
    reported to `on_rows`.
    """
    writers = [cell_writer(sheet, column.kind, styles) for column in columns]
    offset = 0
    while offset < frame.height:
        chunk = frame.slice(offset, chunk_rows - (written_before + offset) % chunk_rows)
        values = [cell_values(chunk[column.name], column.kind) for column in columns]
        write_rows(writers, values, first_row)
        first_row += chunk.height
        offset += chunk.height
        if on_rows is not None:
            on_rows(chunk.height)
    return first_row


def cell_writer(sheet: Worksheet, kind: CellKind, styles: Styles) -> tuple[Write, Format | None]:
    """The one write method and format each cell of a column gets: no per-cell type dispatch."""
    if kind == "text":
        return sheet.write_string, None
    if kind == "datetime":
        return sheet.write_number, styles.datetime
    if kind == "date":
        return sheet.write_number, styles.date
    return sheet.write_number, None


def cell_values(series: pl.Series, kind: CellKind) -> list[Any]:
    """A column as the Python values its cells take, converted once; None is a blank cell."""
    if kind == "datetime":
        series = series.dt.epoch("us") / MICROSECONDS_PER_DAY + EXCEL_DAYS_BEFORE_UNIX_EPOCH
    elif kind == "date":
        series = series.cast(pl.Int32) + EXCEL_DAYS_BEFORE_UNIX_EPOCH
    elif kind == "number":
        series = series.cast(pl.Float64).fill_nan(None)  # xlsxwriter rejects NaN
    return series.to_list()


def write_rows(writers: list[tuple[Write, Format | None]], columns: list[list[Any]], first_row: int) -> None:
    """Row by row, as constant-memory mode requires; blank cells are simply not written."""
    cells = list(enumerate(writers))
    for row, values in enumerate(zip(*columns), start=first_row):
        for (col, (write, cell_format)), value in zip(cells, values):
            if value is not None:
                write(row, col, value, cell_format)


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
