"""Opening the portal database (SPRINT_EXPORTS_PORTAL_DB_URL), creating its tables on first use."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

from sprint_exports import settings
from sprint_exports.portal_db.tables import metadata
from sprint_exports.source.database import normalise_url


def open_portal_db(url: str | None = None) -> Engine:
    """An engine on the portal database with every table present."""
    url = normalise_url(url or settings.portal_db_url())
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _wal(connection, _record) -> None:  # the portal and the sensor's code server share the file
            connection.execute("PRAGMA journal_mode=WAL")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _create_tables(engine)
    return engine


def _create_tables(engine: Engine) -> None:
    """Create the missing tables. The portal and the subscription sensor's code server may both do
    it on a fresh database at once; the one that loses the race finds a table the other just made
    ("already exists") and looks again, when `create_all` skips what is there. Each lost race is
    one more table made, so one try per table and a last one always get through."""
    attempts = len(metadata.tables) + 1
    for attempt in range(1, attempts + 1):
        try:
            metadata.create_all(engine)
            return
        except DBAPIError:
            if attempt == attempts:
                raise


def secret_hash(secret: str) -> str:
    """What is stored for a token, session id or sign-in link: enough to recognise it, not to use it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every stored moment is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
