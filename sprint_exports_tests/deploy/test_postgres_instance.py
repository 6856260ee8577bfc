"""The production instance config (deploy/postgres/dagster.yaml) against the local PostgreSQL.

A fresh database per test session holds the instance's runs, event logs and
schedule storage; an export, the history query and a sensor tick run against
it. Required on CI (CI=true); skipped with a printed reason elsewhere when the
server is not reachable.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, build_sensor_context
from dagster._core.instance.ref import InstanceRef
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sprint_exports.names import SOURCE_LOAD_TAG
from sprint_exports.source.database import connect
from sprint_exports.source.readers import list_sprints
from sprint_exports.exports.store import sha256_of
from sprint_exports_tests.conftest import POSTGRES_ADMIN_URL, PRODUCTION_SECRET_KEY, require_postgres

REPO = Path(__file__).resolve().parents[2]
DEPLOY_INSTANCE_CONFIG = REPO / "deploy" / "postgres" / "dagster.yaml"


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """CREATE DATABASE <prefix>_<pid> on the test server; yields its psycopg2 URL; drops it afterwards."""
    server = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg2", query={})
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    require_postgres(admin, server.render_as_string(hide_password=True), "PostgreSQL instance tests")
    name = f"{prefix}_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_home(base: Path) -> Path:
    """A DAGSTER_HOME holding exactly the deploy config."""
    home = base / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(DEPLOY_INSTANCE_CONFIG, home / "dagster.yaml")
    return home


def teams_of(source_url: str) -> dict[int, tuple[int, str]]:
    engine = connect(source_url)
    try:
        return {row["id"]: (row["team_id"], row["team_name"]) for row in list_sprints(engine).iter_rows(named=True)}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pg(request, tmp_path_factory):
    """The deploy instance on a fresh database, with one real export of sprints 1 and 2 as CSV."""
    from sprint_exports.instance.runner import export_sprints

    base = tmp_path_factory.mktemp("postgres_instance")
    with fresh_database("sprint_exports_instance") as url, pytest.MonkeyPatch.context() as patch:
        demo_url = request.getfixturevalue("demo_url")  # after the server check: a skip costs nothing
        home = postgres_home(base)
        patch.setenv("DAGSTER_POSTGRES_URL", url)
        patch.setenv("DAGSTER_HOME", str(home))
        patch.setenv("SPRINT_EXPORTS_SECRET_KEY", PRODUCTION_SECRET_KEY)
        patch.setenv("SPRINT_SOURCE_URL", demo_url)
        patch.setenv("SPRINT_EXPORTS_DIR", str(base / "exports"))
        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        try:
            outcomes = export_sprints(instance, [1, 2], ["csv"])
            yield {"instance": instance, "url": url, "outcomes": outcomes, "exports": base / "exports", "demo_url": demo_url}
        finally:
            instance.dispose()


def test_the_instance_is_postgres_with_the_queue_limits(pg):
    instance = pg["instance"]
    for storage in (instance.run_storage, instance.event_log_storage, instance.schedule_storage):
        assert "Postgres" in type(storage).__name__, type(storage)
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    queue = instance.get_concurrency_config().run_queue_config  # what the queue daemon reads
    assert queue.tag_concurrency_limits == [{"key": SOURCE_LOAD_TAG, "value": "export", "limit": 2}]
    assert instance.run_coordinator.dequeue_interval_seconds == 1
    assert not instance.telemetry_enabled


def test_an_export_runs_and_is_stored_in_postgres(pg):
    (outcome,) = pg["outcomes"]
    assert outcome.success, outcome.error
    assert outcome.partition_keys == ["1", "2"]
    assert [(f.sprint_id, f.format) for f in outcome.files] == [(1, "csv"), (2, "csv")]
    for record in outcome.files:
        assert record.path.is_file() and record.path.is_relative_to(pg["exports"])
        assert sha256_of(record.path) == record.sha256
    run = pg["instance"].get_run_by_id(outcome.run_id)
    assert run.status == DagsterRunStatus.SUCCESS
    assert run.tags[SOURCE_LOAD_TAG] == "export", "the job tag the queue limits on"

    engine = create_engine(pg["url"])
    try:
        with engine.connect() as connection:
            runs = connection.execute(text("SELECT count(*) FROM runs WHERE run_id = :id"), {"id": outcome.run_id}).scalar()
            events = connection.execute(
                text("SELECT count(*) FROM event_logs WHERE run_id = :id AND dagster_event_type = 'ASSET_MATERIALIZATION'"),
                {"id": outcome.run_id},
            ).scalar()
    finally:
        engine.dispose()
    assert runs == 1
    assert events == 2 + 2 + 2  # extract, metrics and csv for each of the two sprints


def test_history_reads_exactly_those_exports(pg):
    from sprint_exports.instance.history import export_history

    (outcome,) = pg["outcomes"]
    entries = export_history(pg["instance"], teams_of(pg["demo_url"]))
    assert [(e.sprint_id, e.format, e.run_id) for e in entries] == [(2, "csv", outcome.run_id), (1, "csv", outcome.run_id)]
    by_sprint = {e.sprint_id: e for e in entries}
    assert by_sprint[1].sprint_name == "Platform Sprint 1" and by_sprint[1].team == "Platform"
    assert all(e.status == "available" for e in entries)
    assert {e.sha256 for e in entries} == {f.sha256 for f in outcome.files}


def test_a_sensor_tick_reads_and_plans_against_postgres(pg):
    from sprint_exports.definitions import defs
    from sprint_exports.defs.common.resources import TrackerDatabase

    instance = pg["instance"]
    sensor = defs.resolve_sensor_def("sprint_partitions_sensor")

    def tick(cursor=None):
        with build_sensor_context(
            instance=instance, cursor=cursor, definitions=defs, resources={"tracker": TrackerDatabase()}
        ) as context:
            return sensor(context)

    # The export registered every tracker sprint; one removed key must come back from the tick.
    assert len(instance.get_dynamic_partitions("sprints")) == 30
    instance.delete_dynamic_partition("sprints", "30")
    first = tick()
    assert [list(r.partition_keys) for r in first.dynamic_partitions_requests] == [["30"]]
    assert first.run_requests == [] and first.cursor is not None
    instance.add_dynamic_partitions("sprints", ["30"])
    assert tick(first.cursor).dynamic_partitions_requests == []

    # With an old cursor every completed sprint is requested once, keyed by its update time.
    replay = tick("2000-01-01T00:00:00")
    completed = list_sprints_completed(pg["demo_url"])
    assert sorted(int(r.partition_key) for r in replay.run_requests) == completed
    assert len({r.run_key for r in replay.run_requests}) == len(completed)


def list_sprints_completed(source_url: str) -> list[int]:
    engine = connect(source_url)
    try:
        sprints = list_sprints(engine)
    finally:
        engine.dispose()
    return sorted(sprints.filter(sprints["status"] == "completed")["id"].to_list())


def test_the_queue_runs_at_most_two_exports_at_once(pg):
    """The daemon's dequeue decision over queued runs carrying the job's tags, as launches give them."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteRepositoryOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    from sprint_exports.definitions import defs

    instance = pg["instance"]
    repository = RemoteRepositoryOrigin(
        InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="sprint_exports.definitions"), location_name="sprint_exports"),
        "__repository__",
    )

    def create(job_name: str, status: DagsterRunStatus, **tags: str):
        job = defs.resolve_job_def(job_name)
        return instance.create_run_for_job(
            job, status=status, tags={**job.run_tags, **tags}, remote_job_origin=repository.get_job_origin(job_name)
        )

    def dequeue() -> list[str]:
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        daemon._logger = logging.getLogger(__name__)  # noqa: SLF001 - set by the daemon runner normally
        return sorted(run.job_name for run in daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), None))  # noqa: SLF001

    for key in ("3", "4", "5", "6"):
        create("export_sprints_job", DagsterRunStatus.QUEUED, **{"dagster/partition": key})
    create("cleanup_exports_job", DagsterRunStatus.QUEUED)
    assert dequeue() == ["cleanup_exports_job", "export_sprints_job", "export_sprints_job"]

    for key in ("7", "8"):
        create("export_sprints_job", DagsterRunStatus.STARTED, **{"dagster/partition": key})
    assert dequeue() == ["cleanup_exports_job"], "two exports in progress: the others wait"


def test_the_source_pool_holds_an_export_until_a_slot_frees(pg):
    """Pool sprint_source (limit 2 in the deploy config) gates the tracker read of every run, CLI ones included."""
    import threading
    import time

    from sprint_exports.names import SOURCE_POOL
    from sprint_exports.instance.runner import export_sprints

    instance = pg["instance"]
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 2
    storage = instance.event_log_storage
    holder = "other-runs-reading-the-tracker"
    for step in ("a", "b"):
        assert storage.claim_concurrency_slot(SOURCE_POOL, holder, step).is_claimed
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(result=export_sprints(instance, [3], ["csv"])))
    worker.start()
    try:
        time.sleep(6)
        assert worker.is_alive(), "the export ran although both source slots were taken"
        assert not (pg["exports"] / "3").exists()
    finally:
        storage.free_concurrency_slots_for_run(holder)
    worker.join(120)
    (result,) = outcome["result"]
    assert result.success, result.error
    assert [(f.sprint_id, f.format) for f in result.files] == [(3, "csv")]
