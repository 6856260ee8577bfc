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
