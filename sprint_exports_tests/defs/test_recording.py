"""How export steps record their files, on both instance types: in batches with DAGSTER_EVENT_BATCH_SIZE
(SQLite through our batch writer), per event without it. Same records either way, and a run that fails
part-way still lists the files it wrote before the failure.

The PostgreSQL half is required on CI (CI=true) and skips with a printed reason elsewhere when the
server is not reachable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, instance_for_test
from dagster._core.instance.ref import InstanceRef

from sprint_exports.instance.dagster_private import write_sqlite_event_batches
from sprint_exports.instance.event_writes import EVENT_BATCH_SIZE, records_in_batches
from sprint_exports.instance.history import HistoryFilter, export_history
from sprint_exports.instance.runner import export_sprints
from sprint_exports_tests.conftest import PRODUCTION_SECRET_KEY
from sprint_exports_tests.deploy.test_postgres_instance import fresh_database, postgres_home, teams_of

SPRINTS = 30  # the demo tracker's: enough for the render pool (24+)
BLOCKED = 20  # the sprint whose export folder cannot be made


@contextmanager
def sqlite_instance(base: Path) -> Iterator[DagsterInstance]:
    with pytest.MonkeyPatch.context() as patch, instance_for_test() as instance:
        patch.delenv(EVENT_BATCH_SIZE, raising=False)
        yield instance


@contextmanager
def sqlite_batched_instance(base: Path) -> Iterator[DagsterInstance]:
    with pytest.MonkeyPatch.context() as patch, instance_for_test() as instance:
        patch.setenv(EVENT_BATCH_SIZE, "1000")
        yield instance


@contextmanager
def postgres_instance(base: Path) -> Iterator[DagsterInstance]:
    with fresh_database("sprint_exports_recording") as url, pytest.MonkeyPatch.context() as patch:
        home = postgres_home(base)
        patch.setenv("DAGSTER_POSTGRES_URL", url)
        patch.setenv("DAGSTER_HOME", str(home))
        patch.setenv("SPRINT_EXPORTS_SECRET_KEY", PRODUCTION_SECRET_KEY)
        patch.setenv(EVENT_BATCH_SIZE, "1000")
        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        try:
            yield instance
        finally:
            instance.dispose()


INSTANCES = {"sqlite": sqlite_instance, "sqlite-batched": sqlite_batched_instance, "postgres": postgres_instance}


@pytest.fixture(params=sorted(INSTANCES))
def instance(request, tmp_path, monkeypatch, demo_url):
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    with INSTANCES[request.param](tmp_path) as opened:
        assert records_in_batches(opened) == (request.param != "sqlite")
        yield opened


def counting_batches(instance: DagsterInstance) -> list[int]:
    """The sizes of the batches the instance's event log is asked to write, from now on."""
    sizes: list[int] = []
    write_sqlite_event_batches(instance)  # what the steps install, so that it is counted too
    storage = instance.event_log_storage
    write_batch = storage.store_event_batch

    def store_event_batch(events):
        sizes.append(len(events))
        return write_batch(events)

    storage.store_event_batch = store_event_batch
    return sizes


def export_files(instance, run_id: str, asset: str) -> dict[str, dict]:
    """partition -> metadata values of the run's materializations of `asset`."""
    from dagster import DagsterEventType

    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=10_000).records
    found = {}
    for record in records:
        event = record.event_log_entry.asset_materialization
        if event.asset_key == AssetKey(asset):
            found[event.partition] = {key: entry.value for key, entry in event.metadata.items()}
    return found


def test_every_file_is_recorded_with_its_contract_metadata(instance, tmp_path):
    batches = counting_batches(instance)
    (outcome,) = export_sprints(instance, None, ["csv", "pdf"])
    assert outcome.success, outcome.error
    for asset, suffix in (("sprint_csv", ".csv"), ("sprint_pdf", ".pdf")):
        files = export_files(instance, outcome.run_id, asset)
        assert sorted(files, key=int) == [str(i) for i in range(1, SPRINTS + 1)]
        for partition, metadata in files.items():
            path = Path(metadata["path"])
            assert path.parent.parent == tmp_path / "exports" / partition and path.suffix == suffix
            assert hashlib.sha256(path.read_bytes()).hexdigest() == metadata["sha256"]
            assert metadata["size_bytes"] == path.stat().st_size
            assert {"row_count", "template", "expires_at", "format", "sprint", "preview"} <= set(metadata)
    assert len(outcome.files) == 2 * SPRINTS
    messages = [record.user_message for record in instance.all_logs(outcome.run_id)]
    for fmt in ("csv", "pdf"):  # progress as files arrive, whichever way they are recorded
        lines = [m for m in messages if f"sprints exported as {fmt} (" in m]
        assert lines[0].startswith("3 of 30 ") and lines[-1].startswith("30 of 30 "), lines
    if records_in_batches(instance):  # each step's 30 materializations in one write
        assert batches.count(SPRINTS) >= 4, batches  # extract, metrics, csv, pdf


def test_a_failure_part_way_keeps_the_files_written_before_it(instance, tmp_path, demo_url):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / str(BLOCKED)).write_text("a file where sprint 20's export folder should be")

    (outcome,) = export_sprints(instance, None, ["csv"])

    assert not outcome.success and "sprint_csv" in outcome.error
    assert instance.get_run_by_id(outcome.run_id).status == DagsterRunStatus.FAILURE
    files = export_files(instance, outcome.run_id, "sprint_csv")
    assert sorted(files, key=int) == [str(i) for i in range(1, BLOCKED)], "every sprint before the failure is recorded"
    for partition, metadata in files.items():
        path = Path(metadata["path"])
        assert path.is_file() and path.parent.parent == exports / partition
        assert hashlib.sha256(path.read_bytes()).hexdigest() == metadata["sha256"]
    assert sorted(f.sprint_id for f in outcome.files) == list(range(1, BLOCKED))

    history = export_history(instance, teams_of(demo_url), filters=HistoryFilter(run_id=outcome.run_id), limit=100)
    assert sorted(e.sprint_id for e in history) == list(range(1, BLOCKED))
    assert all(e.status == "available" and e.format == "csv" for e in history)
    assert not list(exports.rglob("*.partial"))
