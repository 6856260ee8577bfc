"""Settings read from the environment (the contract's configuration table).

Every default lives here so the CLI, the Dagster shell and the tests agree on
where the demo database and the export files are.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650  # ten years; beyond that a date overflows long before anyone reads the file
RETENTION_ALLOWED = f"use a whole number of days from 1 to {MAX_RETENTION_DAYS}"


def instance_home() -> Path:
    """The Dagster instance's home; a `.dagster_home` in the working folder if unset."""
    return Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()


def demo_database_path() -> Path:
    return instance_home() / "demo_tracker.sqlite"


def default_source_url() -> str:
    return f"sqlite:///{demo_database_path()}"


def source_url() -> str:
    return os.environ.get("SPRINT_SOURCE_URL") or default_source_url()


def exports_dir() -> Path:
    configured = os.environ.get("SPRINT_EXPORTS_DIR")
    return Path(configured).resolve() if configured else instance_home() / "exports"


def retention_days() -> int:
    raw = os.environ.get("SPRINT_EXPORTS_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS))
    return check_retention_days(raw, "SPRINT_EXPORTS_RETENTION_DAYS")


def check_retention_days(raw: str | int, name: str) -> int:
    """The one retention check (setting, schedule entry, run tag): `raw` as days, or an error naming `name`."""
    value = _at_least_one(name, str(raw), RETENTION_ALLOWED)
    if value > MAX_RETENTION_DAYS:
        raise ValueError(f"{name}={str(raw)!r} is not allowed: {RETENTION_ALLOWED}")
    return value


def render_processes() -> int:
    """SPRINT_EXPORTS_RENDER_PROCESSES: worker processes rendering a bulk export; default one per usable core."""
    raw = os.environ.get("SPRINT_EXPORTS_RENDER_PROCESSES")
    if raw is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return _at_least_one(
        "SPRINT_EXPORTS_RENDER_PROCESSES", raw, "use a whole number, 1 or more (1 renders in the run's own process)"
    )


def _at_least_one(name: str, raw: str, allowed: str) -> int:
    """`raw` as a whole number of at least 1, or an error naming the variable, its value and what is allowed."""
    value = int(raw) if raw.strip().isdecimal() and len(raw.strip()) <= 9 else 0
    if value < 1:
        raise ValueError(f"{name}={raw!r} is not allowed: {allowed}")
    return value


def templates_dir() -> Path:
    """Custom templates: SPRINT_EXPORT_TEMPLATES_DIR, else `templates/` in the working folder."""
    configured = os.environ.get("SPRINT_EXPORT_TEMPLATES_DIR")
    return Path(configured).resolve() if configured else Path.cwd() / "templates"


def schedules_file() -> Path:
    """SPRINT_EXPORT_SCHEDULES, else `export_schedules.yaml` in the working folder (the repo top)."""
    configured = os.environ.get("SPRINT_EXPORT_SCHEDULES")
    return Path(configured).resolve() if configured else Path.cwd() / "export_schedules.yaml"


def delivery_ledger_url() -> str:
    """Where delivery outcomes are kept: SPRINT_DELIVERY_LEDGER_URL, else SQLite beside the instance."""
    return os.environ.get("SPRINT_DELIVERY_LEDGER_URL") or f"sqlite:///{instance_home() / 'delivery_ledger.sqlite'}"


# The portal (sprint_exports.portal) and what the Dagster shell shares with it.
DEFAULT_PORTAL_URL = "http://127.0.0.1:3001"
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000/graphql"


def portal_url() -> str:
    """SPRINT_EXPORTS_PORTAL_URL: the portal's public base URL, without a trailing slash."""
    return (os.environ.get("SPRINT_EXPORTS_PORTAL_URL") or DEFAULT_PORTAL_URL).rstrip("/")


def dagster_graphql_url() -> str:
    """SPRINT_EXPORTS_DAGSTER_URL: the GraphQL endpoint the portal launches runs through."""
    return os.environ.get("SPRINT_EXPORTS_DAGSTER_URL") or DEFAULT_DAGSTER_URL


def portal_db_url() -> str:
    """SPRINT_EXPORTS_PORTAL_DB_URL: tokens, sessions, subscriptions, download log; else SQLite in the instance folder."""
    return os.environ.get("SPRINT_EXPORTS_PORTAL_DB_URL") or f"sqlite:///{instance_home() / 'portal.sqlite'}"


def auth_header() -> str | None:
    """SPRINT_EXPORTS_AUTH_HEADER: the SSO proxy's identity header (e.g. X-Forwarded-Email); unset: off."""
    return (os.environ.get("SPRINT_EXPORTS_AUTH_HEADER") or "").strip() or None


def trusted_proxies() -> tuple[str, ...]:
    """SPRINT_EXPORTS_TRUSTED_PROXIES: comma-separated addresses or networks whose identity header is believed."""
    raw = os.environ.get("SPRINT_EXPORTS_TRUSTED_PROXIES") or ""
    return tuple(part.strip() for part in raw.split(",") if part.strip())
