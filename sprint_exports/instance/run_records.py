"""What a run exported, read back from its materialization events.

Range runs (backfills) carry no `dagster/partition` tag, so the events, not
the run tags, are the record of which sprint got which file.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from dagster import DagsterEventType, DagsterInstance, EventLogRecord

from sprint_exports import settings
from sprint_exports.exports.records import BadRecord, export_file_from_metadata
from sprint_exports.report.model import MetricsSummary
from sprint_exports.exports.storage import StoredPath
from sprint_exports.exports.store import ExportFile
from sprint_exports.formats import FORMAT_NAMES
from sprint_exports.names import FORMAT_OF_ASSET, METRICS_ASSET

Warn = Callable[[str], None]
log_warning: Warn = logging.getLogger("sprint_exports.records").warning  # default for callers without a log


@dataclass(frozen=True)
class ExportRecord(ExportFile):
    """An export file as the run that wrote it recorded it."""

    run_id: str


def read_export_record(record: EventLogRecord, root: StoredPath | None = None, warn: Warn = log_warning) -> ExportRecord | None:
    """The export file a materialization event records, or None (after `warn`) if it is not one we can trust.

    `root` is the exports directory (or S3 prefix) the recorded path must lie in (default SPRINT_EXPORTS_DIR).
    """
    materialization = record.asset_materialization
    asset = materialization.asset_key.to_user_string() if materialization else "?"
    format_name = FORMAT_OF_ASSET.get(asset)
    if materialization is None or format_name is None:
        return None
    values = {key: entry.value for key, entry in materialization.metadata.items()}
    try:
        exported = export_file_from_metadata(
            values,
            format_name=format_name,
            partition=materialization.partition,
            created_at=dt.datetime.fromtimestamp(record.timestamp, dt.UTC),
            root=root or settings.exports_dir(),
        )
    except BadRecord as problem:
        warn(f"Skipped {describe_record(record)}: {problem}")
        return None
    return ExportRecord(**{name: getattr(exported, name) for name in ExportFile.__dataclass_fields__}, run_id=record.run_id)


def describe_record(record: EventLogRecord) -> str:
    """`the sprint_csv materialization of run 6e62… (partition '3')`, for warnings."""
    materialization = record.asset_materialization
    asset = materialization.asset_key.to_user_string() if materialization else "an asset"
    run = f"run {record.run_id}" if record.run_id else "no run (reported by hand)"
    partition = materialization.partition if materialization else None
    return f"the {asset} materialization of {run} (partition {partition!r})"


def _records(instance: DagsterInstance, run_id: str) -> list[EventLogRecord]:
    return list(instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=1_000_000).records)


def count_materializations(instance: DagsterInstance, run_id: str) -> int:
    """A count query, not the events: the CLI polls this twice a second beside a running export."""
    return instance.get_run_stats(run_id).materializations


def export_records(instance: DagsterInstance, run_id: str, warn: Warn = log_warning) -> list[ExportRecord]:
    """The run's export files, by sprint then format; records we cannot trust are skipped with a warning."""
    found = [exported for record in _records(instance, run_id) if (exported := read_export_record(record, warn=warn))]
    order = {name: index for index, name in enumerate(FORMAT_NAMES)}
    return sorted(found, key=lambda record: (record.sprint_id, order[record.format]))


def summaries_by_sprint(instance: DagsterInstance, run_id: str, warn: Warn = log_warning) -> dict[int, MetricsSummary]:
    """Each sprint's metrics as its `sprint_metrics` materialization in this run recorded them for readers."""
    summaries = {}
    for record in _records(instance, run_id):
        materialization = record.asset_materialization
        entry = materialization.metadata.get("summary")
        if materialization.asset_key.to_user_string() != METRICS_ASSET or entry is None:
            continue
        if not str(materialization.partition).isdecimal():
            warn(f"Skipped {describe_record(record)}: its partition is not a sprint id")
            continue
        try:
            summaries[int(materialization.partition)] = MetricsSummary.from_json(entry.value)
        except (TypeError, ValueError, AttributeError) as problem:
            warn(f"Skipped {describe_record(record)}: its metrics summary is malformed ({problem})")
    return summaries
