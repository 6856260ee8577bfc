"""Exports on object storage: SPRINT_EXPORTS_DIR=s3://bucket/prefix against a real S3-compatible server.

moto's standalone server listens on a loopback port (`sprint_exports_tests/s3_server.py`); the code
under test reaches it only through AWS_ENDPOINT_URL and the AWS_* variables, as it would MinIO or AWS.
What comes back is read from outside with boto3 and checked with independent readers (csv, openpyxl,
pypdf). Each test gets its own bucket.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import openpyxl
import pypdf
import pytest
from dagster import DagsterEventType, instance_for_test

from sprint_exports import names, settings
from sprint_exports.access import AccessPolicy
from sprint_exports.definitions import defs
from sprint_exports.exports.object_path import ObjectPath
from sprint_exports.exports.storage import S3Storage, export_storage
from sprint_exports.instance.history import DownloadRefused, HistoryFilter, download_export, export_history
from sprint_exports.instance.runner import export_sprints
from sprint_exports.portal.downloads import DownloadProblem, open_verified
from sprint_exports.source.database import connect
from sprint_exports.source.readers import list_sprints
from sprint_exports_tests.s3_server import S3Bucket, s3_bucket, s3_endpoint, s3_exports  # noqa: F401 (fixtures)

PREFIX = "team-exports"
ADMIN = "ana@example.com"


@pytest.fixture
def world(s3_exports: S3Bucket, demo_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_DELIVERY_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    engine = connect(demo_url)
    teams = {row["id"]: (row["team_id"], row["team_name"]) for row in list_sprints(engine).iter_rows(named=True)}
    policy = AccessPolicy.load(engine)
    engine.dispose()
    with instance_for_test(temp_dir=str(home)) as instance:
        yield {"instance": instance, "teams": teams, "policy": policy, "s3": s3_exports, "home": home, "base": tmp_path}


def export(world, sprint_ids, formats=("csv", "xlsx", "pdf"), tags=None):
    (outcome,) = export_sprints(world["instance"], sprint_ids, list(formats), tags=tags or {})
    assert outcome.success, outcome.error
    return outcome


def key_of(url: str, s3: S3Bucket) -> str:
    assert url.startswith(f"s3://{s3.bucket}/{PREFIX}/"), url
    return url[len(f"s3://{s3.bucket}/") :]


def local_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


# -- the setting -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["gs://bucket/exports", "http://127.0.0.1:9000/exports", "ftp://files/exports",
                                   "file:///srv/exports", "S3:/bucket", "azure://c/x"])
def test_an_unsupported_url_is_refused_naming_the_setting(value, monkeypatch):
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", value)
    with pytest.raises(settings.SettingError) as refused:
        settings.exports_dir()
    message = str(refused.value)
    assert f"SPRINT_EXPORTS_DIR={value!r} is not allowed" in message
    assert "s3://bucket/prefix" in message and "local folder" in message


@pytest.mark.parametrize("value", ["s3://Bad_Bucket/x", "s3://b/x", "s3://bucket/a/../b", "s3://bucket/x?versionId=1"])
def test_a_malformed_s3_url_is_refused_saying_why(value, monkeypatch):
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", value)
    with pytest.raises(settings.SettingError, match="SPRINT_EXPORTS_DIR=.* is not allowed: .*s3://bucket/prefix"):
        settings.exports_dir()


def test_a_run_with_an_unsupported_store_is_refused_before_any_step_and_writes_nothing(demo_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", "gs://bucket/exports")
    with instance_for_test() as instance:
        (outcome,) = export_sprints(instance, [1], ["csv"])
        assert not outcome.success
        assert "SPRINT_EXPORTS_DIR='gs://bucket/exports' is not allowed" in outcome.error
    assert not (tmp_path / "gs:").exists(), "the URL never becomes a local folder"


def test_a_run_whose_bucket_is_missing_or_unreachable_is_refused_before_it_reads_anything(s3_bucket, demo_url, monkeypatch):
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", "s3://no-such-bucket/exports")
    with instance_for_test() as instance:
        (outcome,) = export_sprints(instance, [1], ["csv"])
        assert not outcome.success
        assert "SPRINT_EXPORTS_DIR='s3://no-such-bucket/exports' cannot be used: there is no bucket 'no-such-bucket'" in outcome.error
        assert instance.get_run_stats(outcome.run_id).materializations == 0
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", f"s3://{s3_bucket.bucket}/exports")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")  # nothing listens there
    with pytest.raises(settings.SettingError, match=r"SPRINT_EXPORTS_DIR=.* cannot be used: EndpointConnectionError"):
        export_storage().check()
    assert s3_bucket.keys() == []


def test_s3_urls_and_local_folders_are_told_apart(monkeypatch, tmp_path):
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", "s3://my-bucket/a//b/")
    assert settings.exports_dir() == ObjectPath("my-bucket", "a/b")
    assert str(settings.exports_dir()) == "s3://my-bucket/a/b"
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    assert settings.exports_dir() == tmp_path / "exports"
    monkeypatch.delenv("SPRINT_EXPORTS_DIR")
    assert settings.exports_dir() == settings.instance_home() / "exports", "local disk stays the default"


# -- writing and recording -----------------------------------------------------------------------

def test_an_export_run_writes_every_file_to_s3_and_records_its_url_and_sha256(world, demo_extracts):
    s3 = world["s3"]
    outcome = export(world, [1, 2, 3])
    assert len(outcome.files) == 9
    for exported in outcome.files:
        url = str(exported.path)
        key = key_of(url, s3)
        sprint, folder, name = key.split("/")[1:]
        assert sprint == str(exported.sprint_id) and name.endswith("." + exported.format)
        data = s3.get(key)
        assert len(data) == exported.size_bytes and hashlib.sha256(data).hexdigest() == exported.sha256
        issues = demo_extracts[exported.sprint_id].issues.height
        if exported.format == "csv":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            assert len(rows) == issues + 1 and rows[0][0]
        elif exported.format == "xlsx":
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            assert book.sheetnames and any(sheet.max_row >= issues for sheet in book.worksheets)
        else:
            text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
            assert exported.sprint_name in text
    # What the instance recorded is the s3:// URL (the contract's `path`), with size and sha256.
    recorded = {str(f.path) for f in outcome.files}
    events = world["instance"].get_records_for_run(outcome.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=1000).records
    paths = {e.event_log_entry.asset_materialization.metadata["path"].value for e in events
             if "path" in e.event_log_entry.asset_materialization.metadata}
    assert paths == recorded and all(path.startswith("s3://") for path in paths)
    # The sprint pickles live under the same prefix; nothing landed on local disk.
    assert {f"{PREFIX}/storage/sprint_exports/{asset}/{sprint}.pickle" for asset in ("sprint_extract", "sprint_metrics")
            for sprint in (1, 2, 3)} <= set(s3.keys(f"{PREFIX}/storage/"))
    assert local_files(world["home"] / "storage" / "sprint_exports") == []
    assert local_files(world["home"] / "exports") == [] and not (world["base"] / "s3:").exists()
    assert all(".partial" not in key for key in s3.keys()), "no temporary key was ever left"


def test_a_large_file_goes_up_in_parts_and_a_failed_render_leaves_no_object(s3_exports):
    storage = S3Storage(ObjectPath(s3_exports.bucket, PREFIX), multipart_chunk=5 * 2**20)  # S3's smallest part
    target = storage.root / "1" / "20261203T000000Z-big" / "big.csv"
    payload = bytes(range(256)) * (11 * 2**20 // 256)  # 11 MiB: three parts

    def render(path: Path) -> int:
        path.write_bytes(payload)
        return 1

    written = storage.write(target, render)
    head = s3_exports.client.head_object(Bucket=s3_exports.bucket, Key=target.key)
    assert head["ETag"].strip('"').endswith("-3"), "a multipart upload of three parts"
    assert written.size_bytes == len(payload) == head["ContentLength"]
    assert written.sha256 == hashlib.sha256(s3_exports.get(target.key)).hexdigest()

    def broken(path: Path) -> int:
        path.write_bytes(b"half a file")
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        storage.write(storage.root / "1" / "20261203T000000Z-bad" / "bad.csv", broken)
    assert s3_exports.keys() == [target.key], "nothing of the failed write is visible"


# -- reading: history, downloads, the portal, delivery --------------------------------------------

def test_history_lists_s3_exports_and_a_download_checks_their_sha256(world, tmp_path):
    s3 = world["s3"]
    outcome = export(world, [1], formats=("csv", "pdf"))
    entries = export_history(world["instance"], world["teams"], filters=HistoryFilter(run_id=outcome.run_id), policy=world["policy"])
    assert {(e.format, e.status) for e in entries} == {("csv", "available"), ("pdf", "available")}
    assert all(e.path.startswith(f"s3://{s3.bucket}/{PREFIX}/1/") for e in entries)

    entry, copy = download_export(world["instance"], world["teams"], world["policy"], user=ADMIN, format_name="pdf",
                                  destination=tmp_path, run_id=outcome.run_id)
    assert copy == tmp_path / Path(entry.path).name
    assert copy.read_bytes() == s3.get(key_of(entry.path, s3))

    csv_entry = next(e for e in entries if e.format == "csv")
    original = s3.get(key_of(csv_entry.path, s3))
    s3.put(key_of(csv_entry.path, s3), original.replace(b"PLAT", b"EVIL", 1))  # same size, other bytes
    with pytest.raises(DownloadRefused, match="does not match its recorded sha256"):
        download_export(world["instance"], world["teams"], world["policy"], user=ADMIN, format_name="csv",
                        destination=tmp_path / "tampered.csv", run_id=outcome.run_id)
    assert not (tmp_path / "tampered.csv").exists() and not list(tmp_path.glob(".*.partial"))

    s3.client.delete_object(Bucket=s3.bucket, Key=key_of(csv_entry.path, s3))
    (gone,) = export_history(world["instance"], world["teams"], filters=HistoryFilter(run_id=outcome.run_id, format="csv"))
    assert gone.status == "missing"


def test_the_portal_streams_an_s3_export_only_while_it_matches_its_record(world):
    s3 = world["s3"]
    outcome = export(world, [2], formats=("xlsx",))
    (entry,) = export_history(world["instance"], world["teams"], filters=HistoryFilter(run_id=outcome.run_id))
    with open_verified(entry) as handle:
        assert handle.read() == s3.get(key_of(entry.path, s3))
    s3.put(key_of(entry.path, s3), b"x" * entry.size_bytes)
    with pytest.raises(DownloadProblem) as refused:
        open_verified(entry)
    assert refused.value.status_code == 409
    forged = type(entry)(**{**entry.as_dict(), "path": f"s3://{s3.bucket}/elsewhere/2/20261203T000000Z-x/a.xlsx"})
    with pytest.raises(DownloadProblem) as outside:
        open_verified(forged)
    assert outside.value.status_code == 403


def test_delivery_attaches_the_s3_files_and_links_them_when_too_large(world, monkeypatch):
    from sprint_exports_tests.conftest import PRODUCTION_SECRET_KEY
    from sprint_exports_tests.delivery.test_delivery import attachments, deliver, start_server

    s3 = world["s3"]
    outcome = export(world, [1], formats=("csv", "pdf"), tags={names.DELIVER_TO: ADMIN})
    server = start_server(world["base"])
    try:
        assert deliver(world["instance"], server, outcome.run_id).success
        (message,) = server.messages
        got = attachments(message)
        assert got == {Path(str(f.path)).name: s3.get(key_of(str(f.path), s3)) for f in outcome.files}

        monkeypatch.setenv("SPRINT_EXPORTS_PORTAL_URL", "https://reports.example.com")
        monkeypatch.setenv("SPRINT_EXPORTS_SECRET_KEY", PRODUCTION_SECRET_KEY)
        linked = export(world, [1], formats=("csv", "pdf"), tags={names.DELIVER_TO: ADMIN})
        assert deliver(world["instance"], server, linked.run_id, attachment_limit_bytes=100).success
        message = server.messages[-1]
        plain = message.get_body(("plain",)).get_content()
        assert attachments(message) == {} and "https://reports.example.com/" in plain
        for exported in linked.files:
            assert Path(str(exported.path)).name in plain
    finally:
        server.stop()


# -- clean-up --------------------------------------------------------------------------------------

def test_cleanup_removes_expired_objects_and_never_a_key_outside_the_prefix(world):
    s3 = world["s3"]
    kept = export(world, [3], formats=("csv",))  # 30 days
    expired = export(world, [1, 2], formats=("csv", "pdf"), tags={names.RETENTION_DAYS: "1"})
    old_folder = "19990101T000000Z-oldrun"
    outside = [
        f"other/1/{old_folder}/platform-sprint-1.csv",  # another prefix in the same bucket
        f"{PREFIX}-archive/1/{old_folder}/platform-sprint-1.csv",  # a prefix that only starts the same
        f"{PREFIX}.csv",
    ]
    inside_not_ours = [f"{PREFIX}/README.txt", f"{PREFIX}/1/notes/keep.txt"]
    unrecorded = f"{PREFIX}/9/{old_folder}/forgotten.csv"  # an export folder no record points at any more
    for key in [*outside, *inside_not_ours, unrecorded]:
        s3.put(key, b"not yours")

    as_of = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    result = defs.resolve_job_def("cleanup_exports_job").execute_in_process(
        instance=world["instance"], run_config={"ops": {"remove_expired_exports": {"config": {"as_of": as_of}}}})
    assert result.success

    left = set(s3.keys())
    assert not {key_of(str(f.path), s3) for f in expired.files} & left, "every expired object is gone"
    assert {key_of(str(f.path), s3) for f in kept.files} <= left, "an unexpired export stays"
    assert set(outside) <= left and set(inside_not_ours) <= left
    assert unrecorded not in left
    assert {f"{PREFIX}/storage/sprint_exports/sprint_extract/{sprint}.pickle" for sprint in (1, 2, 3)} <= left
    statuses = {e.sprint_id: e.status for e in export_history(world["instance"], world["teams"], filters=HistoryFilter(format="csv"))}
    assert statuses == {1: "deleted", 2: "deleted", 3: "available"}


def test_a_record_of_a_key_outside_the_prefix_is_not_trusted(world):
    s3 = world["s3"]
    outcome = export(world, [1], formats=("csv",))
    (entry,) = export_history(world["instance"], world["teams"], filters=HistoryFilter(run_id=outcome.run_id))
    storage = export_storage()
    assert storage.recorded_path(entry.path, 1) == ObjectPath.parse(entry.path)
    for forged in (f"s3://{s3.bucket}/{PREFIX}-archive/1/19990101T000000Z-x/a.csv", f"s3://other-bucket/{PREFIX}/1/19990101T000000Z-x/a.csv",
                   f"s3://{s3.bucket}/{PREFIX}/2/19990101T000000Z-x/a.csv", "/etc/passwd"):
        with pytest.raises(ValueError):
            storage.recorded_path(forged, 1)
