"""Workers without a shared disk: a dagster-celery worker and a launcher that share only services.

Two "hosts" on one machine: the launcher (`dagster job execute`, the run's orchestrator) and a
dagster-celery worker each get their own working folder, their own DAGSTER_HOME (with its
`storage/`) and their own TMPDIR, all separate temporary folders. What they share is what
`deploy/README.md` ("Many hosts") lists: the PostgreSQL instance, the Redis broker, the tracker,
the secret key, and SPRINT_EXPORTS_DIR=s3://… on a real S3-compatible server (moto's, on a
loopback port). export_sprints_job runs for 3 sprints through the worker; the files must be right
in S3, and no export file or pickle may be left on either local disk. Requires PostgreSQL, Redis
and moto on CI (CI=true); skipped with a printed reason elsewhere when one is missing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import openpyxl
import pypdf
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from sprint_exports.instance.run_records import export_records
from sprint_exports_tests.conftest import PRODUCTION_SECRET_KEY
from sprint_exports_tests.deploy.test_celery import (
    BIN,
    REDIS_URL,
    STEPS,
    WORKER_CONFIG,
    group_members,
    redis_client,
    shut_down,
    wait_until_ready,
)
from sprint_exports_tests.deploy.test_postgres_instance import fresh_database, postgres_home
from sprint_exports_tests.s3_server import REGION, s3_endpoint, s3_environment  # noqa: F401 (fixture)

PREFIX = "exports"
# What an export or a pickle would look like if one were left on a local disk.
EXPORT_SUFFIXES = {".csv", ".xlsx", ".pdf", ".pickle", ".partial"}


def host(base: Path, name: str) -> dict[str, Path]:
    """One host's own folders: working folder, DAGSTER_HOME (the deploy PostgreSQL config), TMPDIR."""
    root = base / name
    (root / "work").mkdir(parents=True)
    (root / "tmp").mkdir()
    return {"root": root, "work": root / "work", "home": postgres_home(root), "tmp": root / "tmp"}


def left_on_disk(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and (path.suffix in EXPORT_SUFFIXES or "sprint_exports" in path.parts))


@pytest.fixture(scope="module")
def no_shared_disk_run(request, tmp_path_factory):
    import boto3

    client = redis_client()
    endpoint = request.getfixturevalue("s3_endpoint")
    demo_url = request.getfixturevalue("demo_url")
    base = tmp_path_factory.mktemp("no_shared_disk")
    launcher_host, worker_host = host(base, "launcher"), host(base, "worker")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=s3_environment(endpoint)["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=s3_environment(endpoint)["AWS_SECRET_ACCESS_KEY"])
    bucket = f"no-shared-disk-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    with fresh_database("sprint_exports_no_shared_disk") as postgres_url, pytest.MonkeyPatch.context() as patch:
        queue = f"sprint_exports_s3_test_{os.getpid()}"
        worker_name = f"sprint-exports-s3-test-{os.getpid()}"
        # What every host is given: the same services and settings, nothing on a shared path.
        shared = {
            **{name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "DAGSTER_", "SPRINT_"))},
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery execs `celery` from PATH
            "DAGSTER_POSTGRES_URL": postgres_url,
            "SPRINT_SOURCE_URL": demo_url,  # a tracker database every host reaches (here one SQLite file, read only)
            "SPRINT_EXPORTS_DIR": f"s3://{bucket}/{PREFIX}",
            "SPRINT_EXPORTS_EXECUTOR": "celery",
            "SPRINT_EXPORTS_SECRET_KEY": PRODUCTION_SECRET_KEY,
            "DAGSTER_CELERY_BROKER_URL": REDIS_URL,
            "SPRINT_EXPORTS_CELERY_QUEUE": queue,
            "DAGSTER_EVENT_BATCH_SIZE": "1000",  # deploy/README.md asks it of every host on PostgreSQL: batched recording
            **s3_environment(endpoint),
        }

        def env_of(machine: dict[str, Path]) -> dict[str, str]:
            return {**shared, "DAGSTER_HOME": str(machine["home"]), "TMPDIR": str(machine["tmp"])}

        for name, value in {**env_of(launcher_host), "DAGSTER_POSTGRES_URL": postgres_url}.items():
            if name.startswith(("AWS_", "DAGSTER_", "SPRINT_")):
                patch.setenv(name, value)  # this process reads the records as the launcher host would
        log = worker_host["root"] / "worker.log"
        with log.open("wb") as sink:
            worker = subprocess.Popen(
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(WORKER_CONFIG),
                 "-q", queue, "-n", worker_name],
                cwd=worker_host["work"], env=env_of(worker_host), stdout=sink, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        instance = None
        try:
            wait_until_ready(worker, log)
            instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(launcher_host["home"])))
            instance.add_dynamic_partitions("sprints", [str(sprint_id) for sprint_id in range(1, 6)])
            tags = {ASSET_PARTITION_RANGE_START_TAG: "1", ASSET_PARTITION_RANGE_END_TAG: "3"}
            started = time.monotonic()
            launcher = subprocess.run(
                [str(BIN / "dagster"), "job", "execute", "-m", "sprint_exports.definitions", "-j", "export_sprints_job",
                 "--tags", json.dumps(tags)],
                cwd=launcher_host["work"], env=env_of(launcher_host), capture_output=True, text=True, timeout=240,
                stdin=subprocess.DEVNULL,
            )
            print(f"\nrun of 3 sprints through the worker, exports on S3: {time.monotonic() - started:.1f} s")
            output = launcher.stdout + launcher.stderr
            assert launcher.returncode == 0, f"{output[-4000:]}\nworker:\n{log.read_text(errors='replace')[-4000:]}"
            yield {"instance": instance, "s3": s3, "bucket": bucket, "hosts": (launcher_host, worker_host),
                   "worker_pids": group_members(worker.pid)}
        finally:
            shut_down(worker, client, queue, instance)


