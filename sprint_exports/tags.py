"""Run tags this code location reads and writes (the contract's and our own)."""

REQUESTED_BY = "sprint_exports/requested_by"  # contract: whom a run exports for
SCHEDULE = "sprint_exports/schedule"  # the scheduled export that launched a run
DELIVER_TO = "sprint_exports/deliver_to"  # comma-separated recipients: deliver this run's files
EXPORT_RUN = "sprint_exports/export_run"  # on a delivery run: the export run it delivers
TRIGGER = "sprint_exports/trigger"  # what launched a run (sensor reasons)
SUBJECT = "sprint_exports/subject"  # subject template for the delivery of this run
RETENTION_DAYS = "sprint_exports/retention_days"  # overrides SPRINT_EXPORTS_RETENTION_DAYS for a run
