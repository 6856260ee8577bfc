"""The code location: `defs` is the one Definitions object (workspace.yaml loads this module).

Loading it validates the custom templates and the scheduled-exports file; a
bad file stops the load with a message naming the file, entry and field.
"""

from __future__ import annotations

import warnings

from dagster import Definitions
from dagster._utils.schedules import is_valid_cron_string

from sprint_exports import settings
from sprint_exports.assets import SPRINT_ASSETS
from sprint_exports.cleanup_job import cleanup_exports_job, cleanup_exports_schedule
from sprint_exports.delivery_job import deliver_exports_job
from sprint_exports.io_manager import SprintPartitionIOManager
from sprint_exports.jobs import export_sprints_job, selected_executor
from sprint_exports.resources import DeliveryLedgerResource, ExportStore, TrackerDatabase, smtp_from_environment
from sprint_exports.run_access import RequesterCheck
from sprint_exports.schedule_file import ScheduleFile, load_schedule_file
from sprint_exports.schedules import build_export_schedule
from sprint_exports.sensors import export_delivery_sensor, sprint_partitions_sensor
from sprint_exports.source.database import SourceUnavailableError, connect
from sprint_exports.template_config import ReportTemplate
from sprint_exports.templates import load_templates


def load_scheduled_exports() -> ScheduleFile:
    """The schedule file, checked against the templates and, when reachable, the tracker."""
    templates = load_templates(settings.templates_dir())
    team_names = user_emails = None
    path = settings.schedules_file()
    if path.exists():
        try:
            engine = connect()
        except SourceUnavailableError as error:
            warnings.warn(f"Schedule teams and recipients not checked against the tracker: {error}", stacklevel=2)
        else:
            from sqlalchemy import select

            from sprint_exports.source import schema

            with engine.connect() as connection:
                team_names = list(connection.execute(select(schema.teams.c.name)).scalars())
                user_emails = list(connection.execute(select(schema.users.c.email)).scalars())
            engine.dispose()
    return load_schedule_file(
        path, templates=list(templates), is_valid_cron=is_valid_cron_string, team_names=team_names, user_emails=user_emails
    )


scheduled_exports = load_scheduled_exports()

defs = Definitions(
    assets=SPRINT_ASSETS,
    # Also for runs launched from asset pages and backfills (job __ASSET_JOB), not only export_sprints_job.
    executor=selected_executor(),
    jobs=[export_sprints_job, deliver_exports_job, cleanup_exports_job],
    schedules=[cleanup_exports_schedule, *(build_export_schedule(entry) for entry in scheduled_exports.schedules)],
    sensors=[sprint_partitions_sensor, export_delivery_sensor],
    resources={
        "tracker": TrackerDatabase(),
        "export_store": ExportStore(),
        "sprint_io_manager": SprintPartitionIOManager(),
        "report_template": ReportTemplate(),
        "smtp": smtp_from_environment(),
        "delivery_ledger": DeliveryLedgerResource(),
        "access_check": RequesterCheck(),
    },
)
