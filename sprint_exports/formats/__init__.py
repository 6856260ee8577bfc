"""Output formats as a registry: one module per format behind one small interface.

A renderer writes one sprint report, shaped by a template, to the path it is
given and returns how many issue rows it wrote. It never picks the final file
name and never imports Dagster: the export store (`sprint_exports.store`)
names files, writes them atomically and hashes them.

Progress: a renderer takes an optional keyword `on_rows`, which it calls with
the number of rows it has just written, a slice or a page at a time, while it
writes; the calls add up to the row count it returns. Slices are small enough
that every tenth of a long table is reported. What to do with the counts (log
lines in a Dagster run) is the caller's business.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sprint_exports.report.model import SprintReport
from sprint_exports.templates import Template

OnRows = Callable[[int], None]  # called with how many rows were just written


class Render(Protocol):
    """`render(report, template, path, on_rows=None) -> rows written`."""

    def __call__(self, report: SprintReport, template: Template, path: Path, *, on_rows: OnRows | None = None) -> int: ...


# Renderers report progress at least this often, as a share of the rows: every tenth.
PROGRESS_STEPS = 10
# ... but never in pieces smaller than this: a short table is written in one go.
MIN_PROGRESS_ROWS = 1_000


def progress_slice_rows(total: int, largest: int | None = None) -> int:
    """Rows per slice so that `total` rows report progress at least every tenth (never below
    MIN_PROGRESS_ROWS, nor above `largest` when given)."""
    rows = max(MIN_PROGRESS_ROWS, -(-total // PROGRESS_STEPS))
    return rows if largest is None else min(rows, largest)


@dataclass(frozen=True)
class OutputFormat:
    name: str
    extension: str
    media_type: str
    render: Render


MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
FORMAT_NAMES = tuple(MEDIA_TYPES)


def get_format(name: str) -> OutputFormat:
    """The format called `name`; its module is imported only now (reportlab alone costs 0.2 s)."""
    if name not in MEDIA_TYPES:
        raise ValueError(f"Unknown format {name!r}; allowed: {', '.join(FORMAT_NAMES)}")
    module = importlib.import_module(f"sprint_exports.formats.{name}")
    return OutputFormat(name=name, extension=name, media_type=MEDIA_TYPES[name], render=module.render)
