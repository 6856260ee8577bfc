"""`sprint-exports portal` (the web portal, in the foreground) and `sprint-exports tokens` (API tokens).

The portal is loaded by name through uvicorn, so the command line never
imports the portal package: the two doors stay independent.
"""

from __future__ import annotations

import click

from sprint_exports.access import AccessPolicy
from sprint_exports.portal_db.database import open_portal_db
from sprint_exports.portal_db.tokens import create_token, list_tokens, revoke_token
from sprint_exports.source.database import connect


@click.command("portal")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=3001, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
def portal_command(host: str, port: int) -> None:
    """Serve the export portal (sign-in, REST API, downloads) until Ctrl-C."""
    import uvicorn

    uvicorn.run("sprint_exports.portal.app:create_app", factory=True, host=host, port=port,
                proxy_headers=False,  # the client address is the TCP peer: trusted proxies are checked by the portal
                timeout_graceful_shutdown=3)


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for scripts (Authorization: Bearer <token>)."""


@tokens_group.command("create")
@click.option("--user", "user_email", required=True, help="The tracker user the token acts as.")
@click.option("--name", default="api", show_default=True, help="A label to recognise the token by.")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="Days until it expires (default: never).")
def tokens_create(user_email: str, name: str, expires_days: int | None) -> None:
    """Make a token for USER and print it, once, as the last line."""
    tracker = connect()
    try:
        if AccessPolicy.load(tracker, [user_email]).person(user_email) is None:
            raise click.ClickException(f"{user_email} is not a user of the tracker; tokens are only for tracker users")
    finally:
        tracker.dispose()
    engine = open_portal_db()
    try:
        token_id, token = create_token(engine, user_email, name, expires_days)
    finally:
        engine.dispose()
    click.echo(f"Token {token_id} for {user_email.strip().lower()} ({name}); it is shown only now:")
    click.echo(token)


@tokens_group.command("list")
@click.option("--user", "user_email", default=None, help="Only this user's tokens.")
def tokens_list(user_email: str | None) -> None:
    """List tokens (never the tokens themselves)."""
    engine = open_portal_db()
    try:
        tokens = list_tokens(engine, user_email)
    finally:
        engine.dispose()
    for token in tokens:
        expires = token.expires_at.isoformat(timespec="seconds") if token.expires_at else "never"
        click.echo(f"{token.id}\t{token.user_email}\t{token.name}\t{token.state()}\texpires {expires}")
    if not tokens:
        click.echo("No tokens.")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke token ID at once."""
    engine = open_portal_db()
    try:
        if not revoke_token(engine, token_id):
            raise click.ClickException(f"No live token with id {token_id}; `sprint-exports tokens list` shows them")
    finally:
        engine.dispose()
    click.echo(f"Token {token_id} revoked.")
