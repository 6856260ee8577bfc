"""`export_delivery_sensor` hands every successful export run that asks for delivery to
`deliver_exports_job`, once (run key per export run)."""

from dagster import DagsterRunStatus, DefaultSensorStatus, RunRequest, RunStatusSensorContext, SkipReason, run_status_sensor

from sprint_exports.defs.delivery.jobs import deliver_exports_job
from sprint_exports.names import DELIVER_TO, EXPORT_RUN, SCHEDULE, SUBJECT


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    request_job=deliver_exports_job,
    minimum_interval_seconds=5,
    default_status=DefaultSensorStatus.RUNNING,
    description="Launches deliver_exports_job for each successful export run tagged sprint_exports/deliver_to.",
)
def export_delivery_sensor(context: RunStatusSensorContext):
    # No `monitored_jobs`: a filter by job would miss asset-backfill runs (job __ASSET_JOB).
    run = context.dagster_run
    if run.job_name == deliver_exports_job.name or not run.tags.get(DELIVER_TO):
        return SkipReason(f"run {run.run_id} has nothing to deliver")
    subject = {"subject": run.tags[SUBJECT]} if run.tags.get(SUBJECT) else {}
    return RunRequest(
        run_key=f"deliver:{run.run_id}",
        run_config={"ops": {"deliver_exports": {"config": {"export_run_id": run.run_id, **subject}}}},
        tags={EXPORT_RUN: run.run_id, **({SCHEDULE: run.tags[SCHEDULE]} if SCHEDULE in run.tags else {})},
    )
