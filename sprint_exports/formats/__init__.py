"""Output formats as a registry: one module per format behind one small interface.

A renderer writes one sprint report, shaped by a template, to the path it is
given and returns how many issue rows it wrote. It never picks the final file
name and never imports Dagster: the export store (`sprint_exports.store`)
names files, writes them atomically and hashes them.
"""

from __future__ import annotations

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


def _registry() -> dict[str, OutputFormat]:
    from sprint_exports.formats import csv, pdf, xlsx

    return {
        "csv": OutputFormat("csv", "csv", "text/csv", csv.render),
        "xlsx": OutputFormat(
            "xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx.render
        ),
        "pdf": OutputFormat("pdf", "pdf", "application/pdf", pdf.render),
    }


FORMAT_NAMES = ("csv", "xlsx", "pdf")


def get_format(name: str) -> OutputFormat:
    if name not in FORMAT_NAMES:
        raise ValueError(f"Unknown format {name!r}; allowed: {', '.join(FORMAT_NAMES)}")
    return _registry()[name]
