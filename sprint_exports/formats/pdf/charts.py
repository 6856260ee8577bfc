"""The PDF's two charts as reportlab Drawings: burndown and velocity history.

Each builder returns None when there is nothing to plot (a sprint without
dates, a team without completed sprints), so the renderer shows a note
instead of an empty chart. Sprint names come from the tracker and may be in
any script, so every text of a chart is drawn as its font runs (`runs`),
shaped and reordered like all other text (`wrap`); the axes' own labels
only ever show dates and numbers.
"""

from __future__ import annotations

import polars as pl
from reportlab.graphics.charts.axes import CategoryAxis, ValueAxis
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, Group, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from sprint_exports.formats.pdf import runs
from sprint_exports.formats.pdf.fonts import FONT
from sprint_exports.formats.pdf.style import TEXT_COLOUR
from sprint_exports.formats.pdf.wrap import wrap_text
from sprint_exports.text import one_line

BURNDOWN_TITLE = "Burndown"
VELOCITY_TITLE = "Velocity history"

REMAINING_COLOUR = colors.HexColor("#1f6feb")
IDEAL_COLOUR = colors.HexColor("#8c959f")
BAR_COLOUR = colors.HexColor("#9ec5fe")
CURRENT_BAR_COLOUR = colors.HexColor("#1f6feb")

MAX_DAY_LABELS = 8
TITLE_SIZE = 10
LABEL_SIZE = 7
# Room around the plot area for the title, axis titles and tick labels.
LEFT, RIGHT, TOP, BOTTOM = 46, 12, 34, 44


