"""The issue table's order: the template's columns, grouped, then sorted, the same in every format.

Groups come in a fixed order (statuses in workflow order, other values
alphabetically, empty last). Issue keys sort as people read them, by prefix
and then by number: PROJ-9 before PROJ-10.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from sprint_exports.frames import consecutive_runs
from sprint_exports.report.model import SprintReport
from sprint_exports.source.schema import ISSUE_STATUSES
from sprint_exports.templates import Template

DIGITS = "0123456789"

SortKey = tuple[pl.Series, bool]  # values, descending

NO_GROUP = "(none)"


def issue_rows(report: SprintReport, template: Template) -> pl.DataFrame:
    """The issue table a template asks for: its columns in order, grouped, then sorted.

    Groups come in a fixed order (statuses in workflow order, other values
    alphabetically, empty last). Issue keys sort as people read them, by
    prefix and then by number: PROJ-9 before PROJ-10. Ties, including keys
    that differ only in leading zeros (PROJ-7, PROJ-07), keep the tracker's
    order, so exports are reproducible.
    """
    issues = report.issues
    keys = [*_group_keys(issues, template.group_column), *_sort_keys(issues, template)]
    return issues.select(template.table_columns)[_stable_order(keys)]


def issue_groups(rows: pl.DataFrame, template: Template) -> list[tuple[str, pl.DataFrame]]:
    """`issue_rows` split into (group label, rows) in order; one unlabelled group when not grouping.

    `issue_rows` sorts by the group column first, so each group is a run of
    consecutive rows and comes as a slice of `rows`, not a copy.
    """
    group = template.group_column
    if group is None:
        return [("", rows)]
    return [(NO_GROUP if value is None else str(value), part) for value, part in consecutive_runs(rows, group)]


def story_points_total(rows: pl.DataFrame) -> int:
    return int(rows["story_points"].fill_null(0).sum()) if "story_points" in rows.columns else 0


def _stable_order(keys: Sequence[SortKey]) -> pl.Series:
    """Row indices sorted by `keys` (at least one, most significant first), nulls last, ties in
    their current order.

    One stable single-key sort per key, least significant first: each pass
    keeps the previous pass's order among its ties. That is three times
    faster than polars' multi-column sort, which encodes whole rows, and a
    key that already comes in order (issue numbers usually do) costs next to
    nothing.
    """
    (values, descending), *more_significant = reversed(keys)
    order = _arg_sort(values, descending)
    for values, descending in more_significant:
        order = order.gather(_arg_sort(values.gather(order), descending))
    return order


def _arg_sort(values: pl.Series, descending: bool) -> pl.Series:
    return values.to_frame("values").select(
        pl.arg_sort_by("values", descending=descending, nulls_last=True, maintain_order=True)
    ).to_series()


def _group_keys(issues: pl.DataFrame, column: str | None) -> list[SortKey]:
    """Statuses sort in workflow order (unknown ones after, alphabetically); other values alphabetically."""
    if column is None:
        return []
    first = ISSUE_STATUSES if column == "status" else ()
    return [(ranks, False) for ranks in _ranked(issues.get_column(column), first)]


def _sort_keys(issues: pl.DataFrame, template: Template) -> list[SortKey]:
    column, descending = template.sort_column, template.sort_descending
    if column != "key":
        return [(issues.get_column(column), descending)]
    return [(values, descending) for values in _key_parts(issues.get_column("key"))]


def _key_parts(keys: pl.Series) -> list[pl.Series]:
    """An issue key as (prefix, number): the number is its trailing digits (null when it has none).

    A sprint's keys nearly always share one prefix, which then is no sort key;
    checking that with one pattern costs half of splitting every key.
    """
    shared = _shared_prefix(keys)
    if shared is not None:
        return [keys.str.slice(len(shared)).str.to_integer(strict=False)]
    prefix = keys.str.strip_chars_end(DIGITS)
    number = keys.str.strip_prefix(prefix).str.to_integer(strict=False)
    return [*_ranked(prefix), number]


def _shared_prefix(keys: pl.Series) -> str | None:
    """The prefix of every key when they all have the same one, else None.

    A missing key counts as a prefix of its own: it sorts after every key.
    """
    if keys.is_empty() or keys.null_count():
        return None
    prefix = keys[0].rstrip(DIGITS)
    return prefix if keys.str.contains(f"^{re.escape(prefix)}[0-9]*$").all() else None


def _ranked(values: pl.Series, first: Sequence[str] = ()) -> list[pl.Series]:
    """Text as an Enum in display order: `first` in its order, the rest alphabetically.

    An Enum sorts as a small integer, far faster than text; and a column with
    one value for every row is no key at all.
    """
    distinct = values.unique()
    if distinct.len() <= 1:
        return []
    present = set(distinct.drop_nulls().to_list())
    categories = [value for value in first if value in present] + sorted(present.difference(first))
    return [values.cast(pl.Enum(categories))]
