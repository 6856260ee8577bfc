"""Whole `export_sprints_job` runs in a temporary Dagster instance."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, instance_for_test

from sprint_exports.definitions import defs
from sprint_exports.instance.runner import export_sprints
from sprint_exports.source.readers import UnknownSprintError

EXPORT_ASSETS = {"sprint_csv": "csv", "sprint_xlsx": "xlsx", "sprint_pdf": "pdf"}
CONTRACT_KEYS = {"path", "size_bytes", "row_count", "sha256", "template", "expires_at"}


@pytest.fixture
def exports_dir(tmp_path, monkeypatch, demo_url) -> Path:
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    return tmp_path / "exports"


def materializations(instance, run_id):
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=10_000).records
    return [record.event_log_entry.asset_materialization for record in records]


def test_all_sprints_export_as_one_run_with_contract_metadata(exports_dir, demo_extracts):
    with instance_for_test() as instance:
        (outcome,) = export_sprints(instance, None)
        assert outcome.success, outcome.error
        run = instance.get_run_by_id(outcome.run_id)
        assert run.job_name == "export_sprints_job"
        assert run.tags["dagster/asset_partition_range_start"] == "1"
        assert run.tags["dagster/asset_partition_range_end"] == "30"
        assert instance.get_dynamic_partitions("sprints") == [str(i) for i in range(1, 31)]

        events = materializations(instance, outcome.run_id)
        exported = [e for e in events if e.asset_key.to_user_string() in EXPORT_ASSETS]
        assert len(exported) == 30 * 3
        assert {e.partition for e in events if e.asset_key == AssetKey("sprint_metrics")} == {str(i) for i in range(1, 31)}
        for event in exported:
            metadata = {key: entry.value for key, entry in event.metadata.items()}
            assert CONTRACT_KEYS <= set(metadata)
            path = Path(metadata["path"])
            assert path.is_absolute() and path.is_relative_to(exports_dir)
            assert path.parent.parent == exports_dir / event.partition
            assert path.suffix == "." + EXPORT_ASSETS[event.asset_key.to_user_string()]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == metadata["sha256"]
            assert path.stat().st_size == metadata["size_bytes"]
            assert metadata["row_count"] == demo_extracts[int(event.partition)].issues.height
            assert metadata["template"] == "sprint_summary"
            expires = dt.datetime.fromisoformat(metadata["expires_at"])
            assert dt.timedelta(days=29) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)
        assert len(outcome.files) == 90
        assert not list(exports_dir.rglob("*.partial")), "no temporary file survives a run"


def test_second_export_writes_new_identical_files(exports_dir):
    with instance_for_test() as instance:
        (first,) = export_sprints(instance, [2])
        (second,) = export_sprints(instance, [2])
        assert first.success and second.success
        run = instance.get_run_by_id(first.run_id)
        assert run.tags["dagster/partition"] == "2"
        before = {f.format: Path(f.path) for f in first.files}
        after = {f.format: Path(f.path) for f in second.files}
        assert set(before) == {"csv", "xlsx", "pdf"}
        for fmt in before:
            assert before[fmt] != after[fmt] and before[fmt].exists(), "nothing is overwritten"
            assert before[fmt].read_bytes() == after[fmt].read_bytes(), f"{fmt} is not reproducible"


def test_formats_subset_and_non_contiguous_sprints(exports_dir):
    with instance_for_test() as instance:
        outcomes = export_sprints(instance, [1, 2, 7], formats=["csv"])
        assert [o.partition_keys for o in outcomes] == [["1", "2"], ["7"]]
        assert all(o.success for o in outcomes)
        files = [f for o in outcomes for f in o.files]
        assert {(f.sprint_id, f.format) for f in files} == {(1, "csv"), (2, "csv"), (7, "csv")}


def test_unknown_sprint_is_refused_before_any_run(exports_dir):
    with instance_for_test() as instance:
        with pytest.raises(UnknownSprintError, match="404"):
            export_sprints(instance, [1, 404])
        assert instance.get_runs() == []
        assert not exports_dir.exists()


def test_partition_without_a_sprint_fails_the_run_naming_it(exports_dir):
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("sprints", ["999"])
        result = defs.resolve_job_def("export_sprints_job").execute_in_process(
            instance=instance, partition_key="999", raise_on_error=False
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "999" in str(failure.step_failure_data.error.to_string())
        assert not exports_dir.exists()
