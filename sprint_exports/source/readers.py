"""Queries that read sprints from the tracker into frames.

A batch of sprints costs a fixed number of queries (sprints, members, issues,
team history), whatever its size: a thousand-sprint backfill must not become
a thousand round trips.

Issues, the only table that grows large, are fetched ISSUE_FETCH_ROWS at a
time (a server-side cursor on PostgreSQL) and each batch becomes a frame at
once: a row as Python objects costs about 1 KB, in a frame about 100 bytes,
so a million-issue sprint must never be held as a million rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import polars as pl
from sqlalchemy import Connection, Engine, case, func, select

from sprint_exports.frames import consecutive_runs
from sprint_exports.source import schema as t
from sprint_exports.source.extract import (
    ISSUE_SCHEMA,
    MEMBER_SCHEMA,
    TEAM_SPRINT_SCHEMA,
    SprintExtract,
    SprintInfo,
    frame,
)

# Bound parameters per IN list; SQLite allows 32766, PostgreSQL far more.
IN_CHUNK = 900
# Issue rows fetched and turned into a frame at a time: about 20 MB as Python rows. Larger
# batches read no faster (1M issues: 5-7 s from 10,000 to 100,000 rows) but raise the peak.
ISSUE_FETCH_ROWS = 20_000

SPRINT_LIST_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "team_id": pl.Int64(),
    "team_name": pl.String(),
    "name": pl.String(),
    "status": pl.String(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
    "updated_at": pl.Datetime("us"),
}


class UnknownSprintError(LookupError):
    """A sprint id that the tracker does not have."""


def list_sprints(engine: Engine) -> pl.DataFrame:
    """Every sprint with its team, in id order (the order partitions are added in)."""
    query = (
        select(
            t.sprints.c.id,
            t.sprints.c.team_id,
            t.teams.c.name,
            t.sprints.c.name,
            t.sprints.c.status,
            t.sprints.c.start_date,
            t.sprints.c.end_date,
            t.sprints.c.updated_at,
        )
        .join(t.teams, t.teams.c.id == t.sprints.c.team_id)
        .order_by(t.sprints.c.id)
    )
    with engine.connect() as connection:
        return frame(connection.execute(query).all(), SPRINT_LIST_SCHEMA)


class SprintTeam(NamedTuple):
    team_id: int
    team_name: str


def sprint_teams(engine: Engine) -> dict[int, SprintTeam]:
    """Every sprint's team: what access decisions, history and delivery look sprints up by."""
    return {row[0]: SprintTeam(row[1], row[2]) for row in list_sprints(engine).select("id", "team_id", "team_name").iter_rows()}


def team_and_user_names(engine: Engine) -> tuple[list[str], list[str]]:
    """Every team name and user email: what schedule entries name."""
    with engine.connect() as connection:
        teams = list(connection.execute(select(t.teams.c.name)).scalars())
        emails = list(connection.execute(select(t.users.c.email)).scalars())
    return teams, emails


def read_sprints(
    engine: Engine, sprint_ids: Sequence[int], *, fetch_rows: int = ISSUE_FETCH_ROWS
) -> dict[int, SprintExtract]:
    """The extracts of `sprint_ids`, keyed by id; raises UnknownSprintError naming missing ids.

    `fetch_rows` bounds the issue rows held as Python objects at once.
    """
    wanted = sorted(set(sprint_ids))
    with engine.connect() as connection:
        infos = _sprint_infos(connection, wanted)
        missing = [sprint_id for sprint_id in wanted if sprint_id not in infos]
        if missing:
            raise UnknownSprintError(
                f"Sprint id(s) {', '.join(map(str, missing))} not found in the tracker database"
            )
        team_ids = sorted({info.team_id for info in infos.values()})
        members = _members(connection, team_ids)
        team_sprints = _team_sprints(connection, team_ids)
        issues = _issues(connection, wanted, fetch_rows)
    # Issues come sorted by sprint: each sprint's are a slice of the batch, not a copy.
    issues_by_sprint = dict(consecutive_runs(issues, "sprint_id"))
    extracts = {}
    for sprint_id, info in infos.items():
        sprint_issues = issues_by_sprint.get(sprint_id, _EMPTY_ISSUES)
        extracts[sprint_id] = SprintExtract(
            sprint=info,
            members=members.filter(pl.col("team_id") == info.team_id).drop("team_id"),
            issues=sprint_issues.select(list(ISSUE_SCHEMA)),
            team_sprints=team_sprints.filter(pl.col("team_id") == info.team_id).drop("team_id"),
        )
    return extracts


