"""The issue table's layout: column widths, each row's wrapped lines and height, what fits a page.

Rows are laid out once, in order, as the document flows: the line split of
each cell is kept only until its row is drawn, so memory stays at about a
page of rows whatever the table's length. Each column wraps through a small
cache, because most columns repeat a few values (status, assignee).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from operator import call

from reportlab.pdfgen.canvas import Canvas

from sprint_exports.formats.pdf import runs
from sprint_exports.formats.pdf.cells import CellBlocks, GridColumn
from sprint_exports.formats.pdf.operators import CACHE_LIMIT, LineWriter, document_of
from sprint_exports.formats.pdf.style import BAND_HEIGHT, CELL_LEADING, CELL_PAD_X, CELL_PAD_Y, CELL_SIZE
from sprint_exports.formats.pdf.wrap import wrap_text


class IssueGrid:
    """One issue table's shared state across its page-sized pieces."""

    def __init__(
        self,
        columns: list[GridColumn],
        cells: CellBlocks,
        bands: dict[int, str],
        max_height: float,
        on_rows: Callable[[int], None] | None = None,
    ):
        self.columns = columns
        self.cells = cells
        self.row_count = cells.row_count
        self.bands = bands  # first row of a group -> the group's label, drawn as a band above that row
        self.max_height = max_height
        self.on_rows = on_rows  # told how many rows each page-sized piece drew
        self.regular, self.bold = runs.regular(), runs.bold()
        self.width = 0.0
        self.widths: list[float] = []
        # Each column's text start, formatted for PDF operators; None for right-aligned columns.
        self.lefts: list[str | None] = []
        self.header_lines: list[tuple[str, ...]] = []
        self.header_height = 0.0
        self._rights: list[float] = []  # each column's text end
        self._right_aligned: dict[tuple[int, str, str], str] = {}
        self._wrappers: list[Callable[[str], tuple[str, ...]]] = []
        self._heights: list[float] = []
        self._pending: dict[int, list[tuple[str, ...]]] = {}
        self._writers: tuple[LineWriter, LineWriter] | None = None
        self._last_fit: tuple[tuple[int, int, float] | None, tuple[int, float]] = (None, (0, 0.0))

    def set_width(self, width: float) -> None:
        """Column widths, header lines and cell wrapping for a frame `width` points wide."""
        if width == self.width:
            return
        total_share = sum(column.share for column in self.columns)
        self.width = width
        self.widths = [width * column.share / total_share for column in self.columns]
        text_widths = [max(1.0, column_width - 2 * CELL_PAD_X) for column_width in self.widths]
        edges = [sum(self.widths[:index]) for index in range(len(self.widths) + 1)]
        self.lefts = [
            None if column.numeric else f"{edge + CELL_PAD_X:.2f}"
            for column, edge in zip(self.columns, edges[:-1], strict=True)
        ]
        self._rights = [edge - CELL_PAD_X for edge in edges[1:]]
        self._right_aligned.clear()
        self.header_lines = [
            wrap_text(column.label, text_width, max_lines=3, chain=self.bold)
            for column, text_width in zip(self.columns, text_widths, strict=True)
        ]
        self.header_height = block_height(self.header_lines)
        # The tallest row (with a band) must fit a page under the header, or layout would never progress.
        room = self.max_height - self.header_height - BAND_HEIGHT - 2 * CELL_PAD_Y
        max_lines = max(1, int(room // CELL_LEADING) - 1)
        self._wrappers = [
            lru_cache(maxsize=8192)(partial(wrap_text, width=text_width, max_lines=max_lines, chain=self.regular))
            for text_width in text_widths
        ]
        self._heights.clear()
        self._pending.clear()
        self._last_fit = (None, (0, 0.0))

    def writers(self, canvas: Canvas) -> tuple[LineWriter, LineWriter]:
        """Regular and bold line writers for the document `canvas` writes (made on first use)."""
        document = document_of(canvas)
        if self._writers is None or self._writers[0].document is not document:
            self._writers = (
                LineWriter(document, self.regular, CELL_SIZE),
                LineWriter(document, self.bold, CELL_SIZE),
            )
        return self._writers

    def right_aligned_left(self, column: int, line: str, writer: LineWriter) -> str:
        """Where `line` starts so it ends at the column's right padding (numbers repeat: cached)."""
        key = (column, line, writer.chain.name)
        left = self._right_aligned.get(key)
        if left is None:
            if len(self._right_aligned) >= CACHE_LIMIT:
                self._right_aligned.clear()
            left = f"{self._rights[column] - writer.width(line):.2f}"
            self._right_aligned[key] = left
        return left

    def row_height(self, row: int) -> float:
        while len(self._heights) <= row:
            self._lay_out(len(self._heights))
        return self._heights[row]

    def take_lines(self, row: int) -> list[tuple[str, ...]]:
        """The row's cell lines, for drawing; laid out again if asked twice."""
        lines = self._pending.pop(row, None)
        return lines if lines is not None else self._split_row(row)

    def fit(self, start: int, stop: int, available: float) -> tuple[int, float]:
        """How many rows from `start` fit in `available` points under the header, and their height.

        A page-sized piece asks twice (`wrap`, then `split`) for the same answer: the last one is kept.
        """
        if self._last_fit[0] == (start, stop, available):
            return self._last_fit[1]
        fitted = self._fit(start, stop, available)
        self._last_fit = ((start, stop, available), fitted)
        return fitted

    def _fit(self, start: int, stop: int, available: float) -> tuple[int, float]:
        height = self.header_height
        row = start
        while row < stop:
            row_height = self.row_height(row)
            if height + row_height > available:
                break
            height += row_height
            row += 1
        return row - start, height

    def band_label(self, row: int) -> str:
        """The row's group band, cut to one line; "" when the row does not start a group."""
        label = self.bands.get(row, "")
        return wrap_text(label, self.width - 2 * CELL_PAD_X, max_lines=1, chain=self.bold)[0] if label else ""

    def _lay_out(self, row: int) -> None:
        lines = self._split_row(row)
        self._pending[row] = lines
        self._heights.append(block_height(lines) + (BAND_HEIGHT if row in self.bands else 0))

    def _split_row(self, row: int) -> list[tuple[str, ...]]:
        return list(map(call, self._wrappers, self.cells.row(row)))  # each column's wrapper on its cell


def block_height(cell_lines: Sequence[tuple[str, ...]]) -> float:
    return max(map(len, cell_lines), default=1) * CELL_LEADING + 2 * CELL_PAD_Y
