"""Settings read from the environment (the contract's configuration table).

Every default lives here so the CLI, the Dagster shell and the tests agree on
where the demo database and the export files are. Each setting is checked
where it is read: a bad value raises `SettingError`, whose message names the
variable, its value (never for secrets) and what is allowed.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from sprint_exports.exports.object_path import ObjectPath

if TYPE_CHECKING:
    from sprint_exports.delivery.smtp import SmtpSettings

DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650  # ten years; beyond that a date overflows long before anyone reads the file
RETENTION_ALLOWED = f"use a whole number of days from 1 to {MAX_RETENTION_DAYS}"
TEMPLATES_DIR_ENV = "SPRINT_EXPORT_TEMPLATES_DIR"
SECRET_KEY_ENV = "SPRINT_EXPORTS_SECRET_KEY"
SECRET_KEY_FILE = "sprint_exports_secret_key"  # the demo's generated key, in the instance folder
MIN_SECRET_KEY_LENGTH = 32


class SettingError(ValueError):
    """An environment setting (or run option) that is not allowed; the message says what is."""


def instance_home() -> Path:
    """The Dagster instance's home; a `.dagster_home` in the working folder if unset."""
    return Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()


def demo_database_path() -> Path:
    return instance_home() / "demo_tracker.sqlite"


def default_source_url() -> str:
    return f"sqlite:///{demo_database_path()}"


def source_url() -> str:
    return os.environ.get("SPRINT_SOURCE_URL") or default_source_url()


EXPORTS_DIR_ENV = "SPRINT_EXPORTS_DIR"
EXPORTS_DIR_ALLOWED = (
    "use a local folder, or s3://bucket/prefix for S3 or an S3-compatible store "
    "(endpoint and credentials from AWS_ENDPOINT_URL and the other AWS_* variables)"
)
# `name:` at the start, two characters or more (so a Windows drive `C:` stays a path): a URL, not a folder.
URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def exports_dir() -> Path | ObjectPath:
    """SPRINT_EXPORTS_DIR: a local folder (default `exports/` in the instance folder) or an `s3://bucket/prefix`.

    Any other URL is refused: resolved as a path, `gs://b/x` would quietly become a folder named `gs:`.
    """
    configured = os.environ.get(EXPORTS_DIR_ENV)
    if not configured:
        return instance_home() / "exports"
    scheme = URL_SCHEME.match(configured)
    if scheme is None:
        return Path(configured).resolve()
    if scheme.group(1).lower() != "s3":
        raise SettingError(f"{EXPORTS_DIR_ENV}={configured!r} is not allowed: {scheme.group(1)}: is not a supported store; {EXPORTS_DIR_ALLOWED}")
    try:
        return ObjectPath.parse(configured)
    except ValueError as problem:
        raise SettingError(f"{EXPORTS_DIR_ENV}={configured!r} is not allowed: {problem}; {EXPORTS_DIR_ALLOWED}") from None


