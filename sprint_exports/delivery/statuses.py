"""What can become of one message to one recipient, as the ledger and the run metadata record it."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    SENDING = "sending"  # claimed: a sender holds it right now
    SENT = "sent"  # the server accepted it (final)
    REFUSED = "refused"  # not allowed, or a permanent 5xx (final)
    FAILED = "failed"  # still failing after the retries; the next attempt tries again
    # The whole message went out and the server closed the connection, or stayed silent past the
    # deadline, before it replied: it may have arrived. Not retried within the run (that would risk a
    # duplicate) and not final: re-executing the delivery run sends it again, perhaps a second time.
    UNCERTAIN = "uncertain"


FINAL_STATUSES = frozenset({DeliveryStatus.SENT, DeliveryStatus.REFUSED})
