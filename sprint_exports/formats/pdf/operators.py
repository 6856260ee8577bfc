"""Hand-written PDF text operators: the issue table's hot loop, and the one way text reaches a page.

reportlab's text object measures and re-encodes every string it shows, one
character at a time in Python; encoding was the renderer's largest cost.
Here a display line becomes its font runs (`runs.FontChain`), each run its
(font subset, operator) parts, and a font subset is selected only when it
changes. After a `Tj` the pen stands at the end of what it drew, so runs in
different fonts follow each other on a line with no positioning of their own.
Each distinct line is turned into its operators once (`LineWriter.drawn`):
drawing a line is then one cache look-up, its position and that string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from sprint_exports.formats.pdf.runs import FontChain
from sprint_exports.formats.pdf.shaping import ESCAPED, actual_text, shaper_for, show_operators

Part = tuple[str, str]  # (the operator selecting a font subset, the operator showing text in it)
# A line's operators: (the subset it starts in, its operators after that selection, the subset it ends in).
# The subsets are the selector strings themselves, one object per subset; "" for a line that shows nothing.
Drawn = tuple[str, str, str]
CACHE_LIMIT = 50_000  # distinct lines kept per writer; the cache starts over beyond that


class FontWriter:
    """Text-showing operators for one font in one document.

    Each font is embedded as subsets of 256 glyphs, so a run encodes to
    (subset, operator) parts. Two shortcuts, both exact:

    - repeated runs come from a cache;
    - a character keeps its subset and code for the whole document, so the
      writer learns each one from reportlab's first encoding of it; a run
      made only of learnt characters of one subset is then encoded by a
      single `str.translate` with the already escaped codes.
    """

    def __init__(self, document: object, font_name: str, size: float):
        self._font = pdfmetrics.getFont(font_name)
        self._shaper = shaper_for(font_name)
        self.document = document
        self._size = size
        self._cache: dict[str, tuple[Part, ...]] = {}
        self._middles: dict[str, tuple[Part, ...]] = {}  # shaped middles of runs (`_shaped`)
        self._selectors: dict[int, str] = {}
        self._learnt: dict[int, set[str]] = {}  # subset -> characters whose code is known
        self._subset_of: dict[str, int] = {}  # learnt character -> its subset
        self._escaped_codes: dict[int, dict[int, str]] = {}  # subset -> {ord(character): escaped code}

    def parts(self, text: str) -> tuple[Part, ...]:
        parts = self._cache.get(text)
        if parts is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            parts = self._cache[text] = self.encode(text)
        return parts

    def _select(self, subset: int) -> str:
        """The operator that makes `subset` of this font current (one string object per subset)."""
        selector = self._selectors.get(subset)
        if selector is None:
            name = self._font.getSubsetInternalName(subset, self.document)
            selector = self._selectors[subset] = f"{name} {self._size} Tf"
        return selector

    def encode(self, text: str) -> tuple[Part, ...]:
        """`text`'s parts, not looked up in the cache (for a caller that caches whole lines)."""
        if self._shaper is not None:
            return self._shaped(text)
        return self._characters(text)

    def _characters(self, text: str) -> tuple[Part, ...]:
        """`text` drawn as its characters, one glyph each."""
        subset = self._subset_of.get(text[:1])  # a run of one subset is in its first character's
        if subset is not None and self._learnt[subset].issuperset(text):
            return ((self._select(subset), f"({text.translate(self._escaped_codes[subset])}) Tj"),)
        return tuple((self._select(subset), f"({''.join(codes)}) Tj") for subset, codes in self._escaped_chunks(text))

    def _shaped(self, text: str) -> tuple[Part, ...]:
        """A run of a font that shapes: from its first word to shape to its last, shaped
        (`_shaped_middle`); what lies around that (a number, punctuation) drawn as its characters, so
        the middles, which repeat where whole runs do not, are shaped and encoded once."""
        span = self._shaper.span(text)
        if span is None:
            return self._characters(text)
        start, stop = span
        middle = self._middles.get(text[start:stop])
        if middle is None:
            if len(self._middles) >= CACHE_LIMIT:
                self._middles.clear()
            middle = self._middles[text[start:stop]] = self._shaped_middle(text[start:stop])
        if start == 0 and stop == len(text):
            return middle
        return (*(self._characters(text[:start]) if start else ()), *middle,
                *(self._characters(text[stop:]) if stop < len(text) else ()))

    def _shaped_middle(self, text: str) -> tuple[Part, ...]:
        """`text`'s glyphs where HarfBuzz puts them, in a span whose /ActualText is `text` (the
        glyphs' own characters may be private-use ones)."""
        run = self._shaper.shape(text)
        chunks = self._escaped_chunks(run.characters)
        shown = show_operators(run, chunks, self._size)
        if not shown:
            return ()
        shown[0] = f"{actual_text(text)}\n{shown[0]}"
        shown[-1] = f"{shown[-1]}\nEMC"
        return tuple((self._select(subset), operators) for (subset, _), operators in zip(chunks, shown, strict=True))

    def _escaped_chunks(self, text: str) -> list[tuple[int, list[str]]]:
        """`text` as (subset, escaped code of each character) chunks: learnt codes where it can."""
        if self._subset_of.keys() >= set(text):
            chunks: list[tuple[int, list[str]]] = []
            subset_of, escaped_codes = self._subset_of, self._escaped_codes
            for character in text:
                subset = subset_of[character]
                if not chunks or chunks[-1][0] != subset:
                    chunks.append((subset, []))
                chunks[-1][1].append(escaped_codes[subset][ord(character)])
            return chunks
        chunks = self._font.splitString(text, self.document)
        self._learn(text, chunks)
        return [(subset, [ESCAPED[code] for code in codes]) for subset, codes in chunks]

    def _learn(self, text: str, chunks: list[tuple[int, bytes]]) -> None:
        codes = [(subset, code) for subset, chunk in chunks for code in chunk]
        if len(codes) != len(text):
            return  # not one code per character (never for plain TrueType text): learn nothing
        for character, (subset, code) in zip(text, codes, strict=True):
            self._learnt.setdefault(subset, set()).add(character)
            self._subset_of[character] = subset
            self._escaped_codes.setdefault(subset, {})[ord(character)] = ESCAPED[code]


