"""A tracker whose teams are not the demo's: the code location loads, ticks and `schedules validate` say what is wrong.

What the schedule file alone decides is checked at load; teams and recipients
only at each tick and by `schedules validate`, and never for a disabled entry.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest
import yaml
from dagster import instance_for_test
from sqlalchemy import create_engine, insert

from sprint_exports.source import schema
from sprint_exports_tests.defs.test_schedules import ENTRY, tick

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def other_tracker(tmp_path, monkeypatch) -> str:
    """A tracker of two teams the demo never heard of, one sprint each."""
    url = f"sqlite:///{tmp_path / 'own_tracker.sqlite'}"
    engine = create_engine(url)
    schema.metadata.create_all(engine)
    now = dt.datetime(2026, 11, 20, 9, 0)
    with engine.begin() as connection:
        connection.execute(insert(schema.teams), [{"id": 1, "name": "Орбита"}, {"id": 2, "name": "データ基盤"}])
        connection.execute(insert(schema.users), [
            {"id": 1, "name": "Ива Петрова", "email": "iva@own.example", "role": "member"},
            {"id": 2, "name": "佐藤 花子", "email": "hanako@own.example", "role": "admin"},
        ])
        connection.execute(insert(schema.team_members), [
            {"team_id": 1, "user_id": 1, "role": "Developer", "capacity": 60},
            {"team_id": 2, "user_id": 2, "role": "QA", "capacity": 40},
        ])
        connection.execute(insert(schema.sprints), [
            {"id": 1, "team_id": 1, "name": "Орбита 1", "status": "completed", "start_date": dt.date(2026, 11, 2),
             "end_date": dt.date(2026, 11, 13), "goal": None, "updated_at": now},
            {"id": 2, "team_id": 2, "name": "スプリント 1", "status": "completed", "start_date": dt.date(2026, 11, 2),
             "end_date": dt.date(2026, 11, 13), "goal": "移行", "updated_at": now},
        ])
    engine.dispose()
    monkeypatch.setenv("SPRINT_SOURCE_URL", url)
    return url


def tick_error(entry: dict) -> str:
    """The tick's failure as the UI's tick history shows it: Dagster's wrapper and our cause."""
    with instance_for_test() as instance, pytest.raises(Exception) as raised:
        tick(entry, dt.datetime(2026, 11, 30, 8, tzinfo=BERLIN), instance)
    return f"{raised.value}: {raised.value.__cause__}"


def write_schedules(folder: Path, *entries: dict) -> Path:
    path = folder / "export_schedules.yaml"
    path.write_text(yaml.safe_dump({"schedules": list(entries)}, allow_unicode=True), encoding="utf-8")
    return path


def sprint_exports(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "sprint-exports"), *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=300, cwd=REPO)


def test_the_shipped_demo_schedule_file_does_not_stop_an_own_tracker(other_tracker, tmp_path):
    """The repo's export_schedules.yaml names the demo's teams; an own tracker exports regardless."""
    env = {"SPRINT_EXPORT_SCHEDULES": str(REPO / "export_schedules.yaml"), "SPRINT_EXPORTS_DIR": str(tmp_path / "out")}
    exported = sprint_exports("export", "--all", "--formats", "csv", env=env)
    assert exported.returncode == 0, exported.stderr
    assert "success (2 sprints)" in exported.stdout
    assert len(list((tmp_path / "out").rglob("*.csv"))) == 2


def test_a_renamed_team_fails_only_that_schedule_s_tick_naming_the_team(other_tracker, tmp_path):
    message = tick_error({**ENTRY, "teams": ["Platform"], "recipients": ["iva@own.example"]})
    assert "evaluation of schedule platform_weekly" in message
    assert "Schedule 'platform_weekly': teams: 'Platform' not in the tracker; teams there: Орбита, データ基盤" in message


def test_a_stranger_recipient_fails_the_tick_naming_them(other_tracker):
    message = tick_error({**ENTRY, "teams": ["Орбита"], "recipients": ["iva@own.example", "boss@example.com"]})
    assert "recipients: boss@example.com not a user of the tracker" in message


def test_a_good_entry_ticks_against_the_own_tracker(other_tracker):
    entry = {**ENTRY, "teams": ["Орбита"], "recipients": ["iva@own.example"]}
    with instance_for_test() as instance:
        (request,) = tick(entry, dt.datetime(2026, 11, 30, 8, tzinfo=BERLIN), instance).run_requests
    assert request.partition_key == "1"


def test_schedules_validate_names_enabled_entries_and_passes_disabled_ones(other_tracker, tmp_path):
    path = write_schedules(
        tmp_path,
        {**ENTRY, "name": "demo_example", "enabled": False},  # the demo's teams, switched off: not checked
        {**ENTRY, "name": "orbit_weekly", "teams": ["Орбита"], "recipients": ["iva@own.example"]},
    )
    ok = sprint_exports("schedules", "validate", str(path), env={})
    assert ok.returncode == 0, ok.stderr
    assert "ok      demo_example (disabled: tracker not checked)" in ok.stdout and "ok      orbit_weekly" in ok.stdout

    bad = write_schedules(tmp_path, {**ENTRY, "name": "growth_weekly", "teams": ["Growth"], "recipients": ["iva@own.example"]})
    refused = sprint_exports("schedules", "validate", str(bad), env={})
    assert refused.returncode == 1
    assert f"Schedule file {bad}: entry 'growth_weekly': teams: 'Growth' not in the tracker; teams there: Орбита, データ基盤" in refused.stderr


def test_schedules_validate_still_refuses_what_the_file_alone_decides(other_tracker, tmp_path):
    path = write_schedules(tmp_path, {**ENTRY, "enabled": False, "cron": "every monday"})
    refused = sprint_exports("schedules", "validate", str(path), env={})
    assert refused.returncode == 1 and "cron 'every monday' is not a valid cron expression" in refused.stderr


def test_definitions_load_without_connecting_anywhere(tmp_path):
    """An unreachable tracker, an empty instance folder: the code location loads, and seeds no demo database."""
    home = tmp_path / "home"
    home.mkdir()
    loaded = subprocess.run(
        [sys.executable, "-c", "from sprint_exports.definitions import defs; print(len(defs.resolve_all_job_defs()))"],
        env={**os.environ, "DAGSTER_HOME": str(home), "SPRINT_SOURCE_URL": "postgresql://nobody:secret@127.0.0.1:9/none",
             "SPRINT_EXPORT_SCHEDULES": str(REPO / "export_schedules.yaml")},
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "secret" not in loaded.stderr and "Cannot reach" not in loaded.stderr
    assert not (home / "demo_tracker.sqlite").exists(), "loading definitions must not seed the demo tracker"
