"""`deliver_exports_job`: emails an export run's files, once per recipient and sprint.

The op reads what the export run produced from its materialization events,
checks each recipient's access against the tracker just before sending, and
claims each message in the delivery ledger before it goes out, so op retries,
re-executed runs, sensor re-evaluations and daemon restarts never send twice.
Every outcome lands in the ledger and in this run's metadata.
"""

# No `from __future__ import annotations`: Dagster reads the op's type hints at definition time.

from dagster import Config, DagsterInstance, Failure, MetadataValue, OpExecutionContext, in_process_executor, job, op
from pydantic import Field

from sprint_exports import tags
from sprint_exports.access import AccessPolicy
from sprint_exports.delivery.message import DEFAULT_SUBJECT, ExportedAttachment, SprintDelivery, build_message
from sprint_exports.delivery.smtp import send
from sprint_exports.formats import MEDIA_TYPES
from sprint_exports.resources import DeliveryLedgerResource, SmtpResource, TrackerDatabase
from sprint_exports.run_records import export_records, metrics_by_sprint
from sprint_exports.source.readers import list_sprints


class DeliverConfig(Config):
    export_run_id: str = Field(description="The export_sprints_job run whose files to send.")
    recipients: list[str] = Field(default_factory=list, description="Emails; empty: the run's deliver_to tag.")
    subject: str = Field(default=DEFAULT_SUBJECT, description="Subject template: {team}, {sprint}, {sprint_id}.")


def sprint_deliveries(instance: DagsterInstance, export_run_id: str, tracker: TrackerDatabase) -> list[SprintDelivery]:
    """The export run's files grouped per sprint, with the team and metrics the message shows."""
    records = export_records(instance, export_run_id)
    if not records:
        return []
    metrics = metrics_by_sprint(instance, export_run_id)
    sprints = list_sprints(tracker.engine())
    teams = {row["id"]: (row["team_id"], row["team_name"]) for row in sprints.iter_rows(named=True)}
    deliveries = []
    for sprint_id in sorted({record.sprint_id for record in records}):
        files = [r for r in records if r.sprint_id == sprint_id]
        team_id, team_name = teams.get(sprint_id, (-1, "unknown team"))
        deliveries.append(
            SprintDelivery(
                export_run_id=export_run_id,
                sprint_id=sprint_id,
                sprint_name=files[0].sprint_name,
                team_id=team_id,
                team_name=team_name,
                files=tuple(ExportedAttachment(r.path, MEDIA_TYPES[r.format], r.size_bytes, r.sha256) for r in files),
                metrics=metrics.get(sprint_id, {}),
            )
        )
    return deliveries


def _missing_files(delivery: SprintDelivery) -> list[str]:
    return [str(f.path) for f in delivery.files if not f.path.is_file()]


@op(description="Send each recipient the export run's files, exactly once, if they may see the sprint.")
def deliver_exports(
    context: OpExecutionContext,
    config: DeliverConfig,
    smtp: SmtpResource,
    tracker: TrackerDatabase,
    delivery_ledger: DeliveryLedgerResource,
) -> None:
    instance = context.instance
    export_run = instance.get_run_by_id(config.export_run_id)
    if export_run is None:
        raise Failure(f"No Dagster run with id {config.export_run_id!r}; give the id of an export_sprints_job run")
    recipients = config.recipients or [
        email.strip() for email in export_run.tags.get(tags.DELIVER_TO, "").split(",") if email.strip()
    ]
    if not recipients:
        raise Failure(f"Run {config.export_run_id} has no recipients: no `{tags.DELIVER_TO}` tag and none in config")
    deliveries = sprint_deliveries(instance, config.export_run_id, tracker)
    if not deliveries:
        raise Failure(f"Run {config.export_run_id} exported no files (status {export_run.status.value}); nothing to send")
    policy = AccessPolicy.load(tracker.engine(), recipients)
    ledger = delivery_ledger.open()
    settings = smtp.settings()

    def run_has_ended(run_id: str) -> bool:
        run = instance.get_run_by_id(run_id)
        return run is None or run.is_finished

    outcomes = []
    try:
        for delivery in deliveries:
            missing = _missing_files(delivery)
            for recipient in recipients:
                claim = ledger.claim(config.export_run_id, delivery.sprint_id, recipient, context.run_id, run_has_ended)
                if not claim.granted:
                    existing = claim.existing
                    status = existing.status if existing else "unknown"
                    outcomes.append(_outcome(delivery, recipient, f"already {status}", existing.reply if existing else "", 0))
                    continue
                decision = policy.decide(recipient, delivery.team_id)
                if not decision.allowed:
                    reply = f"not sent: {decision.reason}"
                    ledger.record(config.export_run_id, delivery.sprint_id, recipient, "refused", reply, 0)
                    outcomes.append(_outcome(delivery, recipient, "refused", reply, 0))
                    context.log.warning(f"{delivery.sprint_name}: {reply}")
                    continue
                if missing:
                    reply = f"export files missing: {', '.join(missing)}"
                    ledger.record(config.export_run_id, delivery.sprint_id, recipient, "failed", reply, 0)
                    outcomes.append(_outcome(delivery, recipient, "failed", reply, 0))
                    continue
                message = build_message(
                    delivery,
                    sender=settings.from_address,
                    recipient=recipient,
                    subject=config.subject,
                    attachment_limit=smtp.attachment_limit_bytes,
                )
                result = send(settings, message, recipient, log=context.log.warning)
                ledger.record(config.export_run_id, delivery.sprint_id, recipient, result.status, result.reply, result.attempts)
                outcomes.append(_outcome(delivery, recipient, result.status, result.reply, result.attempts))
                context.log.info(f"{delivery.sprint_name} -> {recipient}: {result.status} ({result.reply})")
    finally:
        ledger.dispose()
        context.add_output_metadata(_outcome_metadata(outcomes))
    failed = [o for o in outcomes if o["status"] == "failed"]
    if failed:
        raise Failure(
            f"{len(failed)} message(s) could not be delivered after retries; re-execute this run to retry them "
            "(recipients already served are not sent again)",
            metadata=_outcome_metadata(outcomes),
        )


def _outcome(delivery: SprintDelivery, recipient: str, status: str, reply: str | None, attempts: int) -> dict:
    return {
        "sprint_id": delivery.sprint_id,
        "sprint": delivery.sprint_name,
        "recipient": recipient,
        "status": status,
        "reply": reply or "",
        "attempts": attempts,
    }


def _outcome_metadata(outcomes: list[dict]) -> dict:
    table = ["| sprint | recipient | status | reply |", "| --- | --- | --- | --- |"]
    table += [f"| {o['sprint']} | {o['recipient']} | {o['status']} | {o['reply'].replace('|', '/')} |" for o in outcomes]
    statuses = [o["status"] for o in outcomes]
    return {
        "outcomes": MetadataValue.json(outcomes),
        "summary": MetadataValue.md("\n".join(table)),
        "sent": statuses.count("sent"),
        "refused": statuses.count("refused"),
        "failed": statuses.count("failed"),
    }


@job(
    description="Email an export run's files to its recipients (exactly once each).",
    executor_def=in_process_executor,  # one small step: a worker process would cost ~3 s
)
def deliver_exports_job() -> None:
    deliver_exports()
