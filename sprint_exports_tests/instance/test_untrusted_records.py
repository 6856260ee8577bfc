"""History, downloads and clean-up trust nothing recorded: forged, foreign and malformed
materializations in a real instance, files outside the exports folder, deleted runs, stale partials.

Forged records are written the ways people can write them: `report_runless_asset_event` (what the
UI's "Report materialization" and GraphQL's `reportRunlessAssetEvents` call) and a run of a job of
the test's own that materializes an export asset with metadata of its choosing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetMaterialization, DagsterInstance, MetadataValue, job, op
from dagster._core.instance.ref import InstanceRef

from sprint_exports import names
from sprint_exports.access import AccessPolicy
from sprint_exports.definitions import defs
from sprint_exports.instance.history import DownloadRefused, HistoryFilter, download_export, export_history
from sprint_exports.instance.runner import export_sprints
from sprint_exports.source.database import connect
from sprint_exports.source.readers import list_sprints

SECRET = Path("/etc/passwd")


@pytest.fixture
def world(tmp_path, demo_url, monkeypatch):
    env = {
        "SPRINT_SOURCE_URL": demo_url,
        "SPRINT_EXPORTS_DIR": str(tmp_path / "exports"),
        "SPRINT_DELIVERY_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "home").mkdir()
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path / "home")))
    engine = connect(demo_url)
    teams = {row["id"]: (row["team_id"], row["team_name"]) for row in list_sprints(engine).iter_rows(named=True)}
    policy = AccessPolicy.load(engine)
    engine.dispose()
    yield {"instance": instance, "teams": teams, "policy": policy, "env": env, "base": tmp_path}
    instance.dispose()


def export(world, sprint_id, retention_days=None):
    tags = {names.RETENTION_DAYS: str(retention_days)} if retention_days else {}
    (run,) = export_sprints(world["instance"], [sprint_id], ["csv"], tags=tags)
    assert run.success, run.error
    return run


def forged_metadata(source: Path, **changes) -> dict:
    data = source.read_bytes()
    metadata = {
        "path": MetadataValue.path(str(source)), "size_bytes": len(data), "row_count": 1,
        "sha256": hashlib.sha256(data).hexdigest(), "template": "sprint_summary",
        "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat(), "format": "csv", "sprint": "Platform Sprint 1",
    }
    metadata.update(changes)
    return {key: value for key, value in metadata.items() if value is not None}


def report_by_hand(world, partition, metadata=None, asset="sprint_csv"):
    """What the UI's "Report materialization" does (GraphQL reportRunlessAssetEvents)."""
    world["instance"].report_runless_asset_event(AssetMaterialization(asset_key=asset, partition=partition, metadata=metadata or {}))


def forge_in_a_run(world, partition, metadata) -> str:
    """A real run that records a materialization of `sprint_csv` with metadata of its own choosing."""

    @op
    def forge(context):
        context.log_event(AssetMaterialization(asset_key="sprint_csv", partition=partition, metadata=metadata))

    @job
    def forger():
        forge()

    result = forger.execute_in_process(instance=world["instance"])
    assert result.success
    return result.run_id


def history(world, warnings=None, **filters):
    return export_history(world["instance"], world["teams"], filters=HistoryFilter(**filters), policy=world["policy"],
                          warn=(warnings.append if warnings is not None else lambda _: None))


def download(world, tmp_path, warnings=None, **kwargs):
    return download_export(world["instance"], world["teams"], world["policy"], user="ana@example.com", format_name="csv",
                           destination=tmp_path, warn=(warnings.append if warnings is not None else lambda _: None), **kwargs)


def cli(world, *args):
    return subprocess.run([sys.executable, "-m", "sprint_exports", *args], env={**os.environ, **world["env"]},
                          capture_output=True, text=True, timeout=120)


def cleanup(world, days_ahead=2, dry_run=False):
    as_of = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days_ahead)).isoformat()
    result = defs.resolve_job_def("cleanup_exports_job").execute_in_process(
        instance=world["instance"], raise_on_error=False,
        run_config={"ops": {"remove_expired_exports": {"config": {"as_of": as_of, "dry_run": dry_run}}}},
    )
    return result


def cleanup_metadata(result) -> dict:
    output = next(e for e in result.all_events if e.is_successful_output)
    return {key: value.value for key, value in output.event_specific_data.metadata.items()}


