"""Scheduled exports: the file's validation, and ticks evaluated at fixed instants."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zoneinfo

import pytest
import yaml
from dagster import Definitions, build_schedule_context, instance_for_test
from dagster._utils.schedules import is_valid_cron_string, schedule_execution_time_iterator
from sqlalchemy import create_engine, update

from sprint_exports import names
from sprint_exports.defs.exports.assets import SPRINT_ASSETS
from sprint_exports.definitions import defs
from sprint_exports.defs.exports.jobs import export_sprints_job
from sprint_exports.defs.common.resources import TrackerDatabase
from sprint_exports.delivery.schedule_file import ScheduledExport, ScheduleFileError, check_against_tracker, load_schedule_file
from sprint_exports.defs.delivery.schedules import build_export_schedule
from sprint_exports.source import schema

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
ENTRY = {
    "name": "platform_weekly", "cron": "0 8 * * MON", "timezone": "Europe/Berlin", "teams": ["Platform"],
    "sprints": "latest_completed", "template": "sprint_summary", "formats": ["pdf", "xlsx"],
    "recipients": ["ana@example.com", "li.wei@example.com"], "subject": "{team} — {sprint} report", "enabled": True,
}
TEMPLATES = ["sprint_summary", "issue_list", "metrics_only"]


def load(tmp_path, *entries, teams=("Platform", "Payments", "Mobile"), users=("ana@example.com", "li.wei@example.com")):
    path = tmp_path / "export_schedules.yaml"
    path.write_text(yaml.safe_dump({"schedules": list(entries)}, allow_unicode=True), encoding="utf-8")
    schedules = load_schedule_file(path, templates=TEMPLATES, is_valid_cron=is_valid_cron_string)
    check_against_tracker(schedules, path, teams, users)
    return schedules


def test_a_valid_file_loads(tmp_path):
    (entry,) = load(tmp_path, ENTRY).schedules
    assert entry.formats == ["pdf", "xlsx"] and entry.teams == ["Platform"]
    assert load_schedule_file(tmp_path / "absent.yaml", templates=TEMPLATES, is_valid_cron=is_valid_cron_string).schedules == []


@pytest.mark.parametrize(
    "change, message",
    [
        ({"cron": "0 25 * * MON"}, "entry 'platform_weekly': cron '0 25 * * MON' is not a valid cron expression"),
        ({"timezone": "Mars/Olympus"}, "entry 'platform_weekly' (schedules.0) timezone: 'Mars/Olympus' is not an IANA time zone"),
        ({"template": "fancy"}, "entry 'platform_weekly': template 'fancy' is not a known template; available: issue_list, metrics_only, sprint_summary"),
        ({"formats": ["pdf", "docx"]}, "entry 'platform_weekly' (schedules.0) formats.1: 'docx' is not allowed; input should be 'csv', 'xlsx' or 'pdf'"),
        ({"teams": ["Platform", "Growth"]}, "entry 'platform_weekly': teams: 'Growth' not in the tracker; teams there: Mobile, Payments, Platform"),
        ({"recipients": ["ana@example.com", "boss@example.com"]}, "entry 'platform_weekly': recipients: boss@example.com not a user of the tracker"),
        ({"recipients": ["not-an-email"]}, "recipients: 'not-an-email' is not an email address"),
        ({"sprints": "all_of_them"}, "sprints: 'all_of_them' is not allowed"),
        ({"subject": "{owner} report"}, "subject: subject placeholder {owner} is not allowed"),
        ({"colour": "red"}, "colour: is not a template field"),
    ],
)
def test_bad_entries_name_the_file_entry_and_field(tmp_path, change, message):
    with pytest.raises(ScheduleFileError) as raised:
        load(tmp_path, {**ENTRY, **change})
    text = str(raised.value)
    assert text.startswith(f"Schedule file {tmp_path / 'export_schedules.yaml'}: ")
    assert message in text


def test_duplicate_names_are_refused(tmp_path):
    with pytest.raises(ScheduleFileError, match="schedule name\\(s\\) platform_weekly appear more than once"):
        load(tmp_path, ENTRY, {**ENTRY, "teams": "all"})


def test_a_bad_schedule_file_stops_the_code_location_loading(tmp_path, demo_url):
    path = tmp_path / "schedules.yaml"
    path.write_text(yaml.safe_dump({"schedules": [{**ENTRY, "cron": "every monday"}]}), encoding="utf-8")
    loaded = subprocess.run(
        [sys.executable, "-c", "import sprint_exports.definitions"],
        env={**os.environ, "SPRINT_EXPORT_SCHEDULES": str(path), "SPRINT_SOURCE_URL": demo_url},
        capture_output=True, text=True, timeout=120,
    )
    assert loaded.returncode != 0
    assert f"Schedule file {path}: entry 'platform_weekly': cron 'every monday' is not a valid cron expression" in loaded.stderr


@pytest.fixture
def tracker(seeded_tracker):
    return seeded_tracker(30, 5)


def tick(entry: dict, when: dt.datetime, instance):
    schedule = build_export_schedule(ScheduledExport.model_validate(entry))
    repository = Definitions(
        assets=SPRINT_ASSETS, jobs=[export_sprints_job], schedules=[schedule], resources=dict(defs.resources)
    ).get_repository_def()
    with build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources={"tracker": TrackerDatabase()}, repository_def=repository
    ) as context:
        return schedule.evaluate_tick(context)


def test_tick_launches_the_latest_completed_sprint_once_with_delivery_tags(tracker):
    with instance_for_test() as instance:
        when = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BERLIN)
        result = tick(ENTRY, when, instance)
        (request,) = result.run_requests
        assert request.partition_key == "19"  # Platform Sprint 7, the team's last completed sprint
        assert request.tags[names.SCHEDULE] == "platform_weekly"
        assert request.tags[names.DELIVER_TO] == "ana@example.com,li.wei@example.com"
        assert request.tags[names.SUBJECT] == "{team} — {sprint} report"
        assert request.run_config == {"resources": {"report_template": {"config": {"name": "sprint_summary"}}}}
        assert {key.to_user_string() for key in request.asset_selection} == {"sprint_extract", "sprint_metrics", "sprint_pdf", "sprint_xlsx"}
        assert "19" in instance.get_dynamic_partitions("sprints"), "the tick registered the partition it needs"
        again = tick(ENTRY, when, instance)
        assert again.run_requests[0].run_key == request.run_key, "the same tick always has the same run key"


def test_all_teams_in_one_run_when_their_sprints_are_neighbours(tracker):
    with instance_for_test() as instance:
        result = tick({**ENTRY, "teams": "all"}, dt.datetime(2026, 11, 30, 8, tzinfo=BERLIN), instance)
        (request,) = result.run_requests
        assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) == ("19", "21")


def test_nothing_to_export_is_a_skip_not_an_empty_mail(tracker):
    with instance_for_test() as instance:
        result = tick({**ENTRY, "sprints": "completed_since_last_run"}, dt.datetime(2026, 11, 30, 8, tzinfo=BERLIN), instance)
        assert result.run_requests == [] and "No completed since last run sprint of Platform" in result.skip_message


def test_completed_since_last_run_across_the_spring_clock_change(tracker):
    """Berlin moves to summer time on 2026-03-29: Monday 08:00 is 07:00Z before and 06:00Z after."""
    ticks = schedule_execution_time_iterator(dt.datetime(2026, 3, 22, tzinfo=dt.UTC).timestamp(), "0 8 * * MON", "Europe/Berlin")
    before, after = next(ticks), next(ticks)
    assert before.astimezone(dt.UTC) == dt.datetime(2026, 3, 23, 7, 0, tzinfo=dt.UTC)
    assert after.astimezone(dt.UTC) == dt.datetime(2026, 3, 30, 6, 0, tzinfo=dt.UTC)

    engine = create_engine(tracker)
    with engine.begin() as connection:
        for sprint_id, finished in ((1, dt.datetime(2026, 3, 23, 6, 59)), (4, dt.datetime(2026, 3, 23, 7, 0)), (7, dt.datetime(2026, 3, 30, 5, 59)), (10, dt.datetime(2026, 3, 30, 6, 0))):
            connection.execute(update(schema.sprints).where(schema.sprints.c.id == sprint_id).values(status="completed", updated_at=finished))
    engine.dispose()
    with instance_for_test() as instance:
        result = tick({**ENTRY, "sprints": "completed_since_last_run"}, after, instance)
        # 1 finished before the previous tick and 10 at this tick; 4 and 7 are new since the last run, and so
        # is demo sprint 16 (Platform Sprint 6, completed 2026-03-29 18:00). Not neighbours: one run each.
        assert [r.partition_key for r in result.run_requests] == ["4", "7", "16"]


def test_disabled_entries_are_stopped_schedules():
    from dagster import DefaultScheduleStatus

    schedule = build_export_schedule(ScheduledExport.model_validate({**ENTRY, "enabled": False}))
    assert schedule.default_status == DefaultScheduleStatus.STOPPED
    assert schedule.execution_timezone == "Europe/Berlin" and schedule.cron_schedule == "0 8 * * MON"