def s3_endpoint_url() -> str | None:
    """The S3-compatible endpoint (MinIO, Ceph, R2...): AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; None for AWS itself."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def retention_days() -> int:
    raw = os.environ.get("SPRINT_EXPORTS_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS))
    return check_retention_days(raw, "SPRINT_EXPORTS_RETENTION_DAYS")


def check_retention_days(raw: str | int, name: str) -> int:
    """The one retention check (setting, schedule entry, run tag): `raw` as days, or an error naming `name`."""
    return whole_number(name, raw, 1, MAX_RETENTION_DAYS, RETENTION_ALLOWED)


def render_processes() -> int:
    """SPRINT_EXPORTS_RENDER_PROCESSES: worker processes rendering a bulk export; default one per usable core."""
    raw = os.environ.get("SPRINT_EXPORTS_RENDER_PROCESSES")
    if raw is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return whole_number(
        "SPRINT_EXPORTS_RENDER_PROCESSES", raw, 1, 1024, "use a whole number from 1 to 1024 (1 renders in the run's own process)"
    )


def whole_number(name: str, raw: str | int, lowest: int, highest: int, allowed: str) -> int:
    """`raw` as a whole number from `lowest` to `highest`, or an error naming the variable, its value and what is allowed."""
    text = str(raw).strip()
    # Ten digits at most: enough for any bound here, and no giant string reaches int().
    value = int(text) if text.isdecimal() and text.isascii() and len(text) <= 10 else None
    if value is None or not lowest <= value <= highest:
        raise SettingError(f"{name}={str(raw)!r} is not allowed: {allowed}")
    return value


def seconds(name: str, raw: str, lowest: float, highest: float, allowed: str) -> float:
    """`raw` as a number of seconds from `lowest` to `highest`, or an error naming the variable."""
    try:
        value = float(raw.strip())
    except ValueError:
        value = float("nan")
    if not lowest <= value <= highest:  # also refuses nan and inf
        raise SettingError(f"{name}={raw!r} is not allowed: {allowed}")
    return value


def templates_dir() -> Path:
    """Custom templates: SPRINT_EXPORT_TEMPLATES_DIR (an existing folder), else `templates/` in the working folder."""
    configured = os.environ.get(TEMPLATES_DIR_ENV)
    if not configured:
        return Path.cwd() / "templates"
    folder = Path(configured).resolve()
    if not folder.exists():
        problem = "no such folder"
    elif not folder.is_dir():
        problem = "it is a file, not a folder"
    else:
        return folder
    raise SettingError(
        f"{TEMPLATES_DIR_ENV}={configured!r} is not allowed: {problem}; name a folder of template YAML files, "
        "or unset it to use templates/ in the working folder"
    )


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


def portal_url_if_set() -> str | None:
    """SPRINT_EXPORTS_PORTAL_URL only when it is set: the Dagster UI links to a portal someone deployed."""
    return os.environ.get("SPRINT_EXPORTS_PORTAL_URL", "").rstrip("/") or None


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


def smtp_settings() -> SmtpSettings:
    """The mail server from the SMTP_* variables, each checked; the password is never shown."""
    from sprint_exports.delivery.smtp import SECURITY_CHOICES, SmtpSettings

    env = os.environ
    security = env.get("SMTP_SECURITY") or "none"
    if security not in SECURITY_CHOICES:
        raise SettingError(f"SMTP_SECURITY={security!r} is not allowed: use one of {', '.join(SECURITY_CHOICES)}")
    ca_file = env.get("SMTP_CA_FILE") or None
    if ca_file is not None and not Path(ca_file).is_file():
        raise SettingError(f"SMTP_CA_FILE={ca_file!r} is not allowed: name a PEM file of CA certificates that exists")
    return SmtpSettings(
        host=env.get("SMTP_HOST") or "localhost",
        port=whole_number("SMTP_PORT", env.get("SMTP_PORT") or "25", 1, 65535, "use a port number from 1 to 65535"),
        username=env.get("SMTP_USERNAME") or None,
        password=env.get("SMTP_PASSWORD") or None,
        security=security,  # type: ignore[arg-type]  (checked above)
        from_address=env.get("SMTP_FROM") or "sprint-exports@localhost",
        timeout_seconds=seconds(
            "SMTP_TIMEOUT_SECONDS", env.get("SMTP_TIMEOUT_SECONDS") or "60", 0.1, 3600, "use seconds from 0.1 to 3600"
        ),
        ca_file=ca_file,
        max_attempts=whole_number("SMTP_MAX_ATTEMPTS", env.get("SMTP_MAX_ATTEMPTS") or "5", 1, 20, "use 1 to 20"),
        backoff_seconds=seconds(
            "SMTP_BACKOFF_SECONDS", env.get("SMTP_BACKOFF_SECONDS") or "2", 0, 600, "use seconds from 0 to 600"
        ),
    )


def smtp_attachment_limit() -> int:
    """SMTP_ATTACHMENT_LIMIT_BYTES: above it, files travel zipped or not at all (default 10 MiB)."""
    from sprint_exports.delivery.message import DEFAULT_ATTACHMENT_LIMIT

    raw = os.environ.get("SMTP_ATTACHMENT_LIMIT_BYTES") or str(DEFAULT_ATTACHMENT_LIMIT)
    return whole_number("SMTP_ATTACHMENT_LIMIT_BYTES", raw, 0, 1024**3, "use a whole number of bytes up to 1073741824")


def secret_key() -> bytes:
    """SPRINT_EXPORTS_SECRET_KEY; unset, the demo's key generated into the instance folder (mode 600).

    A production instance (see `production_reason`) must set it: without a key
    shared by every process, no signature could be checked anywhere else.
    The key's value never appears in a message.
    """
    configured = (os.environ.get(SECRET_KEY_ENV) or "").strip()
    if configured:
        if len(configured) < MIN_SECRET_KEY_LENGTH:
            raise SettingError(
                f"{SECRET_KEY_ENV} is not allowed: it has {len(configured)} characters (value not shown); "
                f"use at least {MIN_SECRET_KEY_LENGTH} random ones, e.g. from "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        return configured.encode()
    reason = production_reason()
    if reason:
        raise SettingError(
            f"{SECRET_KEY_ENV} is not set, and {reason}. A production deployment must set it to at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters, the same for every process that launches or runs exports "
            "(see deploy/README.md)"
        )
    return _demo_secret_key(instance_home() / SECRET_KEY_FILE)


def production_reason() -> str | None:
    """Why this is a production deployment (which must set the secret key), or None for the embedded demo.

    Production: the instance's `dagster.yaml` configures any storage other than
    the embedded SQLite default, or steps run on Celery workers.
    """
    if (os.environ.get("SPRINT_EXPORTS_EXECUTOR") or "").strip() == "celery":
        return "SPRINT_EXPORTS_EXECUTOR=celery runs steps on other machines"
    config = instance_home() / "dagster.yaml"
    if not config.is_file():
        return None
    try:
        document = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return f"{config} cannot be read to tell whether it is the embedded default"
    if not isinstance(document, dict):
        return f"{config} is not the embedded default"
    for key in ("storage", "run_storage", "event_log_storage", "schedule_storage"):
        value = document.get(key)
        if value is None or (key == "storage" and isinstance(value, dict) and set(value) <= {"sqlite"}):
            continue
        kind = ", ".join(value) if isinstance(value, dict) else str(value)
        return f"the instance at {config.parent} keeps its {key} in {kind}, not the embedded SQLite default"
    return None


def _demo_secret_key(path: Path) -> bytes:
    """The key in `path`, made there first (mode 600, atomically: concurrent first uses agree on one key)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        try:
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            try:
                os.link(temporary, path)  # fails if another process was first; then its key is the key
            except FileExistsError:
                pass
        finally:
            os.unlink(temporary)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SettingError(
            f"{path} holds the demo's secret key but other users may read it (mode {mode:o}): run `chmod 600 {path}`, "
            f"or set {SECRET_KEY_ENV}"
        )
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SettingError(f"{path} does not hold a usable secret key; delete it to have a new one generated")
    return key.encode()
