"""Reading sprints from the tracker: SQLite demo database and real PostgreSQL."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from sprint_exports.source.database import SourceUnavailableError, connect, masked_url
from sprint_exports.source.demo import PEOPLE, seed_demo
from sprint_exports.source.extract import ISSUE_SCHEMA
from sprint_exports.source.readers import UnknownSprintError, list_sprints, read_sprints


def check_demo_extracts(url: str) -> None:
    """What every backend must give for the default demo data."""
    engine = connect(url)
    try:
        sprints = list_sprints(engine)
        extracts = read_sprints(engine, sprints["id"].to_list())
    finally:
        engine.dispose()
    assert sprints.height == 30
    assert sprints["id"].to_list() == list(range(1, 31))
    assert set(sprints["status"]) == {"planned", "active", "completed"}
    assert set(sprints["team_name"]) == {"Platform", "Payments", "Mobile"}

    issue_counts = [extract.issues.height for extract in extracts.values()]
    assert sorted(issue_counts)[0] == 0, "one demo sprint is empty"
    assert all(50 <= n <= 300 for n in sorted(issue_counts)[1:])

    first = extracts[1]
    assert first.sprint.name == "Platform Sprint 1" and first.sprint.team_name == "Platform"
    assert first.sprint.start_date == dt.date(2026, 1, 5)
    assert dict(first.issues.schema) == ISSUE_SCHEMA
    assert first.issues["key"].str.starts_with("PLAT-").all()
    assert "Иван Петров" in first.members["name"].to_list()
    assert set(first.issues["assignee"].drop_nulls()) <= set(first.members["name"])

    every_issue = pl.concat([extract.issues for extract in extracts.values()])
    assert every_issue["story_points"].null_count() > 0
    assert every_issue["summary"].str.contains(r"^[=+\-@]").sum() > 0
    assert every_issue["summary"].str.contains("\n").any()
    resolved_late = [
        extract.issues.filter(pl.col("resolved_at").dt.date() > extract.sprint.end_date).height
        for extract in extracts.values()
    ]
    assert sum(resolved_late) > 0
    assert {name for name, *_ in PEOPLE} >= set(every_issue["assignee"].drop_nulls())


@pytest.fixture(scope="module")
def postgres_demo_url(postgres_url):
    """The demo tracker in the session's PostgreSQL schema, seeded once for this module."""
    seed_demo(postgres_url)
    return postgres_url


def test_demo_extract_on_sqlite(demo_url):
    check_demo_extracts(demo_url)


def test_demo_extract_on_postgresql(postgres_demo_url):
    check_demo_extracts(postgres_demo_url)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_issues_fetched_in_small_batches_read_the_same_as_in_one(backend, request):
    """A sprint larger than a fetch batch (on PostgreSQL a server-side cursor) reads exactly as
    one fetch does, in every sprint of a multi-sprint batch, empty sprint included."""
    url = request.getfixturevalue("demo_url" if backend == "sqlite" else "postgres_demo_url")
    engine = connect(url)
    try:
        whole = read_sprints(engine, range(1, 31), fetch_rows=1_000_000)
        batched = read_sprints(engine, range(1, 31), fetch_rows=7)
    finally:
        engine.dispose()
    assert max(extract.issues.height for extract in whole.values()) > 7
    assert batched.keys() == whole.keys()
    for sprint_id, extract in whole.items():
        assert batched[sprint_id].issues.schema == extract.issues.schema
        assert batched[sprint_id].issues.equals(extract.issues), f"sprint {sprint_id}"


def test_same_seed_same_data(tmp_path):
    frames = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.sqlite"
        seed_demo(url, sprints=6, issues_per_sprint=20, seed=3)
        engine = connect(url)
        frames.append(pl.concat([e.issues for e in read_sprints(engine, range(1, 7)).values()]))
        engine.dispose()
    assert frames[0].equals(frames[1])
    assert frames[0].height == 5 * 20  # the last planned sprint is always empty


def test_unknown_sprint_is_named(demo_url):
    engine = connect(demo_url)
    with pytest.raises(UnknownSprintError, match="999"):
        read_sprints(engine, [1, 999])
    engine.dispose()


def test_unreachable_database_is_named_with_password_masked():
    url = "postgresql://exporter:s3cret@127.0.0.1:1/tracker"
    with pytest.raises(SourceUnavailableError) as raised:
        connect(url)
    message = str(raised.value)
    assert "127.0.0.1:1/tracker" in message and "s3cret" not in message and "***" in message


def test_missing_sqlite_file_and_non_tracker_database(tmp_path):
    with pytest.raises(SourceUnavailableError, match="does not exist"):
        connect(f"sqlite:///{tmp_path}/nope.sqlite")
    (tmp_path / "other.sqlite").touch()
    with pytest.raises(SourceUnavailableError, match="lacks the tables"):
        connect(f"sqlite:///{tmp_path}/other.sqlite")
    with pytest.raises(SourceUnavailableError, match="not a SQLAlchemy URL"):
        connect("not a url")


def test_masked_url_hides_password():
    assert masked_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
