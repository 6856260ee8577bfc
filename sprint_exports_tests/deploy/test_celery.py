"""export_sprints_job with SPRINT_EXPORTS_EXECUTOR=celery: its steps run in a real dagster-celery worker.

One worker process (its own process group, its own queue on a dedicated Redis
database) and one run of three sprints launched with `dagster job execute`,
both on the deploy PostgreSQL instance config (deploy/postgres/dagster.yaml)
in a fresh database. Requires Redis and PostgreSQL on CI (CI=true); skipped
with a printed reason elsewhere when either is not reachable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from sprint_exports.names import SOURCE_LOAD_TAG
from sprint_exports.instance.run_records import export_records
from sprint_exports.exports.store import sha256_of
from sprint_exports_tests.conftest import PRODUCTION_SECRET_KEY, services_required
from sprint_exports_tests.deploy.test_postgres_instance import REPO, fresh_database, postgres_home

# A Redis database of its own; the queue name is unique per test session as well.
REDIS_URL = os.environ.get("SPRINT_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
WORKER_CONFIG = REPO / "deploy" / "celery" / "config.yaml"
BIN = Path(sys.executable).parent
STEPS = {"sprint_extract", "sprint_metrics", "sprint_csv", "sprint_xlsx", "sprint_pdf"}


def unavailable(message: str) -> None:
    if services_required():
        pytest.fail(f"{message} (required on CI)")
    print(f"\nSKIPPING Celery tests: {message}")
    pytest.skip(message)


def redis_client():
    try:
        import dagster_celery  # noqa: F401
        import redis
    except ImportError as error:
        unavailable(f"dagster-celery and redis are not installed ({error}); install dagster-celery==0.29.27, celery, redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        unavailable(f"Redis not reachable at {REDIS_URL}: {error}")
    return client


def group_members(pgid: int) -> set[int]:
    """Live processes of a process group (read from /proc; zombies excluded)."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.add(int(entry.name))
    return members