def burndown_chart(burndown: pl.DataFrame, width: float, height: float) -> Drawing | None:
    """Remaining vs ideal story points for each day of the sprint; None without dates or points."""
    if burndown.is_empty():
        return None
    days = burndown["day"].to_list()
    remaining = [float(value) for value in burndown["remaining_points"].fill_null(0).to_list()]
    ideal = [float(value) for value in burndown["ideal_points"].fill_null(0).to_list()]
    if not any(remaining) and not any(ideal):
        return None  # nothing planned: a flat line at zero says nothing

    drawing = _frame(width, height, BURNDOWN_TITLE, x_title="Sprint day", y_title="Points remaining")
    chart = HorizontalLineChart()
    _place(chart, width, height)
    chart.data = [remaining, ideal]
    chart.joinedLines = 1
    chart.lines[0].strokeColor = REMAINING_COLOUR
    chart.lines[0].strokeWidth = 1.6
    chart.lines[1].strokeColor = IDEAL_COLOUR
    chart.lines[1].strokeWidth = 1
    chart.lines[1].strokeDashArray = (3, 2)
    # Every day is a category; label every n-th so the labels never collide.
    step = max(1, -(-len(days) // MAX_DAY_LABELS))
    chart.categoryAxis.categoryNames = [day.strftime("%d %b") if i % step == 0 else "" for i, day in enumerate(days)]
    _style_category_axis(chart.categoryAxis)
    _style_value_axis(chart.valueAxis, max(remaining + ideal))
    drawing.add(chart)
    drawing.add(_legend(width, height, [(REMAINING_COLOUR, "Remaining"), (IDEAL_COLOUR, "Ideal")]))
    return drawing


def velocity_chart(history: pl.DataFrame, current_sprint_id: int, width: float, height: float) -> Drawing | None:
    """Completed points of the team's recent completed sprints, this sprint highlighted."""
    if history.is_empty():
        return None
    names = history["name"].fill_null("").to_list()
    velocities = [float(value) for value in history["velocity"].fill_null(0).to_list()]

    drawing = _frame(width, height, VELOCITY_TITLE, x_title="Sprint", y_title="Points completed")
    chart = VerticalBarChart()
    _place(chart, width, height)
    chart.data = [velocities]
    chart.bars[0].fillColor = BAR_COLOUR
    chart.bars[0].strokeColor = None
    for index, sprint_id in enumerate(history["id"].to_list()):
        if sprint_id == current_sprint_id:
            chart.bars[(0, index)].fillColor = CURRENT_BAR_COLOUR
    chart.barLabelFormat = "%.0f"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = LABEL_SIZE
    chart.barLabels.nudge = 5
    chart.barLabels.fillColor = TEXT_COLOUR
    chart.categoryAxis.categoryNames = [""] * len(names)  # drawn below, in every script
    _style_category_axis(chart.categoryAxis)
    _style_value_axis(chart.valueAxis, max(velocities))
    drawing.add(chart)
    # Sprint names wrap onto two lines under their bar instead of colliding.
    slot = chart.width / max(1, len(names))
    for index, name in enumerate(names):
        centre = chart.x + (index + 0.5) * slot
        for line_index, line in enumerate(wrap_text(one_line(name), slot - 4, 2, runs.regular(), LABEL_SIZE)):
            drawing.add(_text(centre, chart.y - 3 - (line_index + 1) * LABEL_SIZE * 1.15, line, anchor="middle"))
    return drawing


def _frame(width: float, height: float, title: str, x_title: str, y_title: str) -> Drawing:
    """A drawing with the chart title and both axis titles."""
    drawing = Drawing(width, height)
    drawing.initialFontName = FONT  # the renderer's opening font; otherwise every chart references Helvetica
    drawing.add(_text(0, height - TITLE_SIZE - 2, title, bold=True, size=TITLE_SIZE))
    drawing.add(_text(LEFT + (width - LEFT - RIGHT) / 2, 2, x_title, anchor="middle"))
    y_axis_title = Group(_text(0, 0, y_title, anchor="middle"))
    y_axis_title.transform = (0, 1, -1, 0, LABEL_SIZE + 1, BOTTOM + (height - TOP - BOTTOM) / 2)  # turned 90°
    drawing.add(y_axis_title)
    return drawing


def _text(x: float, y: float, text: str, bold: bool = False, size: float = LABEL_SIZE, anchor: str = "start") -> Group:
    """One line of chart text from `x` ("start"), around it ("middle") or up to it ("end"):
    a String per font run, each placed where the one before it ends."""
    chain = runs.bold() if bold else runs.regular()
    line = wrap_text(one_line(text), float("inf"), 1, chain, size)[0]
    left = x - {"start": 0.0, "middle": 0.5, "end": 1.0}[anchor] * chain.width(line, size)
    group = Group()
    for font, part in chain.runs(line):
        group.add(String(left, y, part, fontName=font, fontSize=size, fillColor=TEXT_COLOUR))
        left += stringWidth(part, font, size)
    return group


def _place(chart: HorizontalLineChart | VerticalBarChart, width: float, height: float) -> None:
    chart.x, chart.y = LEFT, BOTTOM
    chart.width, chart.height = width - LEFT - RIGHT, height - TOP - BOTTOM


def _style_category_axis(axis: CategoryAxis) -> None:
    axis.labels.fontName = FONT
    axis.labels.fontSize = LABEL_SIZE
    axis.labels.fillColor = TEXT_COLOUR
    axis.labels.boxAnchor = "n"
    axis.labels.dy = -3
    axis.strokeColor = IDEAL_COLOUR


def _style_value_axis(axis: ValueAxis, highest: float) -> None:
    axis.valueMin = 0
    if highest <= 0:  # all zero: give the axis a range instead of a degenerate one
        axis.valueMax = 1
        axis.valueStep = 1
    axis.labels.fontName = FONT
    axis.labels.fontSize = LABEL_SIZE
    axis.labels.fillColor = TEXT_COLOUR
    axis.strokeColor = IDEAL_COLOUR
    axis.visibleGrid = 1
    axis.gridStrokeColor = colors.HexColor("#eaeef2")
    axis.gridStrokeWidth = 0.5


def _legend(width: float, height: float, entries: list[tuple[colors.Color, str]]) -> Legend:
    legend = Legend()
    legend.x, legend.y = width - RIGHT - 110, height - 6
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = 60
    legend.dx = 10
    legend.dy = 3
    legend.fontName = FONT
    legend.fontSize = LABEL_SIZE
    legend.fillColor = TEXT_COLOUR
    legend.colorNamePairs = entries
    return legend
