"""The PDF's issue table, drawn straight onto the canvas instead of built from reportlab's tables.

- Speed. reportlab's LongTable lays out every cell as a flowable: about 370 s
  for 100,000 rows. `IssueTable` is one Flowable that measures rows with plain
  string widths, takes as many rows as fit the frame, and draws a page as one
  text object and a few rectangles and lines.
- Wrapping. Summaries and names wrap inside their column, between words first
  and inside a word that is wider than the column. A cell taller than a whole
  page is cut with an ellipsis, so layout always makes progress.
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
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import NamedTuple

import polars as pl
from reportlab.lib import colors
from reportlab.lib.rl_accel import escapePDF
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from sprint_exports.report.issue_order import issue_groups, story_points_total
from sprint_exports.formats.pdf.fonts import FONT, FONT_BOLD
from sprint_exports.formats.pdf.style import GRID_COLOUR, HEADER_FILL, TEXT_COLOUR, ZEBRA_FILL
from sprint_exports.report.model import DATETIME_FORMAT, ISSUE_COLUMNS
from sprint_exports.templates import Template
from sprint_exports.text import cell_lines

BAND_FILL = colors.HexColor("#eaeef2")

# Small type, so ten columns fit a landscape page.
CELL_SIZE = 7
CELL_LEADING = 8.6
CELL_PAD_X = 3
CELL_PAD_Y = 2.2
CELL_DESCENT = 1.9  # how far Roboto reaches below the baseline at CELL_SIZE
BAND_HEIGHT = CELL_LEADING + 2 * CELL_PAD_Y  # a group's label row
ELLIPSIS = "…"
NO_ISSUES = "No issues in this sprint"



def issue_table(
    rows: pl.DataFrame, template: Template, max_height: float, on_rows: Callable[[int], None] | None = None
) -> IssueTable:
    """The table of `rows` (from `issue_rows`); no row may be taller than `max_height` points.
    `on_rows` hears how many rows each page drew."""
    grid = IssueGrid(
        _grid_columns(rows.columns),
        CellBlocks(_cell_texts(rows)),
        bands=_group_bands(rows, template),
        max_height=max_height,
        on_rows=on_rows,
    )
    return IssueTable(grid)


@dataclass(frozen=True)
class GridColumn:
    label: str
    share: float  # relative width, from ISSUE_COLUMNS
    numeric: bool  # right-aligned


def _grid_columns(names: Sequence[str]) -> list[GridColumn]:
    columns = [ISSUE_COLUMNS[name] for name in names]
    return [GridColumn(column.label, column.width, column.kind == "integer") for column in columns]


def _group_bands(rows: pl.DataFrame, template: Template) -> dict[int, str]:
    """A band label before the first row of each group, e.g. "Status: Done · 57 issues · 280 points"."""
    group = template.group_column
    if group is None:
        return {}
    bands, first_row = {}, 0
    for value, part in issue_groups(rows, template):
        count = part.height
        label = f"{ISSUE_COLUMNS[group].label}: {value} · {count} issue{'' if count == 1 else 's'}"
        if "story_points" in part.columns:
            label += f" · {story_points_total(part)} points"
        bands[first_row] = label
        first_row += count
    return bands


def _cell_texts(rows: pl.DataFrame) -> pl.DataFrame:
    """Every cell as display text (formatted in polars, not per cell in Python)."""
    texts = []
    for name, dtype in rows.schema.items():
        column = pl.col(name)
        if dtype.is_temporal():
            column = column.dt.strftime(DATETIME_FORMAT)
        elif dtype == pl.String:
            column = cell_lines(column)
        else:
            column = column.cast(pl.String)
        texts.append(column.fill_null(""))
    return rows.select(texts)


class CellBlocks:
    """Cell text by row, turned into Python strings a block of rows at a time.

    A 100,000-row table as Python strings costs over 100 MB; rows are laid out
    in order, so holding one block keeps that to a few hundred kilobytes.
    """

    BLOCK_ROWS = 2048

    def __init__(self, texts: pl.DataFrame):
        self._texts = texts
        self.row_count = texts.height
        self._first = self._stop = 0  # the rows held: first..stop-1
        self._block: list[list[str]] = []

    def row(self, row: int) -> list[str]:
        if not self._first <= row < self._stop:
            self._first = row - row % self.BLOCK_ROWS
            block = self._texts.slice(self._first, self.BLOCK_ROWS)
            self._block = [block.get_column(name).to_list() for name in block.columns]
            self._stop = self._first + block.height
        index = row - self._first
        return [column[index] for column in self._block]


def wrap_text(
    text: str, width: float, max_lines: int, font: str = FONT, size: float = CELL_SIZE
) -> tuple[str, ...]:
    """`text` as lines no wider than `width` points.

    Breaks at newlines, between words, and inside words wider than a line;
    more than `max_lines` lines are cut, the last one ending in an ellipsis.
    """
    if "\n" not in text and stringWidth(text, font, size) <= width:
        return (text,)
    lines: list[str] = []
    for line in simpleSplit(text, font, size, width) or [""]:
        if stringWidth(line, font, size) <= width:
            lines.append(line)
        else:
            lines += _break_inside_words(line, width, font, size)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _fit_with_ellipsis(lines[-1], width, font, size)
    return tuple(lines)


def _break_inside_words(line: str, width: float, font: str, size: float) -> list[str]:
    pieces: list[str] = []
    current, used = "", 0.0
    for character in line:
        advance = stringWidth(character, font, size)
        if current and used + advance > width:
            pieces.append(current)
            current, used = "", 0.0
        current += character
        used += advance
    pieces.append(current)
    return pieces


def _fit_with_ellipsis(line: str, width: float, font: str, size: float) -> str:
    while line and stringWidth(line + ELLIPSIS, font, size) > width:
        line = line[:-1]
    return line + ELLIPSIS


class IssueGrid:
    """One issue table's shared state across its page-sized pieces.

    Rows are laid out once, in order, as the document flows: the line split of
    each cell is kept only until its row is drawn, so memory stays at about a
    page of rows whatever the table's length. Each column wraps through a
    small cache, because most columns repeat a few values (status, assignee).
    """

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
        self._writers: tuple[CellWriter, CellWriter] | None = None

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
            wrap_text(column.label, text_width, max_lines=3, font=FONT_BOLD)
            for column, text_width in zip(self.columns, text_widths, strict=True)
        ]
        self.header_height = _block_height(self.header_lines)
        # The tallest row (with a band) must fit a page under the header, or layout would never progress.
        room = self.max_height - self.header_height - BAND_HEIGHT - 2 * CELL_PAD_Y
        max_lines = max(1, int(room // CELL_LEADING) - 1)
        self._wrappers = [
            lru_cache(maxsize=8192)(partial(wrap_text, width=text_width, max_lines=max_lines))
            for text_width in text_widths
        ]
        self._heights.clear()
        self._pending.clear()

    def writers(self, canvas: Canvas) -> tuple[CellWriter, CellWriter]:
        """Regular and bold cell writers for the document `canvas` writes (made on first use)."""
        document = canvas._doc  # reportlab's document object: font subsets are tracked per document
        if self._writers is None or self._writers[0].document is not document:
            self._writers = (CellWriter(document, FONT, CELL_SIZE), CellWriter(document, FONT_BOLD, CELL_SIZE))
        return self._writers

    def right_aligned_left(self, column: int, line: str, font_name: str) -> str:
        """Where `line` starts so it ends at the column's right padding (numbers repeat: cached)."""
        key = (column, line, font_name)
        left = self._right_aligned.get(key)
        if left is None:
            if len(self._right_aligned) >= CellWriter.CACHE_LIMIT:
                self._right_aligned.clear()
            left = f"{self._rights[column] - stringWidth(line, font_name, CELL_SIZE):.2f}"
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
        """How many rows from `start` fit in `available` points under the header, and their height."""
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
        return wrap_text(label, self.width - 2 * CELL_PAD_X, max_lines=1, font=FONT_BOLD)[0] if label else ""

    def _lay_out(self, row: int) -> None:
        lines = self._split_row(row)
        self._pending[row] = lines
        self._heights.append(_block_height(lines) + (BAND_HEIGHT if row in self.bands else 0))

    def _split_row(self, row: int) -> list[tuple[str, ...]]:
        return [wrap(text) for wrap, text in zip(self._wrappers, self.cells.row(row), strict=True)]


