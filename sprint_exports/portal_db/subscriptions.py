"""Subscriptions: a reader's own scheduled export, kept in the portal database.

The portal creates, pauses and deletes them; `export_subscriptions_sensor` in
the Dagster shell reads the active ones and launches those that are due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update

from sprint_exports.access import normalise_email
from sprint_exports.portal_db.database import as_utc, utc_now
from sprint_exports.portal_db.tables import subscriptions


@dataclass(frozen=True)
class Subscription:
    id: int
    owner_email: str
    name: str
    teams: list[str] | str
    sprints: str
    formats: list[str]
    template: str
    cron: str
    timezone: str
    recipients: list[str]
    paused: bool
    created_at: dt.datetime

    def as_dict(self) -> dict:
        return {
            "schedule_id": self.id, "owner": self.owner_email, "name": self.name, "teams": self.teams,
            "sprints": self.sprints, "formats": self.formats, "template": self.template, "cron": self.cron,
            "timezone": self.timezone, "recipients": self.recipients, "paused": self.paused,
            "created_at": self.created_at.isoformat(timespec="seconds"),
        }


def _of(row) -> Subscription:
    return Subscription(
        id=row.id, owner_email=row.owner_email, name=row.name, teams=row.teams, sprints=row.sprints,
        formats=list(row.formats), template=row.template, cron=row.cron, timezone=row.timezone,
        recipients=list(row.recipients), paused=bool(row.paused), created_at=as_utc(row.created_at),
    )


def create_subscription(engine: Engine, owner_email: str, **fields) -> int:
    with engine.begin() as connection:
        result = connection.execute(
            insert(subscriptions).values(owner_email=normalise_email(owner_email), paused=False, created_at=utc_now(), **fields)
        )
    return int(result.inserted_primary_key[0])


def list_subscriptions(engine: Engine, owner_email: str | None = None, *, active_only: bool = False) -> list[Subscription]:
    """`owner_email`'s subscriptions (everyone's when None), oldest first."""
    query = select(subscriptions).order_by(subscriptions.c.id)
    if owner_email is not None:
        query = query.where(subscriptions.c.owner_email == normalise_email(owner_email))
    if active_only:
        query = query.where(subscriptions.c.paused.is_(False))
    with engine.connect() as connection:
        return [_of(row) for row in connection.execute(query).all()]


def get_subscription(engine: Engine, subscription_id: int) -> Subscription | None:
    with engine.connect() as connection:
        row = connection.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
    return None if row is None else _of(row)


def set_paused(engine: Engine, subscription_id: int, paused: bool) -> None:
    with engine.begin() as connection:
        connection.execute(update(subscriptions).where(subscriptions.c.id == subscription_id).values(paused=paused))


def delete_subscription(engine: Engine, subscription_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id))
