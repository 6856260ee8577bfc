"""The `sprint-exports` command line, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sprint_exports", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    home = tmp_path / "home"
    return {"DAGSTER_HOME": str(home), "SPRINT_EXPORTS_DIR": str(tmp_path / "exports"), "SPRINT_SOURCE_URL": ""}


def test_seed_demo_options(tmp_path, env):
    url = f"sqlite:///{tmp_path / 'custom.sqlite'}"
    done = cli("seed-demo", "--url", url, "--sprints", "4", "--issues-per-sprint", "12", "--seed", "1", env=env)
    assert done.returncode == 0, done.stderr
    assert "4 sprints" in done.stdout and "36 issues" in done.stdout
    assert set(inspect(create_engine(url)).get_table_names()) >= {"teams", "users", "team_members", "sprints", "issues"}
    again = cli("seed-demo", "--url", url, env=env)
    assert again.returncode == 1 and "already has tracker tables" in again.stderr


def test_export_prints_the_files_and_writes_them(env):
    done = cli("export", "--sprint", "1", "--sprint", "2", "--formats", "csv,pdf", env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(("1 ", "2 "))]
    assert len(lines) == 4
    for line in lines:
        path = Path(line.split()[-1])
        assert path.exists() and path.suffix in (".csv", ".pdf")
    assert "success (2 sprints)" in done.stdout
    assert Path(env["DAGSTER_HOME"], "demo_tracker.sqlite").exists(), "the demo tracker is created on first use"


def test_export_plans_each_asset_once_not_each_sprint(env):
    """The CLI sets DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS: a 1,000-sprint run writes 4 planned events, not 4,000."""
    from dagster import DagsterEventType, DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    done = cli("export", "--sprint", "1", "--sprint", "2", "--sprint", "3", "--formats", "csv,pdf", env=env)
    assert done.returncode == 0, done.stderr
    (run_id,) = [line.split()[1].rstrip(":") for line in done.stdout.splitlines() if line.startswith("Run ")]
    with DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"])) as instance:
        records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records
        planned = [record.event_log_entry.dagster_event.event_specific_data for record in records]
        materialized = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    assert sorted(p.asset_key.to_user_string() for p in planned) == ["sprint_csv", "sprint_extract", "sprint_metrics", "sprint_pdf"]
    assert all(sorted(p.partitions_subset.get_partition_keys()) == ["1", "2", "3"] for p in planned)
    assert len(materialized) == 4 * 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["export", "--sprint", "77"], "Sprint id(s) 77 not found"),
        (["export", "--sprint", "1", "--formats", "csv,docx"], "--formats 'csv,docx' is not allowed"),
        (["export"], "give either --sprint ID (one or more) or --all"),
        (["export", "--all", "--sprint", "1"], "give either --sprint ID (one or more) or --all"),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(env, args, message):
    done = cli(*args, env=env)
    assert done.returncode == 2
    assert message in done.stderr
    assert not Path(env["SPRINT_EXPORTS_DIR"]).exists()


def test_unreachable_source_names_the_database(env):
    done = cli("export", "--all", env={**env, "SPRINT_SOURCE_URL": "postgresql://bot:hunter2@127.0.0.1:1/tracker"})
    assert done.returncode == 2
    assert "127.0.0.1:1/tracker" in done.stderr and "hunter2" not in done.stderr
