"""The names other tools and people rely on, in one place: run tags, assets, jobs, pools.

Plain strings, so the command line, the history and the portal can use them
without loading the asset graph (or Dagster at all).
"""

from __future__ import annotations

# Run tags this code location reads and writes.
REQUESTED_BY = "sprint_exports/requested_by"  # contract: whom a run exports for
REQUESTED_BY_SIGNATURE = "sprint_exports/requested_by_signature"  # proof of REQUESTED_BY (see signing.py)
SCHEDULE = "sprint_exports/schedule"  # the scheduled export that launched a run
DELIVER_TO = "sprint_exports/deliver_to"  # comma-separated recipients: deliver this run's files
EXPORT_RUN = "sprint_exports/export_run"  # on a delivery run: the export run it delivers
TRIGGER = "sprint_exports/trigger"  # what launched a run (sensor reasons)
SUBJECT = "sprint_exports/subject"  # subject template for the delivery of this run
RETENTION_DAYS = "sprint_exports/retention_days"  # overrides SPRINT_EXPORTS_RETENTION_DAYS for a run
# Every export run carries this tag; deploy/postgres/dagster.yaml limits how many run at once
# (tag_concurrency_limits) so that exports do not overload the tracker database.
SOURCE_LOAD_TAG = "sprint_exports/source_load"

# The contract's assets, jobs and partitions.
SPRINTS_PARTITIONS = "sprints"
EXTRACT_ASSET = "sprint_extract"
METRICS_ASSET = "sprint_metrics"
EXPORT_ASSET_NAMES = {"csv": "sprint_csv", "xlsx": "sprint_xlsx", "pdf": "sprint_pdf"}
FORMAT_OF_ASSET = {asset: format_name for format_name, asset in EXPORT_ASSET_NAMES.items()}
SPRINT_ASSET_NAMES = (EXTRACT_ASSET, METRICS_ASSET, *EXPORT_ASSET_NAMES.values())
EXPORT_JOB = "export_sprints_job"
DELIVER_JOB = "deliver_exports_job"
CLEANUP_JOB = "cleanup_exports_job"

# The Dagster pool of the steps that read the tracker. An instance may limit it (deploy/postgres
# sets `concurrency.pools.default_limit`) so that, however runs are started (CLI, schedule, UI
# backfill), only so many read the source database at once.
SOURCE_POOL = "sprint_source"

# Metadata key of the clean-up job's observations: the path of a file it deleted.
DELETED_PATH = "deleted_path"
