"""Shaping for the text whose glyphs are not one per character (Devanagari, Thai, emoji), by HarfBuzz.

Most of the chain's fonts draw each character as its own glyph, side by side,
and Arabic is turned into presentation forms before it is reordered
(`direction`). Devanagari is not like that: the vowel sign ि, written after
its consonant, is drawn before it, consonants join into conjuncts and half
forms, and marks sit where the font's positioning tables put them; Thai
stacks its marks the same way; an emoji with a skin tone, a flag or a
family joined by zero-width joiners is one glyph of the emoji font. So a
run in such a font is shaped by HarfBuzz (uharfbuzz) and drawn glyph by
glyph where HarfBuzz places it:

- a glyph that no character maps to (a conjunct, the reordered ि, 👍🏽) is given
  a private-use code point of its own, U+F0000 plus its glyph id, so the
  same text gives the same bytes in every process and every order of renders;
- the run is wrapped in a marked-content span whose /ActualText is the run's
  text, so copying, search and pdftotext give the characters, not glyphs.

Private API: reportlab encodes characters, never glyph ids, and has no
public way to draw a glyph no character maps to. `Shaper` adds each such
glyph to the font's character maps (`TTFontFace.charToGlyph`,
`glyphToChar`, `charWidths`, the dictionaries reportlab subsets and
measures from), as reportlab's own HarfBuzz path does with its
`hbAddPrivate`; reportlab is pinned to 5.1 for it and
`test_library_private_api` checks the three maps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz
from reportlab.lib.rl_accel import escapePDF

from sprint_exports.formats.pdf.fonts import ALL_FONTS, FontFile, loaded

PRIVATE_BASE = 0xF0000  # Supplementary Private Use Area-A: room for every glyph id of a TrueType font


@dataclass(frozen=True)
class Glyph:
    """One shaped glyph: the character reportlab encodes it by, and where HarfBuzz puts it.

    `before` and `after` are the TJ numbers that move the pen before and after the glyph ("" when
    none is needed, as for most glyphs): to its offset, then on to where HarfBuzz's advance ends.
    """

    character: str
    before: str
    after: str
    rise: float  # above the baseline, 1/1000 em

    @property
    def plain(self) -> bool:
        return not (self.before or self.after or self.rise)


@dataclass(frozen=True)
class ShapedRun:
    text: str  # the characters, in logical order: the span's /ActualText
    glyphs: tuple[Glyph, ...]

    @property
    def characters(self) -> str:
        """The characters reportlab encodes the glyphs by, one per glyph."""
        return "".join(glyph.character for glyph in self.glyphs)


class Shaper:
    """HarfBuzz shaping for one registered TrueType font.

    Runs seldom repeat (a summary's number is in its Thai run), words do: a
    run is shaped word by word, each word once per process, and what lies
    between the words it shapes (`FontFile.shapes`: spaces, digits,
    punctuation) is drawn as its characters, as HarfBuzz would draw it too.
    """

    def __init__(self, font_file: FontFile):
        font = loaded(font_file).ttfont()
        self._face = font.face
        self._string_width = font.stringWidth
        hb_face = uharfbuzz.Face(uharfbuzz.Blob(font_file.resource().read_bytes()), font_file.subfont)
        self._font = uharfbuzz.Font(hb_face)
        self._scale = 1000 / hb_face.upem
        self._words = re.compile(f"[^ ]*{font_file.shapes}[^ ]*")  # the words it shapes
        self._plain: dict[str, Glyph] = {}
        self.shape = lru_cache(maxsize=16384)(self._shape)
        self._word = lru_cache(maxsize=65536)(self._shape_word)
        self._middle_width = lru_cache(maxsize=65536)(self._measure_middle)

    def width(self, text: str, size: float) -> float:
        """`text`'s width as shaped, in points. Wrapping measures many texts it never draws, most
        of them one word of a shaped script with a number or punctuation around it: the middle from
        the first such word to the last is measured once (`_middle_width`), the rest as characters."""
        span = self.span(text)
        if span is None:
            return self._string_width(text, size)
        start, stop = span
        advance = self._middle_width(text[start:stop])
        if start:
            advance += self._string_width(text[:start], 1000)
        if stop < len(text):
            advance += self._string_width(text[stop:], 1000)
        return advance * size / 1000

    def span(self, text: str) -> tuple[int, int] | None:
        """Where `text`'s words to shape start and end (None: it has none)."""
        first = self._words.search(text)
        if first is None:
            return None
        stop = first.end()
        for word in self._words.finditer(text, stop):
            stop = word.end()
        return first.start(), stop

    def _pieces(self, text: str) -> Iterator[tuple[bool, str]]:
        """`text` cut into its words to shape (True) and what lies between them (False)."""
        position = 0
        for word in self._words.finditer(text):
            if word.start() > position:
                yield False, text[position : word.start()]
            yield True, word.group()
            position = word.end()
        if position < len(text):
            yield False, text[position:]

    def _measure_middle(self, text: str) -> float:
        """The advance of `text`, in 1/1000 em: its shaped words' and what lies between them."""
        return sum(self._word(piece)[1] if shaped else self._string_width(piece, 1000) for shaped, piece in self._pieces(text))

    def _shape(self, text: str) -> ShapedRun:
        glyphs: list[Glyph] = []
        for shaped, piece in self._pieces(text):
            if shaped:
                glyphs.extend(self._word(piece)[0])
            else:
                glyphs.extend(self._plain_glyph(character) for character in piece)
        return ShapedRun(text, tuple(glyphs))

    def _plain_glyph(self, character: str) -> Glyph:
        """`character` as a glyph drawn as it is (one object per character)."""
        glyph = self._plain.get(character)
        if glyph is None:
            glyph = self._plain[character] = Glyph(character, "", "", 0.0)
        return glyph

    def _shape_word(self, word: str) -> tuple[tuple[Glyph, ...], float]:
        """`word`'s glyphs and its advance in 1/1000 em, as HarfBuzz shapes it."""
        buffer = uharfbuzz.Buffer()
        # no glyph for a joiner or selector left over (❤️'s selector): HarfBuzz would draw a space of
        # no advance, which the PDF's widths make as wide as a space, and text extraction trips on it
        buffer.flags = uharfbuzz.BufferFlags.REMOVE_DEFAULT_IGNORABLES
        buffer.add_str(word)
        buffer.guess_segment_properties()
        uharfbuzz.shape(self._font, buffer)
        scale = self._scale
        widths = self._face.charWidths
        glyphs = []
        advance = 0.0
        for info, position in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True):
            character = self._character(info.codepoint)
            shift, moved = position.x_offset * scale, position.x_advance * scale
            # TJ's numbers move the pen left, in 1/1000 em: to the offset, then on by what the advance
            # adds to the glyph's own width (the width the PDF's font program gives it)
            after = _number(shift + widths[ord(character)] - moved, " ", leading=True)
            glyphs.append(Glyph(character, _number(-shift, " "), after, position.y_offset * scale))
            advance += moved
        return tuple(glyphs), advance

    def _character(self, glyph: int) -> str:
        """The character reportlab is to encode `glyph` by: its own, or a private-use one made for it."""
        face = self._face
        characters = face.glyphToChar.get(glyph)
        if characters:
            return chr(characters[0])
        code = PRIVATE_BASE + glyph
        face.charToGlyph[code] = glyph
        face.glyphToChar[glyph] = [code]
        face.charWidths[code] = self._font.get_glyph_h_advance(glyph) * self._scale
        return chr(code)


