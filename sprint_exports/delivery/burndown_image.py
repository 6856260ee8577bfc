"""The burndown as a small PNG for the mail's HTML body (an inline CID image).

Mail clients show images, not PDF drawings, so the chart is drawn with Pillow
(which reportlab already depends on): remaining points as a solid line, the
ideal as a grey one, with the first and last day and the planned points on
the axes. Only numbers and fixed ASCII words are drawn, so no font coverage
question arises; the sprint's name stays in the HTML around the image.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 560, 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 48, 16, 28, 36
REMAINING_COLOUR = (31, 111, 235)
IDEAL_COLOUR = (140, 149, 159)
TEXT_COLOUR = (36, 41, 47)
GRID_COLOUR = (216, 222, 228)


def burndown_png(points: Sequence[tuple[str, int, float]]) -> bytes | None:
    """PNG bytes of (ISO day, remaining, ideal) points; None when there is nothing to draw."""
    if len(points) < 1 or max(max(left, ideal) for _, left, ideal in points) <= 0:
        return None
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=11)
    highest = max(max(left, ideal) for _, left, ideal in points)
    plot_w, plot_h = WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def xy(index: int, value: float) -> tuple[float, float]:
        x = MARGIN_LEFT + (plot_w * index / (len(points) - 1) if len(points) > 1 else plot_w / 2)
        return x, MARGIN_TOP + plot_h * (1 - value / highest)

    for fraction in (0, 0.5, 1):
        y = MARGIN_TOP + plot_h * (1 - fraction)
        draw.line([(MARGIN_LEFT, y), (WIDTH - MARGIN_RIGHT, y)], fill=GRID_COLOUR)
        draw.text((MARGIN_LEFT - 6, y), f"{highest * fraction:.0f}", fill=TEXT_COLOUR, font=font, anchor="rm")
    for column, colour, width in ((2, IDEAL_COLOUR, 1), (1, REMAINING_COLOUR, 3)):
        line = [xy(i, point[column]) for i, point in enumerate(points)]
        draw.line(line if len(line) > 1 else line * 2, fill=colour, width=width)
    draw.text((MARGIN_LEFT, HEIGHT - MARGIN_BOTTOM + 8), points[0][0], fill=TEXT_COLOUR, font=font)
    draw.text((WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM + 8), points[-1][0], fill=TEXT_COLOUR, font=font, anchor="ra")
    draw.text((MARGIN_LEFT, 8), "Burndown: points remaining", fill=TEXT_COLOUR, font=font)
    right = WIDTH - MARGIN_RIGHT
    for label, colour, width in (("ideal", IDEAL_COLOUR, 1), ("remaining", REMAINING_COLOUR, 3)):
        right = draw.textbbox((right, 8), label, font=font, anchor="ra")[0] - 4
        draw.text((right + 4, 8), label, fill=TEXT_COLOUR, font=font, anchor="la")
        draw.line([(right - 18, 14), (right, 14)], fill=colour, width=width)
        right -= 30
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
