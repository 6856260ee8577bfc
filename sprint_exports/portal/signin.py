"""Sign-in by email link: one-time, 15 minutes, stored as a hash, rate limited, no enumeration.

`POST /login` answers the same page whether or not the address is a tracker
user, as fast (the mail goes out after the answer); only a known address gets mail. Following the link (`GET /login/<token>`)
marks it used, then starts a session with a new id (any old one is dropped).
"""

from __future__ import annotations

import datetime as dt
import logging
from email.message import EmailMessage

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.background import BackgroundTask
from sqlalchemy import delete, func, insert, select, update

from sprint_exports.access import normalise_email
from sprint_exports.delivery.smtp import send
from sprint_exports.portal.config import SIGN_IN_LINK_MINUTES, smtp_settings
from sprint_exports.portal.identity import SESSION_COOKIE, end_session, known_user, page_user, start_session
from sprint_exports.portal.keys import new_secret
from sprint_exports.portal.rendering import check_csrf, render
from sprint_exports.portal.state import state_of
from sprint_exports.portal_db.database import as_utc, secret_hash
from sprint_exports.portal_db.tables import sign_in_attempts, sign_in_links

router = APIRouter(include_in_schema=False)
log = logging.getLogger("sprint_exports.portal")
WINDOW = dt.timedelta(minutes=15)


@router.get("/login")
def login_form(request: Request):
    return render(request, "login.html", user=page_user(request))


@router.post("/login")
async def login_request(request: Request):
    form = await check_csrf(request)
    email = normalise_email(form.field("email"))[:320]
    state = state_of(request)
    client = request.client.host if request.client else "unknown"
    if not _within_limits(request, email, client):
        return render(request, "login.html", status_code=429,
                      error="Too many sign-in requests; wait a few minutes and try again.")
    answer = render(request, "login_sent.html", minutes=SIGN_IN_LINK_MINUTES)
    if email and known_user(request, email):
        token = new_secret()
        now = state.clock()
        with state.db.begin() as connection:
            connection.execute(insert(sign_in_links).values(
                token_hash=secret_hash(token), user_email=email, created_at=now,
                expires_at=now + dt.timedelta(minutes=SIGN_IN_LINK_MINUTES)))
        # Mailed after the answer has gone: a known address must not answer slower than an unknown one.
        answer.background = BackgroundTask(_mail_link, email, f"{state.config.portal_url}/login/{token}")
    return answer


def _within_limits(request: Request, email: str, client: str) -> bool:
    """Record this request; False when the address or the client asked too often in the window."""
    state = state_of(request)
    config, db, now = state.config, state.db, state.clock()
    scopes = {f"address:{secret_hash(email)[:40]}": config.per_address_limit, f"client:{client}"[:80]: config.per_client_limit}
    with db.begin() as connection:
        connection.execute(delete(sign_in_attempts).where(sign_in_attempts.c.at < now - WINDOW))
        counts = {
            scope: connection.execute(select(func.count()).where(sign_in_attempts.c.scope == scope)).scalar_one()
            for scope in scopes
        }
        if any(counts[scope] >= limit for scope, limit in scopes.items()):
            return False
        connection.execute(insert(sign_in_attempts), [{"scope": scope, "at": now} for scope in scopes])
    return True


def _mail_link(email: str, link: str) -> None:
    settings = smtp_settings()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.from_address, email, "Your sign-in link for Sprint exports"
    message.set_content(
        f"Follow this link to sign in to Sprint exports:\n\n{link}\n\n"
        f"It works once, within {SIGN_IN_LINK_MINUTES} minutes. If you did not ask for it, ignore this message."
    )
    outcome = send(settings, message, email)
    if outcome.status != "sent":
        log.warning("Sign-in mail to %s not sent: %s", email, outcome.reply)


@router.get("/login/{token}")
def follow_link(request: Request, token: str):
    state = state_of(request)
    now = state.clock()
    with state.db.begin() as connection:
        row = connection.execute(select(sign_in_links).where(sign_in_links.c.token_hash == secret_hash(token[:100]))).first()
        claimed = row is not None and row.used_at is None and as_utc(row.expires_at) > now and connection.execute(
            update(sign_in_links).where(sign_in_links.c.token_hash == row.token_hash, sign_in_links.c.used_at.is_(None))
            .values(used_at=now)).rowcount == 1
    if not claimed:
        reason = "This sign-in link was already used." if row is not None and row.used_at is not None else (
            "This sign-in link has expired." if row is not None else "This sign-in link is not valid.")
        return render(request, "refused.html", status_code=403, reason=f"{reason} Ask for a new one.", user=None)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, start_session(request, row.user_email), httponly=True, samesite="lax",
                        secure=state.config.secure_cookies, max_age=7 * 24 * 3600)
    return response


@router.post("/logout")
async def logout(request: Request):
    await check_csrf(request)
    end_session(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