class LineWriter:
    """Text-showing operators for display lines in a font chain (one size, one document)."""

    def __init__(self, document: object, chain: FontChain, size: float):
        self.chain = chain
        self.document = document
        self.size = size
        self.cached: dict[str, Drawn] = {}
        self._fonts: dict[str, FontWriter] = {}

    def drawn(self, line: str) -> Drawn:
        """`line`'s operators, with a font subset selected only where it changes inside the line."""
        drawn = self.cached.get(line)
        if drawn is None:
            if len(self.cached) >= CACHE_LIMIT:
                self.cached.clear()
            drawn = self.cached[line] = self._operators(line)
        return drawn

    def _operators(self, line: str) -> Drawn:
        chain = self.chain
        if line and chain.is_plain(line):  # one run in the first font; the line is cached in `drawn`
            parts = self._font(chain.name).encode(line)
        else:
            parts = [part for font, text in chain.runs(line) for part in self._font(font).parts(text)]
        if len(parts) == 1:
            return parts[0][0], parts[0][1], parts[0][0]
        if not parts:
            return "", "", ""
        operators = [parts[0][1]]
        selector = parts[0][0]
        for next_selector, operator in parts[1:]:
            if next_selector is not selector:
                selector = next_selector
                operators.append(selector)
            operators.append(operator)
        return parts[0][0], "\n".join(operators), selector

    def width(self, line: str) -> float:
        return self.chain.width(line, self.size)

    def _font(self, name: str) -> FontWriter:
        writer = self._fonts.get(name)
        if writer is None:
            writer = self._fonts[name] = FontWriter(self.document, name, self.size)
        return writer


def document_of(canvas: Canvas) -> object:
    """reportlab's document object behind `canvas`: font subsets are tracked per document.

    Private API: the canvas has no public accessor for it.
    """
    return canvas._doc


class TextBlock:
    """One BT … ET text object of positioned lines; font subsets switch only when they change."""

    def __init__(self) -> None:
        self._operators: list[str] = ["BT"]
        self._selector = ""

    def show(self, writer: LineWriter, x: float, y: float, line: str) -> None:
        self.show_row(writer, [(line,)], [f"{x:.2f}"], [f"{y:.2f}"], None)

    def show_row(
        self,
        writer: LineWriter,
        cell_lines: Sequence[tuple[str, ...]],
        lefts: Sequence[str | None],
        baselines: Sequence[str],
        right_aligned_left: Callable[[int, str, LineWriter], str] | None,
    ) -> None:
        """Show a row's cells: column `i` starts at `lefts[i]` (None: right-aligned), line `j` sits on
        `baselines[j]`; positions are preformatted numbers. This loop runs for every line of the table."""
        append = self._operators.append
        cached = writer.cached
        selector = self._selector
        first_baseline = baselines[0]
        for column, (lines, column_left) in enumerate(zip(cell_lines, lefts)):
            # Most cells are one line: no zip of baselines and lines for them.
            for baseline, line in zip(baselines, lines) if len(lines) > 1 else ((first_baseline, lines[0]),):
                first, operators, last = cached.get(line) or writer.drawn(line)
                if not operators:
                    continue  # an empty line, or one of invisible characters only
                left = column_left if column_left is not None else right_aligned_left(column, line, writer)
                if first is selector:
                    append(f"1 0 0 1 {left} {baseline} Tm\n{operators}")
                else:
                    append(f"1 0 0 1 {left} {baseline} Tm\n{first}\n{operators}")
                selector = last
        self._selector = selector

    def operators(self) -> str:
        return "\n".join([*self._operators, "ET"])
