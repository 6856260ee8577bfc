"""Connecting to the tracker database, with errors a person can act on.

The default source is the embedded demo database, created on first use; any
other URL must point at an existing tracker, which we never write to.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from sprint_exports import settings

REQUIRED_TABLES = ("teams", "users", "team_members", "sprints", "issues")


class SourceUnavailableError(RuntimeError):
    """The tracker database cannot be reached or is not a tracker database."""


def masked_url(url: str) -> str:
    """The URL as it may appear in logs and messages: password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def normalise_url(url: str) -> str:
    """Map plain PostgreSQL URLs to psycopg2, the driver dagster-postgres installs.

    SQLAlchemy 2.1 maps `postgresql://` to psycopg 3, which we do not install.
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def connect(url: str | None = None) -> Engine:
    """An engine for the tracker, checked to answer and to hold the tracker tables."""
    url = url or settings.source_url()
    if url == settings.default_source_url():
        ensure_demo_database(settings.demo_database_path())
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise SourceUnavailableError(
            f"SPRINT_SOURCE_URL {masked_url(url)!r} is not a SQLAlchemy URL "
            "(e.g. sqlite:////path/tracker.db or postgresql://user@host:5432/db)"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            raise SourceUnavailableError(
                f"Tracker database {masked_url(url)} does not exist: no file at {parsed.database}"
            )
    engine = create_engine(parsed)
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
    except SQLAlchemyError as error:
        engine.dispose()
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise SourceUnavailableError(f"Cannot reach the tracker database {masked_url(url)}: {reason}") from None
    missing = [table for table in REQUIRED_TABLES if table not in present]
    if missing:
        engine.dispose()
        raise SourceUnavailableError(
            f"Tracker database {masked_url(url)} lacks the tables {', '.join(missing)}; "
            f"a tracker needs {', '.join(REQUIRED_TABLES)}"
        )
    return engine


def ensure_demo_database(path: Path) -> None:
    """Seed the demo tracker at `path` unless it exists.

    Seeds into a temporary file and renames it into place, so a concurrent
    reader never sees a half-seeded database.
    """
    if path.exists():
        return
    from sprint_exports.source.demo import seed_demo  # the generator is only needed once

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    seed_demo(f"sqlite:///{temporary}")
    temporary.replace(path)
