"""The PDF's fonts: Roboto first, then a fallback chain that covers every script trackers hold.

Tracker text is any Unicode. The PDF standard fonts cover Latin-1 only, and
one font covers no more than a few scripts, so text is set in Roboto and each
character Roboto lacks falls back to the first font of the chain that has it
(see `runs`). Every font ships on PyPI and is installed by the project's own
install step, so the output never depends on what the machine has in
/usr/share/fonts:

| font | package | covers | licence |
|---|---|---|---|
| Roboto, Roboto Bold | font-roboto | Latin, Greek, Cyrillic | Apache-2.0 |
| Noto Sans, Noto Sans Arabic, Hebrew, Thai, Devanagari, Symbols; Noto Emoji | manimgx-fonts | the rest of Latin, Greek and Cyrillic; those scripts; emoji, monochrome | OFL-1.1 |
| WenQuanYi Micro Hei | paperang-p2-fonts-cjk | Han (simplified and traditional), kana, Hangul | Apache-2.0 |

reportlab embeds TrueType outlines only; each font is embedded as subsets
of the glyphs a document uses. The fallbacks are regular weight (bold text
falls back to them too): only Roboto has a bold face here.

A missing font package must never turn into silently missing text, so
`register_fonts` checks every file first and raises `FontsMissingError`
naming the packages to install. The CJK font (34,600 characters, about a
second to read) is read the first time a character needs it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from importlib.resources.abc import Traversable

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from sprint_exports.formats.pdf import tounicode

FONT = "Roboto"
FONT_BOLD = "Roboto-Bold"


class FontsMissingError(RuntimeError):
    """A font the PDF needs is not installed: rendering would leave text out."""


@dataclass(frozen=True)
class FontFile:
    """One TrueType font inside an installed PyPI package."""

    name: str  # the name reportlab knows it by
    package: str  # the import name
    distribution: str  # the name to `pip install`
    path: str  # inside the package
    subfont: int = 0  # the face inside a .ttc collection
    # Whether spaces, digits and punctuation may stay in this font's runs; the emoji font's own
    # have other widths than text fonts', which breaks a line's spacing.
    holds_neutrals: bool = True
    # What its runs shape with HarfBuzz (`shaping`), as a regex character class: the words that hold
    # such a character are shaped (scripts whose glyphs are not one per character); "" for none.
    shapes: str = ""

    def resource(self) -> Traversable:
        return files(self.package).joinpath(*self.path.split("/"))


ROBOTO = FontFile(FONT, "font_roboto", "font-roboto", "files/Roboto-Regular.ttf")
ROBOTO_BOLD = FontFile(FONT_BOLD, "font_roboto", "font-roboto", "files/Roboto-Bold.ttf")


def _noto(name: str, file_name: str, holds_neutrals: bool = True, shapes: str = "") -> FontFile:
    return FontFile(name, "manimgx_fonts", "manimgx-fonts", file_name, holds_neutrals=holds_neutrals, shapes=shapes)


# The order matters where fonts overlap: scripts' own fonts before symbols, emoji before the
# CJK font, whose symbols and punctuation would otherwise win (and which is read only when needed).
FALLBACKS = (
    _noto("NotoSans", "NotoSans[wght].ttf"),
    _noto("NotoSansArabic", "NotoSansArabic[wght].ttf"),
    _noto("NotoSansHebrew", "NotoSansHebrew[wght].ttf"),
    _noto("NotoSansThai", "NotoSansThai[wght].ttf", shapes="[\u0e00-\u0e7f]"),
    # Devanagari, its extensions and Vedic signs
    _noto("NotoSansDevanagari", "NotoSansDevanagari[wght].ttf", shapes="[\u0900-\u097f\ua8e0-\ua8ff\u1cd0-\u1cff]"),
    # every emoji run: skin tones, flags and ZWJ sequences are the font's ligatures
    _noto("NotoEmoji", "NotoEmoji[wght].ttf", holds_neutrals=False, shapes="[^ ]"),
    _noto("NotoSansSymbols", "NotoSansSymbols[wght].ttf"),
    FontFile("WenQuanYiMicroHei", "paperang_p2_fonts_cjk", "paperang-p2-fonts-cjk", "fonts/wqy-microhei.ttc"),
)
ALL_FONTS = (ROBOTO, ROBOTO_BOLD, *FALLBACKS)
EMOJI_FONT = "NotoEmoji"  # the font that draws keycaps, flags and ZWJ sequences as one glyph each
ARABIC_FONT = "NotoSansArabic"  # the font that must hold every Arabic presentation form we shape to


class LoadedFont:
    """A font of the chain, read and registered with reportlab the first time it is asked for."""

    def __init__(self, font_file: FontFile):
        self.file = font_file
        self.name = font_file.name
        self.holds_neutrals = font_file.holds_neutrals
        self._lock = threading.Lock()

    @cached_property
    def coverage(self) -> frozenset[int]:
        """The code points this font draws (a real glyph, not .notdef)."""
        return frozenset(code for code, glyph in self.ttfont().face.charToGlyph.items() if glyph)

    def ttfont(self) -> TTFont:
        """reportlab's registered font, read the first time it is asked for."""
        with self._lock:
            return _register(self.file)


_registry_lock = threading.Lock()
_checked = False
_loaded: dict[str, LoadedFont] = {}
_registered: dict[str, TTFont] = {}


def register_fonts() -> None:
    """Check that every font file is installed (else raise), then register Roboto and its bold face.

    Also registers the family, so `<b>` anywhere picks the bold face, and
    installs the ToUnicode fix (see `tounicode`).
    """
    global _checked
    with _registry_lock:
        if _checked:
            return
        check_fonts_installed()
        tounicode.install()
        for font_file in (ROBOTO, ROBOTO_BOLD):
            _register(font_file)
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
        _checked = True


def check_fonts_installed(fonts: tuple[FontFile, ...] | None = None) -> None:
    """Raise `FontsMissingError` naming the packages whose font files are missing (default: all of them)."""
    missing: dict[str, list[str]] = {}
    for font_file in ALL_FONTS if fonts is None else fonts:
        try:
            present = font_file.resource().is_file()
        except ModuleNotFoundError:
            present = False
        if not present:
            missing.setdefault(font_file.distribution, []).append(font_file.path)
    if missing:
        packages = ", ".join(f"{name} ({', '.join(paths)})" for name, paths in missing.items())
        raise FontsMissingError(
            f"PDF fonts are not installed: {packages}. Without them text would be left out of the PDF; "
            f"install the project again (`make install`, or pip install {' '.join(missing)})."
        )


def loaded(font_file: FontFile) -> LoadedFont:
    """The one LoadedFont for `font_file` in this process."""
    with _registry_lock:
        font = _loaded.get(font_file.name)
        if font is None:
            font = _loaded[font_file.name] = LoadedFont(font_file)
        return font


def _register(font_file: FontFile) -> TTFont:
    """Read and register `font_file` once per process (reportlab's own lookup of an unknown name
    searches the disk for Type 1 fonts, so registrations are tracked here)."""
    font = _registered.get(font_file.name)
    if font is None:
        resource = font_file.resource()
        if not resource.is_file():
            check_fonts_installed((font_file,))
        font = TTFont(font_file.name, str(resource), subfontIndex=font_file.subfont)
        pdfmetrics.registerFont(font)
        _registered[font_file.name] = font
    return font
