"""Output formats as a registry: one module per format behind one small interface.

A renderer writes one sprint report, shaped by a template, to the path it is
given and returns how many issue rows it wrote. It never picks the final file
name and never imports Dagster: the export store (`sprint_exports.store`)
names files, writes them atomically and hashes them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sprint_exports.report import SprintReport
from sprint_exports.templates import Template

Render = Callable[[SprintReport, Template, Path], int]


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
