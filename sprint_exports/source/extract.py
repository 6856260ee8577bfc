"""What the source readers hand to the rest of the core: one sprint's rows as frames.

The frame schemas are fixed here so every later step (metrics, renderers) can
rely on the dtypes even when a sprint has no issues or no members.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

ISSUE_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "summary": pl.String(),
    "status": pl.String(),
    "issue_type": pl.String(),
    "priority": pl.String(),
    "assignee": pl.String(),
    "story_points": pl.Int64(),
    "labels": pl.String(),
    "created_at": pl.Datetime("us"),
    "resolved_at": pl.Datetime("us"),
}

MEMBER_SCHEMA: dict[str, pl.DataType] = {
    "name": pl.String(),
    "email": pl.String(),
    "role": pl.String(),
    "capacity": pl.Int64(),
}

TEAM_SPRINT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "name": pl.String(),
    "status": pl.String(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
    "completed_points": pl.Int64(),
}


@dataclass(frozen=True)
class SprintInfo:
    id: int
    name: str
    team_id: int
    team_name: str
    status: str
    start_date: dt.date | None
    end_date: dt.date | None
    goal: str | None
    updated_at: dt.datetime | None


@dataclass(frozen=True)
class SprintExtract:
    """One sprint as read from the tracker.

    `team_sprints` holds every sprint of the same team with its completed
    points, because average velocity and the velocity chart look back across
    the team's history, not just at this sprint.
    """

    sprint: SprintInfo
    members: pl.DataFrame
    issues: pl.DataFrame
    team_sprints: pl.DataFrame


def frame(rows: list, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows from a database cursor as a frame with exactly `schema`, even when empty."""
    return pl.DataFrame(rows, schema=schema, orient="row")
