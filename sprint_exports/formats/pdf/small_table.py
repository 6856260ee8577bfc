"""The PDF's small tables (the sprint's facts, its metrics, the team), drawn straight onto the canvas.

A reportlab `Table` of `TextLines` costs about a millisecond per table to
lay out and draw, most of it generic cell and style handling these tables do
not need: a bulk run of a thousand sprints spent seconds on three tables of a
few rows each. `SmallTable` keeps only what they use: fixed column widths,
text cells wrapped once by the document's line breaker, a grid, a header row
or a shaded label column, rows that split across pages between lines (a very
long sprint goal) and a header row repeated on the next page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from sprint_exports.formats.pdf.style import GRID_COLOUR, HEADER_FILL, ZEBRA_FILL
from sprint_exports.formats.pdf.text_lines import NO_LIMIT, TextStyle, draw_placed, placed_lines
from sprint_exports.formats.pdf.wrap import wrap_text
from sprint_exports.text import one_line

PAD_X = 6  # reportlab's default cell padding, which these tables had
PAD_TOP = 1.5
PAD_BOTTOM = 2.5
RULE_WIDTH = 0.3


@dataclass(frozen=True)
class Cell:
    """A cell's text, wrapped to its column, and its style."""

    lines: tuple[str, ...]
    style: TextStyle

    @property
    def height(self) -> float:
        return max(len(self.lines), 1) * self.style.leading


Row = tuple[Cell, ...]


def cells(texts: Sequence[str], widths: Sequence[float], style: TextStyle) -> Row:
    """One row: each text wrapped inside its column's padding."""
    return tuple(
        Cell(tuple(wrap_text(one_line(text), width - 2 * PAD_X, NO_LIMIT, style.chain, style.size)), style)
        for text, width in zip(texts, widths, strict=True)
    )


def row_height(row: Row) -> float:
    return max(cell.height for cell in row) + PAD_TOP + PAD_BOTTOM


class SmallTable(Flowable):
    """Rows of text cells in a grid; the first row is a header (`header`) or the first column is shaded."""

    def __init__(self, rows: Sequence[Row], widths: Sequence[float], *, header: bool = False):
        super().__init__()
        self.rows = tuple(rows)
        self.widths = tuple(widths)
        self.header = header
        self.width = sum(self.widths)
        self._heights = [row_height(row) for row in self.rows]
        self.height = sum(self._heights)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 (reportlab's names)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        """The rows that fit `availHeight`, the row across the edge cut between its lines, the rest after
        the header again; nothing when not even one line of a body row fits."""
        first = 1 if self.header else 0
        used, fitting = 0.0, 0
        while fitting < len(self.rows) and used + self._heights[fitting] <= availHeight:
            used += self._heights[fitting]
            fitting += 1
        if fitting == len(self.rows):
            return [self]
        head, tail = list(self.rows[:fitting]), list(self.rows[fitting:])
        top, bottom = _cut(tail[0], availHeight - used - PAD_TOP - PAD_BOTTOM)
        if top is not None:
            head.append(top)
            tail[0] = bottom
        if len(head) <= first:
            return []
        repeated = list(self.rows[:first])
        return [self._like(head), self._like(repeated + tail)]

    def _like(self, rows: Sequence[Row]) -> SmallTable:
        return SmallTable(rows, self.widths, header=self.header)

    def draw(self) -> None:
        canvas = self.canv
        tops = [self.height - used for used in accumulate(self._heights, initial=0)]
        lefts = list(accumulate(self.widths, initial=0))
        canvas.saveState()
        if self.header and self.rows:
            _fill(canvas, HEADER_FILL, 0, tops[1], self.width, self._heights[0])
        elif self.rows:
            _fill(canvas, ZEBRA_FILL, 0, 0, self.widths[0], self.height)
        canvas.restoreState()
        by_style: dict[TextStyle, list[tuple[float, float, str]]] = {}
        for row, top in zip(self.rows, tops, strict=False):
            for cell, left in zip(row, lefts, strict=False):
                by_style.setdefault(cell.style, []).extend(placed_lines(left + PAD_X, top - PAD_TOP, cell.lines, cell.style))
        for style, placed in by_style.items():
            draw_placed(canvas, placed, style)
        canvas.saveState()
        canvas.setStrokeColor(GRID_COLOUR)
        canvas.setLineWidth(RULE_WIDTH)
        canvas.lines([(0, y, self.width, y) for y in tops] + [(x, 0, x, self.height) for x in lefts])
        canvas.restoreState()


def _cut(row: Row, room: float) -> tuple[Row | None, Row]:
    """`row` cut so its first part's text fits `room` points, or (None, row) when not one line fits."""
    leading = max(cell.style.leading for cell in row)
    fit = int(room // leading)
    if fit < 1:
        return None, row
    top = tuple(Cell(cell.lines[:fit], cell.style) for cell in row)
    bottom = tuple(Cell(cell.lines[fit:], cell.style) for cell in row)
    return top, bottom


def _fill(canvas: Canvas, colour: Color, x: float, y: float, width: float, height: float) -> None:
    canvas.setFillColor(colour)
    canvas.rect(x, y, width, height, stroke=0, fill=1)
