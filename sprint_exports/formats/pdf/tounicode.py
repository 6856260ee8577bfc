"""A fix to reportlab's ToUnicode maps, the one use of reportlab internals beyond the canvas's own.

Public API missing: reportlab has no option or hook for how a TrueType
subset's ToUnicode CMap is written, and 5.1.0 writes each entry as `<code>
<%04X>`, which is wrong past the Basic Multilingual Plane: U+1F680 🚀 becomes
`<1F680>`, which text extraction reads as "Ὠ" followed by garbage. The PDF
standard wants UTF-16BE there, a surrogate pair for such code points.
`install()` replaces the module-level `reportlab.pdfbase.ttfonts.makeToUnicodeCMap`,
which `TTFont.addObjects` calls by that name, with the same CMap in UTF-16BE.
`sprint_exports_tests/test_pdf.py` fails if an upgrade renames or removes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.pdfbase import ttfonts

def utf16_hex(code_point: int) -> str:
    """`code_point` as UTF-16BE hex: four digits, or eight (a surrogate pair) beyond U+FFFF."""
    if code_point <= 0xFFFF:
        return f"{code_point:04X}"
    return chr(code_point).encode("utf-16-be").hex().upper()


def make_to_unicode_cmap(fontname: str, subset: Sequence[int]) -> str:
    """reportlab's ToUnicode CMap for one subset, with every destination in UTF-16BE."""
    cmap = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({fontname})",
        f"/Ordering ({fontname})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *(f"<{index:02X}> <{utf16_hex(code)}>" for index, code in enumerate(subset)),
        "endbfchar",
        "endcmap",
        "CMapName currentdict /CMap defineresource pop",
        "end",
        "end",
    ]
    return "\n".join(cmap)


def install() -> None:
    """Make reportlab write UTF-16BE ToUnicode maps (idempotent)."""
    ttfonts.makeToUnicodeCMap = make_to_unicode_cmap