_EMPTY_ISSUES = pl.DataFrame(schema=ISSUE_SCHEMA)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


def _sprint_infos(connection: Connection, ids: Sequence[int]) -> dict[int, SprintInfo]:
    infos: dict[int, SprintInfo] = {}
    for chunk in _chunks(ids):
        query = (
            select(
                t.sprints.c.id,
                t.sprints.c.name,
                t.sprints.c.team_id,
                t.teams.c.name.label("team_name"),
                t.sprints.c.status,
                t.sprints.c.start_date,
                t.sprints.c.end_date,
                t.sprints.c.goal,
                t.sprints.c.updated_at,
            )
            .join(t.teams, t.teams.c.id == t.sprints.c.team_id)
            .where(t.sprints.c.id.in_(chunk))
        )
        for row in connection.execute(query).mappings():
            infos[row["id"]] = SprintInfo(**row)
    return infos


def _members(connection: Connection, team_ids: Sequence[int]) -> pl.DataFrame:
    schema = {"team_id": pl.Int64(), **MEMBER_SCHEMA}
    rows = []
    for chunk in _chunks(team_ids):
        query = (
            select(
                t.team_members.c.team_id,
                t.users.c.name,
                t.users.c.email,
                t.team_members.c.role,
                t.team_members.c.capacity,
            )
            .join(t.users, t.users.c.id == t.team_members.c.user_id)
            .where(t.team_members.c.team_id.in_(chunk))
            .order_by(t.team_members.c.team_id, t.users.c.name)
        )
        rows.extend(connection.execute(query).all())
    return frame(rows, schema)


def _team_sprints(connection: Connection, team_ids: Sequence[int]) -> pl.DataFrame:
    """Every sprint of the teams, with its completed points summed in the database."""
    done_points = func.coalesce(
        func.sum(case((t.issues.c.status == "Done", func.coalesce(t.issues.c.story_points, 0)), else_=0)), 0
    )
    schema = {"team_id": pl.Int64(), **TEAM_SPRINT_SCHEMA}
    rows = []
    for chunk in _chunks(team_ids):
        query = (
            select(
                t.sprints.c.team_id,
                t.sprints.c.id,
                t.sprints.c.name,
                t.sprints.c.status,
                t.sprints.c.start_date,
                t.sprints.c.end_date,
                done_points,
            )
            .outerjoin(t.issues, t.issues.c.sprint_id == t.sprints.c.id)
            .where(t.sprints.c.team_id.in_(chunk))
            .group_by(
                t.sprints.c.team_id,
                t.sprints.c.id,
                t.sprints.c.name,
                t.sprints.c.status,
                t.sprints.c.start_date,
                t.sprints.c.end_date,
            )
            .order_by(t.sprints.c.id)
        )
        rows.extend(connection.execute(query).all())
    return frame(rows, schema)


def _issues(connection: Connection, sprint_ids: Sequence[int], fetch_rows: int) -> pl.DataFrame:
    schema = {"sprint_id": pl.Int64(), **ISSUE_SCHEMA}
    frames = []
    for chunk in _chunks(sprint_ids):
        query = (
            select(
                t.issues.c.sprint_id,
                t.issues.c.key,
                t.issues.c.summary,
                t.issues.c.status,
                t.issues.c.issue_type,
                t.issues.c.priority,
                t.users.c.name.label("assignee"),
                t.issues.c.story_points,
                t.issues.c.labels,
                t.issues.c.created_at,
                t.issues.c.resolved_at,
            )
            .outerjoin(t.users, t.users.c.id == t.issues.c.assignee_id)
            .where(t.issues.c.sprint_id.in_(chunk))
            .order_by(t.issues.c.sprint_id, t.issues.c.id)
            .execution_options(yield_per=fetch_rows)
        )
        frames.extend(frame(rows, schema) for rows in connection.execute(query).partitions())
    # The batches stay separate chunks: joining them would hold two copies at once, which at a
    # million issues raises the export's peak by about 100 MB to save 0.2-0.4 s of rendering.
    return pl.concat(frames, rechunk=False) if frames else pl.DataFrame(schema=schema)
