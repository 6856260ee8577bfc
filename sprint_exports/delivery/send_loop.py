"""The exactly-once send loop: every sprint's files to every recipient, each message once.

Each message is claimed in the delivery ledger before it goes out, so op
retries, re-executed runs, sensor re-evaluations and daemon restarts never
send twice; each recipient's access is decided just before sending; every
outcome lands in the ledger and is returned for the caller to report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from sprint_exports.access import AccessPolicy
from sprint_exports.delivery.ledger import DeliveryLedger
from sprint_exports.delivery.message import SprintDelivery, build_message
from sprint_exports.delivery.smtp import SmtpSettings, send
from sprint_exports.delivery.statuses import DeliveryStatus

Log = Callable[[str], None]


@dataclass(frozen=True)
class DeliveryOutcome:
    sprint_id: int
    sprint: str
    recipient: str
    status: str
    reply: str
    attempts: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SendContext:
    """What every message of one delivery run shares."""

    export_run_id: str
    delivery_run_id: str
    smtp: SmtpSettings
    subject: str
    attachment_limit: int
    run_has_ended: Callable[[str], bool]  # whether the run holding an old claim is gone


def deliver_all(
    deliveries: Sequence[SprintDelivery],
    recipients: Sequence[str],
    *,
    policy: AccessPolicy,
    ledger: DeliveryLedger,
    context: SendContext,
    on_outcome: Callable[[DeliveryOutcome], None],
    log_info: Log = lambda _: None,
    log_warning: Log = lambda _: None,
) -> None:
    """Send what may be sent, once; `on_outcome` hears every outcome as it happens (so a crash part-way
    still reports the ones before it)."""
    for delivery in deliveries:
        missing = [str(f.path) for f in delivery.files if not f.path.is_file()]
        for recipient in recipients:
            on_outcome(_deliver_one(delivery, recipient, missing, policy, ledger, context, log_info, log_warning))


def _deliver_one(
    delivery: SprintDelivery,
    recipient: str,
    missing: list[str],
    policy: AccessPolicy,
    ledger: DeliveryLedger,
    context: SendContext,
    log_info: Log,
    log_warning: Log,
) -> DeliveryOutcome:
    def outcome(status: str, reply: str | None, attempts: int = 0) -> DeliveryOutcome:
        return DeliveryOutcome(delivery.sprint_id, delivery.sprint_name, recipient, status, reply or "", attempts)

    def final(status: DeliveryStatus, reply: str, attempts: int = 0) -> DeliveryOutcome:
        ledger.record(context.export_run_id, delivery.sprint_id, recipient, status, reply, attempts)
        return outcome(status, reply, attempts)

    claim = ledger.claim(context.export_run_id, delivery.sprint_id, recipient, context.delivery_run_id, context.run_has_ended)
    if not claim.granted:
        existing = claim.existing
        return outcome(f"already {existing.status if existing else 'unknown'}", existing.reply if existing else "")
    decision = policy.decide(recipient, delivery.team_id)
    if not decision.allowed:
        reply = f"not sent: {decision.reason}"
        log_warning(f"{delivery.sprint_name}: {reply}")
        return final(DeliveryStatus.REFUSED, reply)
    if missing:
        return final(DeliveryStatus.FAILED, f"export files missing: {', '.join(missing)}")
    message = build_message(
        delivery,
        sender=context.smtp.from_address,
        recipient=recipient,
        subject=context.subject,
        attachment_limit=context.attachment_limit,
    )
    result = send(context.smtp, message, recipient, log=log_warning)
    log_info(f"{delivery.sprint_name} -> {recipient}: {result.status} ({result.reply})")
    return final(result.status, result.reply, result.attempts)