class PlacedRow(NamedTuple):
    """Where one row sits on the page: its group band (if any) from `top`, its cells from `cells_top`."""

    index: int
    top: float
    cells_top: float
    bottom: float
    band: str  # the group label, "" when the row starts no group


def _block_height(cell_lines: Sequence[tuple[str, ...]]) -> float:
    return max((len(lines) for lines in cell_lines), default=1) * CELL_LEADING + 2 * CELL_PAD_Y


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
        self, text: TextBlock, writer: CellWriter, cell_lines: Sequence[tuple[str, ...]], row_top: float
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


# --- hand-written text operators: the issue table's hot loop


class CellWriter:
    """PDF text-showing operators for one font in one document.

    reportlab's text object measures and re-encodes every string it shows, one
    character at a time in Python; encoding was the renderer's largest cost.
    Roboto is embedded as subsets of 256 glyphs, so a line encodes to (subset,
    operator) parts, and the subset's font is selected whenever it changes.
    Two shortcuts, both exact:

    - repeated lines (statuses, names, dates) come from a cache;
    - a character keeps its subset and code for the whole document, so the
      writer learns each one from reportlab's first encoding of it; a line
      made only of learnt characters of one subset is then encoded by a single
      `str.translate` with the already escaped codes.
    """

    CACHE_LIMIT = 50_000  # distinct lines kept; the cache starts over beyond that

    def __init__(self, document: object, font_name: str, size: float):
        self.font_name = font_name
        self._font = pdfmetrics.getFont(font_name)
        self.document = document
        self._size = size
        self.cached_parts: dict[str, tuple[tuple[int, str], ...]] = {}
        self._selectors: dict[int, str] = {}
        self._learnt: dict[int, set[str]] = {}  # subset -> characters whose code is known
        self._escaped_codes: dict[int, dict[int, str]] = {}  # subset -> {ord(character): escaped code}

    def parts(self, line: str) -> tuple[tuple[int, str], ...]:
        parts = self.cached_parts.get(line)
        if parts is None:
            if len(self.cached_parts) >= self.CACHE_LIMIT:
                self.cached_parts.clear()
            parts = self.cached_parts[line] = self._encode(line)
        return parts

    def select(self, subset: int) -> str:
        """The operator that makes `subset` of this font current."""
        selector = self._selectors.get(subset)
        if selector is None:
            name = self._font.getSubsetInternalName(subset, self.document)
            selector = self._selectors[subset] = f"{name} {self._size} Tf"
        return selector

    def _encode(self, line: str) -> tuple[tuple[int, str], ...]:
        characters = set(line)
        for subset, learnt in self._learnt.items():
            if characters <= learnt:
                return ((subset, f"({line.translate(self._escaped_codes[subset])}) Tj"),)
        chunks = self._font.splitString(line, self.document)
        self._learn(line, chunks)
        return tuple((subset, f"({escapePDF(codes)}) Tj") for subset, codes in chunks)

    def _learn(self, line: str, chunks: list[tuple[int, bytes]]) -> None:
        codes = [(subset, code) for subset, chunk in chunks for code in chunk]
        if len(codes) != len(line):
            return  # not one code per character (never for plain TrueType text): learn nothing
        for character, (subset, code) in zip(line, codes, strict=True):
            self._learnt.setdefault(subset, set()).add(character)
            self._escaped_codes.setdefault(subset, {})[ord(character)] = escapePDF(bytes([code]))


