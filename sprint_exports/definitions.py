"""The code location: `defs` is the one Definitions object (workspace.yaml loads this module).

Loading it validates the custom templates and the scheduled-exports file as
far as the files alone decide; a bad file stops the load with a message
naming the file, entry and field. Loading connects to nothing: the tracker is
read when a sensor, a schedule or a step needs it.

Loading also makes sure there is a secret key to sign and check
`sprint_exports/requested_by` tags with (`settings.secret_key`): the demo
instance generates one into its folder; a production instance without
SPRINT_EXPORTS_SECRET_KEY stops loading here, with a message saying so.
"""

from __future__ import annotations

from dagster import Definitions

from sprint_exports import settings
from sprint_exports.defs.cleanup.jobs import cleanup_exports_job
from sprint_exports.defs.cleanup.schedules import cleanup_exports_schedule
from sprint_exports.defs.common.access_check import RequesterCheck
from sprint_exports.defs.common.executor import selected_executor
from sprint_exports.defs.common.resources import TrackerDatabase
from sprint_exports.defs.delivery.jobs import deliver_exports_job
from sprint_exports.defs.delivery.resources import DeliveryLedgerResource, SmtpResource
from sprint_exports.defs.delivery.schedules import build_export_schedule
from sprint_exports.defs.delivery.sensors import export_delivery_sensor
from sprint_exports.defs.exports.assets import SPRINT_ASSETS
from sprint_exports.defs.exports.io_manager import InstanceStorageIOManager, SprintPartitionIOManager
from sprint_exports.defs.exports.jobs import export_sprints_job
from sprint_exports.defs.exports.resources import ExportStore
from sprint_exports.defs.exports.sensors import sprint_partitions_sensor
from sprint_exports.defs.subscriptions.sensors import export_subscriptions_sensor
from sprint_exports.defs.exports.template_config import ReportTemplate
from sprint_exports.delivery.schedule_file import ScheduleFile, load_schedule_file
from sprint_exports.instance.dagster_private import is_valid_cron
from sprint_exports.templates import load_templates


def load_scheduled_exports() -> ScheduleFile:
    """The schedule file, checked against the templates (the tracker is checked at each tick)."""
    templates = load_templates(settings.templates_dir())
    return load_schedule_file(settings.schedules_file(), templates=list(templates), is_valid_cron=is_valid_cron)


settings.secret_key()
scheduled_exports = load_scheduled_exports()

defs = Definitions(
    assets=SPRINT_ASSETS,
    # Also for runs launched from asset pages and backfills (job __ASSET_JOB), not only export_sprints_job.
    executor=selected_executor(),
    jobs=[export_sprints_job, deliver_exports_job, cleanup_exports_job],
    schedules=[cleanup_exports_schedule, *(build_export_schedule(entry) for entry in scheduled_exports.schedules)],
    sensors=[sprint_partitions_sensor, export_delivery_sensor, export_subscriptions_sensor],
    resources={
        "tracker": TrackerDatabase(),
        "export_store": ExportStore(),
        "sprint_io_manager": SprintPartitionIOManager(),
        "io_manager": InstanceStorageIOManager(),  # Dagster's default would take `base_dir` from run config
        "report_template": ReportTemplate(),
        "smtp": SmtpResource(),
        "delivery_ledger": DeliveryLedgerResource(),
        "access_check": RequesterCheck(),
    },
)
