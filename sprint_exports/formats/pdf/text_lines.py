"""Short text of the document in every script: the title, headings, facts, team and the footer.

reportlab's Paragraph sets a whole paragraph in one font, reorders nothing
and parses markup. `TextLines` instead wraps with the table's line breaker
(`wrap`: font fallback per run, Arabic joined, right-to-left reordered) and
draws with the table's operators, so every part of the PDF shows text the
same way. Text is never parsed: a name like `<b>&` shows exactly that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from sprint_exports.formats.pdf import runs
from sprint_exports.formats.pdf.operators import LineWriter, TextBlock, document_of
from sprint_exports.formats.pdf.runs import FontChain
from sprint_exports.formats.pdf.style import TEXT_COLOUR
from sprint_exports.formats.pdf.wrap import wrap_text
from sprint_exports.text import one_line

NO_LIMIT = 1_000_000  # lines: a flowable's text is never cut, it splits across pages instead
DESCENT = 0.27  # how far text reaches below the baseline, as a share of the font size


@dataclass(frozen=True)
class TextStyle:
    size: float
    leading: float
    bold: bool = False
    colour: Color = TEXT_COLOUR
    space_before: float = 0
    space_after: float = 0

    @property
    def chain(self) -> FontChain:
        return runs.bold() if self.bold else runs.regular()

    def as_bold(self) -> TextStyle:
        return replace(self, bold=True)


class TextLines(Flowable):
    """Tracker or template text on as many lines as its width needs; splits between lines."""

    def __init__(self, text: str, style: TextStyle, lines: tuple[str, ...] | None = None):
        super().__init__()
        self.text = one_line(text)
        self.style = style
        self.spaceBefore = style.space_before
        self.spaceAfter = style.space_after
        self._lines = lines
        self._fixed = lines is not None  # a piece of a split keeps its lines
        self._wrapped_for: float | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 (reportlab's names)
        if not self._fixed and self._wrapped_for != availWidth:
            self._lines = wrap_text(self.text, availWidth, NO_LIMIT, self.style.chain, self.style.size)
            self._wrapped_for = availWidth
        self.width = availWidth
        self.height = len(self._lines or ("",)) * self.style.leading
        return self.width, self.height

    def minWidth(self) -> float:  # noqa: N802 (reportlab's name)
        """The text's width on one line (what a Table without column widths sizes the cell to)."""
        line = wrap_text(self.text, float("inf"), 1, self.style.chain, self.style.size)[0]
        return self.style.chain.width(line, self.style.size)

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        self.wrap(availWidth, availHeight)
        lines = self._lines or ()
        fit = int(availHeight // self.style.leading)
        if fit <= 0 or fit >= len(lines):
            return []
        return [TextLines(self.text, self.style, lines[:fit]), TextLines(self.text, self.style, lines[fit:])]

    def draw(self) -> None:
        draw_lines(self.canv, 0, self.height, self._lines or (), self.style)


def draw_lines(canvas: Canvas, x: float, top: float, lines: Sequence[str], style: TextStyle) -> None:
    """Display `lines` from `top` down, starting at `x`, as one text object."""
    draw_placed(canvas, placed_lines(x, top, lines, style), style)


def placed_lines(x: float, top: float, lines: Sequence[str], style: TextStyle) -> list[tuple[float, float, str]]:
    """(left, baseline, line) of `lines` set from `top` down at `x`, each centred in its leading."""
    first = top - style.leading + (style.leading - style.size) / 2 + DESCENT * style.size
    return [(x, first - index * style.leading, line) for index, line in enumerate(lines)]


def draw_at_baseline(canvas: Canvas, x: float, baseline: float, line: str, style: TextStyle) -> None:
    """Display one line sitting on `baseline`, starting at `x`."""
    draw_placed(canvas, [(x, baseline, line)], style)


def _writer(canvas: Canvas, style: TextStyle) -> LineWriter:
    """One LineWriter per canvas (so per document), chain and size, kept on the canvas: the footer of
    every page reuses the runs it has encoded instead of asking reportlab to encode them again."""
    writers: dict[tuple[str, float], LineWriter] = canvas.__dict__.setdefault("_sprint_exports_line_writers", {})
    chain = style.chain
    writer = writers.get((chain.name, style.size))
    if writer is None or writer.document is not document_of(canvas):
        writer = writers[chain.name, style.size] = LineWriter(document_of(canvas), chain, style.size)
    return writer


def draw_placed(canvas: Canvas, placed: Sequence[tuple[float, float, str]], style: TextStyle) -> None:
    """Display each (left, baseline, line) in one text object: a chart's labels, a block's lines."""
    writer = _writer(canvas, style)
    text = TextBlock()
    for x, baseline, line in placed:
        text.show(writer, x, baseline, line)
    canvas.saveState()
    canvas.setFillColor(style.colour)
    canvas.addLiteral(text.operators())
    canvas.restoreState()
