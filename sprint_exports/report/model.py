"""The report model: everything a renderer needs about one sprint, immutable.

Renderers read a `SprintReport` and a template and know nothing about the
database or Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from sprint_exports.report.metrics import SprintMetrics
from sprint_exports.source.extract import SprintExtract, SprintInfo

ColumnKind = Literal["text", "integer", "datetime"]


@dataclass(frozen=True)
class IssueColumn:
    name: str
    label: str
    kind: ColumnKind
    width: float  # relative width: characters in XLSX, a share of the line in PDF


ISSUE_COLUMNS: dict[str, IssueColumn] = {
    column.name: column
    for column in (
        IssueColumn("key", "Key", "text", 11),
        IssueColumn("summary", "Summary", "text", 48),
        IssueColumn("status", "Status", "text", 12),
        IssueColumn("issue_type", "Type", "text", 9),
        IssueColumn("priority", "Priority", "text", 9),
        IssueColumn("assignee", "Assignee", "text", 20),
        IssueColumn("story_points", "Story points", "integer", 8),
        IssueColumn("labels", "Labels", "text", 16),
        IssueColumn("created_at", "Created", "datetime", 16),
        IssueColumn("resolved_at", "Resolved", "datetime", 16),
    )
}

METRIC_LABELS: dict[str, str] = {
    "planned_points": "Planned points",
    "completed_points": "Completed points",
    "velocity": "Velocity",
    "completion_rate": "Completion rate (%)",
    "average_velocity": "Average velocity (last 3)",
    "capacity_hours": "Capacity (hours)",
    "issue_count": "Issues",
    "issues_to_do": "Issues: To Do",
    "issues_in_progress": "Issues: In Progress",
    "issues_in_review": "Issues: In Review",
    "issues_done": "Issues: Done",
}

DATETIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class SprintReport:
    sprint: SprintInfo
    members: pl.DataFrame
    issues: pl.DataFrame
    metrics: SprintMetrics

    def facts(self) -> list[tuple[str, str]]:
        """The sprint's basic facts as label/value text, in reading order."""
        sprint = self.sprint
        return [
            ("Sprint", sprint.name),
            ("Team", sprint.team_name),
            ("Status", sprint.status),
            ("Start", sprint.start_date.isoformat() if sprint.start_date else ""),
            ("End", sprint.end_date.isoformat() if sprint.end_date else ""),
            ("Goal", sprint.goal or ""),
        ]

    def metric_rows(self) -> list[tuple[str, int | float]]:
        return [(METRIC_LABELS.get(name, name), value) for name, value in self.metrics.scalars().items()]


def build_report(extract: SprintExtract, metrics: SprintMetrics) -> SprintReport:
    return SprintReport(sprint=extract.sprint, members=extract.members, issues=extract.issues, metrics=metrics)
