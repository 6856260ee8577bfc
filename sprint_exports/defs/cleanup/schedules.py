"""`cleanup_exports_daily`: the clean-up job every day at 03:00 UTC."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from sprint_exports.defs.cleanup.jobs import cleanup_exports_job

cleanup_exports_schedule = ScheduleDefinition(
    name="cleanup_exports_daily",
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    job=cleanup_exports_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every day at 03:00 UTC, remove export folders whose files have expired.",
)
