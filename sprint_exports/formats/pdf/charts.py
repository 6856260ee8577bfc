"""The PDF's two charts, burndown and velocity history, drawn straight onto the page.

Each builder returns None when there is nothing to plot (a sprint without
dates, a team without completed sprints), so the renderer shows a note
instead of an empty chart.

Why not reportlab's chart widgets: they build a tree of shapes and labels,
each attribute checked and looked up through several layers, and took about
20 ms of a 200-issue sprint's 48 ms PDF: in a thousand-sprint export, more
than any other part. A chart here is one flowable that draws its paths with
the canvas and its text with the document's one text writer (`text_lines`),
so sprint names in any script are shaped and reordered like all other text.
The plot's geometry (`Plot`) is pure arithmetic, apart from the drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl
from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from sprint_exports.formats.pdf.style import TEXT_COLOUR
from sprint_exports.formats.pdf.text_lines import TextStyle, draw_placed
from sprint_exports.formats.pdf.wrap import wrap_text
from sprint_exports.text import one_line

BURNDOWN_TITLE = "Burndown"
VELOCITY_TITLE = "Velocity history"

REMAINING_COLOUR = colors.HexColor("#1f6feb")
IDEAL_COLOUR = colors.HexColor("#8c959f")
BAR_COLOUR = colors.HexColor("#9ec5fe")
CURRENT_BAR_COLOUR = colors.HexColor("#1f6feb")
GRID_LINE_COLOUR = colors.HexColor("#eaeef2")

MAX_DAY_LABELS = 8
MAX_VALUE_TICKS = 5
BAR_SHARE = 2 / 3  # of a bar's slot; the rest is the gap between bars
TITLE_STYLE = TextStyle(size=10, leading=12, bold=True)
LABEL_STYLE = TextStyle(size=7, leading=7 * 1.15)
# Room around the plot area for the title, axis titles and tick labels.
LEFT, RIGHT, TOP, BOTTOM = 46, 12, 34, 44
TICK = 3

Placed = tuple[float, float, str]  # (left, baseline, display line)


@dataclass(frozen=True)
class Plot:
    """Where values land: the plot area inside a chart of `width` × `height`, categories in equal slots."""

    width: float
    height: float
    categories: int
    top_value: float

    @property
    def left(self) -> float:
        return LEFT

    @property
    def bottom(self) -> float:
        return BOTTOM

    @property
    def plot_width(self) -> float:
        return self.width - LEFT - RIGHT

    @property
    def plot_height(self) -> float:
        return self.height - TOP - BOTTOM

    @property
    def slot(self) -> float:
        return self.plot_width / max(1, self.categories)

    def x(self, category: int) -> float:
        """The centre of a category's slot."""
        return LEFT + (category + 0.5) * self.slot

    def y(self, value: float) -> float:
        return BOTTOM + self.plot_height * min(max(value, 0.0), self.top_value) / self.top_value


def value_ticks(highest: float) -> list[float]:
    """Round tick values from 0 up to at least `highest`: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if highest <= 0:
        return [0.0, 1.0]
    rough = highest / MAX_VALUE_TICKS
    power = 10 ** math.floor(math.log10(rough))
    step = next(power * factor for factor in (1, 2, 2.5, 5, 10) if power * factor >= rough)
    count = math.ceil(highest / step - 1e-9)
    return [index * step for index in range(count + 1)]


def tick_label(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


def burndown_chart(burndown: pl.DataFrame, width: float, height: float) -> Flowable | None:
    """Remaining vs ideal story points for each day of the sprint; None without dates or points."""
    if burndown.is_empty():
        return None
    days = burndown["day"].to_list()
    remaining = [float(value) for value in burndown["remaining_points"].fill_null(0).to_list()]
    ideal = [float(value) for value in burndown["ideal_points"].fill_null(0).to_list()]
    if not any(remaining) and not any(ideal):
        return None  # nothing planned: a flat line at zero says nothing
    step = max(1, -(-len(days) // MAX_DAY_LABELS))  # every n-th day labelled, so labels never collide
    labels = [day.strftime("%d %b") if index % step == 0 else "" for index, day in enumerate(days)]
    return LineChart(width, height, labels, [(remaining, REMAINING_COLOUR, 1.6, ()), (ideal, IDEAL_COLOUR, 1.0, (3, 2))])


def velocity_chart(history: pl.DataFrame, current_sprint_id: int, width: float, height: float) -> Flowable | None:
    """Completed points of the team's recent completed sprints, this sprint highlighted."""
    if history.is_empty():
        return None
    names = [one_line(name) for name in history["name"].fill_null("").to_list()]
    velocities = [float(value) for value in history["velocity"].fill_null(0).to_list()]
    current = [sprint_id == current_sprint_id for sprint_id in history["id"].to_list()]
    return BarChart(width, height, names, velocities, current)


