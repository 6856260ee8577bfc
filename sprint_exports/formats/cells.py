"""Cell-level rules shared by the tabular formats: formula neutralisation and issue rows."""

from __future__ import annotations

import polars as pl

from sprint_exports.report import ISSUE_COLUMNS, SprintReport
from sprint_exports.templates import Template

# OWASP CSV injection: a cell starting with one of these is read as a formula.
FORMULA_TRIGGERS = r"^[=+\-@\t\r]"


def neutralise(column: pl.Expr) -> pl.Expr:
    """Prefix a single quote to text a spreadsheet would run as a formula; keep the rest intact."""
    return column.str.replace(FORMULA_TRIGGERS, "'$0")


def neutralise_text(value: str) -> str:
    """The same rule for a single Python string (key/value tables)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def issue_rows(report: SprintReport, template: Template) -> pl.DataFrame:
    """The issue table a template asks for: its columns, in its order, sorted by its key.

    Ties keep the tracker's order (stable sort), so exports are reproducible.
    """
    return report.issues.sort(
        sort_keys(template.sort_column), descending=template.sort_descending, nulls_last=True, maintain_order=True
    ).select(template.columns)


def sort_keys(column: str) -> list[pl.Expr]:
    """Issue keys sort as people read them: PROJ-9 before PROJ-10."""
    if column != "key":
        return [pl.col(column)]
    parts = pl.col("key").str.extract_groups(r"^(.*?)(\d*)$")
    return [parts.struct.field("1"), parts.struct.field("2").cast(pl.Int64, strict=False), pl.col("key")]


def column_labels(template: Template) -> list[str]:
    return [ISSUE_COLUMNS[name].label for name in template.columns]
