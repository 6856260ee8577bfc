"""PDF: a sprint report people can read, fast enough for 100,000 issues.

Why it is built the way it is:

- Speed. reportlab's Table and LongTable lay every cell out as a flowable,
  which takes minutes for a 100,000-issue sprint. The issue table here is one
  custom Flowable (`IssueTable`) that measures rows with plain string widths,
  takes as many rows as fit the frame, and draws header and rows straight onto
  the canvas; a page costs one text object and a few rectangles and lines.
- Wrapping. Summaries and names wrap inside their column: between words
  first, inside a word that is wider than the column. A cell taller than a
  whole page is cut with an ellipsis, so layout always makes progress.
- Untrusted text. Issue cells are drawn as plain strings, never parsed as
  markup; the few Paragraphs (title, facts, team) get XML-escaped text. So
  a summary like `<b>&` shows exactly those characters.
- Fonts. All text is Roboto (see `pdf_fonts`): tracker names are Latin,
  Greek and Cyrillic, which Helvetica cannot show.
- Determinism. `invariant=1` fixes creation dates and the document ID, so
  the same report and template always give byte-identical files.
- "Page N of M" needs the page count before any page is written:
  `NumberedCanvas` holds the pages and stamps the footers in `save()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab import rl_config
from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from sprint_exports.formats.cells import issue_rows
from sprint_exports.formats.pdf_charts import burndown_chart, velocity_chart
from sprint_exports.formats.pdf_fonts import FONT, FONT_BOLD, register_fonts
from sprint_exports.report import DATETIME_FORMAT, ISSUE_COLUMNS, SprintReport
from sprint_exports.templates import Template

PAGE_SIZE = landscape(A4)
MARGIN = 12 * mm
FOOTER_MARGIN = 16 * mm  # the bottom margin; the footer sits inside it

TEXT_COLOUR = colors.HexColor("#24292f")
MUTED_COLOUR = colors.HexColor("#57606a")
HEADER_FILL = colors.HexColor("#dde7f3")
ZEBRA_FILL = colors.HexColor("#f5f7fa")
GRID_COLOUR = colors.HexColor("#c4ccd5")

# The issue table: small type, so ten columns fit a landscape page.
CELL_SIZE = 7
CELL_LEADING = 8.6
CELL_PAD_X = 3
CELL_PAD_Y = 2.2
CELL_DESCENT = 1.9  # baseline distance from the bottom of a line box at CELL_SIZE
ELLIPSIS = "…"
NO_ISSUES = "No issues in this sprint"

# Control characters have no glyph; line breaks stay, everything else becomes a space.
_LINE_BREAKS = r"\r\n?"
_CONTROL_CHARACTERS = r"[\x00-\x09\x0b-\x1f\x7f]"

TITLE_STYLE = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=18, leading=22, textColor=TEXT_COLOUR, spaceAfter=4)
HEADING_STYLE = ParagraphStyle(
    "heading", fontName=FONT_BOLD, fontSize=11, leading=14, textColor=TEXT_COLOUR, spaceBefore=8, spaceAfter=4
)
BODY_STYLE = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=10.5, textColor=TEXT_COLOUR)
NOTE_STYLE = ParagraphStyle("note", parent=BODY_STYLE, textColor=MUTED_COLOUR)


def render(report: SprintReport, template: Template, path: Path) -> int:
    """Write the report as a PDF at `path`; returns the number of issue rows in its issue table."""
    register_fonts()
    # Compressed streams stay binary: reportlab's pure-Python ASCII85 step costs
    # seconds per 100,000 rows and only matters for 7-bit mail transports.
    rl_config.useA85 = 0
    document = SimpleDocTemplate(
        str(path),
        pagesize=PAGE_SIZE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=FOOTER_MARGIN,
        title=report.sprint.name,
        subject=template.title,
        author="Sprint exports",
        creator="sprint_exports",
        invariant=1,
        initialFontName=FONT,  # the canvas's opening font, so no page references Helvetica
    )
    story, row_count = _story(report, template, frame_height=document.height)
    footer = f"{report.sprint.name} · {template.title}"
    document.build(story, canvasmaker=partial(NumberedCanvas, footer=footer))
    return row_count


def _story(report: SprintReport, template: Template, frame_height: float) -> tuple[list[Flowable], int]:
    fields = template.fields
    story: list[Flowable] = [_paragraph(template.title, TITLE_STYLE)]
    blocks: list[list[Flowable]] = []
    if fields.basic_info:
        blocks.append([_heading("Sprint"), _key_value_table(report.facts(), [24 * mm, 116 * mm])])
    if fields.metrics:
        metrics = [(label, _number(value)) for label, value in report.metric_rows()]
        blocks.append([_heading("Metrics"), _key_value_table(metrics, [48 * mm, 24 * mm])])
    story += _side_by_side(blocks, gap=10 * mm)
    if fields.metrics and template.format_options.include_charts:
        story += _charts(report)
    if fields.team_info:
        story += [_heading("Team"), _team_table(report.members)]
    row_count = 0
    if fields.issues and template.columns:
        rows = issue_rows(report, template)
        grid = IssueGrid(_grid_columns(template), _cell_texts(rows), max_height=frame_height - 2 * 6)
        story += [_heading("Issues"), IssueTable(grid)]
        row_count = rows.height
    return story, row_count


# --- small sections: a handful of rows each, so plain Tables of Paragraphs are fine


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """Tracker text as a Paragraph: escaped, so '<' and '&' are shown, not parsed."""
    return Paragraph(escape(_clean(text)), style)


def _heading(text: str) -> Paragraph:
    return _paragraph(text, HEADING_STYLE)


def _clean(text: str) -> str:
    return "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)


def _number(value: int | float) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _key_value_table(rows: Sequence[tuple[str, str]], widths: list[float]) -> Table:
    data = [[_paragraph(label, BODY_STYLE), _paragraph(str(value), BODY_STYLE)] for label, value in rows]
    table = Table(data, colWidths=widths, hAlign="LEFT")
    table.setStyle(_small_table_style(header=False))
    return table


def _side_by_side(blocks: list[list[Flowable]], gap: float) -> list[Flowable]:
    """Short sections next to each other, so the summary, charts and team share the first page."""
    if len(blocks) < 2:
        return [flowable for block in blocks for flowable in block]
    table = Table([blocks], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), gap),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [table]


def _team_table(members: pl.DataFrame) -> Flowable:
    if members.is_empty():
        return _paragraph("No team members", NOTE_STYLE)
    header = [_paragraph(label, _bold(BODY_STYLE)) for label in ("Name", "Role", "Capacity (h)")]
    data = [header] + [
        [
            _paragraph(member["name"] or "", BODY_STYLE),
            _paragraph(member["role"] or "", BODY_STYLE),
            _paragraph(str(member["capacity"] or 0), BODY_STYLE),
        ]
        for member in members.iter_rows(named=True)
    ]
    table = Table(data, colWidths=[70 * mm, 55 * mm, 25 * mm], hAlign="LEFT", repeatRows=1)
    table.setStyle(_small_table_style(header=True))
    return table


def _bold(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-bold", parent=style, fontName=FONT_BOLD)


def _small_table_style(header: bool) -> TableStyle:
    commands: list[tuple] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),  # the cell font Table sets before each cell; Helvetica otherwise
        ("GRID", (0, 0), (-1, -1), 0.3, GRID_COLOUR),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL))
    else:
        commands.append(("BACKGROUND", (0, 0), (0, -1), ZEBRA_FILL))
    return TableStyle(commands)


def _charts(report: SprintReport) -> list[Flowable]:
    """Burndown and velocity side by side; a note in place of a chart with no data."""
    width, height = 125 * mm, 62 * mm
    burndown = burndown_chart(report.metrics.burndown, width, height)
    velocity = velocity_chart(report.metrics.velocity_history, report.sprint.id, width, height)
    if burndown is None and velocity is None:
        return [_paragraph("No chart data yet: the sprint has no dates and the team no completed sprints.", NOTE_STYLE)]
    cells = [
        burndown or _paragraph("Burndown: the sprint has no start and end dates.", NOTE_STYLE),
        velocity or _paragraph("Velocity history: the team has no completed sprints yet.", NOTE_STYLE),
    ]
    table = Table([cells], colWidths=[width + 8 * mm, width], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]
        )
    )
    return [Spacer(1, 6), KeepTogether(table)]


# --- the issue table


@dataclass(frozen=True)
class GridColumn:
    label: str
    share: float  # relative width, from ISSUE_COLUMNS
    numeric: bool  # right-aligned


def _grid_columns(template: Template) -> list[GridColumn]:
    columns = [ISSUE_COLUMNS[name] for name in template.columns]
    return [GridColumn(column.label, column.width, column.kind == "integer") for column in columns]


def _cell_texts(rows: pl.DataFrame) -> list[list[str]]:
    """Every cell as display text, column by column (formatted in polars, not per cell in Python)."""
    texts = []
    for name, dtype in rows.schema.items():
        column = pl.col(name)
        if dtype.is_temporal():
            column = column.dt.strftime(DATETIME_FORMAT)
        elif dtype == pl.String:
            column = column.str.replace_all(_LINE_BREAKS, "\n").str.replace_all(_CONTROL_CHARACTERS, " ")
        else:
            column = column.cast(pl.String)
        texts.append(column.fill_null(""))
    frame = rows.select(texts)
    return [frame.get_column(name).to_list() for name in frame.columns]


def wrap_text(text: str, width: float, max_lines: int, font: str = FONT, size: float = CELL_SIZE) -> tuple[str, ...]:
    """`text` as lines no wider than `width`: breaks between words, inside words wider than a line,
    and at newlines; more than `max_lines` lines are cut, the last ending in an ellipsis."""
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

    def __init__(self, columns: list[GridColumn], cells: list[list[str]], max_height: float):
        self.columns = columns
        self.cells = cells
        self.row_count = len(cells[0]) if cells else 0
        self.max_height = max_height
        self.width = 0.0
        self.widths: list[float] = []
        self.header_lines: list[tuple[str, ...]] = []
        self.header_height = 0.0
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
        self.header_lines = [
            wrap_text(column.label, text_width, max_lines=3, font=FONT_BOLD)
            for column, text_width in zip(self.columns, text_widths, strict=True)
        ]
        self.header_height = _block_height(self.header_lines)
        max_lines = max(1, int((self.max_height - self.header_height - 2 * CELL_PAD_Y) // CELL_LEADING) - 1)
        self._wrappers = [lru_cache(maxsize=8192)(partial(wrap_text, width=w, max_lines=max_lines)) for w in text_widths]
        self._heights.clear()
        self._pending.clear()

    def writers(self, canvas: Canvas) -> tuple[CellWriter, CellWriter]:
        """Regular and bold cell writers for the document `canvas` writes (made on first use)."""
        document = canvas._doc  # reportlab's document object: font subsets are tracked per document
        if self._writers is None or self._writers[0].document is not document:
            self._writers = (CellWriter(document, FONT, CELL_SIZE), CellWriter(document, FONT_BOLD, CELL_SIZE))
        return self._writers

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

    def _lay_out(self, row: int) -> None:
        lines = self._split_row(row)
        self._pending[row] = lines
        self._heights.append(_block_height(lines))

    def _split_row(self, row: int) -> list[tuple[str, ...]]:
        return [wrap(column[row]) for wrap, column in zip(self._wrappers, self.cells, strict=True)]


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
        canvas, grid = self.canv, self.grid
        regular, bold = grid.writers(canvas)
        top = self.height
        header_bottom = top - grid.header_height
        row_tops = self._row_tops(header_bottom)
        bottom = row_tops[-1][1] - grid.row_height(row_tops[-1][0]) if row_tops else top - self._empty_height()

        canvas.saveState()
        canvas.setFillColor(HEADER_FILL)
        canvas.rect(0, header_bottom, grid.width, grid.header_height, stroke=0, fill=1)
        zebra = [(row_top, grid.row_height(row)) for row, row_top in row_tops if row % 2]
        if zebra:
            canvas.setFillColor(ZEBRA_FILL)
            canvas.addLiteral(_rectangles_path(zebra, grid.width) + " f")

        text = TextBlock()
        self._show_cells(text, bold, grid.header_lines, top)
        for row, row_top in row_tops:
            self._show_cells(text, regular, grid.take_lines(row), row_top)
        if not row_tops:
            text.show(regular, CELL_PAD_X, _first_baseline(header_bottom), NO_ISSUES)
        canvas.setFillColor(TEXT_COLOUR)
        canvas.addLiteral(text.operators())

        self._draw_grid(top, bottom)
        canvas.restoreState()

    def _empty_height(self) -> float:
        return self.grid.header_height + CELL_LEADING + 2 * CELL_PAD_Y

    def _row_tops(self, first_top: float) -> list[tuple[int, float]]:
        tops, y = [], first_top
        for row in range(self.start, self.stop):
            tops.append((row, y))
            y -= self.grid.row_height(row)
        return tops

    def _show_cells(
        self, text: TextBlock, writer: CellWriter, cell_lines: Sequence[tuple[str, ...]], row_top: float
    ) -> None:
        x = 0.0
        first_baseline = _first_baseline(row_top)
        for column, width, lines in zip(self.grid.columns, self.grid.widths, cell_lines, strict=True):
            baseline = first_baseline
            for line in lines:
                if column.numeric:
                    left = x + width - CELL_PAD_X - stringWidth(line, writer.font_name, CELL_SIZE)
                else:
                    left = x + CELL_PAD_X
                text.show(writer, left, baseline, line)
                baseline -= CELL_LEADING
            x += width

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
        self.canv.lines(segments)


def _first_baseline(row_top: float) -> float:
    return row_top - CELL_PAD_Y - CELL_LEADING + CELL_DESCENT


def _rectangles_path(rectangles: Sequence[tuple[float, float]], width: float) -> str:
    """One PDF path of full-width rectangles given as (top, height), to fill in a single operation."""
    return " ".join(f"0 {top - height:.2f} {width:.2f} {height:.2f} re" for top, height in rectangles)


# --- hand-written text operators: the issue table's hot loop


class CellWriter:
    """PDF text-showing operators for one font in one document, cached per distinct line.

    reportlab's text object measures and re-encodes every string it shows; an
    issue table repeats most of its strings (statuses, names, dates), and
    encoding is the renderer's largest cost. Roboto is embedded as subsets of
    256 glyphs, so a line encodes to (subset, operator) parts and the subset's
    font is selected whenever it changes.
    """

    CACHE_LIMIT = 50_000  # distinct lines kept; the cache starts over beyond that

    def __init__(self, document: object, font_name: str, size: float):
        self.font_name = font_name
        self._font = pdfmetrics.getFont(font_name)
        self.document = document
        self._size = size
        self._parts: dict[str, tuple[tuple[int, str], ...]] = {}
        self._selectors: dict[int, str] = {}

    def parts(self, line: str) -> tuple[tuple[int, str], ...]:
        parts = self._parts.get(line)
        if parts is None:
            if len(self._parts) >= self.CACHE_LIMIT:
                self._parts.clear()
            parts = tuple(
                (subset, f"({escapePDF(data)}) Tj") for subset, data in self._font.splitString(line, self.document)
            )
            self._parts[line] = parts
        return parts

    def select(self, subset: int) -> str:
        """The operator that makes `subset` of this font current."""
        selector = self._selectors.get(subset)
        if selector is None:
            name = self._font.getSubsetInternalName(subset, self.document)
            selector = self._selectors[subset] = f"{name} {self._size} Tf"
        return selector


class TextBlock:
    """One BT … ET text object of positioned lines; fonts switch only when they change."""

    def __init__(self) -> None:
        self._operators: list[str] = ["BT"]
        self._current: tuple[CellWriter, int] | None = None

    def show(self, writer: CellWriter, x: float, y: float, line: str) -> None:
        if not line:
            return
        self._operators.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm")
        for subset, operator in writer.parts(line):
            if self._current != (writer, subset):
                self._current = (writer, subset)
                self._operators.append(writer.select(subset))
            self._operators.append(operator)

    def operators(self) -> str:
        return "\n".join([*self._operators, "ET"])


# --- pages


class NumberedCanvas(Canvas):
    """A canvas that holds every page until `save()`, then stamps "Page N of M" and the footer text.

    The classic reportlab recipe: the total page count is only known at the end.
    """

    def __init__(self, *args, footer: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._saved_page_states: list[dict] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._saved_page_states.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved_page_states)
        for state in self._saved_page_states:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        width, _ = self._pagesize
        y = FOOTER_MARGIN / 2
        self.saveState()
        self.setFont(FONT, 7.5)
        self.setFillColor(MUTED_COLOUR)
        self.setStrokeColor(GRID_COLOUR)
        self.setLineWidth(0.3)
        self.line(MARGIN, y + 10, width - MARGIN, y + 10)
        self.drawString(MARGIN, y, _clean(self._footer))
        self.drawRightString(width - MARGIN, y, f"Page {self._pageNumber} of {total}")
        self.restoreState()
