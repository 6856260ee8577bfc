"""SQLAlchemy Core tables of the portal database.

Secrets are never stored: tokens, session ids and sign-in links are kept as
SHA-256 hashes of high-entropy random values, so a leaked database grants nothing.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_email", String(320), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

sessions = Table(
    "sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_email", String(320), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

sign_in_links = Table(
    "sign_in_links", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_email", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

# One row per sign-in request, by hashed address and by client, for rate limiting.
sign_in_attempts = Table(
    "sign_in_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(80), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

downloads = Table(
    "downloads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_email", String(320), nullable=False, index=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("sprint_id", Integer),
    Column("format", String(10), nullable=False),  # csv, xlsx, pdf or zip
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64)),
    Column("via", String(20), nullable=False),  # api, link, page
    Column("at", DateTime(timezone=True), nullable=False),
)

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_email", String(320), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("teams", JSON, nullable=False),  # list of team names, or "all"
    Column("sprints", String(40), nullable=False),
    Column("formats", JSON, nullable=False),
    Column("template", String(200), nullable=False),  # a template name, or "user:<id>"
    Column("cron", String(120), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

user_templates = Table(
    "user_templates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_email", String(320), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("document", JSON, nullable=False),  # a template as parse_template validated it
    Column("published", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
