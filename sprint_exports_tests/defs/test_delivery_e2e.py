"""End to end: a scheduled export is emailed through a real `dagster dev` and a real SMTP server.

The schedule file has one entry due every minute. `dagster dev` (webserver and
daemon, the repo's dagster.yaml in a temporary DAGSTER_HOME) ticks it, the
export run writes the files, `export_delivery_sensor` launches
`deliver_exports_job`, and the SMTP test server receives one message per
recipient, with the files on disk attached byte for byte.

Takes 60-120 s: the first tick waits for the next whole minute.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import os
import re
import shutil
import time
from email.message import EmailMessage
from pathlib import Path

import polars as pl
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.instance.ref import InstanceRef

from sprint_exports import names
from sprint_exports.source.database import connect
from sprint_exports.source.demo import seed_demo
from sprint_exports.source.readers import list_sprints
from sprint_exports_tests.dagster_dev import REPO_ROOT, DagsterDev
from sprint_exports_tests.smtp_server import SmtpTestServer

SCHEDULE_NAME = "e2e_every_minute"
TEAM = "Platform"
RECIPIENTS = ["ana@example.com", "li.wei@example.com"]
FORMATS = {"pdf": "application/pdf", "csv": "text/csv"}
EXPORT_ASSETS = {"sprint_pdf": "pdf", "sprint_csv": "csv"}

READY_TIMEOUT = 90  # s for /server_info
MAIL_TIMEOUT = 240  # s from start until both messages are in
NO_DUPLICATE_WAIT = 10  # s to wait after they arrive, for a duplicate to show up
POLL = 2


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def latest_completed_sprint(url: str, team: str) -> dict:
    """The team's completed sprint with the latest end date, read from the tracker."""
    engine = connect(url)
    try:
        sprints = list_sprints(engine)
    finally:
        engine.dispose()
    completed = sprints.filter((pl.col("team_name") == team) & (pl.col("status") == "completed"))
    assert not completed.is_empty(), f"the demo tracker has no completed {team} sprint"
    return completed.sort("end_date", "id").row(-1, named=True)


def export_run_id_of(message: EmailMessage) -> str:
    found = re.search(r"Exported by Dagster run ([0-9a-f-]{36})", message.get_body(preferencelist=("plain",)).get_content())
    assert found, f"message {message['Subject']!r} does not name the export run"
    return found.group(1)


def dagster_environment(home: Path, tracker_url: str, exports: Path, schedules: Path, templates: Path, smtp: SmtpTestServer) -> dict:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DAGSTER_", "SPRINT_", "SMTP_"))  # nothing from the developer's shell leaks in
    }
    env.update(
        DAGSTER_HOME=str(home),
        SPRINT_SOURCE_URL=tracker_url,
        SPRINT_EXPORTS_DIR=str(exports),
        SPRINT_EXPORT_SCHEDULES=str(schedules),
        SPRINT_EXPORT_TEMPLATES_DIR=str(templates),
        SPRINT_DELIVERY_LEDGER_URL=f"sqlite:///{home / 'delivery_ledger.sqlite'}",
        PYTHONUNBUFFERED="1",
        **smtp.environment(),
    )
    return env


