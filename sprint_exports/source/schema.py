"""The tracker's tables as SQLAlchemy Core objects (the contract's source schema).

We only ever read a user's source; `metadata.create_all` is for the demo
database and the tests.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)

metadata = MetaData()

SPRINT_STATUSES = ("planned", "active", "completed")
ISSUE_STATUSES = ("To Do", "In Progress", "In Review", "Done")
USER_ROLES = ("admin", "member")

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("email", Text, unique=True, nullable=False),
    Column("role", Text, nullable=False),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Integer, ForeignKey("teams.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("role", Text),
    Column("capacity", Integer),
)

sprints = Table(
    "sprints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id")),
    Column("name", Text),
    Column("status", Text),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("goal", Text, nullable=True),
    Column("updated_at", DateTime),
)

issues = Table(
    "issues",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sprint_id", Integer, ForeignKey("sprints.id")),
    Column("key", Text),
    Column("summary", Text),
    Column("status", Text),
    Column("issue_type", Text),
    Column("priority", Text),
    Column("assignee_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("story_points", Integer, nullable=True),
    Column("labels", Text, nullable=True),
    Column("created_at", DateTime),
    Column("resolved_at", DateTime, nullable=True),
    Column("updated_at", DateTime),
    Index("ix_issues_sprint_id", "sprint_id"),
)
