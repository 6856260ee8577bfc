"""One Dagster schedule per entry of the scheduled-exports file.

A tick picks the entry's sprints from the tracker, makes sure they are
registered as partitions (a schedule cannot declare partitions, and an
unregistered key would fail the tick), and launches `export_sprints_job` for
them with the entry's template and formats, tagged for delivery. The run key
is the schedule, the tick time and the sprint range, so a tick never launches
twice. No sprint to export is a SkipReason, not an empty email.
"""

# No `from __future__ import annotations`: Dagster reads the schedule's type hints.
import datetime as dt

from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._utils.schedules import get_latest_completed_cron_tick

from sprint_exports import tags
from sprint_exports.assets import EXPORT_ASSET_NAMES
from sprint_exports.jobs import export_sprints_job
from sprint_exports.partitions import contiguous_ranges, register_sprints, sprint_key, sprints_partitions
from sprint_exports.resources import TrackerDatabase
from sprint_exports.schedule_file import ScheduledExport, select_sprints
from sprint_exports.source.readers import list_sprints


def build_export_schedule(entry: ScheduledExport) -> ScheduleDefinition:
    selection = [AssetKey("sprint_extract"), AssetKey("sprint_metrics")]
    selection += [AssetKey(EXPORT_ASSET_NAMES[name]) for name in entry.formats]

    @schedule(
        name=entry.name,
        cron_schedule=entry.cron,
        execution_timezone=entry.timezone,
        job=export_sprints_job,
        default_status=DefaultScheduleStatus.RUNNING if entry.enabled else DefaultScheduleStatus.STOPPED,
        description=f"Exports {entry.sprints.replace('_', ' ')} sprints of {_teams(entry)} as "
        f"{', '.join(entry.formats)} ({entry.template}) and emails {', '.join(entry.recipients)}.",
    )
    def export_schedule(context: ScheduleEvaluationContext, tracker: TrackerDatabase):
        scheduled = context.scheduled_execution_time
        previous = get_latest_completed_cron_tick(entry.cron, scheduled - dt.timedelta(seconds=1), entry.timezone)
        sprints = list_sprints(tracker.engine())
        sprint_ids = select_sprints(entry, sprints, window=(previous, scheduled))
        if not sprint_ids:
            return SkipReason(f"No {entry.sprints.replace('_', ' ')} sprint of {_teams(entry)} to export")
        register_sprints(context.instance, sprints["id"].to_list())
        registered = context.instance.get_dynamic_partitions(sprints_partitions.name)
        run_tags = {
            tags.SCHEDULE: entry.name,
            tags.DELIVER_TO: ",".join(entry.recipients),
            tags.SUBJECT: entry.subject,
            **({tags.RETENTION_DAYS: str(entry.retention_days)} if entry.retention_days else {}),
        }
        run_config = {"resources": {"report_template": {"config": {"name": entry.template}}}}
        requests = []
        for start, end in contiguous_ranges(registered, [sprint_key(i) for i in sprint_ids]):
            range_tags = {} if start == end else {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}
            requests.append(
                RunRequest(
                    run_key=f"{entry.name}:{scheduled.isoformat()}:{start}-{end}",
                    partition_key=start if start == end else None,
                    asset_selection=selection,
                    run_config=run_config,
                    tags={**run_tags, **range_tags},
                )
            )
        return requests

    return export_schedule


def _teams(entry: ScheduledExport) -> str:
    return "all teams" if entry.teams == "all" else ", ".join(entry.teams)