class TextBlock:
    """One BT … ET text object of positioned lines; fonts switch only when they change."""

    def __init__(self) -> None:
        self._operators: list[str] = ["BT"]
        self._writer: CellWriter | None = None
        self._subset = -1

    def show(self, writer: CellWriter, x: float, y: float, line: str) -> None:
        self.show_row(writer, [(line,)], [f"{x:.2f}"], [f"{y:.2f}"], None)

    def show_row(
        self,
        writer: CellWriter,
        cell_lines: Sequence[tuple[str, ...]],
        lefts: Sequence[str | None],
        baselines: Sequence[str],
        right_aligned_left: Callable[[int, str, str], str] | None,
    ) -> None:
        """Show a row's cells: column `i` starts at `lefts[i]` (None: right-aligned), line `j` sits on
        `baselines[j]`; positions are preformatted numbers. This loop runs for every line of the table."""
        append = self._operators.append
        cached_parts = writer.cached_parts
        if writer is not self._writer:
            self._writer, self._subset = writer, -1
        for column, lines in enumerate(cell_lines):
            column_left = lefts[column]
            for baseline, line in zip(baselines, lines):
                if not line:
                    continue
                left = column_left if column_left is not None else right_aligned_left(column, line, writer.font_name)
                append(f"1 0 0 1 {left} {baseline} Tm")
                for subset, operator in cached_parts.get(line) or writer.parts(line):
                    if subset != self._subset:
                        self._subset = subset
                        append(writer.select(subset))
                    append(operator)

    def operators(self) -> str:
        return "\n".join([*self._operators, "ET"])
