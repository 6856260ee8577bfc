"""The contract's metrics against sprints computed by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from sprint_exports.report.metrics import compute_metrics
from sprint_exports.source.extract import ISSUE_SCHEMA, MEMBER_SCHEMA, TEAM_SPRINT_SCHEMA, SprintExtract, SprintInfo, frame

START, END = dt.date(2026, 3, 2), dt.date(2026, 3, 6)  # five days


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(START + dt.timedelta(days=day), dt.time(hour))


def issue(key: str, status: str, points: int | None, resolved: dt.datetime | None = None) -> tuple:
    return (key, f"Summary {key}", status, "Story", "Medium", "Ana", points, None, at(-3), resolved)


def extract(issues: list[tuple], *, status: str = "completed", history: list[tuple] = (), start=START, end=END) -> SprintExtract:
    info = SprintInfo(id=10, name="S10", team_id=1, team_name="Platform", status=status,
                      start_date=start, end_date=end, goal=None, updated_at=None)
    members = frame([("Ana", "ana@x", "Dev", 40), ("Bo", "bo@x", "QA", None), ("Cy", "cy@x", "Dev", 25)], MEMBER_SCHEMA)
    return SprintExtract(sprint=info, members=members, issues=frame(issues, ISSUE_SCHEMA),
                         team_sprints=frame(list(history), TEAM_SPRINT_SCHEMA))


HAND_SPRINT = [
    issue("P-1", "Done", 5, at(0)),
    issue("P-2", "Done", 3, at(2)),
    issue("P-3", "Done", None, at(1)),        # null points count as 0
    issue("P-4", "Done", 8, at(9)),           # resolved after the sprint ended: never burns down in it
    issue("P-5", "Done", 2, None),            # Done without a date: never burns down
    issue("P-6", "In Progress", 13),
    issue("P-7", "To Do", None),
    issue("P-8", "In Review", 1),
]


def test_points_rates_counts_and_capacity():
    metrics = compute_metrics(extract(HAND_SPRINT))
    assert metrics.planned_points == 5 + 3 + 8 + 2 + 13 + 1 == 32
    assert metrics.completed_points == 5 + 3 + 8 + 2 == 18
    assert metrics.velocity == 18
    assert metrics.completion_rate == 56.2  # 100 * 18 / 32 = 56.25, rounded to one decimal
    assert metrics.issue_count == 8
    assert metrics.status_counts == {"To Do": 1, "In Progress": 1, "In Review": 1, "Done": 5}
    assert metrics.capacity_hours == 65  # a null capacity counts as 0


def test_burndown_by_resolution_date_and_linear_ideal():
    burndown = compute_metrics(extract(HAND_SPRINT)).burndown
    assert burndown["day"].to_list() == [START + dt.timedelta(days=i) for i in range(5)]
    # day 0: P-1 (5) burns; day 1: P-3 (0); day 2: P-2 (3); P-4 after the end and P-5 without a date never.
    assert burndown["remaining_points"].to_list() == [27, 27, 24, 24, 24]
    assert burndown["ideal_points"].to_list() == [32.0, 24.0, 16.0, 8.0, 0.0]


def test_issue_resolved_before_the_sprint_counts_from_the_first_day():
    metrics = compute_metrics(extract([issue("P-1", "Done", 4, at(-2)), issue("P-2", "To Do", 6)]))
    assert metrics.burndown["remaining_points"].to_list() == [6] * 5


def test_empty_sprint_has_zero_metrics_and_a_flat_burndown():
    metrics = compute_metrics(extract([], status="planned"))
    assert (metrics.planned_points, metrics.completed_points, metrics.completion_rate, metrics.issue_count) == (0, 0, 0.0, 0)
    assert metrics.status_counts == {"To Do": 0, "In Progress": 0, "In Review": 0, "Done": 0}
    assert metrics.burndown["remaining_points"].to_list() == [0] * 5
    assert metrics.burndown["ideal_points"].to_list() == [0.0] * 5


def test_one_day_sprint_ideal_is_zero():
    metrics = compute_metrics(extract([issue("P-1", "To Do", 3)], start=START, end=START))
    assert metrics.burndown.rows() == [(START, 3, 0.0)]


def history_row(sprint_id: int, status: str, end: dt.date, velocity: int) -> tuple:
    return (sprint_id, f"S{sprint_id}", status, end - dt.timedelta(days=13), end, velocity)


def test_average_velocity_uses_last_three_completed_up_to_this_sprint_end():
    history = [
        history_row(1, "completed", dt.date(2026, 1, 9), 100),
        history_row(2, "completed", dt.date(2026, 1, 23), 10),
        history_row(3, "completed", dt.date(2026, 2, 6), 20),
        history_row(4, "completed", dt.date(2026, 2, 20), 30),
        history_row(11, "completed", dt.date(2026, 4, 3), 999),  # ends after this sprint: ignored
        history_row(12, "active", dt.date(2026, 3, 1), 50),     # not completed: ignored
        history_row(10, "completed", END, 18),                  # this sprint, completed: included
    ]
    metrics = compute_metrics(extract(HAND_SPRINT, history=history))
    assert metrics.average_velocity == pytest.approx((20 + 30 + 18) / 3)
    assert metrics.velocity_history["id"].to_list() == [1, 2, 3, 4, 10]


def test_average_velocity_with_fewer_than_three_or_none():
    two = [history_row(1, "completed", dt.date(2026, 1, 9), 7), history_row(2, "completed", dt.date(2026, 1, 23), 8)]
    assert compute_metrics(extract(HAND_SPRINT, status="active", history=two)).average_velocity == 7.5
    assert compute_metrics(extract(HAND_SPRINT, status="active")).average_velocity == 0.0


def test_demo_sprint_metrics_match_a_direct_computation(demo_extracts):
    """The batch reader's team history agrees with the sprint's own issues."""
    for sprint_id in (1, 2, 3):
        found = demo_extracts[sprint_id]
        metrics = compute_metrics(found)
        done = found.issues.filter(pl.col("status") == "Done")["story_points"].fill_null(0).sum()
        assert metrics.completed_points == done
        own = found.team_sprints.filter(pl.col("id") == sprint_id)["completed_points"].item()
        assert own == done