def wait_for(predicate, timeout: float, what: str, interval: float = POLL):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def test_scheduled_export_is_emailed_once_to_each_recipient(tmp_path):
    began = time.monotonic()
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    tracker_url = f"sqlite:///{tmp_path / 'tracker.sqlite'}"
    seed_demo(tracker_url)
    sprint = latest_completed_sprint(tracker_url, TEAM)
    exports = tmp_path / "exports"
    templates = tmp_path / "templates"  # empty: only the built-in templates
    templates.mkdir()
    schedules = tmp_path / "export_schedules.yaml"
    schedules.write_text(
        yaml.safe_dump(
            {
                "schedules": [
                    {
                        "name": SCHEDULE_NAME,
                        "cron": "* * * * *",
                        "timezone": "UTC",
                        "teams": [TEAM],
                        "sprints": "latest_completed",
                        "template": "sprint_summary",
                        "formats": list(FORMATS),
                        "recipients": RECIPIENTS,
                        "enabled": True,
                    }
                ]
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )

    smtp = SmtpTestServer(tmp_path, tls=False, auth=False).start()
    env = dagster_environment(home, tracker_url, exports, schedules, templates, smtp)
    dev = DagsterDev(env=env, log_path=tmp_path / "dagster_dev.log")
    timings: dict[str, float] = {}
    try:
        dev.start()
        timings["server_info answered"] = dev.wait_until_ready(READY_TIMEOUT)
        started_wall = time.time()

        remaining = MAIL_TIMEOUT - (time.monotonic() - dev.started_at)
        wait_for(lambda: len(smtp.messages) >= len(RECIPIENTS), remaining, f"{len(RECIPIENTS)} messages at the SMTP server")
        timings["both messages received"] = time.monotonic() - dev.started_at
        time.sleep(NO_DUPLICATE_WAIT)
        messages = smtp.messages

        # --- the messages -------------------------------------------------------------
        # Exactly one message per recipient, all from the first tick's export run. The next
        # minute's tick is a new export run whose mail comes ~60 s later, well after this point.
        summary = [(str(m["To"]), export_run_id_of(m), m["Message-ID"]) for m in messages]
        assert len(messages) == len(RECIPIENTS), f"expected one message per recipient, got {summary}"
        assert len({m["Message-ID"] for m in messages}) == len(messages), f"a message was sent twice: {summary}"
        first_run_id = export_run_id_of(messages[0])
        assert {export_run_id_of(m) for m in messages} == {first_run_id}, summary
        assert sorted(str(m["To"]) for m in messages) == sorted(RECIPIENTS)

        expected_subject = f"{sprint['name']} report"  # the default drops "{team} — " when the sprint name holds the team
        assert TEAM in sprint['name']
        sprint_folder = exports / str(sprint["id"])
        on_disk = [p for p in sprint_folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
        run_prefix = re.sub(r"[^0-9a-zA-Z]", "", first_run_id)[:8]
        run_files = {p.name: p for p in on_disk if p.parent.name.endswith(f"-{run_prefix}")}
        assert sorted(p.suffix for p in run_files.values()) == sorted(f".{f}" for f in FORMATS), (
            f"files of run {first_run_id} under {sprint_folder}: {sorted(map(str, on_disk))}"
        )
        disk_sha = {name: sha256(path.read_bytes()) for name, path in run_files.items()}

        for message in messages:
            assert message["From"] == env["SMTP_FROM"]
            assert message["Subject"] == expected_subject
            plain = message.get_body(preferencelist=("plain",))
            rich = message.get_body(preferencelist=("html",))
            assert plain is not None and plain.get_content_type() == "text/plain"
            assert rich is not None and rich.get_content_type() == "text/html"
            assert sprint["name"] in plain.get_content()
            assert html.escape(sprint["name"]) in rich.get_content()
            attachments = {part.get_filename(): part for part in message.iter_attachments()}
            assert sorted(attachments) == sorted(run_files), f"attachments {sorted(attachments)}, files {sorted(run_files)}"
            for name, part in attachments.items():
                assert part.get_content_type() == FORMATS[Path(name).suffix[1:]]
                assert sha256(part.get_payload(decode=True)) == disk_sha[name], f"{name} differs from the file on disk"

        # --- the runs, read from the instance --------------------------------------------
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:

            def delivery_runs():
                return instance.get_runs(RunsFilter(job_name="deliver_exports_job", tags={names.EXPORT_RUN: first_run_id}))

            wait_for(
                lambda: any(r.is_finished for r in delivery_runs()), 60, "the deliver_exports_job run to finish", interval=1
            )
            (delivery,) = delivery_runs()
            assert delivery.status == DagsterRunStatus.SUCCESS, f"deliver_exports_job run {delivery.run_id}: {delivery.status}"
            assert delivery.tags.get(names.SCHEDULE) == SCHEDULE_NAME

            export_run = instance.get_run_by_id(first_run_id)
            assert export_run is not None
            assert export_run.job_name == "export_sprints_job"
            assert export_run.status == DagsterRunStatus.SUCCESS
            assert export_run.tags.get(names.SCHEDULE) == SCHEDULE_NAME
            assert export_run.tags.get(names.DELIVER_TO) == ",".join(RECIPIENTS)
            assert export_run.tags.get("dagster/partition") == str(sprint["id"])

            recorded = {}
            for record in instance.get_records_for_run(
                first_run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=1000
            ).records:
                materialization = record.event_log_entry.asset_materialization
                if materialization.asset_key.to_user_string() in EXPORT_ASSETS:
                    assert materialization.partition == str(sprint["id"])
                    path = Path(str(materialization.metadata["path"].value))
                    recorded[path.name] = (path, str(materialization.metadata["sha256"].value))
            assert sorted(recorded) == sorted(run_files)
            for name, (path, digest) in recorded.items():
                assert path.resolve() == run_files[name].resolve()
                assert digest == disk_sha[name], f"{name}: recorded sha256 differs from the file on disk"

            # Latency, for the report (-s shows it).
            records = {r.dagster_run.run_id: r for r in instance.get_run_records(RunsFilter(run_ids=[first_run_id, delivery.run_id]))}
            export_record, delivery_record = records[first_run_id], records[delivery.run_id]
            created = export_record.create_timestamp.timestamp()
            tick_time = dt.datetime.fromtimestamp(created, dt.UTC).replace(second=0, microsecond=0)
            timings["first tick after ready (s)"] = created - started_wall
            timings["run created after tick time (s)"] = created - tick_time.timestamp()
            timings["export run create->end (s)"] = export_record.end_time - created
            timings["sensor: export end->delivery created (s)"] = delivery_record.create_timestamp.timestamp() - export_record.end_time
            timings["delivery run create->end (s)"] = delivery_record.end_time - delivery_record.create_timestamp.timestamp()
            timings["export runs by the end"] = len(
                instance.get_runs(RunsFilter(job_name="export_sprints_job", tags={names.SCHEDULE: SCHEDULE_NAME}))
            )
    except BaseException:
        print(f"\n--- dagster dev log tail ({dev.log_path}) ---\n{dev.log_tail()}\n--- end of log tail ---")
        raise
    finally:
        dev.stop()
        smtp.stop()
        timings["total (s)"] = time.monotonic() - began
        print("\ne2e timings: " + ", ".join(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}" for k, v in timings.items()))
