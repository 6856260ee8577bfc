"""What can become of one message to one recipient, as the ledger and the run metadata record it."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    SENDING = "sending"  # claimed: a sender holds it right now
    SENT = "sent"  # the server accepted it (final)
    REFUSED = "refused"  # not allowed, or a permanent 5xx (final)
    FAILED = "failed"  # still failing after the retries; the next attempt tries again


FINAL_STATUSES = frozenset({DeliveryStatus.SENT, DeliveryStatus.REFUSED})
