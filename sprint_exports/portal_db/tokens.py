"""API tokens for scripts: made once, shown once, stored as a hash, listed and revoked.

A token is `spx_` and 32 random bytes (URL-safe base64). With that much
entropy a plain SHA-256 is the right hash: nothing to brute-force, and a
lookup by hash needs no per-row salt.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from sprint_exports.access import normalise_email
from sprint_exports.portal_db.database import as_utc, secret_hash, utc_now
from sprint_exports.portal_db.tables import api_tokens

TOKEN_PREFIX = "spx_"
MAX_EXPIRES_DAYS = 3650


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_email: str
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    def state(self, now: dt.datetime | None = None) -> str:
        now = now or utc_now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def create_token(engine: Engine, user_email: str, name: str = "api", expires_days: int | None = None) -> tuple[int, str]:
    """Store a new token for `user_email`; returns its id and the token itself (never stored)."""
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise ValueError(f"--expires-days {expires_days} is not allowed: use 1 to {MAX_EXPIRES_DAYS} days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utc_now()
    expires_at = now + dt.timedelta(days=expires_days) if expires_days else None
    with engine.begin() as connection:
        result = connection.execute(
            insert(api_tokens).values(
                user_email=normalise_email(user_email), name=name[:200], token_hash=secret_hash(token),
                created_at=now, expires_at=expires_at,
            )
        )
    return int(result.inserted_primary_key[0]), token


def list_tokens(engine: Engine, user_email: str | None = None) -> list[TokenInfo]:
    query = select(api_tokens).order_by(api_tokens.c.id)
    if user_email:
        query = query.where(api_tokens.c.user_email == normalise_email(user_email))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        TokenInfo(row.id, row.user_email, row.name, as_utc(row.created_at), as_utc(row.expires_at),
                  as_utc(row.revoked_at), as_utc(row.last_used_at))
        for row in rows
    ]


def revoke_token(engine: Engine, token_id: int, user_email: str | None = None) -> bool:
    """Revoke token `token_id` (only `user_email`'s when given); False when there is no such live token."""
    query = update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
    if user_email:
        query = query.where(api_tokens.c.user_email == normalise_email(user_email))
    with engine.begin() as connection:
        return connection.execute(query.values(revoked_at=utc_now())).rowcount == 1


def user_for_token(engine: Engine, token: str) -> str | None:
    """The email a live token belongs to, or None (unknown, revoked or expired)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    now = utc_now()
    with engine.begin() as connection:
        row = connection.execute(select(api_tokens).where(api_tokens.c.token_hash == secret_hash(token))).first()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and as_utc(row.expires_at) <= now:
            return None
        connection.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now))
    return row.user_email
