"""The delivery ledger: who got which export, so nobody gets it twice.

Each (export run, sprint, recipient) has one row. A sender claims the row
before sending (an INSERT, or a guarded UPDATE when taking over), so two
senders never both hold it; the outcome is written right after the server
answers. A row marked `sent` or `refused` is final.

A claim is a lease: it holds until `lease_expires_at`, and the holder renews
it (`renew`) before every attempt to send, for no longer than one attempt
may take (the SMTP deadline) plus a margin. Another sender takes a claim
over once its lease has run out, or at once when the run holding it has
ended, so a sender killed mid-send (SIGKILL, a lost machine) blocks nobody
for longer than its lease, even while its Dagster run still shows STARTED.
Each claim carries a random token; renewing and recording are guarded by it,
so a sender whose claim was taken over cannot write over the new holder.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, Table, Text, create_engine, insert, inspect, select, text, update
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from sprint_exports.access import normalise_email
from sprint_exports.delivery.statuses import FINAL_STATUSES, DeliveryStatus
from sprint_exports.source.database import masked_url, normalise_url

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
    # Added with leases; older ledgers get them on first open (NULL: a claim without a lease, expired).
    Column("lease_expires_at", DateTime),
    Column("lease_token", Text),
)
LEASE_COLUMNS = ("lease_expires_at", "lease_token")


class LedgerUnavailable(RuntimeError):
    """The ledger database cannot be reached or used; the message shows the URL with the password masked."""


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
    lease_expires_at: dt.datetime | None = None
    lease_token: str | None = None

    def lease_running(self, now: dt.datetime) -> bool:
        return self.lease_expires_at is not None and self.lease_expires_at > now


@dataclass(frozen=True)
class Claim:
    """`granted`: this sender holds the lease (`token`) and may send now. Otherwise `existing` says why not."""

    granted: bool
    existing: LedgerEntry | None = None
    token: str | None = None


class DeliveryLedger:
    def __init__(self, url: str, setting: str = "SPRINT_DELIVERY_LEDGER_URL"):
        try:
            self.engine: Engine = create_engine(normalise_url(url))
            metadata.create_all(self.engine)
            self._add_lease_columns()
        except ArgumentError:
            raise LedgerUnavailable(
                f"{setting}={masked_url(url)!r} is not a SQLAlchemy URL (e.g. postgresql://user@host:5432/db)"
            ) from None
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise LedgerUnavailable(f"Cannot reach the delivery ledger {setting}={masked_url(url)}: {reason}") from None

    def _add_lease_columns(self) -> None:
        present = {column["name"] for column in inspect(self.engine).get_columns(deliveries.name)}
        with self.engine.begin() as connection:
            for name in LEASE_COLUMNS:
                if name not in present:
                    column_type = deliveries.c[name].type.compile(dialect=self.engine.dialect)
                    connection.execute(text(f"ALTER TABLE {deliveries.name} ADD COLUMN {name} {column_type}"))

    def claim(
        self,
        export_run_id: str,
        sprint_id: int,
        recipient: str,
        delivery_run_id: str,
        run_has_ended: Callable[[str], bool],
        lease_seconds: float,
    ) -> Claim:
        """Claim the right to send this message for `lease_seconds`.

        Granted when nobody holds it, when the holder's lease has run out, when the holder is this
        same run (a resumed run worker), or when `run_has_ended` says the holder's run is over;
        never when the row is final.
        """
        key = _key(export_run_id, sprint_id, recipient)
        now, token = _now(), uuid.uuid4().hex
        lease = dict(lease_expires_at=now + dt.timedelta(seconds=lease_seconds), lease_token=token)
        with self.engine.begin() as connection:
            try:
                connection.execute(
                    insert(deliveries).values(
                        **key, status=DeliveryStatus.SENDING, attempts=0, delivery_run_id=delivery_run_id, updated_at=now, **lease
                    )
                )
                return Claim(granted=True, token=token)
            except IntegrityError:
                pass
        existing = self.entry(export_run_id, sprint_id, recipient)
        if existing is None or existing.status in FINAL_STATUSES:
            return Claim(granted=False, existing=existing)
        holder_gone = existing.delivery_run_id == delivery_run_id or run_has_ended(existing.delivery_run_id)
        if existing.status == DeliveryStatus.SENDING and existing.lease_running(now) and not holder_gone:
            return Claim(granted=False, existing=existing)  # a live holder is sending it right now
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(deliveries)
                .where(*_matches(key))
                .where(deliveries.c.status == existing.status, _same_token(existing.lease_token))
                .values(status=DeliveryStatus.SENDING, delivery_run_id=delivery_run_id, updated_at=now, **lease)
            ).rowcount
        if taken == 1:
            return Claim(granted=True, existing=existing, token=token)
        return Claim(granted=False, existing=self.entry(export_run_id, sprint_id, recipient))

    def renew(self, export_run_id: str, sprint_id: int, recipient: str, token: str, lease_seconds: float) -> bool:
        """Extend this sender's lease from now; False if the claim is no longer this sender's."""
        now = _now()
        with self.engine.begin() as connection:
            return connection.execute(
                update(deliveries)
                .where(*_matches(_key(export_run_id, sprint_id, recipient)))
                .where(deliveries.c.lease_token == token, deliveries.c.status == DeliveryStatus.SENDING)
                .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds), updated_at=now)
            ).rowcount == 1

    def record(
        self, export_run_id: str, sprint_id: int, recipient: str, status: DeliveryStatus, reply: str, attempts: int, token: str
    ) -> bool:
        """Write the outcome and end the lease; False (nothing written) if the claim was taken over."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(deliveries)
                .where(*_matches(_key(export_run_id, sprint_id, recipient)), deliveries.c.lease_token == token)
                .values(status=status, reply=reply, attempts=deliveries.c.attempts + attempts, updated_at=_now(),
                        lease_expires_at=None)
            ).rowcount == 1

    def entry(self, export_run_id: str, sprint_id: int, recipient: str) -> LedgerEntry | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(deliveries).where(*_matches(_key(export_run_id, sprint_id, recipient)))).first()
        return LedgerEntry(**row._mapping) if row else None

    def entries(self, export_run_id: str | None = None) -> list[LedgerEntry]:
        query = select(deliveries).order_by(deliveries.c.export_run_id, deliveries.c.sprint_id, deliveries.c.recipient)
        if export_run_id is not None:
            query = query.where(deliveries.c.export_run_id == export_run_id)
        with self.engine.connect() as connection:
            return [LedgerEntry(**row._mapping) for row in connection.execute(query)]

    def dispose(self) -> None:
        self.engine.dispose()


def _key(export_run_id: str, sprint_id: int, recipient: str) -> dict:
    return dict(export_run_id=export_run_id, sprint_id=sprint_id, recipient=normalise_email(recipient))


def _matches(key: dict) -> list:
    return [deliveries.c[name] == value for name, value in key.items()]


def _same_token(token: str | None):
    return deliveries.c.lease_token.is_(None) if token is None else deliveries.c.lease_token == token


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
