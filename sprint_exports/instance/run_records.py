"""What a run exported, read back from its materialization events.

Range runs (backfills) carry no `dagster/partition` tag, so the events, not
the run tags, are the record of which sprint got which file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance

from sprint_exports.names import FORMAT_OF_ASSET, METRICS_ASSET
from sprint_exports.report.model import MetricsSummary
from sprint_exports.formats import FORMAT_NAMES
from sprint_exports.exports.store import ExportFile



@dataclass(frozen=True)
class ExportRecord(ExportFile):
    """An export file as the run that wrote it recorded it."""

    run_id: str


def _materializations(instance: DagsterInstance, run_id: str) -> list:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=1_000_000)
    return [(record.event_log_entry.timestamp, record.event_log_entry.asset_materialization) for record in records.records]


def count_materializations(instance: DagsterInstance, run_id: str) -> int:
    """A count query, not the events: the CLI polls this twice a second beside a running export."""
    return instance.get_run_stats(run_id).materializations


def export_records(instance: DagsterInstance, run_id: str) -> list[ExportRecord]:
    """The run's export files, by sprint then format."""
    found = []
    for timestamp, materialization in _materializations(instance, run_id):
        format_name = FORMAT_OF_ASSET.get(materialization.asset_key.to_user_string())
        if format_name is None:
            continue
        values = {key: entry.value for key, entry in materialization.metadata.items()}
        found.append(
            ExportRecord(
                run_id=run_id,
                sprint_id=int(materialization.partition),
                sprint_name=str(values.get("sprint", "")),
                format=format_name,
                path=Path(str(values["path"])),
                size_bytes=int(values["size_bytes"]),
                row_count=int(values["row_count"]),
                sha256=str(values["sha256"]),
                template=str(values["template"]),
                created_at=dt.datetime.fromtimestamp(timestamp, dt.UTC),
                expires_at=dt.datetime.fromisoformat(str(values["expires_at"])),
            )
        )
    order = {name: index for index, name in enumerate(FORMAT_NAMES)}
    return sorted(found, key=lambda record: (record.sprint_id, order[record.format]))


def summaries_by_sprint(instance: DagsterInstance, run_id: str) -> dict[int, MetricsSummary]:
    """Each sprint's metrics as its `sprint_metrics` materialization in this run recorded them for readers."""
    summaries = {}
    for _, materialization in _materializations(instance, run_id):
        entry = materialization.metadata.get("summary")
        if materialization.asset_key.to_user_string() != METRICS_ASSET or entry is None:
            continue
        summaries[int(materialization.partition)] = MetricsSummary.from_json(entry.value)
    return summaries
