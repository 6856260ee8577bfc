"""The report model: everything a renderer needs about one sprint, immutable.

Renderers read a `SprintReport` and a template and know nothing about the
database or Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from sprint_exports.report.metrics import DECIMALS, SprintMetrics
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
    "average_velocity": "Average velocity",  # see average_velocity_label: it says which sprints
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

    def metric_rows(self) -> list[tuple[str, int | float | str]]:
        return metric_rows(self.metrics)

    def burndown_notes(self) -> list[str]:
        return burndown_notes(self.metrics)

    def burndown_absence(self) -> str | None:
        """Why there is no burndown chart (no dates; nothing planned), or None when there is one."""
        if self.sprint.start_date is None or self.sprint.end_date is None:
            return "No burndown: the sprint has no start or end date."
        if self.metrics.planned_points == 0:
            return "No burndown: nothing planned, so nothing to burn down."
        return None


NOTHING_PLANNED = "nothing planned"


def metric_rows(metrics: SprintMetrics) -> list[tuple[str, int | float | str]]:
    """(label, value) of every single-number metric, as every format shows them.

    Values are `scalars()` (rounded once, there); a sprint with nothing planned
    has no completion rate, and says so instead of claiming 0.0.
    """
    rows: list[tuple[str, int | float | str]] = []
    for name, value in metrics.scalars().items():
        if name == "completion_rate" and metrics.planned_points == 0:
            value = NOTHING_PLANNED
        label = average_velocity_label(metrics) if name == "average_velocity" else METRIC_LABELS.get(name, name)
        rows.append((label, value))
    return rows


def average_velocity_label(metrics: SprintMetrics) -> str:
    """Which sprints the average is of: the team's last three completed ones, this one included when completed."""
    count, included = metrics.average_velocity_sprints, metrics.average_includes_sprint
    if count == 0:
        return "Average velocity (none completed yet)"
    if included:
        return "Average velocity (this sprint only)" if count == 1 else f"Average velocity (this and {count - 1} before)"
    return f"Average velocity (last {count} completed)"


def burndown_notes(metrics: SprintMetrics) -> list[str]:
    """Sentences that explain a burndown ending above `planned - completed`: Done work it cannot count."""
    notes = []
    for what, (issues, points) in (
        ("Done after the sprint ended", metrics.done_after_end),
        ("Done without a resolution date", metrics.done_without_resolution),
    ):
        if issues:
            notes.append(f"{what}: {issues} {'issue' if issues == 1 else 'issues'}, {points} {'point' if points == 1 else 'points'}")
    return notes


@dataclass(frozen=True)
class MetricsSummary:
    """A sprint's metrics as a reader sees them: labelled rows as text, the burndown's notes and points.

    Plain data (`as_json`/`from_json`), so the UI preview and the mail, which
    read it from the run's records, show exactly what the files show.
    """

    rows: tuple[tuple[str, str, str], ...]  # (metric name, label, text)
    notes: tuple[str, ...]
    burndown: tuple[tuple[str, int, float], ...]  # (ISO day, remaining, ideal)

    def as_json(self) -> dict:
        return {"rows": [list(row) for row in self.rows], "notes": list(self.notes), "burndown": [list(p) for p in self.burndown]}

    @classmethod
    def from_json(cls, data: dict) -> MetricsSummary:
        return cls(
            rows=tuple((str(n), str(label), str(text)) for n, label, text in data.get("rows", [])),
            notes=tuple(str(note) for note in data.get("notes", [])),
            burndown=tuple((str(day), int(left), float(ideal)) for day, left, ideal in data.get("burndown", [])),
        )

    def markdown(self) -> str:
        """The UI's preview: the rows as a table, then the notes."""
        lines = ["| metric | value |", "| --- | --- |", *(f"| {label} | {text} |" for _, label, text in self.rows)]
        return "\n".join([*lines, *(["", *(f"- {note}" for note in self.notes)] if self.notes else [])])


def metrics_summary(metrics: SprintMetrics) -> MetricsSummary:
    names = list(metrics.scalars())
    return MetricsSummary(
        rows=tuple((name, label, display_number(value)) for name, (label, value) in zip(names, metric_rows(metrics))),
        notes=tuple(burndown_notes(metrics)),
        burndown=tuple(
            (day.isoformat(), int(left), float(ideal))
            for day, left, ideal in metrics.burndown.select("day", "remaining_points", "ideal_points").iter_rows()
        ),
    )


def display_number(value: int | float | str) -> str:
    """A metric as text, the one way every report writes it: whole numbers as they are, others to one decimal."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.{DECIMALS}f}"
    return str(value)


def build_report(extract: SprintExtract, metrics: SprintMetrics) -> SprintReport:
    return SprintReport(sprint=extract.sprint, members=extract.members, issues=extract.issues, metrics=metrics)