# -- downloads check where the file lies and its size ------------------------------------------

def test_a_record_pointing_at_etc_passwd_is_never_copied_out(world, tmp_path):
    real = export(world, 1)
    report_by_hand(world, "1", forged_metadata(SECRET))  # now the newest csv record of sprint 1
    warnings: list[str] = []
    entry, copy = download(world, tmp_path / "latest", warnings, sprint_id=1)
    assert entry.run_id == real.run_id, "--latest takes the newest export that can be trusted"
    assert copy.read_bytes() == real.files[0].path.read_bytes() != SECRET.read_bytes()
    assert any("no run (reported by hand) (partition '1')" in w and "outside the exports directory" in w for w in warnings)

    forged_run = forge_in_a_run(world, "1", forged_metadata(SECRET))
    with pytest.raises(DownloadRefused, match=f"run {forged_run}.*/etc/passwd.* lies outside the exports directory"):
        download(world, tmp_path / "forged", run_id=forged_run)
    assert not (tmp_path / "forged").exists()

    refused = cli(world, "download", forged_run, "--format", "csv", "--user", "ana@example.com", "-o", str(tmp_path / "cli"))
    assert refused.returncode == 1 and "outside the exports directory" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "cli").exists()


def test_a_symlink_in_the_exports_folder_to_a_secret_is_refused(world, tmp_path):
    real = export(world, 1)
    planted = real.files[0].path.parent / "planted.csv"
    planted.symlink_to(SECRET)
    forged_run = forge_in_a_run(world, "1", forged_metadata(SECRET, path=MetadataValue.path(str(planted))))
    with pytest.raises(DownloadRefused, match="lies outside the exports directory"):
        download(world, tmp_path / "x", run_id=forged_run)


def test_a_record_of_another_sprints_file_is_refused(world, tmp_path):
    payments = export(world, 2)  # a Payments sprint: li.wei may not see it
    forged_run = forge_in_a_run(world, "1", forged_metadata(payments.files[0].path))  # recorded as Platform's sprint 1
    with pytest.raises(DownloadRefused, match="is not an export file of sprint 1"):
        download_export(world["instance"], world["teams"], world["policy"], user="li.wei@example.com", format_name="csv",
                        destination=tmp_path / "x", run_id=forged_run, warn=lambda _: None)


def test_download_checks_the_recorded_size_too(world, tmp_path):
    real = export(world, 1)
    exported = real.files[0]
    forged_run = forge_in_a_run(world, "1", forged_metadata(exported.path, size_bytes=exported.size_bytes + 7))
    with pytest.raises(DownloadRefused, match=f"is {exported.size_bytes} bytes, but {exported.size_bytes + 7} were recorded"):
        download(world, tmp_path / "x", run_id=forged_run)
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".*partial"))


# -- malformed and foreign records are skipped; everything else keeps working ------------------

def plant_bad_records(world) -> dict[str, str]:
    """The three record kinds of the issue, plus an unpartitioned report; returns what warnings must name."""
    good = export(world, 3, retention_days=1)
    report_by_hand(world, "1")  # the UI's "Report materialization": no metadata at all
    report_by_hand(world, None)  # reported without a partition
    without_path = forge_in_a_run(world, "3", forged_metadata(good.files[0].path, path=None))
    bad_date = forge_in_a_run(world, "3", forged_metadata(good.files[0].path, expires_at="not-a-date"))
    return {"good": good.run_id, "without_path": without_path, "bad_date": bad_date}


