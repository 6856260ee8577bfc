"""Cell-level rules shared by the tabular formats: formula neutralisation and issue rows."""

from __future__ import annotations

import polars as pl

from sprint_exports.report import ISSUE_COLUMNS, SprintReport
from sprint_exports.source.schema import ISSUE_STATUSES
from sprint_exports.templates import Template

# OWASP CSV injection: a cell starting with one of these is read as a formula.
FORMULA_TRIGGERS = r"^[=+\-@\t\r]"


def neutralise(column: pl.Expr) -> pl.Expr:
    """Prefix a single quote to text a spreadsheet would run as a formula; keep the rest intact."""
    return column.str.replace(FORMULA_TRIGGERS, "'$0")


def neutralise_text(value: str) -> str:
    """The same rule for a single Python string (key/value tables)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


NO_GROUP = "(none)"


def issue_rows(report: SprintReport, template: Template) -> pl.DataFrame:
    """The issue table a template asks for: its columns in order, grouped, then sorted.

    Groups come in a fixed order (statuses in workflow order, other values
    alphabetically, empty last); ties keep the tracker's order, so exports are
    reproducible.
    """
    keys, descending = sort_keys(template.sort_column), [template.sort_descending]
    group = template.group_column
    group_keys = [] if group is None else [*_group_order(group), pl.col(group)]
    descending = [False] * len(group_keys) + descending * len(keys)
    keys = group_keys + keys
    return report.issues.sort(keys, descending=descending, nulls_last=True, maintain_order=True).select(
        template.table_columns
    )


def issue_groups(rows: pl.DataFrame, template: Template) -> list[tuple[str, pl.DataFrame]]:
    """`issue_rows` split into (group label, rows) in order; one unlabelled group when not grouping."""
    group = template.group_column
    if group is None:
        return [("", rows)]
    return [
        (NO_GROUP if value is None else str(value), part)
        for (value,), part in rows.partition_by(group, maintain_order=True, as_dict=True).items()
    ]


def story_points_total(rows: pl.DataFrame) -> int:
    return int(rows["story_points"].fill_null(0).sum()) if "story_points" in rows.columns else 0


def _group_order(column: str) -> list[pl.Expr]:
    """Statuses sort in workflow order; other group values need no extra key."""
    if column != "status":
        return []
    order = {status: rank for rank, status in enumerate(ISSUE_STATUSES)}
    return [pl.col("status").replace_strict(order, default=len(order), return_dtype=pl.Int64)]


def sort_keys(column: str) -> list[pl.Expr]:
    """Issue keys sort as people read them: PROJ-9 before PROJ-10."""
    if column != "key":
        return [pl.col(column)]
    parts = pl.col("key").str.extract_groups(r"^(.*?)(\d*)$")
    return [parts.struct.field("1"), parts.struct.field("2").cast(pl.Int64, strict=False), pl.col("key")]


def column_labels(template: Template) -> list[str]:
    return [ISSUE_COLUMNS[name].label for name in template.table_columns]
