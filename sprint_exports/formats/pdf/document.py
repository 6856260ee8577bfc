"""PDF: a sprint report people can read, fast enough for 100,000 issues.

This module assembles the document: the title, the short sections (sprint,
metrics, charts, team), the issue table from `table` (nearly all of a long
report, and the reason it is fast) and the page footers.

- Every script. All text (title, facts, team, table, charts, footer) goes
  through one line breaker and one text writer (`wrap`, `operators`): Roboto
  first, each character Roboto lacks in the first fallback font that has it
  (`fonts`, `runs`), Arabic joined and right-to-left runs reordered
  (`direction`). Text is never parsed as markup, so `<b>&` shows as written.
- Fonts missing from the machine raise `FontsMissingError` before anything
  is written: a PDF with silently missing text is never the result.
- Determinism. `invariant=1` fixes creation dates and the document ID, so
  the same report and template always give byte-identical files.
- "Page N of M" needs the page count before any page is written:
  `NumberedCanvas` holds the pages and stamps the footers in `save()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
import polars as pl
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from sprint_exports.formats import OnRows
from sprint_exports.report.issue_order import issue_rows
from sprint_exports.formats.pdf.charts import burndown_chart, velocity_chart
from sprint_exports.formats.pdf.collector import collection_paused
from sprint_exports.formats.pdf.fonts import FONT, register_fonts
from sprint_exports.formats.pdf.small_table import SmallTable, cells
from sprint_exports.formats.pdf.style import GRID_COLOUR
from sprint_exports.formats.pdf.table import issue_table
from sprint_exports.formats.pdf.text_lines import TextLines, TextStyle, draw_at_baseline
from sprint_exports.formats.pdf.wrap import wrap_text
from sprint_exports.report.model import SprintReport, display_number
from sprint_exports.templates import Template
from sprint_exports.text import one_line

rl_config.useA85 = 0  # process-wide: pure-Python ASCII85 costs seconds per 100,000 rows, only 7-bit mail needs it

PAGE_SIZE = landscape(A4)
MARGIN = 12 * mm
FOOTER_MARGIN = 16 * mm  # the bottom margin; the footer sits inside it

MUTED_COLOUR = colors.HexColor("#57606a")

TITLE_STYLE = TextStyle(size=18, leading=22, bold=True, space_after=4)
HEADING_STYLE = TextStyle(size=11, leading=14, bold=True, space_before=8, space_after=4)
# A section starts on the next page when less than this is left, so a heading is
# never alone at the bottom of a page. (keepWithNext would wrap the whole issue
# table in a KeepTogether, which pushes a long table off its first page.)
SECTION_START_HEIGHT = 80
BODY_STYLE = TextStyle(size=8.5, leading=10.5)
NOTE_STYLE = TextStyle(size=8.5, leading=10.5, colour=MUTED_COLOUR)
FOOTER_STYLE = TextStyle(size=7.5, leading=9, colour=MUTED_COLOUR)


def render(report: SprintReport, template: Template, path: Path, *, on_rows: OnRows | None = None) -> int:
    """Write the report as a PDF at `path`; returns the number of issue rows in its issue table.

    `on_rows` hears, page by page, how many issue rows were drawn (pages are
    held until the end, see `NumberedCanvas`, then written in one go).
    """
    register_fonts()
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
    story, row_count = _story(
        report, template, frame_width=document.width, frame_height=document.height, on_rows=on_rows
    )
    footer = f"{report.sprint.name} · {template.title}"
    with collection_paused():
        document.build(story, canvasmaker=partial(NumberedCanvas, footer=footer))
    return row_count


def _story(
    report: SprintReport, template: Template, frame_width: float, frame_height: float, on_rows: OnRows | None = None
) -> tuple[list[Flowable], int]:
    fields = template.fields
    story: list[Flowable] = [TextLines(template.title, TITLE_STYLE)]
    blocks: list[list[Flowable]] = []
    if fields.basic_info:
        blocks.append([_heading("Sprint"), _key_value_table(report.facts(), [24 * mm, 116 * mm])])
    if fields.metrics:
        metrics = [(label, display_number(value)) for label, value in report.metric_rows()]
        notes = [TextLines(f"{note}.", NOTE_STYLE) for note in report.burndown_notes()]
        blocks.append([_heading("Metrics"), _key_value_table(metrics, [64 * mm, 24 * mm]), *notes])
    story += _side_by_side(blocks, gap=10 * mm, width=frame_width, max_height=frame_height / 2)
    if fields.metrics and template.format_options.include_charts:
        story += _charts(report)
    if fields.team_info:
        story += [*_section_heading("Team"), _team_table(report.members)]
    row_count = 0
    if fields.issues and template.columns:
        rows = issue_rows(report, template)
        table = issue_table(rows, template, max_height=frame_height - 2 * 6, on_rows=on_rows)
        story += [*_section_heading("Issues"), table]
        row_count = rows.height
    return story, row_count


# --- small sections: a handful of rows each


def _heading(text: str) -> TextLines:
    return TextLines(text, HEADING_STYLE)


def _section_heading(text: str) -> list[Flowable]:
    return [CondPageBreak(SECTION_START_HEIGHT), _heading(text)]


def _key_value_table(rows: Sequence[tuple[str, str]], widths: list[float]) -> SmallTable:
    return SmallTable([cells([label, str(value)], widths, BODY_STYLE) for label, value in rows], widths)


def _side_by_side(blocks: list[list[Flowable]], gap: float, width: float, max_height: float) -> list[Flowable]:
    """Short sections next to each other, so the summary, charts and team share the first page.

    Sections that together are taller than `max_height` (a very long sprint
    goal) stay one under the other, where they can split across pages.
    """
    sequential = [flowable for block in blocks for flowable in block]
    if len(blocks) < 2:
        return sequential
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
    _, height = table.wrap(width, max_height)
    return [table] if height <= max_height else sequential


def _team_table(members: pl.DataFrame) -> Flowable:
    if members.is_empty():
        return TextLines("No team members", NOTE_STYLE)
    widths = [70 * mm, 55 * mm, 25 * mm]
    header = cells(["Name", "Role", "Capacity (h)"], widths, BODY_STYLE.as_bold())
    body = [
        cells([member["name"] or "", member["role"] or "", str(member["capacity"] or 0)], widths, BODY_STYLE)
        for member in members.iter_rows(named=True)
    ]
    return SmallTable([header, *body], widths, header=True)


def _charts(report: SprintReport) -> list[Flowable]:
    """Burndown and velocity side by side; a note in place of a chart with no data."""
    width, height = 125 * mm, 62 * mm
    burndown = burndown_chart(report.metrics.burndown, width, height)
    velocity = velocity_chart(report.metrics.velocity_history, report.sprint.id, width, height)
    if burndown is None and velocity is None:
        return [TextLines("No charts: nothing to plot for this sprint yet.", NOTE_STYLE)]
    notes = report.burndown_notes()
    if burndown is not None and notes:  # annotate: why the line ends above planned - completed
        burndown = [burndown, TextLines("Not burned down (no resolution date within the sprint): " + "; ".join(notes) + ".", NOTE_STYLE)]
    chart_cells = [
        burndown or TextLines(report.burndown_absence() or "No burndown to plot.", NOTE_STYLE),
        velocity or TextLines("Velocity history: the team has no completed sprints yet.", NOTE_STYLE),
    ]
    table = Table([chart_cells], colWidths=[width + 8 * mm, width], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [Spacer(1, 6), KeepTogether(table)]



# --- pages


class NumberedCanvas(Canvas):
    """A canvas that holds every page until `save()`, then stamps "Page N of M" and the footer text.

    The classic reportlab recipe: the total page count is only known at the end.
    """

    def __init__(self, *args, footer: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._footer = one_line(footer)
        self._footer_lines: dict[float, str] = {}  # the footer cut to a width (page numbers repeat widths)
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
        self.setFont(FONT, FOOTER_STYLE.size)
        self.setFillColor(MUTED_COLOUR)
        self.setStrokeColor(GRID_COLOUR)
        self.setLineWidth(0.3)
        self.line(MARGIN, y + 10, width - MARGIN, y + 10)
        page = f"Page {self._pageNumber} of {total}"
        self.drawRightString(width - MARGIN, y, page)
        self.restoreState()
        room = width - 2 * MARGIN - self.stringWidth(page, FONT, FOOTER_STYLE.size) - 12
        footer = self._footer_lines.get(room)
        if footer is None:
            footer = self._footer_lines[room] = wrap_text(self._footer, room, 1, FOOTER_STYLE.chain, FOOTER_STYLE.size)[0]
        draw_at_baseline(self, MARGIN, y, footer, FOOTER_STYLE)
