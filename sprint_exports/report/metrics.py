"""The contract's sprint metrics: frames in, numbers and frames out.

Null story points count as 0 everywhere. The definitions are in the README
("Metrics"); each function below implements one of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

import polars as pl

from sprint_exports.source.extract import SprintExtract, SprintInfo
from sprint_exports.source.schema import ISSUE_STATUSES

AVERAGE_VELOCITY_WINDOW = 3
VELOCITY_CHART_SPRINTS = 6

# Rates and averages are shown, everywhere, with this many decimals.
DECIMALS = 1


class PointsCount(NamedTuple):
    issues: int
    points: int


BURNDOWN_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "remaining_points": pl.Int64(),
    "ideal_points": pl.Float64(),
}


@dataclass(frozen=True)
class SprintMetrics:
    planned_points: int
    completed_points: int
    velocity: int
    completion_rate: float
    issue_count: int
    status_counts: dict[str, int]
    capacity_hours: int
    average_velocity: float
    burndown: pl.DataFrame = field(repr=False)
    velocity_history: pl.DataFrame = field(repr=False)
    # How many completed sprints `average_velocity` averages, and whether this sprint is one of them.
    average_velocity_sprints: int = 0
    average_includes_sprint: bool = False
    # Done issues the burndown never counts (the contract): resolved after the end date, or never.
    done_after_end: PointsCount = field(default_factory=lambda: PointsCount(0, 0))
    done_without_resolution: PointsCount = field(default_factory=lambda: PointsCount(0, 0))

    def scalars(self) -> dict[str, int | float]:
        """The single-number metrics, in the order reports show them, rounded as every report shows them
        (one decimal for rates and averages), so the PDF, XLSX, CSV, UI and mail agree to the digit."""
        numbers: dict[str, int | float] = {
            "planned_points": self.planned_points,
            "completed_points": self.completed_points,
            "velocity": self.velocity,
            "completion_rate": round(self.completion_rate, DECIMALS),
            "average_velocity": round(self.average_velocity, DECIMALS),
            "capacity_hours": self.capacity_hours,
            "issue_count": self.issue_count,
        }
        for status, count in self.status_counts.items():
            numbers[status_metric_name(status)] = count
        return numbers


def status_metric_name(status: str) -> str:
    """`In Progress` -> `issues_in_progress`."""
    return "issues_" + status.lower().replace(" ", "_")


def compute_metrics(extract: SprintExtract) -> SprintMetrics:
    issues = extract.issues
    points = pl.col("story_points").fill_null(0)
    planned, completed = issues.select(
        points.sum().alias("planned"),
        points.filter(pl.col("status") == "Done").sum().alias("completed"),
    ).row(0)
    planned, completed = int(planned or 0), int(completed or 0)
    counts = dict(issues.group_by("status").len().iter_rows())
    status_counts = {status: int(counts.get(status, 0)) for status in ISSUE_STATUSES}
    history = velocity_history(extract.team_sprints, extract.sprint, limit=None)
    averaged = history.tail(AVERAGE_VELOCITY_WINDOW)
    return SprintMetrics(
        planned_points=planned,
        completed_points=completed,
        velocity=completed,
        completion_rate=completion_rate(planned, completed),
        issue_count=issues.height,
        status_counts=status_counts,
        capacity_hours=int(extract.members["capacity"].fill_null(0).sum()),
        average_velocity=average_velocity(history),
        burndown=burndown(issues, extract.sprint.start_date, extract.sprint.end_date, planned),
        velocity_history=history.tail(VELOCITY_CHART_SPRINTS),
        average_velocity_sprints=averaged.height,
        average_includes_sprint=extract.sprint.id in averaged["id"].to_list(),
        **unburned_done(issues, extract.sprint.end_date),
    )


def unburned_done(issues: pl.DataFrame, end: dt.date | None) -> dict[str, PointsCount]:
    """Done issues the burndown cannot count: resolved after the end date, and without a resolution date.

    They are why a burndown can end above `planned - completed`; reports say so.
    """
    done = issues.filter(pl.col("status") == "Done")
    undated = done.filter(pl.col("resolved_at").is_null())
    late = done.filter(pl.col("resolved_at").dt.date() > end) if end is not None else done.clear()
    return {
        "done_after_end": _points_count(late),
        "done_without_resolution": _points_count(undated),
    }


def _points_count(issues: pl.DataFrame) -> PointsCount:
    return PointsCount(issues.height, int(issues["story_points"].fill_null(0).sum()))


def completion_rate(planned: int, completed: int) -> float:
    return round(100 * completed / planned, 1) if planned else 0.0


def velocity_history(team_sprints: pl.DataFrame, sprint: SprintInfo, limit: int | None) -> pl.DataFrame:
    """The team's completed sprints that ended on or before this sprint's end, oldest first.

    This sprint is included when it is completed; a sprint without an end date
    has no history to look back on.
    """
    if sprint.end_date is None:
        return team_sprints.clear().select("id", "name", pl.col("completed_points").alias("velocity"))
    history = (
        team_sprints.filter((pl.col("status") == "completed") & (pl.col("end_date") <= sprint.end_date))
        .sort("end_date", "id")
        .select("id", "name", pl.col("completed_points").alias("velocity"))
    )
    return history.tail(limit) if limit else history


def average_velocity(history: pl.DataFrame) -> float:
    recent = history.tail(AVERAGE_VELOCITY_WINDOW)["velocity"]
    return float(recent.mean()) if recent.len() else 0.0


def burndown(issues: pl.DataFrame, start: dt.date | None, end: dt.date | None, planned: int) -> pl.DataFrame:
    """Remaining and ideal points for each calendar day of the sprint.

    A Done issue burns down on its resolution date (earlier dates count from
    the first day); a Done issue with no resolution date never burns down.
    """
    if start is None or end is None or end < start:
        return pl.DataFrame(schema=BURNDOWN_SCHEMA)
    days = pl.date_range(start, end, interval="1d", eager=True).alias("day")
    burned = (
        issues.filter((pl.col("status") == "Done") & pl.col("resolved_at").is_not_null())
        .select(pl.col("resolved_at").dt.date().alias("day"), pl.col("story_points").fill_null(0).alias("points"))
        .group_by("day")
        .agg(pl.col("points").sum())
        .sort("day")
        .with_columns(pl.col("points").cum_sum().alias("burned"))
    )
    last = len(days) - 1
    return (
        days.to_frame()
        .join_asof(burned.select("day", "burned"), on="day", strategy="backward")
        .select(
            "day",
            (planned - pl.col("burned").fill_null(0)).cast(pl.Int64).alias("remaining_points"),
            pl.Series(
                "ideal_points",
                [round(planned * (1 - i / last), 2) if last else 0.0 for i in range(last + 1)],
                dtype=pl.Float64,
            ),
        )
    )
