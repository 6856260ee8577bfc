"""Row progress of long exports: renderers report rows as they write, runs log it every tenth.

The issue: export steps over 10,000 rows log progress (rows written, rows/s,
ETA) at least every 10%, and a 50,000-row export emits those lines.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from itertools import accumulate

import polars as pl
import pytest
from dagster import instance_for_test

from sprint_exports.defs.exports.assets.files import ROW_PROGRESS_MIN, row_progress
from sprint_exports.formats import csv as csv_format
from sprint_exports.formats import get_format
from sprint_exports.exports.progress import Progress
from sprint_exports.instance.runner import export_sprints
from sprint_exports.source.database import connect
from sprint_exports.source.demo import seed_demo
from sprint_exports.source.readers import read_sprints
from sprint_exports.exports.store import write_export
from sprint_exports.templates import get_template

ROWS = 50_000
TENTH = ROWS // 10
CREATED = dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def big_report(make_report):
    """Demo sprint 1's issues repeated to 50,000, each with its own key (PLAT-1 … PLAT-50000)."""
    report = make_report(1)
    base = report.issues
    prefix = base["key"][0].split("-")[0]
    issues = pl.concat([base] * -(-ROWS // base.height)).head(ROWS)
    issues = issues.with_columns(key=pl.format(f"{prefix}-{{}}", pl.int_range(1, ROWS + 1)))
    assert issues["key"].n_unique() == ROWS
    return dataclasses.replace(report, issues=issues)


def render_with_progress(report, template, fmt: str, folder) -> tuple[int, list[int]]:
    calls: list[int] = []
    export = write_export(
        report, template, get_format(fmt), folder, created_at=CREATED, retention_days=30, on_rows=calls.append
    )
    return export.row_count, calls


def assert_every_tenth_reported(cumulative: list[int], total: int) -> None:
    """A report lands in every tenth of the way: between k/10 and (k+1)/10 of the rows, for k = 1..10."""
    for k in range(1, 11):
        low, high = k * total / 10, (k + 1) * total / 10
        assert any(low <= done < high for done in cumulative), f"nothing reported in tenth {k}"


@pytest.mark.parametrize(
    "fmt, template_name, rows",
    [
        ("csv", "sprint_summary", ROWS),
        ("xlsx", "sprint_summary", ROWS),  # grouped by status: slices restart in every group
        ("pdf", "sprint_summary", ROWS),  # a call per page
        ("csv", "issue_list", 12_345),  # just over the limit: still every tenth
        ("xlsx", "issue_list", 12_345),  # ungrouped: one table (fewer rows, to stay quick)
    ],
)
def test_renderers_report_rows_as_they_write(big_report, fmt, template_name, rows, tmp_path):
    report = dataclasses.replace(big_report, issues=big_report.issues.head(rows))
    row_count, calls = render_with_progress(report, get_template(template_name), fmt, tmp_path / "out")
    assert row_count == rows
    assert sum(calls) == rows, "the calls add up to the rows written"
    assert all(count > 0 for count in calls)
    assert len(calls) >= 10
    # No call covers more than a tenth, so no tenth is skipped by a single jump.
    assert max(calls) <= -(-rows // 10)
    cumulative = list(accumulate(calls))
    assert cumulative[-1] == rows
    assert_every_tenth_reported(cumulative, rows)
    # Fed to the shared Progress, the calls give a line at least every tenth of the rows:
    # exactly at each tenth for CSV and XLSX slices, within a page of it for the PDF.
    lines: list[str] = []
    progress = Progress(rows, f"rows written to {fmt}", lines.append)
    for count in calls:
        progress.advance(count)
    assert len(lines) >= 10
    assert lines[-1].startswith(f"{rows} of {rows} rows written to {fmt} (")
    logged = [0, *(int(line.split(" of ")[0]) for line in lines)]
    slack = max(calls) if fmt == "pdf" else 0
    assert max(b - a for a, b in zip(logged, logged[1:])) <= -(-rows // 10) + slack


def test_sliced_csv_is_byte_identical_to_one_write(big_report, default_template, tmp_path, monkeypatch):
    sliced = tmp_path / "sliced.csv"
    csv_format.render(big_report, default_template, sliced, on_rows=lambda _: None)
    monkeypatch.setattr(csv_format, "progress_slice_rows", lambda total, largest=None: max(total, 1))
    whole = tmp_path / "whole.csv"
    assert csv_format.render(big_report, default_template, whole) == ROWS
    assert sliced.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_short_and_empty_tables(make_report, default_template, empty_sprint_id, fmt, tmp_path):
    """A demo sprint (a few hundred issues) still adds up; the CSV writes it in one go; an empty one makes no call."""
    report = make_report(2)
    row_count, calls = render_with_progress(report, default_template, fmt, tmp_path / "short")
    assert sum(calls) == row_count == report.issues.height
    if fmt == "csv":
        assert calls == [row_count]
    row_count, calls = render_with_progress(make_report(empty_sprint_id), default_template, fmt, tmp_path / "empty")
    assert row_count == 0 and calls == []


def test_only_sprints_over_ten_thousand_rows_log_progress(make_report, big_report):
    lines: list[str] = []
    assert row_progress(make_report(1), "csv", lines.append) is None
    at_limit = dataclasses.replace(big_report, issues=big_report.issues.head(ROW_PROGRESS_MIN))
    assert row_progress(at_limit, "csv", lines.append) is None
    on_rows = row_progress(big_report, "csv", lines.append)
    assert on_rows is not None
    for _ in range(10):
        on_rows(TENTH)
    assert [line.split(" (")[0] for line in lines] == [f"{k * TENTH} of {ROWS} rows written to csv" for k in range(1, 11)]


@pytest.fixture(scope="module")
def big_tracker_url(tmp_path_factory) -> str:
    """A tracker with one sprint of 50,000 issues (with one sprint, it is the active one, not the empty one)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('big_tracker') / 'tracker.sqlite'}"
    seed_demo(url, sprints=1, issues_per_sprint=ROWS)
    engine = connect(url)
    try:
        extract = read_sprints(engine, [1])[1]
    finally:
        engine.dispose()
    assert extract.sprint.status == "active"
    assert extract.issues.height == ROWS
    return url


PROGRESS_LINE = re.compile(r"^(\d+) of 50000 rows written to csv \([\d,.]+ .*/s, ETA \d+ s\)$")


def test_a_50000_row_export_run_logs_progress(big_tracker_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SPRINT_SOURCE_URL", big_tracker_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    with instance_for_test() as instance:
        (outcome,) = export_sprints(instance, [1], ["csv"])
        assert outcome.success, outcome.error
        assert [record.row_count for record in outcome.files] == [ROWS]
        # What the run view shows: the run's events in the instance, as they were stored.
        events = [event for event in instance.all_logs(outcome.run_id) if PROGRESS_LINE.match(event.user_message)]
    assert len(events) >= 10, [event.user_message for event in events]
    assert {event.step_key for event in events} == {"sprint_csv"}
    done = [int(PROGRESS_LINE.match(event.user_message).group(1)) for event in events]
    assert done == sorted(done) and done[-1] == ROWS
    assert_every_tenth_reported(done, ROWS)
