"""The CSV export, read back with the csv module."""

from __future__ import annotations

import csv
import hashlib
import io

import polars as pl
import pytest

from sprint_exports.formats import get_format
from sprint_exports.templates import Template, get_template

HEADER = ["Key", "Summary", "Status", "Type", "Priority", "Assignee", "Story points", "Labels", "Created", "Resolved"]


@pytest.fixture(scope="module")
def issue_list() -> Template:
    """Every column, ungrouped, sorted by key: the plain issue table."""
    return get_template("issue_list")


def render_csv(report, template, path) -> tuple[bytes, list[list[str]]]:
    rows_written = get_format("csv").render(report, template, path)
    raw = path.read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows_written == len(rows) - 1
    return raw, rows


def test_issue_table_with_bom_header_and_every_issue(make_report, issue_list, awkward_sprint_id, tmp_path):
    report = make_report(awkward_sprint_id)
    raw, rows = render_csv(report, issue_list, tmp_path / "out.csv")
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so Excel reads non-ASCII text"
    assert b"\r\n" in raw
    assert rows[0] == HEADER
    assert sorted(row[0] for row in rows[1:]) == sorted(report.issues["key"].to_list())
    assert len(rows) - 1 == report.issues.height


def test_formula_text_is_neutralised_and_the_rest_intact(make_report, issue_list, awkward_sprint_id, tmp_path):
    report = make_report(awkward_sprint_id)
    _, rows = render_csv(report, issue_list, tmp_path / "out.csv")
    by_key = {row[0]: row for row in rows[1:]}
    for issue in report.issues.iter_rows(named=True):
        cell = by_key[issue["key"]][1]
        summary = issue["summary"]
        if summary[0] in "=+-@\t\r":
            assert cell == "'" + summary
        else:
            assert cell == summary  # commas, quotes, newlines and emoji survive RFC 4180 quoting
    assert any(row[1].startswith("'=") for row in rows[1:])


def test_unicode_numbers_and_dates(make_report, issue_list, tmp_path):
    report = make_report(1)
    _, rows = render_csv(report, issue_list, tmp_path / "out.csv")
    assignees = {row[5] for row in rows[1:]}
    assert "Иван Петров" in assignees
    issues = {i["key"]: i for i in report.issues.iter_rows(named=True)}
    for row in rows[1:]:
        issue = issues[row[0]]
        assert row[6] == ("" if issue["story_points"] is None else str(issue["story_points"]))
        assert row[8] == issue["created_at"].strftime("%Y-%m-%d %H:%M")
        assert row[9] == ("" if issue["resolved_at"] is None else issue["resolved_at"].strftime("%Y-%m-%d %H:%M"))


def test_rows_sorted_by_key_as_people_read_them(make_report, issue_list, tmp_path):
    _, rows = render_csv(make_report(2), issue_list, tmp_path / "out.csv")
    numbers = [int(row[0].split("-")[1]) for row in rows[1:]]
    assert numbers == sorted(numbers)


def test_empty_sprint_has_just_the_header(make_report, issue_list, empty_sprint_id, tmp_path):
    _, rows = render_csv(make_report(empty_sprint_id), issue_list, tmp_path / "out.csv")
    assert rows == [HEADER]


def test_same_data_same_bytes(make_report, issue_list, tmp_path):
    report = make_report(4)
    first, _ = render_csv(report, issue_list, tmp_path / "a.csv")
    second, _ = render_csv(report, issue_list, tmp_path / "b.csv")
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()


def test_template_without_issues_writes_key_values(make_report, tmp_path):
    template = Template.model_validate(
        {"name": "metrics_only", "fields": {"issues": False, "team_info": False}, "format_options": {}}
    )
    report = make_report(1)
    _, rows = render_csv(report, template, tmp_path / "out.csv")
    assert rows[0] == ["section", "name", "value"]
    values = {(row[0], row[1]): row[2] for row in rows[1:]}
    assert values[("sprint", "Sprint")] == report.sprint.name
    assert values[("metrics", "Planned points")] == str(report.metrics.planned_points)
    assert not any(row[0] == "team" for row in rows[1:])


def test_neutralise_covers_every_trigger(make_report, issue_list, tmp_path):
    report = make_report(1)
    triggers = ["=1+1", "+1", "-2", "@SUM(1)", "\tx", "\rx", "plain", "a=b"]
    issues = report.issues.head(len(triggers)).with_columns(pl.Series("summary", triggers))
    report = type(report)(sprint=report.sprint, members=report.members, issues=issues, metrics=report.metrics)
    _, rows = render_csv(report, issue_list, tmp_path / "out.csv")
    got = {row[1] for row in rows[1:]}
    assert got == {"'=1+1", "'+1", "'-2", "'@SUM(1)", "'\tx", "'\rx", "plain", "a=b"}


