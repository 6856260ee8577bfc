"""Font fallback per character run: which font draws each piece of a line, and how wide the line is.

A `FontChain` is a first font (Roboto or Roboto Bold) and the fallbacks of
`fonts.FALLBACKS`. Each character goes to the first font that has it, with
three exceptions that keep a line looking like one piece of text:

- marks and joiners stay with the character before them (combining marks,
  the zero-width joiner, variation selectors, emoji skin tones and tags), so
  a cluster is never split between fonts;
- spaces, digits and punctuation stay in the current run when its font has
  them (the emoji font has its own digits and spaces, with other widths);
- an invisible format character (a variation selector, a joiner, a bidi
  mark) that the run's font has no glyph for is left out, instead of being
  drawn as a box.

A character no font has stays in the first font (its .notdef box, and the
text layer keeps the character). Lines repeat (names, statuses), so runs are
cached per line; a line whose characters are all in the first font is one
run, found by one regular-expression search.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from reportlab.pdfbase import pdfmetrics

from sprint_exports.formats.pdf.direction import DIRECTIONAL
from sprint_exports.formats.pdf.fonts import (
    EMOJI_FONT,
    FALLBACKS,
    FONT,
    FONT_BOLD,
    ROBOTO,
    ROBOTO_BOLD,
    FontFile,
    LoadedFont,
    loaded,
    register_fonts,
)
from sprint_exports.formats.pdf.shaping import shaper_for

Run = tuple[str, str]  # (font name, text)

_STICKY = re.compile(r"[\u200c\u200d\ufe00-\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\U000e0100-\U000e01ef]")
# Default-ignorable format characters: drawn only when the run's font has a glyph for them.
_IGNORABLE = re.compile(r"[\u00ad\u034f\u061c\u115f\u1160\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
                        r"\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001bca0-\U0001bca3\U000e0000-\U000e0fff]")


# An emoji keycap: a digit, # or *, the emoji selector (often left out), the combining enclosing keycap.
_KEYCAP = re.compile("[0-9#*]\ufe0f?\u20e3")

_LEADING_NEUTRALS = re.compile(r"[\s0-9!-/:-@\[-`{-~\u00a0-\u00bf\u2000-\u206f]*")


def _kind(character: str) -> str:
    """"sticky" (joins the run before it), "neutral" (may stay in the current run) or "letter"."""
    if _STICKY.match(character) or unicodedata.category(character).startswith("M"):
        return "sticky"
    if unicodedata.category(character)[0] in "ZNPS":
        return "neutral"
    return "letter"


class FontChain:
    """Splits display lines into runs of one font each and measures them."""

    def __init__(self, first: FontFile, fallbacks: Sequence[FontFile] = FALLBACKS):
        register_fonts()
        self.fonts: list[LoadedFont] = [loaded(first), *(loaded(font_file) for font_file in fallbacks)]
        self.name = first.name
        self._first = self.fonts[0]
        self._outside_first = _character_class_complement(self._first.coverage)
        # Plain text: every character in the first font, none right-to-left, no bidi control. Such a
        # line is one run, drawn as written: wrapping and drawing take it whole (see `is_plain`).
        self._not_plain = _character_class_complement(self._first.coverage - DIRECTIONAL)
        self._string_widths = {font.name: pdfmetrics.getFont(font.name).stringWidth for font in self.fonts[:1]}
        self._choice: dict[str, tuple[LoadedFont, str]] = {}  # character -> (its first font, its kind)
        self._keycap_font = next((font for font in self.fonts if font.name == EMOJI_FONT), None)
        self.runs = lru_cache(maxsize=16384)(self._runs)
        self._middle_runs = lru_cache(maxsize=16384)(self._middle)

    def is_plain(self, text: str) -> bool:
        """Whether `text` is all in the first font, with nothing to shape, reorder or leave out."""
        return self._not_plain.search(text) is None

    def plain_width(self, text: str, size: float) -> float:
        """The width of plain text (`is_plain`): one run in the first font."""
        return self._string_widths[self.name](text, size)

    def width(self, line: str, size: float) -> float:
        """The width of `line` drawn as its runs, in points (the sum of the runs', left to right; a run
        in a font that shapes is as wide as HarfBuzz lays it out)."""
        widths = self._string_widths
        total = 0
        for font, text in self.runs(line):
            measure = widths.get(font)
            if measure is None:
                shaper = shaper_for(font)
                measure = widths[font] = shaper.width if shaper else pdfmetrics.getFont(font).stringWidth
            total += measure(text, size)
        return total

    def _runs(self, line: str) -> tuple[Run, ...]:
        """A line is cut in three: its first words, which the first font draws whole (a number, "Fix"),
        its middle, from the word holding the first character the first font lacks to the end of the
        word holding the last, and the rest, also in the first font (a number, a version, "in v2").
        Only the middle is split into runs, through a cache: middles repeat where whole lines do not
        ("#1234 …", "… #1234"). The result is the one `_middle` gives for the whole line. Cell text
        has only spaces for whitespace (`sprint_exports.text.cell_lines`)."""
        first = self._outside_first.search(line)
        if first is None:
            return ((self.name, line),) if line else ()
        start = line.rfind(" ", 0, first.start()) + 1  # where the word holding the first such character starts
        last = self._outside_first.search(line[::-1])
        stop = line.find(" ", len(line) - last.start())  # where the word holding the last such character ends
        stop = len(line) if stop < 0 else stop
        if start == 0:
            runs = [list(run) for run in self._middle_runs(line[:stop], None)]
        else:
            runs = [[self._first, line[:start]]]
            for font, text in self._middle_runs(line[start:stop], self._first):
                self._add(runs, font, text)
        if stop < len(line):
            self._add_first(runs, line[stop:])
        return tuple((font.name, text) for font, text in runs)

    def _middle(self, line: str, previous: LoadedFont | None) -> tuple[tuple[LoadedFont, str], ...]:
        """`line`'s runs after a run in `previous` (None: at the start of a line). What the first font
        draws is taken whole, between regex searches for the next character it lacks; only the words
        holding such characters are looked at one character at a time, through a cache (words repeat
        far more than lines)."""
        runs: list[list] = [[previous, ""]] if previous is not None else []  # [LoadedFont, text] pairs, text built up
        position = 0
        while (found := self._outside_first.search(line, position)) is not None:
            start = max(line.rfind(" ", 0, found.start()) + 1, position)  # the word holding it
            stop = line.find(" ", found.end())
            stop = len(line) if stop < 0 else stop
            if start > position:
                self._add_first(runs, line[position:start])
            for font, text in self._other_runs(line[start:stop], runs[-1][0] if runs else None):
                self._add(runs, font, text)
            position = stop
        if position < len(line):
            self._add_first(runs, line[position:])
        return tuple((font, text) for font, text in runs if text)  # without an unused run in `previous`

    def _add_first(self, runs: list[list], text: str) -> None:
        """A piece the first font has: its leading spaces, digits and punctuation stay in the run before."""
        if runs and runs[-1][0] is not self._first and runs[-1][0].holds_neutrals:
            neutrals = _LEADING_NEUTRALS.match(text).group()
            if neutrals and runs[-1][0].coverage.issuperset(map(ord, neutrals)):
                runs[-1][1] += neutrals
                text = text[len(neutrals) :]
        if text:
            self._add(runs, self._first, text)

    @staticmethod
    def _add(runs: list[list], font: LoadedFont, text: str) -> None:
        if runs and runs[-1][0] is font:
            runs[-1][1] += text
        else:
            runs.append([font, text])

    @lru_cache(maxsize=65536)  # noqa: B019 (one chain per first font per process: the cache lives as long)
    def _other_runs(self, word: str, previous: LoadedFont | None) -> tuple[tuple[LoadedFont, str], ...]:
        """Runs of characters the first font lacks (and what follows them), after a run in `previous`.

        A keycap (1️⃣: a digit, a selector, the enclosing keycap) goes whole to the font that draws it
        as one glyph, the emoji font; its digit would otherwise stay in the run before it."""
        runs: list[list] = []
        current = previous
        position = 0
        for keycap in _KEYCAP.finditer(word):
            current = self._add_characters(runs, word[position : keycap.start()], current)
            font = self._keycap_font
            if font is None or not font.coverage.issuperset(map(ord, keycap.group())):
                current = self._add_characters(runs, keycap.group(), current)
            else:
                self._add(runs, font, keycap.group())
                current = font
            position = keycap.end()
        self._add_characters(runs, word[position:], current)
        return tuple((font, text) for font, text in runs)

    def _add_characters(self, runs: list[list], text: str, current: LoadedFont | None) -> LoadedFont | None:
        """Add `text` to `runs` one character at a time, each in its font; the font of the last run."""
        for character in text:
            font, kind = self._choose(character)
            code = ord(character)
            if current is not None and kind != "letter" and code in current.coverage and (
                kind == "sticky" or current.holds_neutrals
            ):
                font = current
            elif current is not None and kind == "sticky" and _IGNORABLE.match(character):
                continue  # an invisible joiner or selector the run's font cannot draw
            elif font is None:
                if _IGNORABLE.match(character):
                    continue
                font = self._first
            self._add(runs, font, character)
            current = font
        return current

    def _choose(self, character: str) -> tuple[LoadedFont | None, str]:
        choice = self._choice.get(character)
        if choice is None:
            code = ord(character)
            font = next((font for font in self.fonts if code in font.coverage), None)
            choice = self._choice[character] = (font, _kind(character))
        return choice


def _character_class_complement(code_points: frozenset[int]) -> re.Pattern[str]:
    """A pattern matching any character outside `code_points` (their ranges, negated)."""
    ranges: list[str] = []
    start = previous = None
    for code in sorted(code_points):
        if previous is not None and code == previous + 1:
            previous = code
            continue
        if start is not None:
            ranges.append(_range(start, previous))
        start = previous = code
    if start is not None:
        ranges.append(_range(start, previous))
    return re.compile(f"[^{''.join(ranges)}]") if ranges else re.compile(".", re.DOTALL)


def _range(start: int, stop: int) -> str:
    first, last = re.escape(chr(start)), re.escape(chr(stop))
    return first if start == stop else f"{first}-{last}"


_chains: dict[str, FontChain] = {}


def regular() -> FontChain:
    """The chain for regular text (Roboto first); one per process."""
    return _chain(ROBOTO)


def bold() -> FontChain:
    """The chain for bold text (Roboto Bold first); one per process."""
    return _chain(ROBOTO_BOLD)


def _chain(first: FontFile) -> FontChain:
    chain = _chains.get(first.name)
    if chain is None:
        chain = _chains[first.name] = FontChain(first)
    return chain


__all__ = ["FONT", "FONT_BOLD", "FontChain", "Run", "bold", "regular"]
