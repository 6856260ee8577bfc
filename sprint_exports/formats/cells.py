"""Cell-level rules shared by the tabular formats: formula neutralisation and column labels."""

from __future__ import annotations

import re

import polars as pl

from sprint_exports.report.model import ISSUE_COLUMNS
from sprint_exports.templates import Template

# OWASP CSV injection: a cell starting with one of these is read as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_TRIGGERS = f"^[{re.escape(''.join(FORMULA_STARTS))}]"
# Every formula start is an ASCII character below this one: text that sorts at or above it is safe.
SAFE_FROM = chr(ord(max(FORMULA_STARTS)) + 1)


def neutralise(values: pl.Series) -> pl.Series:
    """Prefix a single quote to text a spreadsheet would run as a formula; keep the rest intact.

    Only text that sorts below SAFE_FROM can start with a formula character:
    one comparison per cell finds those few, the pattern runs on them alone,
    and only the matches are rewritten (a tenth of the cost of rewriting
    every cell of a long table).
    """
    candidates = (values < SAFE_FROM).arg_true()
    formulas = candidates.filter(values.gather(candidates).str.contains(FORMULA_TRIGGERS))
    if formulas.is_empty():
        return values
    return values.clone().scatter(formulas, "'" + values.gather(formulas))


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text column neutralised."""
    return frame.with_columns(
        neutralise(frame.get_column(name)) for name, dtype in frame.schema.items() if dtype == pl.String
    )


def neutralise_text(value: str) -> str:
    """The same rule for a single Python string (key/value tables)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def column_labels(template: Template) -> list[str]:
    return [ISSUE_COLUMNS[name].label for name in template.table_columns]