class Chart(Flowable):
    """A chart's frame: title, axis titles, value axis with its grid, category axis with its labels."""

    title = ""
    x_title = ""
    y_title = ""

    def __init__(self, width: float, height: float, categories: int, highest: float):
        super().__init__()
        self.width, self.height = width, height
        self.ticks = value_ticks(highest)
        self.plot = Plot(width, height, categories, self.ticks[-1])

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 (reportlab's names)
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        self._draw_axes(canvas)
        self.draw_data(canvas)
        canvas.restoreState()
        plot = self.plot
        labels: list[Placed] = [
            _placed(plot.left + plot.plot_width / 2, 2, self.x_title, LABEL_STYLE, "middle"),
            *(_placed(plot.left - TICK - 2, plot.y(value) - 2.5, tick_label(value), LABEL_STYLE, "end") for value in self.ticks),
            *self.category_labels(),
        ]
        draw_placed(canvas, labels, LABEL_STYLE)
        draw_placed(canvas, [_placed(0, self.height - TITLE_STYLE.size - 2, self.title, TITLE_STYLE)], TITLE_STYLE)
        canvas.saveState()  # the value axis's title, turned 90°
        canvas.translate(LABEL_STYLE.size + 1, plot.bottom + plot.plot_height / 2)
        canvas.rotate(90)
        draw_placed(canvas, [_placed(0, 0, self.y_title, LABEL_STYLE, "middle")], LABEL_STYLE)
        canvas.restoreState()

    def _draw_axes(self, canvas: Canvas) -> None:
        plot = self.plot
        right, top = plot.left + plot.plot_width, plot.bottom + plot.plot_height
        canvas.setLineWidth(0.5)
        canvas.setStrokeColor(GRID_LINE_COLOUR)
        canvas.lines([(plot.left, plot.y(value), right, plot.y(value)) for value in self.ticks[1:]])
        canvas.setLineWidth(1)
        canvas.setStrokeColor(IDEAL_COLOUR)
        boundaries = [plot.left + index * plot.slot for index in range(plot.categories + 1)]
        canvas.lines(
            [
                (plot.left, plot.bottom, plot.left, top),
                (plot.left, plot.bottom, right, plot.bottom),
                *((plot.left - TICK, plot.y(value), plot.left, plot.y(value)) for value in self.ticks),
                *((x, plot.bottom, x, plot.bottom - TICK) for x in boundaries),
            ]
        )

    def draw_data(self, canvas: Canvas) -> None:
        raise NotImplementedError

    def category_labels(self) -> list[Placed]:
        raise NotImplementedError


Series = tuple[list[float], colors.Color, float, tuple[float, ...]]  # values, colour, line width, dash pattern


class LineChart(Chart):
    """Lines over days (the burndown), with a legend naming them."""

    title, x_title, y_title = BURNDOWN_TITLE, "Sprint day", "Points remaining"
    legend = ("Remaining", "Ideal")

    def __init__(self, width: float, height: float, labels: list[str], series: list[Series]):
        super().__init__(width, height, len(labels), max(value for values, *_ in series for value in values))
        self.labels = labels
        self.series = series

    def draw_data(self, canvas: Canvas) -> None:
        plot = self.plot
        for values, colour, line_width, dash in self.series:
            canvas.setStrokeColor(colour)
            canvas.setLineWidth(line_width)
            _set_dash(canvas, dash)
            path = canvas.beginPath()
            path.moveTo(plot.x(0), plot.y(values[0]))
            for index, value in enumerate(values[1:], start=1):
                path.lineTo(plot.x(index), plot.y(value))
            canvas.drawPath(path, stroke=1, fill=0)
        canvas.setDash()
        self._draw_legend(canvas)

    def _legend_entries(self) -> list[tuple[float, Series, str]]:
        """Each entry's left edge: the legend ends at the plot's right edge, a swatch before each name."""
        widths = [14 + LABEL_STYLE.chain.width(name, LABEL_STYLE.size) for name in self.legend]
        left = self.width - RIGHT - sum(widths) - 10 * (len(widths) - 1)
        entries = []
        for width, series, name in zip(widths, self.series, self.legend, strict=True):
            entries.append((left, series, name))
            left += width + 10
        return entries

    def _draw_legend(self, canvas: Canvas) -> None:
        y = self.height - TITLE_STYLE.size + 1
        for left, (_, colour, line_width, dash), _name in self._legend_entries():
            canvas.setStrokeColor(colour)
            canvas.setLineWidth(line_width)
            _set_dash(canvas, dash)
            canvas.line(left, y, left + 10, y)
        canvas.setDash()

    def category_labels(self) -> list[Placed]:
        plot = self.plot
        baseline = plot.bottom - TICK - LABEL_STYLE.size
        legend_baseline = self.height - TITLE_STYLE.size - 1.5
        return [
            *(_placed(plot.x(index), baseline, label, LABEL_STYLE, "middle") for index, label in enumerate(self.labels) if label),
            *(_placed(left + 14, legend_baseline, name, LABEL_STYLE) for left, _, name in self._legend_entries()),
        ]


class BarChart(Chart):
    """One bar per sprint (velocity history), each labelled with its value and, below, its sprint's name."""

    title, x_title, y_title = VELOCITY_TITLE, "Sprint", "Points completed"

    def __init__(self, width: float, height: float, names: list[str], values: list[float], current: list[bool]):
        super().__init__(width, height, len(names), max(values))
        self.names, self.values, self.current = names, values, current

    def draw_data(self, canvas: Canvas) -> None:
        plot = self.plot
        bar_width = plot.slot * BAR_SHARE
        for fill, highlighted in ((BAR_COLOUR, False), (CURRENT_BAR_COLOUR, True)):
            canvas.setFillColor(fill)
            for index, (value, current) in enumerate(zip(self.values, self.current, strict=True)):
                if current is highlighted and value > 0:
                    canvas.rect(plot.x(index) - bar_width / 2, plot.bottom, bar_width, plot.y(value) - plot.bottom, stroke=0, fill=1)

    def category_labels(self) -> list[Placed]:
        plot = self.plot
        placed = [
            _placed(plot.x(index), plot.y(value) + 3, f"{value:.0f}", LABEL_STYLE, "middle")
            for index, value in enumerate(self.values)
        ]
        for index, name in enumerate(self.names):  # wrapped onto two lines under the bar instead of colliding
            lines = wrap_text(name, plot.slot - 4, 2, LABEL_STYLE.chain, LABEL_STYLE.size)
            for line_index, line in enumerate(lines):
                baseline = plot.bottom - TICK - (line_index + 1) * LABEL_STYLE.leading
                placed.append(_centred(plot.x(index), baseline, line))
        return placed


def _set_dash(canvas: Canvas, dash: tuple[float, ...]) -> None:
    if dash:
        canvas.setDash(list(dash))
    else:
        canvas.setDash()


def _placed(x: float, baseline: float, text: str, style: TextStyle, anchor: str = "start") -> Placed:
    """One line of chart text from `x` ("start"), around it ("middle") or up to it ("end")."""
    line = wrap_text(one_line(text), float("inf"), 1, style.chain, style.size)[0]
    share = {"start": 0.0, "middle": 0.5, "end": 1.0}[anchor]
    return x - share * style.chain.width(line, style.size), baseline, line


def _centred(x: float, baseline: float, line: str) -> Placed:
    """A display line (already wrapped) centred on `x`."""
    return x - LABEL_STYLE.chain.width(line, LABEL_STYLE.size) / 2, baseline, line

