"""The private API of xlsxwriter and reportlab that the renderers lean on, checked by name.

Both libraries are pinned with an upper bound in pyproject.toml for as long as
this API is used; an upgrade that moves or renames any of it fails here, with
the name, instead of somewhere deep inside a renderer.
"""

from __future__ import annotations

from importlib.metadata import version

import reportlab.pdfbase.ttfonts as ttfonts
from packaging.version import Version
from reportlab.pdfgen.canvas import Canvas
from xlsxwriter.format import Format


def test_installed_versions_are_inside_the_pins():
    assert Version("3.2") <= Version(version("xlsxwriter")) < Version("3.4"), "xlsxwriter: re-check Format._get_xf_index"
    assert Version("5.1") <= Version(version("reportlab")) < Version("5.2"), "reportlab: re-check canvas._doc, splitString, _startPage"


def test_xlsxwriter_format_gives_its_style_index():
    # formats/xlsx: cells spliced in as XML need the index xlsxwriter assigns to their format.
    bold = Format({"bold": True})
    assert callable(getattr(bold, "_get_xf_index", None)), "xlsxwriter.format.Format._get_xf_index is gone"


def test_reportlab_canvas_and_font_internals_are_there(tmp_path):
    # formats/pdf: font subsets are tracked per document (canvas._doc), text is split into
    # subset runs (TTFont.splitString), and the numbered canvas starts pages itself (_startPage).
    canvas = Canvas(str(tmp_path / "probe.pdf"))
    assert hasattr(canvas, "_doc"), "reportlab Canvas._doc is gone"
    assert callable(getattr(canvas, "_startPage", None)), "reportlab Canvas._startPage is gone"
    assert callable(getattr(ttfonts.TTFont, "splitString", None)), "reportlab TTFont.splitString is gone"


def test_reportlab_font_faces_keep_their_character_maps():
    # formats/pdf/shaping: a shaped glyph no character maps to is added to the face's maps.
    from sprint_exports.formats.pdf.fonts import FALLBACKS, loaded, register_fonts
    from sprint_exports.formats.pdf.shaping import shaper_for

    register_fonts()
    devanagari = next(font for font in FALLBACKS if font.name == "NotoSansDevanagari")
    shaper_for(devanagari.name).shape("अनिल")  # adds the glyph of ि, which no character maps to
    face = loaded(devanagari).ttfont().face
    for name in ("charToGlyph", "glyphToChar", "charWidths"):
        assert isinstance(getattr(face, name, None), dict), f"reportlab TTFontFace.{name} is gone"