def test_every_step_ran_in_the_worker_and_the_run_succeeded(no_shared_disk_run):
    instance = no_shared_disk_run["instance"]
    (run,) = instance.get_runs()
    assert run.status == DagsterRunStatus.SUCCESS
    step_pids = {e.dagster_event.step_key: e.dagster_event.pid for e in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)}
    assert set(step_pids) == STEPS
    assert set(step_pids.values()) <= no_shared_disk_run["worker_pids"], "every step ran on the worker host"


def test_the_worker_recorded_the_files_in_batches(no_shared_disk_run):
    """With DAGSTER_EVENT_BATCH_SIZE on the worker, the files' materializations come from the steps'
    outputs (Dagster batches only those; they carry a data version), not one yielded event each."""
    instance = no_shared_disk_run["instance"]
    (run,) = instance.get_runs()
    for step in ("sprint_csv", "sprint_xlsx", "sprint_pdf"):
        events = [e.dagster_event for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
                  if e.dagster_event.step_key == step]
        assert len(events) == 3
        assert all("dagster/data_version" in event.event_specific_data.materialization.tags for event in events), step


def test_the_files_are_right_in_s3_and_none_is_on_either_local_disk(no_shared_disk_run, demo_extracts):
    instance, s3, bucket = no_shared_disk_run["instance"], no_shared_disk_run["s3"], no_shared_disk_run["bucket"]
    (run,) = instance.get_runs()
    records = export_records(instance, run.run_id)
    assert [(r.sprint_id, r.format) for r in records] == [(s, f) for s in (1, 2, 3) for f in ("csv", "xlsx", "pdf")]
    for record in records:
        url = str(record.path)
        assert url.startswith(f"s3://{bucket}/{PREFIX}/{record.sprint_id}/"), url
        data = s3.get_object(Bucket=bucket, Key=url[len(f"s3://{bucket}/"):])["Body"].read()
        assert len(data) == record.size_bytes > 0 and hashlib.sha256(data).hexdigest() == record.sha256
        issues = demo_extracts[record.sprint_id].issues.height
        if record.format == "csv":
            assert len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) == issues + 1
        elif record.format == "xlsx":
            assert openpyxl.load_workbook(io.BytesIO(data), read_only=True).sheetnames
        else:
            assert record.sprint_name in "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{PREFIX}/storage/sprint_exports/")
    pickles = {item["Key"] for page in pages for item in page.get("Contents", [])}
    assert pickles == {f"{PREFIX}/storage/sprint_exports/{asset}/{sprint}.pickle"
                       for asset in ("sprint_extract", "sprint_metrics") for sprint in (1, 2, 3)}
    for machine in no_shared_disk_run["hosts"]:
        assert left_on_disk(machine["root"]) == [], f"export files on the local disk of {machine['root'].name}"
        scratch = [path for path in machine["tmp"].rglob("*") if path.is_file()]
        assert scratch == [], "scratch files are deleted once uploaded"  # (empty pymp-* folders are Celery's)
