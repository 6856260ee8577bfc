"""One Dagster schedule per entry of the scheduled-exports file.

A tick picks the entry's sprints from the tracker, makes sure they are
registered as partitions (a schedule cannot declare partitions, and an
unregistered key would fail the tick), and launches `export_sprints_job` for
them with the entry's template and formats, tagged for delivery. The run key
is the schedule, the tick time and the sprint range, so a tick never launches
twice. No sprint to export is a SkipReason, not an empty email.
"""

# No `from __future__ import annotations`: Dagster reads the schedule's type hints.

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from sprint_exports import names
from sprint_exports.defs.common.resources import TrackerDatabase
from sprint_exports.defs.exports.jobs import export_sprints_job
from sprint_exports.defs.exports.run_plan import export_selection, plan_runs, template_run_config
from sprint_exports.instance.dagster_private import previous_cron_tick
from sprint_exports.delivery.schedule_file import ScheduledExport, select_sprints, tracker_problem
from sprint_exports.source.readers import list_sprints, team_and_user_names


class ScheduleEntryError(ValueError):
    """A schedule entry that names teams or recipients the tracker does not have (any more)."""


def build_export_schedule(entry: ScheduledExport) -> ScheduleDefinition:
    selection = export_selection(entry.formats)

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
        previous = previous_cron_tick(entry.cron, scheduled, entry.timezone)
        engine = tracker.engine()
        problem = tracker_problem(entry, *team_and_user_names(engine))
        if problem:  # the tick fails, visibly, in the UI's tick history
            raise ScheduleEntryError(f"Schedule {entry.name!r}: {problem}. Fix export_schedules.yaml or the tracker.")
        sprints = list_sprints(engine)
        sprint_ids = select_sprints(entry, sprints, window=(previous, scheduled))
        if not sprint_ids:
            return SkipReason(f"No {entry.sprints.replace('_', ' ')} sprint of {_teams(entry)} to export")
        run_tags = {
            names.SCHEDULE: entry.name,
            names.DELIVER_TO: ",".join(entry.recipients),
            names.SUBJECT: entry.subject,
            **({names.RETENTION_DAYS: str(entry.retention_days)} if entry.retention_days else {}),
        }
        return [
            RunRequest(
                run_key=f"{entry.name}:{scheduled.isoformat()}:{run.label}",
                partition_key=run.partition_key,
                asset_selection=selection,
                run_config=template_run_config(entry.template),
                tags={**run_tags, **run.range_tags},
            )
            for run in plan_runs(context.instance, sprint_ids, sprints["id"].to_list())
        ]

    return export_schedule


def _teams(entry: ScheduledExport) -> str:
    return "all teams" if entry.teams == "all" else ", ".join(entry.teams)
