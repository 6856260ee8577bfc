"""Colours and the issue table's type sizes, shared by the document's sections and the table's modules."""

from __future__ import annotations

from reportlab.lib import colors

TEXT_COLOUR = colors.HexColor("#24292f")
GRID_COLOUR = colors.HexColor("#c4ccd5")
HEADER_FILL = colors.HexColor("#dde7f3")
ZEBRA_FILL = colors.HexColor("#f5f7fa")
BAND_FILL = colors.HexColor("#eaeef2")

# Small type, so ten columns fit a landscape page.
CELL_SIZE = 7
CELL_LEADING = 8.6
CELL_PAD_X = 3
CELL_PAD_Y = 2.2
CELL_DESCENT = 1.9  # how far Roboto reaches below the baseline at CELL_SIZE
BAND_HEIGHT = CELL_LEADING + 2 * CELL_PAD_Y  # a group's label row