def actual_text(text: str) -> str:
    """The marked-content operator that opens a span whose text layer is `text`."""
    return f"/Span <</ActualText <FEFF{text.encode('utf-16-be').hex().upper()}>>> BDC"


def show_operators(run: ShapedRun, chunks: Sequence[tuple[int, Sequence[str]]], size: float) -> list[str]:
    """Each chunk's text-showing operators (a chunk is a font subset and the escaped codes of the
    run's glyphs in it, in order): TJ arrays whose numbers move the pen to HarfBuzz's positions, and
    a text rise around a glyph placed above or below the baseline. Glyphs that need neither go into
    one string."""
    glyphs = run.glyphs
    index = 0
    shown = []
    for _, codes in chunks:
        operators: list[str] = []
        array: list[str] = []  # the current TJ array's elements
        plain: list[str] = []  # escaped codes of glyphs shown as they are, not yet in `array`
        for code in codes:
            glyph = glyphs[index]
            index += 1
            if glyph.plain:
                plain.append(code)
                continue
            if plain:
                array.append(f"({''.join(plain)})")
                plain = []
            element = f"{glyph.before}({code}){glyph.after}"
            if not glyph.rise:
                array.append(element)
                continue
            if array:
                operators.append(f"[{' '.join(array)}] TJ")
                array = []
            operators.append(f"{glyph.rise * size / 1000:.2f} Ts [{element}] TJ 0 Ts")
        if plain:
            array.append(f"({''.join(plain)})")
        if array:
            operators.append(f"[{' '.join(array)}] TJ")
        shown.append("\n".join(operators))
    return shown


def _number(distance: float, space: str, leading: bool = False) -> str:
    """A TJ array's number for `distance` (1/1000 em), with `space` between it and the glyph; "" for zero."""
    rounded = round(distance, 1)
    if not rounded:
        return ""
    return f"{space}{rounded:g}" if leading else f"{rounded:g}{space}"


ESCAPED = tuple(escapePDF(bytes([code])) for code in range(256))  # a subset's one-byte codes, escaped

_shapers: dict[str, Shaper | None] = {}


def shaper_for(font_name: str) -> Shaper | None:
    """The shaper of a font whose runs are shaped (`FontFile.shapes`), or None; one per process."""
    if font_name not in _shapers:
        font_file = next((font for font in ALL_FONTS if font.name == font_name), None)
        _shapers[font_name] = Shaper(font_file) if font_file is not None and font_file.shapes else None
    return _shapers[font_name]


__all__ = ["ESCAPED", "Glyph", "ShapedRun", "Shaper", "actual_text", "shaper_for", "show_operators"]
