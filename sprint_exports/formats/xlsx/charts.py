"""The Burndown and Velocity sheets: a table of the series, and a native chart beside it plotting that table."""

from __future__ import annotations

import dataclasses

import polars as pl
from xlsxwriter.workbook import Workbook

from sprint_exports.formats.xlsx.printing import PageLayout, chart_characters
from sprint_exports.formats.xlsx.styles import Styles
from sprint_exports.formats.xlsx.tables import Column, write_table

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
CHART_PIXELS = 480 * CHART_SIZE["x_scale"]  # xlsxwriter's default chart is 480 pixels wide


def with_chart(layout: PageLayout) -> PageLayout:
    """The layout of a sheet whose chart sits right of its table: wider, and printed whole (no table-only area)."""
    return dataclasses.replace(layout, width_characters=layout.width_characters + chart_characters(CHART_PIXELS), print_area=None)


def write_burndown(workbook: Workbook, burndown: pl.DataFrame, styles: Styles, charts: bool) -> PageLayout:
    sheet = workbook.add_worksheet("Burndown")
    layout = write_table(sheet, "BurndownTable", BURNDOWN_COLUMNS, burndown, styles)
    days = burndown.height
    if not (charts and days):
        return layout
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
    return with_chart(layout)


def write_velocity(workbook: Workbook, history: pl.DataFrame, styles: Styles, charts: bool) -> PageLayout:
    sheet = workbook.add_worksheet("Velocity")
    layout = write_table(sheet, "VelocityTable", VELOCITY_COLUMNS, history, styles)
    sprints = history.height
    if not (charts and sprints):
        return layout
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
    return with_chart(layout)
