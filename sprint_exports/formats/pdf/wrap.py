"""Text as display lines that fit a width: the one line breaker of the PDF (cells, sections, labels).

Breaks at newlines, between words, and inside a word wider than a line
(between grapheme clusters, so a mark never leaves its letter and an emoji
sequence stays whole; Chinese, Japanese and Thai, written without spaces,
break there too). Widths are those of the font runs actually drawn
(`runs.FontChain`). Right-to-left text is shaped before it is measured and
each line is reordered after it is broken (`direction`), so lines are
returned in the order their characters are drawn, left to right; a text that
fits one line is reordered first and measured as drawn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sprint_exports.formats.pdf import runs
from sprint_exports.formats.pdf.direction import is_right_to_left, shape, visual, without_bidi_controls
from sprint_exports.formats.pdf.runs import FontChain
from sprint_exports.formats.pdf.style import CELL_SIZE

ELLIPSIS = "…"
# A grapheme cluster, near enough for line breaking: a character and the marks, joiners, selectors
# and emoji modifiers that follow it (a zero-width joiner also takes the character after it).
_CLUSTER = re.compile(
    r".(?:[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0610-\u061a"
    r"\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed\u0900-\u0903\u093a-\u094f"
    r"\u0951-\u0957\u0962\u0963\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff"
    r"\ufe00-\ufe0f\ufe20-\ufe2f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\U000e0100-\U000e01ef]"
    r"|\u200d.?)*",
    re.DOTALL,
)


def wrap_text(
    text: str, width: float, max_lines: int, chain: FontChain | None = None, size: float = CELL_SIZE
) -> tuple[str, ...]:
    """`text` as display lines no wider than `width` points, at most `max_lines` of them.

    More lines are cut, the last one ending in an ellipsis.
    """
    chain = chain or runs.regular()
    if max_lines > 0 and "\n" not in text and chain.is_plain(text) and chain.plain_width(text, size) <= width:
        return (text,)  # most cells: one line in the first font, nothing to shape or reorder
    text = without_bidi_controls(text)
    right_to_left = is_right_to_left(text)
    if right_to_left:
        text = shape(text)
    if "\n" not in text:
        line = visual(text) if right_to_left else text
        if chain.width(line, size) <= width:
            return (line,)  # measured as drawn: drawing finds its runs in the chain's cache
    lines = [line for paragraph in text.split("\n") for line in _wrap_paragraph(paragraph, width, chain, size)]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _fit_with_ellipsis(lines[-1], width, chain, size)
    if right_to_left:
        lines = [visual(line) for line in lines]
    return tuple(lines)


def _wrap_paragraph(paragraph: str, width: float, chain: FontChain, size: float) -> list[str]:
    """Greedy: words added while the sum of word widths and spaces fits.

    Words repeat, so their widths come from a cache; a line's drawn width can
    differ from that sum only where a space joins a fallback font's run, so
    every line is measured once as drawn, and a paragraph with a line too wide
    is broken again measuring each candidate line exactly.
    """
    lines = _wrap_by_word_widths(paragraph, width, chain, size)
    if all(chain.width(line, size) <= width for line in lines):
        return lines
    return _wrap_measuring_lines(paragraph, width, chain, size)


def _wrap_by_word_widths(paragraph: str, width: float, chain: FontChain, size: float) -> list[str]:
    space = chain.width(" ", size)
    lines: list[str] = []
    words: list[str] = []
    used = 0.0
    for word in paragraph.split():
        word_width = chain.width(word, size)
        if words and used + space + word_width <= width:
            words.append(word)
            used += space + word_width
            continue
        if words:
            lines.append(" ".join(words))
        if word_width <= width:
            words, used = [word], word_width
        else:
            *full, last = _break_inside_word(word, width, chain, size)
            lines += full
            words, used = [last], chain.width(last, size)
    lines.append(" ".join(words))
    return lines


def _wrap_measuring_lines(paragraph: str, width: float, chain: FontChain, size: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in paragraph.split():
        candidate = f"{line} {word}" if line else word
        if chain.width(candidate, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        if chain.width(word, size) <= width:
            line = word
        else:
            *full, line = _break_inside_word(word, width, chain, size)
            lines += full
    lines.append(line)
    return lines


def _break_inside_word(word: str, width: float, chain: FontChain, size: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for cluster in clusters(word):
        if current and chain.width(current + cluster, size) > width:
            pieces.append(current)
            current = ""
        current += cluster
    pieces.append(current)
    return pieces


def clusters(text: str) -> Iterator[str]:
    """`text` as grapheme clusters (see `_CLUSTER`)."""
    return (match.group() for match in _CLUSTER.finditer(text))


def _fit_with_ellipsis(line: str, width: float, chain: FontChain, size: float) -> str:
    kept = list(clusters(line))
    while kept and chain.width("".join(kept) + ELLIPSIS, size) > width:
        kept.pop()
    return "".join(kept) + ELLIPSIS