def test_default_template_groups_by_status_with_the_group_column_first(make_report, default_template, tmp_path):
    report = make_report(4)
    _, rows = render_csv(report, default_template, tmp_path / "out.csv")
    assert rows[0] == ["Status"] + [label for label in HEADER if label != "Status"]
    statuses = [row[0] for row in rows[1:]]
    order = ["To Do", "In Progress", "In Review", "Done"]
    assert statuses == sorted(statuses, key=order.index), "groups in workflow order"
    for status in set(statuses):
        numbers = [int(row[1].split("-")[1]) for row in rows[1:] if row[0] == status]
        assert numbers == sorted(numbers), f"sorted by key within {status}"


def with_issues(report, **columns: list):
    """`report` with its first issues' columns replaced by `columns` (every list the same length)."""
    size = len(next(iter(columns.values())))
    issues = report.issues.head(size).with_columns(
        pl.Series(name, values, dtype=pl.String) for name, values in columns.items()
    )
    return type(report)(sprint=report.sprint, members=report.members, issues=issues, metrics=report.metrics)


def keys_in_file(report, template, tmp_path) -> list[str]:
    _, rows = render_csv(report, template, tmp_path / "out.csv")
    column = rows[0].index("Key")
    return [row[column] for row in rows[1:]]


@pytest.mark.parametrize("sort_by, expected", [
    ("key", ["PAY-2", "PAY-10", "PAY-", "PLAT-7", "PLAT-07", "PLAT-9", "PLAT-10", ""]),
    ("-key", ["PLAT-10", "PLAT-9", "PLAT-7", "PLAT-07", "PAY-10", "PAY-2", "PAY-", ""]),
])
def test_keys_of_several_projects_sort_by_project_then_number(make_report, sort_by, expected, tmp_path):
    """Projects alphabetically, numbers as numbers, a key without a number after its project's
    numbered keys, a missing key last; equal numbers (7 and 07) keep the tracker's order."""
    tracker_order = ["PLAT-10", "PAY-2", "PLAT-9", "PAY-10", "PLAT-7", "PLAT-07", None, "PAY-"]
    template = Template.model_validate({"name": "keys", "format_options": {"sort_by": sort_by}})
    assert keys_in_file(with_issues(make_report(1), key=tracker_order), template, tmp_path) == expected


def test_keys_of_one_project_put_a_missing_key_after_a_bare_prefix(make_report, issue_list, tmp_path):
    report = with_issues(make_report(1), key=["PLAT-10", "PLAT-", None, "PLAT-9"])
    assert keys_in_file(report, issue_list, tmp_path) == ["PLAT-9", "PLAT-10", "PLAT-", ""]


def test_unknown_statuses_follow_the_workflow_alphabetically_and_no_status_comes_last(
    make_report, default_template, tmp_path
):
    statuses = ["Done", "Blocked", None, "To Do", "Archived", "In Review", "Done"]
    report = with_issues(make_report(1), status=statuses, key=[f"PLAT-{n}" for n in (7, 6, 5, 4, 3, 2, 1)])
    _, rows = render_csv(report, default_template, tmp_path / "out.csv")
    assert [row[:2] for row in rows[1:]] == [
        ["To Do", "PLAT-4"],
        ["In Review", "PLAT-2"],
        ["Done", "PLAT-1"],
        ["Done", "PLAT-7"],
        ["Archived", "PLAT-3"],
        ["Blocked", "PLAT-6"],
        ["", "PLAT-5"],
    ]


def test_text_that_only_looks_close_to_a_formula_is_left_alone(make_report, issue_list, tmp_path):
    summaries = ["1+1", " =SUM(A1)", '"=x"', "", "(-)", "?", "A=1", "=x"]
    report = with_issues(make_report(1), summary=summaries)
    _, rows = render_csv(report, issue_list, tmp_path / "out.csv")
    assert sorted(row[1] for row in rows[1:]) == sorted([*summaries[:-1], "'=x"])


def test_neutralising_leaves_the_report_for_other_formats_untouched(
    make_report, issue_list, awkward_sprint_id, tmp_path
):
    report = make_report(awkward_sprint_id)
    before = report.issues.clone()
    render_csv(report, issue_list, tmp_path / "out.csv")
    assert report.issues.equals(before)
    assert report.issues["summary"].str.starts_with("=").any(), "XLSX and PDF still get the text as written"
