"""The exactly-once send loop: every sprint's files to every recipient, each message once.

Recipients are put in one canonical form first (`access.normalise_email`), so
the policy, the ledger and de-duplication all see the same address. Each
message is claimed in the delivery ledger before it goes out, so op retries,
re-executed runs, sensor re-evaluations and daemon restarts never send twice;
a claim is a lease renewed before each attempt (see `ledger`), and a message
another live sender holds is waited for, never reported as done. Each
recipient's access is decided just before sending, and the files are checked
against their recorded size and sha256; every outcome lands in the ledger and
is returned for the caller to report.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

from sprint_exports.access import AccessPolicy, normalise_email
from sprint_exports.delivery.ledger import Claim, DeliveryLedger
from sprint_exports.delivery.message import PortalLinks, SprintDelivery, build_message
from sprint_exports.delivery.smtp import SmtpSettings, send
from sprint_exports.delivery.statuses import DeliveryStatus
from sprint_exports.exports.records import BadRecord, verify_file

Log = Callable[[str], None]
# A lease covers one attempt's deadline plus this much: clock differences between the hosts that
# share the ledger, and the time it takes to write the outcome.
LEASE_MARGIN_SECONDS = 15.0
STILL_SENDING = f"already {DeliveryStatus.SENDING}"


class LeaseLost(RuntimeError):
    """Another sender took this message's claim over; this one must not send it."""


def lease_seconds(smtp: SmtpSettings) -> float:
    return smtp.timeout_seconds + LEASE_MARGIN_SECONDS


def canonical_recipients(recipients: Iterable[str]) -> list[str]:
    """Each address once, in its canonical form, in the order given; blanks dropped."""
    return list(dict.fromkeys(email for email in map(normalise_email, recipients) if email))


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
    portal: PortalLinks | None = None  # with it, every message carries signed download links


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
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send what may be sent, once; `on_outcome` hears every outcome as it happens (so a crash part-way
    still reports the ones before it)."""
    log = _Logs(log_info, log_warning, sleep)
    for delivery in deliveries:
        problems = _file_problems(delivery)
        for recipient in canonical_recipients(recipients):
            on_outcome(_deliver_one(delivery, recipient, problems, policy, ledger, context, log))


@dataclass(frozen=True)
class _Logs:
    info: Log
    warning: Log
    sleep: Callable[[float], None]


def _file_problems(delivery: SprintDelivery) -> list[str]:
    """Why any of the files may not be sent: missing, or not what the export recorded."""
    problems = []
    for exported in delivery.files:
        try:
            verify_file(exported.path, exported.size_bytes, exported.sha256)
        except BadRecord as problem:
            problems.append(str(problem))
    return problems


def _deliver_one(
    delivery: SprintDelivery,
    recipient: str,
    file_problems: list[str],
    policy: AccessPolicy,
    ledger: DeliveryLedger,
    context: SendContext,
    log: _Logs,
) -> DeliveryOutcome:
    key = (context.export_run_id, delivery.sprint_id, recipient)
    lease = lease_seconds(context.smtp)

    def outcome(status: str, reply: str | None, attempts: int = 0) -> DeliveryOutcome:
        return DeliveryOutcome(delivery.sprint_id, delivery.sprint_name, recipient, status, reply or "", attempts)

    def final(status: DeliveryStatus, reply: str, attempts: int = 0) -> DeliveryOutcome:
        if not ledger.record(*key, status, reply, attempts, token=claim.token):
            log.warning(f"{delivery.sprint_name} -> {recipient}: {status} ({reply}), but another sender had taken the claim over")
        return outcome(status, reply, attempts)

    def renew(attempt: int) -> None:
        if not ledger.renew(*key, claim.token, lease):
            raise LeaseLost(f"the claim was taken over by another sender before attempt {attempt}")

    claim = _claim(key, delivery.sprint_name, ledger, context, lease, log)
    if not claim.granted:
        existing = claim.existing
        return outcome(f"already {existing.status if existing else 'unknown'}", existing.reply if existing else "")
    try:
        decision = policy.decide(recipient, delivery.team_id)
        if not decision.allowed:
            reply = f"not sent: {decision.reason}"
            log.warning(f"{delivery.sprint_name}: {reply}")
            return final(DeliveryStatus.REFUSED, reply)
        if file_problems:
            return final(DeliveryStatus.FAILED, f"export files cannot be sent: {'; '.join(file_problems)}")
        message = build_message(
            delivery,
            sender=context.smtp.from_address,
            recipient=recipient,
            subject=context.subject,
            attachment_limit=context.attachment_limit,
            portal=context.portal,
        )
        result = send(context.smtp, message, recipient, log=log.warning, sleep=log.sleep, before_attempt=renew)
    except LeaseLost as lost:
        log.warning(f"{delivery.sprint_name} -> {recipient}: not sent here: {lost}")
        return outcome(STILL_SENDING, str(lost))
    except Exception as error:  # a fault for everyone (SMTP login, TLS): release the claim, then stop
        final(DeliveryStatus.FAILED, f"{type(error).__name__}: {error}")
        raise
    log.info(f"{delivery.sprint_name} -> {recipient}: {result.status} ({result.reply})")
    return final(result.status, result.reply, result.attempts)


def _claim(key: tuple, sprint_name: str, ledger: DeliveryLedger, context: SendContext, lease: float, log: _Logs) -> Claim:
    """Claim the message; while another live sender holds it, wait for its lease (it renews once per
    attempt at most, so this ends) and claim again."""
    for _ in range(context.smtp.max_attempts + 2):
        claim = ledger.claim(*key, context.delivery_run_id, context.run_has_ended, lease)
        held = claim.existing
        if claim.granted or held is None or held.status != DeliveryStatus.SENDING:
            return claim
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        wait = ((held.lease_expires_at or now) - now).total_seconds() + 0.5
        until = f"{held.lease_expires_at:%H:%M:%S} UTC" if held.lease_expires_at else "now"
        log.info(f"{sprint_name} -> {key[2]}: being sent by run {held.delivery_run_id} (lease until {until}); waiting {wait:.0f} s")
        log.sleep(min(max(wait, 0.5), lease))
    return claim