def test_history_skips_bad_records_with_a_warning_naming_run_and_partition(world):
    runs = plant_bad_records(world)
    warnings: list[str] = []
    entries = history(world, warnings)
    assert [(e.sprint_id, e.run_id) for e in entries] == [(3, runs["good"])]
    assert any(f"run {runs['without_path']} (partition '3'): no `path`" in w for w in warnings)
    assert any(f"run {runs['bad_date']} (partition '3'): expires_at 'not-a-date' is not an ISO 8601" in w for w in warnings)
    assert any("no run (reported by hand) (partition '1')" in w for w in warnings)
    assert any("no run (reported by hand) (partition None)" in w for w in warnings)

    shown = cli(world, "history", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [e["run_id"] for e in json.loads(shown.stdout)] == [runs["good"]]
    assert "Traceback" not in shown.stderr and f"Warning: Skipped the sprint_csv materialization of run {runs['bad_date']}" in shown.stderr


def test_download_latest_and_cleanup_keep_working_beside_bad_records(world, tmp_path):
    runs = plant_bad_records(world)
    latest = cli(world, "download", "--sprint", "3", "--latest", "--format", "csv", "--user", "ana@example.com", "-o", str(tmp_path) + "/")
    assert latest.returncode == 0, latest.stderr
    assert "verified" in latest.stdout and "Warning: Skipped" in latest.stderr

    result = cleanup(world)
    assert result.success, "one bad record must not stop the clean-up for everyone"
    removed = cleanup_metadata(result)["removed"]
    good_folder = next(e for e in history(world) if e.run_id == runs["good"])
    assert removed == [str(Path(good_folder.path).parent)] and good_folder.status == "deleted"
    warnings = [entry.user_message for entry in world["instance"].all_logs(result.run_id) if entry.level == logging.WARNING]
    assert any(f"run {runs['bad_date']} (partition '3'): expires_at 'not-a-date'" in w for w in warnings), warnings
    assert any(f"run {runs['without_path']} (partition '3'): no `path`" in w for w in warnings), warnings


# -- clean-up finds what no record points at -----------------------------------------------------

def test_cleanup_removes_folders_of_deleted_runs_once_past_the_retention(world, tmp_path):
    kept = export(world, 1)
    gone = export(world, 2, retention_days=1)
    gone_folder = gone.files[0].path.parent
    world["instance"].delete_run(gone.run_id)  # its records go with it; its folder stays on disk
    recent_orphan = export(world, 4)
    recent_folder = recent_orphan.files[0].path.parent
    world["instance"].delete_run(recent_orphan.run_id)
    not_ours = Path(world["env"]["SPRINT_EXPORTS_DIR"]) / "notes"
    not_ours.mkdir()
    (not_ours / "keep.txt").write_text("mine")
    outside = tmp_path / "outside" / "20200101T000000Z-abcdef12"
    outside.mkdir(parents=True)
    (outside / "precious.csv").write_text("keep me")
    (Path(world["env"]["SPRINT_EXPORTS_DIR"]) / "77").symlink_to(outside.parent, target_is_directory=True)

    result = cleanup(world, days_ahead=40)  # past the 30-day default for folders without a record
    assert result.success
    metadata = cleanup_metadata(result)
    assert sorted(metadata["removed_unrecorded"]) == sorted([str(gone_folder), str(recent_folder)])
    assert not gone_folder.exists() and not recent_folder.exists()
    assert (outside / "precious.csv").read_text() == "keep me", "never through a symlink"
    assert (not_ours / "keep.txt").exists(), "nothing that is not an export folder"
    assert not kept.files[0].path.exists(), "the recorded one expired too (30 days) and went the recorded way"

    again = cleanup_metadata(cleanup(world, days_ahead=40))
    assert again["removed_unrecorded"] == []


def test_an_unrecorded_folder_younger_than_the_retention_stays(world):
    orphan = export(world, 2)
    folder = orphan.files[0].path.parent
    world["instance"].delete_run(orphan.run_id)
    assert cleanup_metadata(cleanup(world, days_ahead=2))["removed_unrecorded"] == []
    assert folder.exists()


def test_cleanup_removes_partial_files_older_than_a_day_and_nothing_else(world, tmp_path):
    run = export(world, 1)
    folder = run.files[0].path.parent
    stale, fresh = folder / ".platform-sprint-1.csv.4242.partial", folder / ".platform-sprint-1.csv.4343.partial"
    stale.write_text("half")
    fresh.write_text("half")
    target = tmp_path / "target.partial-target"
    target.write_text("keep me")
    linked = folder / ".evil.csv.1.partial"
    linked.symlink_to(target)
    two_days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).timestamp()
    os.utime(stale, (two_days_ago, two_days_ago))
    os.utime(linked, (two_days_ago, two_days_ago), follow_symlinks=False)

    metadata = cleanup_metadata(cleanup(world, days_ahead=0))
    assert sorted(metadata["removed_partials"]) == sorted([str(stale), str(linked)])
    assert not stale.exists() and not linked.is_symlink() and fresh.exists()
    assert target.read_text() == "keep me" and run.files[0].path.exists()
