"""The delivery ledger: who got which export, so nobody gets it twice.

Each (export run, sprint, recipient) has one row. A sender claims the row
before sending (an INSERT, or a guarded UPDATE when taking over), so two
senders never both hold it; the outcome is written right after the server
answers. A claim left behind by a run that has ended (it crashed mid-send) is
taken over by the next attempt; a row marked `sent` or `refused` is final.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, Table, Text, create_engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from sprint_exports.delivery.statuses import FINAL_STATUSES, DeliveryStatus
from sprint_exports.source.database import normalise_url

metadata = MetaData()
deliveries = Table(
    "sprint_export_deliveries",
    metadata,
    Column("export_run_id", Text, primary_key=True),
    Column("sprint_id", Integer, primary_key=True),
    Column("recipient", Text, primary_key=True),
    Column("status", Text, nullable=False),  # sending | sent | refused | failed
    Column("reply", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("delivery_run_id", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)



@dataclass(frozen=True)
class LedgerEntry:
    export_run_id: str
    sprint_id: int
    recipient: str
    status: str
    reply: str | None
    attempts: int
    delivery_run_id: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class Claim:
    """`granted`: this sender may send now. Otherwise `existing` says why not."""

    granted: bool
    existing: LedgerEntry | None = None


class DeliveryLedger:
    def __init__(self, url: str):
        self.engine: Engine = create_engine(normalise_url(url))
        metadata.create_all(self.engine)

    def claim(
        self,
        export_run_id: str,
        sprint_id: int,
        recipient: str,
        delivery_run_id: str,
        run_has_ended: Callable[[str], bool],
    ) -> Claim:
        """Claim the right to send this message; `run_has_ended` tells whether a holder run is gone."""
        key = dict(export_run_id=export_run_id, sprint_id=sprint_id, recipient=recipient.lower())
        now = _now()
        with self.engine.begin() as connection:
            try:
                connection.execute(
                    insert(deliveries).values(**key, status=DeliveryStatus.SENDING, attempts=0, delivery_run_id=delivery_run_id, updated_at=now)
                )
                return Claim(granted=True)
            except IntegrityError:
                pass
        existing = self.entry(export_run_id, sprint_id, recipient)
        if existing is None or existing.status in FINAL_STATUSES:
            return Claim(granted=False, existing=existing)
        holder_gone = existing.delivery_run_id == delivery_run_id or run_has_ended(existing.delivery_run_id)
        if existing.status == DeliveryStatus.SENDING and not holder_gone:
            return Claim(granted=False, existing=existing)  # another live run is sending it right now
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(deliveries)
                .where(*(deliveries.c[name] == value for name, value in key.items()))
                .where(deliveries.c.status == existing.status, deliveries.c.delivery_run_id == existing.delivery_run_id)
                .values(status=DeliveryStatus.SENDING, delivery_run_id=delivery_run_id, updated_at=now)
            ).rowcount
        if taken == 1:
            return Claim(granted=True, existing=existing)
        return Claim(granted=False, existing=self.entry(export_run_id, sprint_id, recipient))

    def record(self, export_run_id: str, sprint_id: int, recipient: str, status: DeliveryStatus, reply: str, attempts: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(deliveries)
                .where(
                    deliveries.c.export_run_id == export_run_id,
                    deliveries.c.sprint_id == sprint_id,
                    deliveries.c.recipient == recipient.lower(),
                )
                .values(status=status, reply=reply, attempts=deliveries.c.attempts + attempts, updated_at=_now())
            )

    def entry(self, export_run_id: str, sprint_id: int, recipient: str) -> LedgerEntry | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(deliveries).where(
                    deliveries.c.export_run_id == export_run_id,
                    deliveries.c.sprint_id == sprint_id,
                    deliveries.c.recipient == recipient.lower(),
                )
            ).first()
        return LedgerEntry(**row._mapping) if row else None

    def entries(self, export_run_id: str | None = None) -> list[LedgerEntry]:
        query = select(deliveries).order_by(deliveries.c.export_run_id, deliveries.c.sprint_id, deliveries.c.recipient)
        if export_run_id is not None:
            query = query.where(deliveries.c.export_run_id == export_run_id)
        with self.engine.connect() as connection:
            return [LedgerEntry(**row._mapping) for row in connection.execute(query)]

    def dispose(self) -> None:
        self.engine.dispose()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
