"""`deliver_exports_job`: emails an export run's files, once per recipient and sprint.

The op reads what the export run produced from its materialization events and
hands it to the send loop (`sprint_exports.delivery.send_loop`), which claims
each message in the ledger, checks each recipient's access just before
sending, and records every outcome; this run's metadata shows them all.
"""

# No `from __future__ import annotations`: Dagster reads the op's type hints at definition time.

from dagster import Config, DagsterInstance, Failure, MetadataValue, OpExecutionContext, in_process_executor, job, op
from pydantic import Field

from sprint_exports import names, settings
from sprint_exports.access import AccessPolicy
from sprint_exports.defs.common.resources import TrackerDatabase
from sprint_exports.defs.delivery.resources import DeliveryLedgerResource, SmtpResource
from sprint_exports.delivery.ledger import LedgerUnavailable
from sprint_exports.delivery.message import DEFAULT_SUBJECT, ExportedAttachment, PortalLinks, SprintDelivery, check_subject_template
from sprint_exports.delivery.send_loop import STILL_SENDING, DeliveryOutcome, SendContext, canonical_recipients, deliver_all
from sprint_exports.delivery.statuses import DeliveryStatus
from sprint_exports.formats import MEDIA_TYPES
from sprint_exports.instance.run_records import export_records, summaries_by_sprint
from sprint_exports.source.readers import SprintTeam, sprint_teams


class DeliverConfig(Config):
    export_run_id: str = Field(description="The export_sprints_job run whose files to send.")
    recipients: list[str] = Field(default_factory=list, description="Emails; empty: the run's deliver_to tag.")
    subject: str = Field(
        default=DEFAULT_SUBJECT, description="Subject template: {team}, {sprint}, {sprint_id}; at most 200 characters."
    )


def sprint_deliveries(instance: DagsterInstance, export_run_id: str, tracker: TrackerDatabase) -> list[SprintDelivery]:
    """The export run's files grouped per sprint, with the team and metrics the message shows."""
    records = export_records(instance, export_run_id)
    if not records:
        return []
    summaries = summaries_by_sprint(instance, export_run_id)
    teams = sprint_teams(tracker.engine())
    deliveries = []
    for sprint_id in sorted({record.sprint_id for record in records}):
        files = [r for r in records if r.sprint_id == sprint_id]
        team = teams.get(sprint_id, SprintTeam(-1, "unknown team"))
        deliveries.append(
            SprintDelivery(
                export_run_id=export_run_id,
                sprint_id=sprint_id,
                sprint_name=files[0].sprint_name,
                team_id=team.team_id,
                team_name=team.team_name,
                files=tuple(ExportedAttachment(r.path, MEDIA_TYPES[r.format], r.size_bytes, r.sha256, r.format, r.expires_at) for r in files),
                summary=summaries.get(sprint_id),
            )
        )
    return deliveries


@op(description="Send each recipient the export run's files, exactly once, if they may see the sprint.")
def deliver_exports(
    context: OpExecutionContext,
    config: DeliverConfig,
    smtp: SmtpResource,
    tracker: TrackerDatabase,
    delivery_ledger: DeliveryLedgerResource,
) -> None:
    try:
        check_subject_template(config.subject)
    except ValueError as error:
        raise Failure(f"Delivery refused before sending anything: {error}") from None
    instance = context.instance
    export_run = instance.get_run_by_id(config.export_run_id)
    if export_run is None:
        raise Failure(f"No Dagster run with id {config.export_run_id!r}; give the id of an export_sprints_job run")
    recipients = canonical_recipients(config.recipients or export_run.tags.get(names.DELIVER_TO, "").split(","))
    if not recipients:
        raise Failure(f"Run {config.export_run_id} has no recipients: no `{names.DELIVER_TO}` tag and none in config")
    deliveries = sprint_deliveries(instance, config.export_run_id, tracker)
    if not deliveries:
        raise Failure(f"Run {config.export_run_id} exported no files (status {export_run.status.value}); nothing to send")

    def run_has_ended(run_id: str) -> bool:
        run = instance.get_run_by_id(run_id)
        return run is None or run.is_finished

    send_context = SendContext(
        export_run_id=config.export_run_id,
        delivery_run_id=context.run_id,
        smtp=smtp.settings(),
        subject=config.subject,
        attachment_limit=smtp.attachment_limit_bytes,
        run_has_ended=run_has_ended,
        portal=PortalLinks(settings.portal_url(), settings.secret_key()),
    )
    outcomes: list[DeliveryOutcome] = []
    try:
        ledger = delivery_ledger.open()
    except LedgerUnavailable as problem:
        raise Failure(str(problem)) from None
    try:
        deliver_all(
            deliveries,
            recipients,
            policy=AccessPolicy.load(tracker.engine(), recipients),
            ledger=ledger,
            context=send_context,
            on_outcome=outcomes.append,
            log_info=context.log.info,
            log_warning=context.log.warning,
        )
    finally:
        ledger.dispose()
        context.add_output_metadata(_outcome_metadata(outcomes))
    problems = _unfinished(outcomes)
    if problems:
        raise Failure(
            "; ".join(problems) + ". Re-execute this run to send them (recipients already served are not sent again)",
            metadata=_outcome_metadata(outcomes),
        )


def _unfinished(outcomes: list[DeliveryOutcome]) -> list[str]:
    """What keeps this delivery from being done, one sentence per kind of outcome."""
    count = {status: sum(o.status == status for o in outcomes) for status in (DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN, STILL_SENDING)}
    sentences = {
        DeliveryStatus.FAILED: "{n} message(s) could not be delivered after retries",
        DeliveryStatus.UNCERTAIN: "{n} message(s) are uncertain: the server closed or went silent after the whole message "
        "was sent and before it replied, so it may have arrived; sending again may deliver it twice",
        STILL_SENDING: "{n} message(s) are still claimed by another delivery run that has not finished",
    }
    return [sentences[status].format(n=n) for status, n in count.items() if n]


def _outcome_metadata(outcomes: list[DeliveryOutcome]) -> dict:
    table = ["| sprint | recipient | status | reply |", "| --- | --- | --- | --- |"]
    table += [f"| {o.sprint} | {o.recipient} | {o.status} | {o.reply.replace('|', '/')} |" for o in outcomes]
    statuses = [o.status for o in outcomes]
    return {
        "outcomes": MetadataValue.json([{**o.as_dict(), "status": str(o.status)} for o in outcomes]),
        "summary": MetadataValue.md("\n".join(table)),
        **{status.value: statuses.count(status) for status in (DeliveryStatus.SENT, DeliveryStatus.REFUSED, DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN)},
    }


# With run monitoring on (the shipped dagster.yaml files), a delivery run still going after this long
# is ended and marked failed: the default run launcher cannot tell that a run's process died, so
# this is how a killed delivery run stops showing STARTED. An hour is far beyond any real delivery.
MAX_RUNTIME_SECONDS = 3600


@job(
    description="Email an export run's files to its recipients (exactly once each).",
    executor_def=in_process_executor,  # one small step: a worker process would cost ~3 s
    tags={"dagster/max_runtime": str(MAX_RUNTIME_SECONDS)},
)
def deliver_exports_job() -> None:
    deliver_exports()
