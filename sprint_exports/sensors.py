"""Sensors.

`sprint_partitions_sensor` keeps the `sprints` partitions in step with the tracker.

It adds a partition for every sprint the tracker has, and requests one export
run when a sprint becomes completed. The cursor is the newest `updated_at`
seen; the first evaluation only records it, so switching the sensor on does
not re-export every sprint ever completed (a backfill is for that).

`export_delivery_sensor` hands every successful export run that asks for
delivery to `deliver_exports_job`, once (run key per export run).
"""

import datetime as dt

import polars as pl
from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_status_sensor,
    sensor,
)

from sprint_exports.delivery_job import deliver_exports_job
from sprint_exports.jobs import export_sprints_job
from sprint_exports.partitions import missing_keys, sprint_key, sprints_partitions
from sprint_exports.resources import TrackerDatabase
from sprint_exports.source.readers import list_sprints

from sprint_exports.tags import DELIVER_TO, EXPORT_RUN, SCHEDULE, SUBJECT
from sprint_exports.tags import TRIGGER as TRIGGER_TAG


@sensor(
    job=export_sprints_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds a partition per tracker sprint; exports a sprint once when it becomes completed.",
)
def sprint_partitions_sensor(context: SensorEvaluationContext, tracker: TrackerDatabase) -> SensorResult:
    sprints = list_sprints(tracker.engine())
    registered = context.instance.get_dynamic_partitions(sprints_partitions.name)
    new_keys = missing_keys(registered, sprints["id"].to_list())
    newest = sprints["updated_at"].max()
    run_requests = []
    if context.cursor:
        since = dt.datetime.fromisoformat(context.cursor)
        completed = sprints.filter((pl.col("status") == "completed") & (pl.col("updated_at") > since))
        run_requests = [
            RunRequest(
                partition_key=sprint_key(sprint_id),
                run_key=f"{sprint_id}:{updated_at.isoformat()}",
                tags={TRIGGER_TAG: "sprint_completed"},
            )
            for sprint_id, updated_at in completed.select("id", "updated_at").iter_rows()
        ]
    cursor = max(filter(None, [newest, dt.datetime.fromisoformat(context.cursor) if context.cursor else None]), default=None)
    return SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[sprints_partitions.build_add_request(new_keys)] if new_keys else [],
        cursor=cursor.isoformat() if cursor else context.cursor,
    )


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
