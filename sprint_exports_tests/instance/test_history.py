"""History, downloads and clean-up over real runs in one instance."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from sprint_exports import names
from sprint_exports.access import AccessPolicy
from sprint_exports.definitions import defs
from sprint_exports.delivery.ledger import DeliveryLedger
from sprint_exports.instance.history import DownloadRefused, HistoryFilter, download_export, export_history
from sprint_exports.instance.runner import export_sprints
from sprint_exports.source.database import connect
from sprint_exports.source.readers import list_sprints
from sprint_exports_tests.smtp_server import SmtpTestServer


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_url):
    """Four export runs: an admin's, a scheduled and delivered one, a short-lived one, a member's."""
    base = tmp_path_factory.mktemp("history")
    env = {
        "SPRINT_SOURCE_URL": demo_url,
        "SPRINT_EXPORTS_DIR": str(base / "exports"),
        "SPRINT_DELIVERY_LEDGER_URL": f"sqlite:///{base / 'ledger.sqlite'}",
        "DAGSTER_HOME": str(base / "home"),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    (base / "home").mkdir()
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(base / "home")))
    runs = {}
    (runs["admin"],) = export_sprints(instance, [1], ["csv", "pdf"], requested_by="ana@example.com")
    (runs["scheduled"],) = export_sprints(
        instance, [2], ["xlsx"], template="issue_list",
        tags={names.SCHEDULE: "payments_weekly", names.DELIVER_TO: "zoe@example.com,li.wei@example.com"},
    )
    (runs["short"],) = export_sprints(instance, [3], ["csv"], tags={names.RETENTION_DAYS: "1"})
    (runs["member"],) = export_sprints(instance, [4], ["csv"], requested_by="li.wei@example.com")
    assert all(run.success for run in runs.values())
    server = SmtpTestServer(base, tls=False, auth=False).start()
    smtp_env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port), "SMTP_BACKOFF_SECONDS": "0.01"}
    saved.update({name: os.environ.get(name) for name in smtp_env})  # restored with the others below
    os.environ.update(smtp_env)
    delivered = defs.resolve_job_def("deliver_exports_job").execute_in_process(
        instance=instance, run_config={"ops": {"deliver_exports": {"config": {"export_run_id": runs["scheduled"].run_id}}}},
    )
    server.stop()
    assert delivered.success
    engine = connect(demo_url)
    teams = {row["id"]: (row["team_id"], row["team_name"]) for row in list_sprints(engine).iter_rows(named=True)}
    policy = AccessPolicy.load(engine)
    engine.dispose()
    yield {"instance": instance, "runs": runs, "teams": teams, "policy": policy, "base": base, "env": env}
    instance.dispose()
    for name, value in saved.items():
        os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


def history(world, now=None, **filters):
    ledger = DeliveryLedger(world["env"]["SPRINT_DELIVERY_LEDGER_URL"])
    try:
        return export_history(world["instance"], world["teams"], filters=HistoryFilter(**filters),
                              policy=world["policy"], ledger=ledger, now=now)
    finally:
        ledger.dispose()


def test_history_lists_every_export_newest_first_with_its_facts(world):
    entries = history(world)
    assert [(e.sprint_id, e.format) for e in entries] == [(4, "csv"), (3, "csv"), (2, "xlsx"), (1, "pdf"), (1, "csv")]
    by_key = {(e.sprint_id, e.format): e for e in entries}
    admin = by_key[(1, "csv")]
    assert (admin.sprint_name, admin.team, admin.template, admin.requested_by) == ("Platform Sprint 1", "Platform", "sprint_summary", "ana@example.com")
    assert admin.status == "available" and admin.run_id == world["runs"]["admin"].run_id
    assert admin.size_bytes == Path(admin.path).stat().st_size
    scheduled = by_key[(2, "xlsx")]
    assert (scheduled.schedule, scheduled.template, scheduled.requested_by) == ("payments_weekly", "issue_list", None)
    assert sorted((d["recipient"], d["status"]) for d in scheduled.deliveries) == [("li.wei@example.com", "refused"), ("zoe@example.com", "sent")]
    short = by_key[(3, "csv")]
    assert dt.datetime.fromisoformat(short.expires_at) - dt.datetime.fromisoformat(short.created_at) < dt.timedelta(days=1, minutes=1)


def test_history_filters(world):
    assert {(e.sprint_id, e.format) for e in history(world, sprint_id=1)} == {(1, "csv"), (1, "pdf")}
    assert {e.sprint_id for e in history(world, format="csv")} == {1, 3, 4}
    assert {e.sprint_id for e in history(world, team="Payments")} == {2}
    assert {e.sprint_id for e in history(world, user="li.wei@example.com")} == {1, 4}  # Platform's sprints
    assert {e.sprint_id for e in history(world, user="zoe@example.com")} == {2}
    assert {e.sprint_id for e in history(world, user="ana@example.com")} == {1, 2, 3, 4}
    assert history(world, user="ghost@example.com") == []
    assert history(world, since=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)) == []
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    assert {e.sprint_id: e.status for e in history(world, now=later, format="csv")} == {1: "available", 3: "expired", 4: "available"}


def cli(world, *args):
    return subprocess.run([sys.executable, "-m", "sprint_exports", *args], env={**os.environ, **world["env"]},
                          capture_output=True, text=True, timeout=120)


def test_history_cli_and_json(world):
    table = cli(world, "history", "--user", "li.wei@example.com")
    assert table.returncode == 0, table.stderr
    assert "Platform Sprint 1" in table.stdout and "Payments" not in table.stdout
    listed = json.loads(cli(world, "history", "--json", "--format", "csv", "--limit", "2").stdout)
    assert [(e["sprint_id"], e["status"]) for e in listed] == [(4, "available"), (3, "available")]
    assert listed[0]["sha256"] == history(world, sprint_id=4)[0].sha256
    second_page = json.loads(cli(world, "history", "--json", "--format", "csv", "--limit", "2", "--page", "2").stdout)
    assert [e["sprint_id"] for e in second_page] == [1]


def download(world, **kwargs):
    return download_export(world["instance"], world["teams"], world["policy"], **kwargs)


def test_download_checks_bytes_access_expiry_and_tampering(world, tmp_path):
    run_id = world["runs"]["admin"].run_id
    entry, copy = download(world, user="li.wei@example.com", format_name="pdf", destination=tmp_path, run_id=run_id)
    assert copy.read_bytes() == Path(entry.path).read_bytes()

    latest, _ = download(world, user="ana@example.com", format_name="csv", destination=tmp_path / "x.csv", sprint_id=4)
    assert latest.run_id == world["runs"]["member"].run_id and (tmp_path / "x.csv").exists()

    with pytest.raises(DownloadRefused, match="zoe@example.com is not a member of Platform"):
        download(world, user="zoe@example.com", format_name="pdf", destination=tmp_path, run_id=run_id)
    with pytest.raises(DownloadRefused, match="ghost@example.com is not a user of the tracker"):
        download(world, user="ghost@example.com", format_name="pdf", destination=tmp_path, run_id=run_id)
    with pytest.raises(DownloadRefused, match="No xlsx export found for run nope"):
        download(world, user="ana@example.com", format_name="xlsx", destination=tmp_path, run_id="nope")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    with pytest.raises(DownloadRefused, match="is expired"):
        download(world, user="ana@example.com", format_name="csv", destination=tmp_path, sprint_id=3, now=later)

    tampered = Path(history(world, sprint_id=4)[0].path)
    original = tampered.read_bytes()
    tampered.write_bytes(original.replace(b"PLAT", b"HACK", 1))
    try:
        with pytest.raises(DownloadRefused, match="does not match its recorded sha256"):
            download(world, user="ana@example.com", format_name="csv", destination=tmp_path / "t.csv", sprint_id=4)
        assert not (tmp_path / "t.csv").exists()
    finally:
        tampered.write_bytes(original)


def test_download_cli(world, tmp_path):
    run_id = world["runs"]["admin"].run_id
    done = cli(world, "download", run_id, "--format", "csv", "--user", "ana@example.com", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout and (tmp_path / "platform-sprint-1.csv").exists()
    refused = cli(world, "download", run_id, "--format", "csv", "--user", "zoe@example.com", "-o", str(tmp_path))
    assert refused.returncode == 1 and "Download refused" in refused.stderr


def test_cleanup_removes_exactly_the_expired_and_never_follows_symlinks(world, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    short = history(world, sprint_id=3)[0]
    folder = Path(short.path).parent
    (folder / "link-out").symlink_to(outside / "precious.txt")
    (folder / "dir-out").symlink_to(outside, target_is_directory=True)
    kept = {e.path for e in history(world) if e.sprint_id != 3}

    as_of = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    job = defs.resolve_job_def("cleanup_exports_job")
    result = job.execute_in_process(instance=world["instance"], run_config={"ops": {"remove_expired_exports": {"config": {"as_of": as_of}}}})
    assert result.success
    assert not folder.exists() and not folder.parent.exists()
    assert (outside / "precious.txt").read_text() == "keep me"
    assert all(Path(path).exists() for path in kept), "nothing unexpired is touched"
    statuses = {(e.sprint_id, e.format): e.status for e in history(world)}
    assert statuses[(3, "csv")] == "deleted" and statuses[(1, "csv")] == "available"

    again = job.execute_in_process(instance=world["instance"], run_config={"ops": {"remove_expired_exports": {"config": {"as_of": as_of}}}})
    output = next(e for e in again.all_events if e.is_successful_output)
    assert output.event_specific_data.metadata["removed_folders"].value == 0


def test_cleanup_refuses_a_folder_that_is_a_symlink(world, tmp_path):
    (run,) = export_sprints(world["instance"], [5], ["csv"], tags={names.RETENTION_DAYS: "1"})
    folder = run.files[0].path.parent
    outside = tmp_path / "elsewhere"
    folder.rename(outside)
    folder.symlink_to(outside, target_is_directory=True)
    as_of = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    result = defs.resolve_job_def("cleanup_exports_job").execute_in_process(
        instance=world["instance"], run_config={"ops": {"remove_expired_exports": {"config": {"as_of": as_of}}}}
    )
    assert result.success
    # Through the symlink the recorded path resolves outside the exports directory: the record is not trusted.
    warnings = [entry.user_message for entry in world["instance"].all_logs(result.run_id) if entry.level == logging.WARNING]
    assert any(f"run {run.run_id} (partition '5')" in text and "lies outside the exports directory" in text for text in warnings)
    assert (outside / run.files[0].path.name).exists() and folder.is_symlink()
