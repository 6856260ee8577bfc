"""Shared fixtures: a seeded demo tracker and reports built from it.

Tests never touch the developer's instance: DAGSTER_HOME, the exports folder
and the source URL point into a temporary folder for the whole session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sprint_exports.report.metrics import compute_metrics
from sprint_exports.report.model import SprintReport, build_report
from sprint_exports.source.database import connect
from sprint_exports.source.demo import seed_demo
from sprint_exports.source.readers import read_sprints
from sprint_exports.templates import DEFAULT_TEMPLATE, Template, get_template


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("dagster_home")
    saved = {name: os.environ.get(name) for name in ("DAGSTER_HOME", "SPRINT_EXPORTS_DIR", "SPRINT_SOURCE_URL")}
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["SPRINT_EXPORTS_DIR"] = str(home / "exports")
    os.environ.pop("SPRINT_SOURCE_URL", None)
    yield home
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A demo tracker (30 sprints, seed 7) in its own SQLite file, shared read-only by tests."""
    path = tmp_path_factory.mktemp("tracker") / "tracker.sqlite"
    seed_demo(f"sqlite:///{path}")
    return f"sqlite:///{path}"


@pytest.fixture
def seeded_tracker(tmp_path, monkeypatch):
    """`seeded_tracker(sprints, issues_per_sprint)`: a fresh demo tracker a test may change, made the source."""

    def seed(sprints: int, issues_per_sprint: int) -> str:
        url = f"sqlite:///{tmp_path / 'tracker.sqlite'}"
        seed_demo(url, sprints=sprints, issues_per_sprint=issues_per_sprint)
        monkeypatch.setenv("SPRINT_SOURCE_URL", url)
        return url

    return seed


@pytest.fixture(scope="session")
def demo_extracts(demo_url: str):
    engine = connect(demo_url)
    try:
        return read_sprints(engine, range(1, 31))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def make_report(demo_extracts):
    """`make_report(sprint_id)`: the report model of one demo sprint."""

    def make(sprint_id: int) -> SprintReport:
        extract = demo_extracts[sprint_id]
        return build_report(extract, compute_metrics(extract))

    return make


@pytest.fixture(scope="session")
def default_template() -> Template:
    return get_template(DEFAULT_TEMPLATE)


def completed_sprint_with_awkward_text(demo_extracts) -> int:
    """A completed demo sprint whose summaries include formula-like text."""
    for sprint_id, extract in demo_extracts.items():
        summaries = extract.issues["summary"]
        if extract.sprint.status == "completed" and summaries.str.starts_with("=").any():
            return sprint_id
    raise AssertionError("the demo data lost its formula-like summaries")


@pytest.fixture(scope="session")
def awkward_sprint_id(demo_extracts) -> int:
    return completed_sprint_with_awkward_text(demo_extracts)


@pytest.fixture(scope="session")
def empty_sprint_id(demo_extracts) -> int:
    return next(sprint_id for sprint_id, extract in demo_extracts.items() if extract.issues.is_empty())




POSTGRES_ADMIN_URL = os.environ.get("SPRINT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


# The production configs (PostgreSQL storage, Celery) refuse to load without a key, as a deployment would.
PRODUCTION_SECRET_KEY = "sprint-exports-test-key-" + "0" * 40


def services_required() -> bool:
    """On CI the PostgreSQL and Redis tests must run; on a laptop they may skip."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_postgres(engine, shown_url: str, what: str) -> None:
    """Return if PostgreSQL answers; otherwise fail on CI, or skip with a printed reason on a laptop."""
    from sqlalchemy.exc import OperationalError

    try:
        with engine.connect():
            return
    except OperationalError as error:
        engine.dispose()
        message = f"PostgreSQL not reachable at {shown_url}: {str(error.orig).strip()}"
    if services_required():
        pytest.fail(f"{message} (required on CI)")
    print(f"\nSKIPPING {what}: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh schema in the local PostgreSQL `test` database, dropped afterwards."""
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_ADMIN_URL)
    require_postgres(engine, POSTGRES_ADMIN_URL, "PostgreSQL tests")
    schema = f"sprint_exports_test_{os.getpid()}"
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES_ADMIN_URL}?options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()
