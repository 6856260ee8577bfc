"""Each sprint asset materialized on its own, `materialize([...], partition_key=...)` style.

The whole-job tests run the five assets together; these pin down what each
asset records for one sprint, with the code location's own resources.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, instance_for_test, materialize

from sprint_exports.defs.exports.assets import sprint_csv, sprint_extract, sprint_metrics
from sprint_exports.definitions import defs
from sprint_exports.report.metrics import compute_metrics


@pytest.fixture
def instance(monkeypatch, demo_url, tmp_path):
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("sprints", [str(i) for i in range(1, 31)])
        yield instance


def recorded(instance, run_id: str, asset: str) -> dict:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    (event,) = [r.event_log_entry.asset_materialization for r in records if r.event_log_entry.asset_materialization.asset_key == AssetKey(asset)]
    return {key: entry.value for key, entry in event.metadata.items()} | {"partition": event.partition}


def test_sprint_extract_records_the_sprint_it_read(instance, demo_extracts):
    result = materialize([sprint_extract], partition_key="4", resources=dict(defs.resources), instance=instance)
    assert result.success
    extract = demo_extracts[4]
    metadata = recorded(instance, result.run_id, "sprint_extract")
    assert metadata["partition"] == "4"
    assert metadata["sprint"] == extract.sprint.name and metadata["team"] == extract.sprint.team_name
    assert metadata["issue_count"] == extract.issues.height and metadata["member_count"] == extract.members.height


def test_sprint_metrics_records_the_contract_metrics(instance, demo_extracts):
    result = materialize([sprint_extract, sprint_metrics], partition_key="7", resources=dict(defs.resources), instance=instance)
    assert result.success
    expected = compute_metrics(demo_extracts[7])
    metadata = recorded(instance, result.run_id, "sprint_metrics")
    assert metadata["planned_points"] == expected.planned_points
    assert metadata["completed_points"] == expected.completed_points
    assert metadata["completion_rate"] == pytest.approx(expected.completion_rate)
    assert "| Planned points |" in metadata["preview"]


def test_sprint_csv_writes_one_file_of_the_sprint_s_issues(instance, demo_extracts, tmp_path):
    result = materialize([sprint_extract, sprint_metrics, sprint_csv], partition_key="2", resources=dict(defs.resources),
                         instance=instance)
    assert result.success
    metadata = recorded(instance, result.run_id, "sprint_csv")
    path = Path(metadata["path"])
    assert path.is_relative_to(tmp_path / "exports" / "2")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) - 1 == metadata["row_count"] == demo_extracts[2].issues.height
    assert metadata["template"] == "sprint_summary" and metadata["size_bytes"] == path.stat().st_size
