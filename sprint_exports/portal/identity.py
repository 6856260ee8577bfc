"""Who is asking: a session cookie, a trusted proxy's header, or a bearer token; never a claim.

Checked in this order:

1. `Authorization: Bearer <token>`: an API token from the portal database.
2. The SSO header (SPRINT_EXPORTS_AUTH_HEADER), only when the TCP peer is one
   of SPRINT_EXPORTS_TRUSTED_PROXIES; from any other peer it is ignored.
3. The session cookie set by following a sign-in link.

Whoever it is must be a user of the tracker: the access policy then decides
what they may see (`access.py`). An unknown email gets nothing.
"""

from __future__ import annotations

import datetime as dt

from fastapi import HTTPException, Request
from sqlalchemy import delete, insert, select

from sprint_exports.access import normalise_email
from sprint_exports.portal.config import SESSION_DAYS
from sprint_exports.portal.keys import new_secret
from sprint_exports.portal.state import state_of
from sprint_exports.portal_db.database import as_utc, secret_hash, utc_now
from sprint_exports.portal_db.tables import sessions
from sprint_exports.portal_db.tokens import user_for_token

SESSION_COOKIE = "spx_session"
# A browser reads the API with its session (or through the SSO proxy); changing anything needs a
# token, because a cross-site page can make the browser POST with its cookies (the proxy adds its
# header to such a request too) but cannot add an Authorization header.
SAFE_METHODS = frozenset({"GET", "HEAD"})


def bearer_user(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return user_for_token(state_of(request).db, token.strip())


def proxy_user(request: Request) -> str | None:
    config = state_of(request).config
    if not config.auth_header or not config.is_trusted_proxy(request.client.host if request.client else None):
        return None
    value = request.headers.get(config.auth_header, "").strip()
    return normalise_email(value) if value else None


def session_user(request: Request) -> str | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 100:
        return None
    with state_of(request).db.connect() as connection:
        row = connection.execute(select(sessions).where(sessions.c.id_hash == secret_hash(session_id))).first()
    if row is None or as_utc(row.expires_at) <= utc_now():
        return None
    return row.user_email


def known_user(request: Request, email: str | None) -> str | None:
    """`email` if the tracker knows it, else None."""
    if email is None:
        return None
    return email if state_of(request).policy(email).person(email) is not None else None


def api_user(request: Request) -> str:
    """FastAPI dependency of the REST API: the caller's email, or 401."""
    authorization = request.headers.get("authorization")
    if authorization:
        email = bearer_user(request)
    else:
        email = (proxy_user(request) or session_user(request)) if request.method in SAFE_METHODS else None
    email = known_user(request, email)
    if email is None:
        detail = "The bearer token is invalid, expired or revoked" if authorization else "Authentication required: send Authorization: Bearer <token>"
        raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})
    return email


def page_user(request: Request) -> str | None:
    """The signed-in person of a page request, or None (pages then ask for sign-in)."""
    return known_user(request, proxy_user(request) or session_user(request))


def start_session(request: Request, email: str) -> str:
    """A new session for `email`; any session the browser held is ended (the id rotates)."""
    db = state_of(request).db
    session_id = new_secret()
    now = utc_now()
    with db.begin() as connection:
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            connection.execute(delete(sessions).where(sessions.c.id_hash == secret_hash(old)))
        connection.execute(
            insert(sessions).values(id_hash=secret_hash(session_id), user_email=normalise_email(email),
                                    created_at=now, expires_at=now + dt.timedelta(days=SESSION_DAYS))
        )
    return session_id


def end_session(request: Request) -> None:
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        with state_of(request).db.begin() as connection:
            connection.execute(delete(sessions).where(sessions.c.id_hash == secret_hash(old)))
