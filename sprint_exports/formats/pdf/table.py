"""The PDF's issue table, drawn straight onto the canvas instead of built from reportlab's tables.

- Speed. reportlab's LongTable lays out every cell as a flowable: about 370 s
  for 100,000 rows. `IssueTable` is one Flowable that measures rows with plain
  string widths (`grid`), takes as many rows as fit the frame, and draws a
  page as one text object (`operators`) and a few rectangles and lines.
- Wrapping. Summaries and names wrap inside their column, between words first
  and inside a word that is wider than the column (`wrap`). A cell taller
  than a whole page is cut with an ellipsis, so layout always makes progress.
- Every script. Cells fall back from Roboto to the font that has each
  character (`runs`); right-to-left text is shaped and reordered (`direction`).
- Repeated headers. Each page-sized piece draws the header row again, and a
  group's band (its size and story points) belongs to the group's first row,
  so it never ends up alone at the bottom of a page.
- Untrusted text. Cells are drawn as plain strings and never parsed as markup,
  so a summary like `<b>&` shows exactly those characters.
- Progress. Each page-sized piece reports the rows it drew to `on_rows`
  (about 50 a page), once it has drawn them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import polars as pl
from reportlab.platypus import Flowable

from sprint_exports.formats.pdf.cells import CellBlocks, cell_texts, grid_columns, group_bands
from sprint_exports.formats.pdf.grid import IssueGrid
from sprint_exports.formats.pdf.operators import LineWriter, TextBlock
from sprint_exports.formats.pdf.style import (
    BAND_FILL,
    BAND_HEIGHT,
    CELL_DESCENT,
    CELL_LEADING,
    CELL_PAD_X,
    CELL_PAD_Y,
    GRID_COLOUR,
    HEADER_FILL,
    TEXT_COLOUR,
    ZEBRA_FILL,
)
from sprint_exports.templates import Template

NO_ISSUES = "No issues in this sprint"


def issue_table(
    rows: pl.DataFrame, template: Template, max_height: float, on_rows: Callable[[int], None] | None = None
) -> IssueTable:
    """The table of `rows` (from `issue_rows`); no row may be taller than `max_height` points.
    `on_rows` hears how many rows each page drew."""
    grid = IssueGrid(
        grid_columns(rows.columns),
        CellBlocks(cell_texts(rows)),
        bands=group_bands(rows, template),
        max_height=max_height,
        on_rows=on_rows,
    )
    return IssueTable(grid)


class PlacedRow(NamedTuple):
    """Where one row sits on the page: its group band (if any) from `top`, its cells from `cells_top`."""

    index: int
    top: float
    cells_top: float
    bottom: float
    band: str  # the group label, "" when the row starts no group


class IssueTable(Flowable):
    """Rows `start`..`stop` of an IssueGrid, with the header; splits into page-sized pieces."""

    def __init__(self, grid: IssueGrid, start: int = 0, stop: int | None = None):
        super().__init__()
        self.grid = grid
        self.start = start
        self.stop = grid.row_count if stop is None else stop

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 (reportlab's names)
        self.grid.set_width(availWidth)
        if self.start == self.stop:
            self.height = self.grid.header_height + CELL_LEADING + 2 * CELL_PAD_Y
        else:
            count, height = self.grid.fit(self.start, self.stop, availHeight)
            # Not everything fits: report just more than the space, so the frame asks for a split.
            more = self.start + count < self.stop
            self.height = height + self.grid.row_height(self.start + count) if more else height
        self.width = availWidth
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        self.grid.set_width(availWidth)
        count, _ = self.grid.fit(self.start, self.stop, availHeight)
        if count == 0:
            return []  # not even one row fits here: the frame moves the table to the next page
        middle = self.start + count
        return [IssueTable(self.grid, self.start, middle), IssueTable(self.grid, middle, self.stop)]

    def draw(self) -> None:
        """Fills, then grid lines, then group bands over the lines, then all text in one text object."""
        canvas, grid = self.canv, self.grid
        regular, bold = grid.writers(canvas)
        top = self.height
        header_bottom = top - grid.header_height
        placed = self._place_rows(header_bottom)
        bottom = placed[-1].bottom if placed else top - self._empty_height()

        canvas.saveState()
        canvas.setFillColor(HEADER_FILL)
        canvas.rect(0, header_bottom, grid.width, grid.header_height, stroke=0, fill=1)
        zebra = [(row.cells_top, row.cells_top - row.bottom) for row in placed if row.index % 2]
        if zebra:
            canvas.setFillColor(ZEBRA_FILL)
            canvas.addLiteral(_rectangles_path(zebra, grid.width) + " f")
        self._draw_grid(top, bottom)
        bands = [row for row in placed if row.band]
        if bands:
            canvas.setFillColor(BAND_FILL)
            canvas.addLiteral(_rectangles_path([(row.top, BAND_HEIGHT) for row in bands], grid.width) + " f")
            canvas.lines([(0, y, grid.width, y) for row in bands for y in (row.top, row.cells_top)])

        text = TextBlock()
        self._show_cells(text, bold, grid.header_lines, top)
        for row in placed:
            if row.band:
                text.show(bold, CELL_PAD_X, _first_baseline(row.top), row.band)
            self._show_cells(text, regular, grid.take_lines(row.index), row.cells_top)
        if not placed:
            text.show(regular, CELL_PAD_X, _first_baseline(header_bottom), NO_ISSUES)
        canvas.setFillColor(TEXT_COLOUR)
        canvas.addLiteral(text.operators())
        canvas.restoreState()
        if placed and grid.on_rows is not None:
            grid.on_rows(len(placed))

    def _empty_height(self) -> float:
        return self.grid.header_height + CELL_LEADING + 2 * CELL_PAD_Y

    def _place_rows(self, first_top: float) -> list[PlacedRow]:
        placed, y = [], first_top
        for row in range(self.start, self.stop):
            band = self.grid.band_label(row)
            bottom = y - self.grid.row_height(row)
            placed.append(PlacedRow(row, y, y - BAND_HEIGHT if band else y, bottom, band))
            y = bottom
        return placed

    def _show_cells(
        self, text: TextBlock, writer: LineWriter, cell_lines: Sequence[tuple[str, ...]], row_top: float
    ) -> None:
        grid = self.grid
        first = _first_baseline(row_top)
        baselines = [f"{first - index * CELL_LEADING:.2f}" for index in range(max(map(len, cell_lines)))]
        text.show_row(writer, cell_lines, grid.lefts, baselines, grid.right_aligned_left)

    def _draw_grid(self, top: float, bottom: float) -> None:
        grid = self.grid
        edges = [0.0]
        for width in grid.widths:
            edges.append(edges[-1] + width)
        header_bottom = top - grid.header_height
        # With no rows the message spans the table, so inner column lines stop at the header.
        inner_bottom = bottom if self.stop > self.start else header_bottom
        segments = [(x, top, x, bottom if x in (edges[0], edges[-1]) else inner_bottom) for x in edges]
        segments += [(0, y, grid.width, y) for y in (top, header_bottom, bottom)]
        self.canv.setStrokeColor(GRID_COLOUR)
        self.canv.setLineWidth(0.3)
        self.canv.lines(segments)  # the stroke colour and width stay set for the band lines


def _first_baseline(row_top: float) -> float:
    return row_top - CELL_PAD_Y - CELL_LEADING + CELL_DESCENT


def _rectangles_path(rectangles: Sequence[tuple[float, float]], width: float) -> str:
    """One PDF path of full-width rectangles given as (top, height), to fill in a single operation."""
    return " ".join(f"0 {top - height:.2f} {width:.2f} {height:.2f} re" for top, height in rectangles)
