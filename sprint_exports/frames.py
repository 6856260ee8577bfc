"""Splitting a frame that is already ordered by a column into its runs, without copying.

Readers hold a batch of sprints' issues sorted by sprint; renderers hold a
sprint's issues sorted by their group first. Both need each run of equal
values as its own frame: `partition_by` would copy every row (at a million
issues, several times the frame's memory), while a slice shares it.
"""

from __future__ import annotations

from typing import Any

import polars as pl


def consecutive_runs(frame: pl.DataFrame, column: str) -> list[tuple[Any, pl.DataFrame]]:
    """(value, rows) for each run of equal `column` values, in order; each rows a zero-copy slice."""
    runs = frame.select(pl.col(column).rle()).unnest(column)
    found, offset = [], 0
    for length, value in zip(runs["len"], runs["value"]):
        found.append((value, frame.slice(offset, length)))
        offset += length
    return found
