"""Dagster's private API, used only through `instance/dagster_private.py`, checked by name.

Dagster is pinned in pyproject.toml; an upgrade that moves any of this fails
here first. (`add_partition_metadata` is exercised by test_assets and
test_export_job, which read the metadata back.)
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from sprint_exports.instance import dagster_private

PACKAGE = Path(__file__).resolve().parents[2] / "sprint_exports"


def test_dagster_s_own_run_tags_are_what_ranges_rely_on():
    assert dagster_private.PARTITION_NAME_TAG == "dagster/partition"
    assert dagster_private.ASSET_PARTITION_RANGE_START_TAG == "dagster/asset_partition_range_start"
    assert dagster_private.ASSET_PARTITION_RANGE_END_TAG == "dagster/asset_partition_range_end"


def test_cron_helpers():
    assert dagster_private.is_valid_cron("0 8 * * MON") and not dagster_private.is_valid_cron("every monday")
    berlin_monday = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    previous = dagster_private.previous_cron_tick("0 8 * * MON", berlin_monday, "Europe/Berlin")
    assert previous.astimezone(dt.UTC) == dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)


def test_no_other_module_imports_dagster_internals():
    found = subprocess.run(
        ["grep", "-rln", "--include=*.py", r"from dagster\._\|import dagster\._", str(PACKAGE)],
        capture_output=True, text=True,
    ).stdout.split()
    assert [Path(path).relative_to(PACKAGE).as_posix() for path in found] == ["instance/dagster_private.py"]


def _materialize_once(instance, run_id: str) -> None:
    """One materialization event of `run_id` written through the instance's own event log."""
    import time

    from dagster import AssetMaterialization, DagsterEvent, DagsterEventType
    from dagster._core.events import StepMaterializationData
    from dagster._core.events.log import EventLogEntry

    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name="export_sprints_job",
        event_specific_data=StepMaterializationData(AssetMaterialization(asset_key="sprint_csv", partition="1")),
    )
    instance.event_log_storage.store_event(
        EventLogEntry(error_info=None, level=10, user_message="", run_id=run_id, timestamp=time.time(), dagster_event=event)
    )


def test_the_sqlite_event_log_keeps_its_wal_while_a_run_writes():
    from dagster import instance_for_test

    with instance_for_test() as instance:
        storage = instance.event_log_storage
        _materialize_once(instance, "run-a")
        run_shard = Path(storage.path_for_shard("run-a"))
        assert not Path(f"{run_shard}-wal").exists(), "without a kept connection each close checkpoints and removes the WAL"
        dagster_private.keep_sqlite_event_log_open(instance, "run-a")
        _materialize_once(instance, "run-a")
        assert Path(f"{run_shard}-wal").exists() and Path(f"{storage.path_for_shard('index')}-wal").exists()
        assert len(instance.get_records_for_run("run-a").records) == 2
        dagster_private.keep_sqlite_event_log_open(instance, "run-b")  # a new run lets the old shard go
        assert not Path(f"{run_shard}-wal").exists()


def test_the_event_log_remembers_tables_it_has_seen():
    from dagster import instance_for_test

    with instance_for_test() as instance:
        dagster_private.remember_event_tables(instance)
        dagster_private.remember_event_tables(instance)  # idempotent
        storage = instance.event_log_storage
        assert storage.has_table("asset_event_tags") and storage.has_table("asset_event_tags")
        assert not storage.has_table("no_such_table")


def test_the_sqlite_event_log_reuses_its_engines_and_still_reads_and_writes():
    from dagster import instance_for_test

    with instance_for_test() as instance:
        dagster_private.reuse_sqlite_event_log_engines(instance)
        dagster_private.reuse_sqlite_event_log_engines(instance)  # idempotent
        for run_id in ("run-a", "run-b", "run-c", "run-d", "run-e", "run-a"):  # more shards than engines kept
            _materialize_once(instance, run_id)
        assert len(instance.get_records_for_run("run-a").records) == 2
        assert len(instance.get_records_for_run("run-e").records) == 1
        from dagster import AssetKey

        assert instance.get_latest_materialization_event(AssetKey("sprint_csv")).run_id == "run-a"
        with instance.event_log_storage.index_connection() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1, "NORMAL: the WAL is synced at checkpoints"


def _materialization(run_id: str, asset: str, partition: str, timestamp: float):
    """A materialization event as a step's output makes it: partitioned, metadata, a data-version tag."""
    from dagster import AssetMaterialization, DagsterEvent, DagsterEventType
    from dagster._core.events import StepMaterializationData
    from dagster._core.events.log import EventLogEntry

    materialization = AssetMaterialization(
        asset_key=asset, partition=partition, metadata={"sha256": f"hash-{partition}"}, tags={"dagster/data_version": f"v{partition}"}
    )
    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name="export_sprints_job",
        event_specific_data=StepMaterializationData(materialization),
    )
    return EventLogEntry(error_info=None, level=10, user_message="", run_id=run_id, timestamp=timestamp, dagster_event=event)


def _what_the_instance_says(instance, run_id: str, assets: list[str]) -> dict:
    from dagster import AssetKey, DagsterEventType

    said: dict = {"run": [
        (record.event_log_entry.asset_materialization.asset_key.to_user_string(), record.event_log_entry.asset_materialization.partition)
        for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=1000).records
    ]}
    for asset in assets:
        key = AssetKey(asset)
        said[asset] = {
            "partitions": sorted(instance.get_materialized_partitions(key)),
            "latest": instance.get_latest_materialization_event(key).asset_materialization.partition,
            "newest first": [r.partition_key for r in instance.fetch_materializations(key, limit=1000).records],
            "metadata": sorted(
                r.asset_materialization.metadata["sha256"].value for r in instance.fetch_materializations(key, limit=1000).records
            ),
            "tags of each event": sorted(  # the partition's own data version, on the index shard's id of its event
                (r.partition_key, [tags["dagster/data_version"] for tags in instance.event_log_storage.get_event_tags_for_asset(key, filter_event_id=r.storage_id)])
                for r in instance.fetch_materializations(key, limit=1000).records
            ),
        }
    return said


def test_the_sqlite_batch_writer_records_what_one_event_at_a_time_records(monkeypatch):
    import time

    from dagster import instance_for_test

    monkeypatch.setattr(dagster_private, "SQLITE_BATCH_ROWS", 7)  # several INSERTs for one batch
    start = time.time()
    events = [
        _materialization("run-a", asset, str(partition), start + index)
        for index, (partition, asset) in enumerate((p, a) for p in range(1, 21) for a in ("sprint_csv", "sprint_pdf"))
    ]
    with instance_for_test() as one_at_a_time, instance_for_test() as batched:
        for event in events:
            one_at_a_time.event_log_storage.store_event(event)
        dagster_private.write_sqlite_event_batches(batched)
        dagster_private.write_sqlite_event_batches(batched)  # idempotent
        batched.event_log_storage.store_event_batch(events)
        expected = _what_the_instance_says(one_at_a_time, "run-a", ["sprint_csv", "sprint_pdf"])
        assert expected["sprint_csv"]["latest"] == "20" and len(expected["run"]) == 40  # the reference is what we think
        assert _what_the_instance_says(batched, "run-a", ["sprint_csv", "sprint_pdf"]) == expected
