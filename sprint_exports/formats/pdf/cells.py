"""What the issue table shows: its columns, each cell as display text, and the group bands' labels.

Cells are formatted in polars (dates, numbers, line breaks and control
characters through the one text cleaner, `sprint_exports.text.cell_lines`),
then handed to the grid a block of rows at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from sprint_exports.report.issue_order import issue_groups, story_points_total
from sprint_exports.report.model import DATETIME_FORMAT, ISSUE_COLUMNS
from sprint_exports.templates import Template
from sprint_exports.text import cell_lines


@dataclass(frozen=True)
class GridColumn:
    label: str
    share: float  # relative width, from ISSUE_COLUMNS
    numeric: bool  # right-aligned


def grid_columns(names: Sequence[str]) -> list[GridColumn]:
    columns = [ISSUE_COLUMNS[name] for name in names]
    return [GridColumn(column.label, column.width, column.kind == "integer") for column in columns]


def group_bands(rows: pl.DataFrame, template: Template) -> dict[int, str]:
    """A band label before the first row of each group, e.g. "Status: Done · 57 issues · 280 points"."""
    group = template.group_column
    if group is None:
        return {}
    bands, first_row = {}, 0
    for value, part in issue_groups(rows, template):
        count = part.height
        label = f"{ISSUE_COLUMNS[group].label}: {value} · {count} issue{'' if count == 1 else 's'}"
        if "story_points" in part.columns:
            label += f" · {story_points_total(part)} points"
        bands[first_row] = label
        first_row += count
    return bands


def cell_texts(rows: pl.DataFrame) -> pl.DataFrame:
    """Every cell as display text (formatted in polars, not per cell in Python)."""
    texts = []
    for name, dtype in rows.schema.items():
        column = pl.col(name)
        if dtype.is_temporal():
            column = column.dt.strftime(DATETIME_FORMAT)
        elif dtype == pl.String:
            column = cell_lines(column)
        else:
            column = column.cast(pl.String)
        texts.append(column.fill_null(""))
    return rows.select(texts)


class CellBlocks:
    """Cell text by row, turned into Python strings a block of rows at a time.

    A 100,000-row table as Python strings costs over 100 MB; rows are laid out
    in order, so holding one block keeps that to a few hundred kilobytes.
    """

    BLOCK_ROWS = 2048

    def __init__(self, texts: pl.DataFrame):
        self._texts = texts
        self.row_count = texts.height
        self._first = self._stop = 0  # the rows held: first..stop-1
        self._block: list[tuple[str, ...]] = []

    def row(self, row: int) -> tuple[str, ...]:
        if not self._first <= row < self._stop:
            self._first = row - row % self.BLOCK_ROWS
            block = self._texts.slice(self._first, self.BLOCK_ROWS)
            self._block = list(zip(*(block.get_column(name).to_list() for name in block.columns)))
            self._stop = self._first + block.height
        return self._block[row - self._first]
