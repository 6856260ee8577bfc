"""Right-to-left text for a PDF: Arabic letters joined, then each line put in visual order.

A PDF shows glyphs left to right in the order they are written, with no
shaping, so two steps happen before a line is drawn:

- Shaping (`shape`). Arabic letters take their joined forms: arabic_reshaper
  swaps each letter for its contextual presentation form (and lam-alef for
  its ligature), all of which Noto Sans Arabic draws. This happens on the
  whole text in logical order, before wrapping, so line widths are the widths
  of what is drawn. Vowel marks are kept.
- Reordering (`visual`). Each wrapped line goes through the Unicode bidi
  algorithm (python-bidi), so right-to-left runs read right to left, inside
  mixed-direction lines too. The base direction is left-to-right: the report
  and its table are, and it is what a left-to-right web page shows for the
  same cell (HTML's default, not `dir=auto`). It is also what text
  extraction assumes: pdftotext then reads every line back in logical order,
  where a right-to-left base would come back with its runs in visual order.
  python-bidi's Rust reordering leaves out mirroring (L4), so "(" would
  stay "(" inside Arabic. A line with a mirrored character (brackets, "<",
  "«") takes the levels Rust resolved (bracket pairs included), from its
  debug output, and is reordered (L2) and mirrored here. python-bidi's
  pure-Python algorithm mirrors but lacks bracket pairs and is twice as slow.

Text extraction (pdftotext) reads the lines back in logical order; Arabic
comes back as presentation forms, equal to the original after NFKC
normalisation. Text without right-to-left characters skips both steps.

Explicit bidi controls (embeddings, overrides, isolates) are left out
(`without_bidi_controls`): the order comes from the letters themselves, so
text like "\u202eevil" (spoofing with an override) shows as written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

from arabic_reshaper import ArabicReshaper
from bidi import get_display
from bidi.mirror import MIRRORED

# Hebrew, Arabic, Syriac, Thaana, N'Ko, Samaritan, Mandaic, and the Hebrew and Arabic presentation forms.
_RIGHT_TO_LEFT_RANGES = ((0x0590, 0x08FF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFC), (0x10800, 0x10FFF), (0x1E800, 0x1EFFF))
_BIDI_CONTROL_RANGES = ((0x202A, 0x202E), (0x2066, 0x2069))  # embeddings, overrides, isolates
# The code points text must not hold to skip `shape`, `visual` and `without_bidi_controls`.
DIRECTIONAL = frozenset(code for first, last in _RIGHT_TO_LEFT_RANGES + _BIDI_CONTROL_RANGES for code in range(first, last + 1))


def _character_class(ranges: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
    return re.compile("[" + "".join(f"{re.escape(chr(first))}-{re.escape(chr(last))}" for first, last in ranges) + "]")


_RIGHT_TO_LEFT = _character_class(_RIGHT_TO_LEFT_RANGES)
_MIRRORED = re.compile("[" + "".join(re.escape(character) for character in MIRRORED) + "]")
_BIDI_CONTROLS = _character_class(_BIDI_CONTROL_RANGES)
_LEVEL = re.compile(r"Level\(\s*(\d+),")
_NOT_DIGITS = bytes(code for code in range(256) if not 0x30 <= code <= 0x39)
_MARKERS = "".join(chr(code) for code in range(0x2500, 0x2580))  # box drawing: bidi class ON, not mirrored
_MARKER = re.compile(f"[{_MARKERS}]")
_WITHOUT_MARKERS = dict.fromkeys(map(ord, _MARKERS))
_ARABIC_LETTERS = r"\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff"
_ARABIC = re.compile(f"[{_ARABIC_LETTERS}]")
# A word (between whitespace) holding Arabic: found at its first character, then taken whole.
_ARABIC_WORD = re.compile(f"(?<!\\S)(?=\\S*?[{_ARABIC_LETTERS}])\\S+")

_RESHAPER = ArabicReshaper(
    configuration={
        "delete_harakat": False,  # vowel marks are text: keep them
        "support_ligatures": True,  # lam-alef and the like, which Arabic script requires
        "ARABIC LIGATURE ALLAH": False,  # a word ligature: optional, and it hides the letters
    }
)


def is_right_to_left(text: str) -> bool:
    """Whether `text` holds any right-to-left character (and so needs `shape` and `visual`)."""
    return _RIGHT_TO_LEFT.search(text) is not None


def shape(text: str) -> str:
    """`text`, still in logical order, with Arabic letters in their joined presentation forms.

    Letters join only inside a word, so words are shaped one at a time through a cache: words
    repeat across a tracker's summaries far more than summaries do, and reshaping costs about
    a millisecond a call.
    """
    if not _ARABIC.search(text):
        return text
    return _ARABIC_WORD.sub(_shaped_word, text)


def _shaped_word(word: re.Match[str]) -> str:
    return _shape_word(word.group())


@lru_cache(maxsize=65536)
def _shape_word(word: str) -> str:
    return _RESHAPER.reshape(word)


def without_bidi_controls(text: str) -> str:
    """`text` without explicit embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069)."""
    return _BIDI_CONTROLS.sub("", text) if _BIDI_CONTROLS.search(text) else text


def visual(line: str) -> str:
    """One line in the order its characters are drawn left to right (left-to-right base direction)."""
    if not is_right_to_left(line):
        return line
    if _MIRRORED.search(line):
        return _marked_and_mirrored(line) or _reordered_and_mirrored(line, _levels(line))
    return get_display(line, base_dir="L")


def _marked_and_mirrored(line: str) -> str | None:
    """`line` reordered by python-bidi, with the mirrored characters at odd levels mirrored; None
    when that cannot be told this way (then `_levels` reads them from the debug output, 10x slower).

    Each mirrored character gets two markers next to it, on the side inside a bracket pair (after
    an opening bracket, before a closing one): box-drawing characters, neutral like it and never
    mirrored, so they join its run of neutrals and resolve to its level. The reordered line then
    shows the markers in their order at an even level and swapped at an odd one, next to the
    character. A line with markers of its own, too many mirrored characters, or a combining mark
    after one (which follows a bracket's level) is not marked; nor is one whose markers did not
    come back next to their character.
    """
    found = list(_MIRRORED.finditer(line))
    if len(found) > len(_MARKERS) // 2 or _MARKER.search(line):
        return None
    if any(unicodedata.bidirectional(line[mirrored.end() : mirrored.end() + 1] or " ") == "NSM" for mirrored in found):
        return None
    pieces, position = [], 0
    for index, mirrored in enumerate(found):
        markers = _MARKERS[2 * index : 2 * index + 2]
        character = mirrored.group()
        closing = unicodedata.category(character) == "Pe"
        pieces += [line[position : mirrored.start()], *((markers, character) if closing else (character, markers))]
        position = mirrored.end()
    pieces.append(line[position:])
    shown = get_display("".join(pieces), base_dir="L")
    characters = list(shown)
    for index, mirrored in enumerate(found):
        first, second = shown.index(_MARKERS[2 * index]), shown.index(_MARKERS[2 * index + 1])
        character = mirrored.group()
        closing = unicodedata.category(character) == "Pe"
        if second == first + 1:  # in order: an even level, drawn as it is
            at = second + 1 if closing else first - 1
            replacement = character
        elif second == first - 1:  # swapped: an odd level, mirrored
            at = second - 1 if closing else first + 1
            replacement = MIRRORED[character]
        else:
            return None
        if not 0 <= at < len(shown) or shown[at] != character:
            return None
        characters[at] = replacement
    return "".join(characters).translate(_WITHOUT_MARKERS)


def _levels(line: str) -> list[int]:
    """The embedding level of each character of `line`, as python-bidi's Rust algorithm resolves them.

    Only its debug output (`BidiInfo`'s Debug form) holds them, one per UTF-8 byte;
    `sprint_exports_tests/test_pdf.py` fails if an upgrade changes that form.
    """
    debug = get_display(line, base_dir="L", debug=True)
    start = debug.rindex("levels: [")  # the last: the text, shown first, may hold these words too
    section = debug[start : debug.index("paragraphs:", start)]
    encoded = line.encode()
    # The section's only digits are the levels': one digit a byte while every level is under 10.
    digits = section.encode("ascii").translate(None, _NOT_DIGITS)
    byte_levels = [digit - 48 for digit in digits] if len(digits) == len(encoded) else list(map(int, _LEVEL.findall(section)))
    # A character's level is its first byte's: the UTF-8 bytes that are not continuation bytes.
    return [level for level, byte in zip(byte_levels, encoded, strict=True) if byte & 0xC0 != 0x80]


def _reordered_and_mirrored(line: str, levels: list[int]) -> str:
    """Unicode bidi rules L4 (mirroring), L1 (trailing spaces) and L2 (reversing runs) on resolved levels.

    The levels are also kept as a string, one character a level, so each pass of L2 finds the runs
    to reverse with a regular expression instead of a walk through the line.
    """
    characters = list(line)
    for found in _MIRRORED.finditer(line):
        if levels[found.start()] % 2:
            characters[found.start()] = MIRRORED[found.group()]
    end = len(characters)
    while end and characters[end - 1].isspace():
        end -= 1
        levels[end] = 0
    odd = [level for level in set(levels) if level % 2]
    if not odd:
        return "".join(characters)
    marks = bytes(levels).decode("latin-1")
    for level in range(max(levels), min(odd) - 1, -1):
        spans = [run.span() for run in _at_least(level).finditer(marks)]
        for start, stop in spans:
            characters[start:stop] = characters[start:stop][::-1]
        marks = "".join(_reversed_spans(marks, spans))
    return "".join(characters)


def _reversed_spans(text: str, spans: list[tuple[int, int]]) -> Iterator[str]:
    """The pieces of `text` with each of `spans` (in order, not overlapping) reversed."""
    position = 0
    for start, stop in spans:
        yield text[position:start]
        yield text[start:stop][::-1]
        position = stop
    yield text[position:]


@lru_cache(maxsize=128)
def _at_least(level: int) -> re.Pattern[str]:
    """Runs of levels (as `_reordered_and_mirrored` writes them) of `level` or more; levels stay under 126."""
    return re.compile(f"[{re.escape(chr(level))}-\x7f]+")