def stop_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the worker's whole process group (celery's warm shutdown), then SIGKILL what is left."""
    pgid = process.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if group_members(pgid):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=10)


def shut_down(worker: subprocess.Popen, client, queue: str, instance: DagsterInstance | None) -> None:
    """Stop the worker's process group, drop the test queue's keys from Redis, close the instance."""
    stop_group(worker)
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    client.close()
    if instance is not None:
        instance.dispose()


def wait_until_ready(process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if " ready." in text:
            return
        if process.poll() is not None:
            pytest.fail(f"the celery worker exited with {process.returncode}:\n{text[-4000:]}")
        time.sleep(0.25)
    pytest.fail(f"the celery worker was not ready after {timeout:.0f} s:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def celery_run(request, tmp_path_factory):
    """A worker, then one export run of sprints 1-3 launched with the celery executor."""
    client = redis_client()
    base = tmp_path_factory.mktemp("celery")
    with fresh_database("sprint_exports_celery") as postgres_url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_POSTGRES_URL", postgres_url)  # the instance config reads it
        demo_url = request.getfixturevalue("demo_url")
        home = postgres_home(base)
        queue = f"sprint_exports_test_{os.getpid()}"
        worker_name = f"sprint-exports-test-{os.getpid()}"
        # What the worker and the run process share: the instance (its config, its PostgreSQL, its
        # storage folder for the IO manager's pickles), the tracker, the exports folder, the broker.
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery execs `celery` from PATH
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_URL": postgres_url,
            "SPRINT_SOURCE_URL": demo_url,
            "SPRINT_EXPORTS_DIR": str(base / "exports"),
            "SPRINT_EXPORTS_EXECUTOR": "celery",
            "SPRINT_EXPORTS_SECRET_KEY": PRODUCTION_SECRET_KEY,
            "DAGSTER_CELERY_BROKER_URL": REDIS_URL,
            "SPRINT_EXPORTS_CELERY_QUEUE": queue,
        }
        log = base / "worker.log"
        started = time.monotonic()
        with log.open("wb") as sink:
            worker = subprocess.Popen(
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(WORKER_CONFIG),
                 "-q", queue, "-n", worker_name],
                cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        instance = None
        try:
            wait_until_ready(worker, log)
            ready = time.monotonic()
            instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
            instance.add_dynamic_partitions("sprints", [str(sprint_id) for sprint_id in range(1, 6)])
            # `dagster job execute` is what a run worker does: loads the definitions (with the env
            # var, so the job's executor is celery), orchestrates, and hands each step to Celery.
            tags = {ASSET_PARTITION_RANGE_START_TAG: "1", ASSET_PARTITION_RANGE_END_TAG: "3"}
            launcher = subprocess.Popen(
                [str(BIN / "dagster"), "job", "execute", "-m", "sprint_exports.definitions", "-j", "export_sprints_job",
                 "--tags", json.dumps(tags)],
                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            )
            try:
                output, _ = launcher.communicate(timeout=150)
            except subprocess.TimeoutExpired:
                launcher.kill()
                output, _ = launcher.communicate()
                pytest.fail(f"the celery run did not finish in 150 s:\n{output[-4000:]}\nworker:\n{log.read_text()[-4000:]}")
            finished = time.monotonic()
            print(f"\ncelery worker ready in {ready - started:.1f} s; run of 3 sprints took {finished - ready:.1f} s")
            assert launcher.returncode == 0, f"{output[-4000:]}\nworker:\n{log.read_text()[-4000:]}"
            yield {
                "instance": instance, "worker": worker, "worker_name": worker_name, "launcher_pid": launcher.pid,
                "home": home, "exports": base / "exports", "queue": queue, "log": log,
                # read now, while the worker still runs
                "worker_pids": group_members(worker.pid),
            }
        finally:
            shut_down(worker, client, queue, instance)


def the_run(instance):
    (run,) = instance.get_runs()
    return run


def test_the_run_succeeds_with_the_celery_executor(celery_run):
    run = the_run(celery_run["instance"])
    assert run.status == DagsterRunStatus.SUCCESS
    assert run.job_name == "export_sprints_job" and run.tags[SOURCE_LOAD_TAG] == "export"
    events = celery_run["instance"].all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
    submitted = {e.dagster_event.step_key for e in events if e.user_message.startswith("Submitting celery task")}
    assert submitted == STEPS
    assert f'to queue "{celery_run["queue"]}"' in next(e.user_message for e in events if e.user_message.startswith("Submitting"))


def test_every_step_ran_in_the_worker_not_in_the_run_process(celery_run):
    instance, run = celery_run["instance"], the_run(celery_run["instance"])
    (run_start,) = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_START)
    orchestrator = run_start.dagster_event.pid
    assert orchestrator == celery_run["launcher_pid"] != os.getpid()

    step_pids = {e.dagster_event.step_key: e.dagster_event.pid for e in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)}
    assert set(step_pids) == STEPS
    assert all(pid not in (orchestrator, os.getpid()) for pid in step_pids.values()), step_pids
    assert set(step_pids.values()) <= celery_run["worker_pids"], (step_pids, celery_run["worker_pids"])

    engine_events = instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
    claimed = {
        e.dagster_event.step_key: e.dagster_event.event_specific_data.metadata["Celery worker"].value
        for e in engine_events
        if e.dagster_event.event_specific_data and "Celery worker" in e.dagster_event.event_specific_data.metadata
    }
    assert set(claimed) == STEPS
    assert all(name.startswith(f"{celery_run['worker_name']}@") for name in claimed.values()), claimed


def test_the_files_are_right_and_the_pickles_are_in_the_shared_home(celery_run, monkeypatch):
    instance, run = celery_run["instance"], the_run(celery_run["instance"])
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(celery_run["exports"]))  # records are trusted only inside it
    records = export_records(instance, run.run_id)
    assert [(r.sprint_id, r.format) for r in records] == [(s, f) for s in (1, 2, 3) for f in ("csv", "xlsx", "pdf")]
    for record in records:
        assert record.path.is_file() and record.path.is_relative_to(celery_run["exports"]), record.path
        assert record.size_bytes == record.path.stat().st_size > 0
        assert sha256_of(record.path) == record.sha256
    storage = celery_run["home"] / "storage" / "sprint_exports"
    for asset in ("sprint_extract", "sprint_metrics"):
        assert sorted(p.name for p in (storage / asset).glob("*.pickle")) == ["1.pickle", "2.pickle", "3.pickle"]
