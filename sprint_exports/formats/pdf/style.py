"""Colours shared by the PDF's document sections (`document`) and its issue table (`table`)."""

from __future__ import annotations

from reportlab.lib import colors

TEXT_COLOUR = colors.HexColor("#24292f")
GRID_COLOUR = colors.HexColor("#c4ccd5")
HEADER_FILL = colors.HexColor("#dde7f3")
ZEBRA_FILL = colors.HexColor("#f5f7fa")
