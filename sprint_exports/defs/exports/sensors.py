"""`sprint_partitions_sensor` keeps the `sprints` partitions in step with the tracker.

It adds a partition for every sprint the tracker has, and requests one export
run when a sprint becomes completed. The cursor is the newest `updated_at`
seen; the first evaluation only records it, so switching the sensor on does
not re-export every sprint ever completed (a backfill is for that).
"""

# No `from __future__ import annotations`: Dagster reads the sensor's type hints.
import datetime as dt

import polars as pl
from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from sprint_exports.defs.common.resources import TrackerDatabase
from sprint_exports.defs.exports.jobs import export_sprints_job
from sprint_exports.defs.exports.partitions import missing_keys, sprint_key, sprints_partitions
from sprint_exports.names import TRIGGER as TRIGGER_TAG
from sprint_exports.source.readers import list_sprints


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
