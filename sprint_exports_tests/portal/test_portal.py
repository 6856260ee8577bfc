"""The export portal against the real thing: uvicorn on a loopback port, aiosmtpd for sign-in mail,
a live `dagster dev` for launches and the subscription sensor, httpx for the API.

One `dagster dev` for the module; the portal runs in this process (same DAGSTER_HOME).
To keep the module short, the subscription is created first (its cron tick then passes while the
other tests run) and checked last, and one pair of launched exports serves every test that needs one.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from sprint_exports import names
from sprint_exports_tests.dagster_dev import REPO_ROOT
from sprint_exports_tests.portal.signing_in import csrf_of, sign_in
from sprint_exports_tests.portal_stack import portal_stack

CLI = str(REPO_ROOT / ".venv/bin/sprint-exports")
PLATFORM_SPRINTS = (1, 4)  # demo sprints of Platform (li.wei's team)
PAYMENTS_SPRINT = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory, demo_url):
    with portal_stack(tmp_path_factory.mktemp("portal"), demo_url) as running:
        yield running


def cli(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=stack["env"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def make_token(stack, user: str) -> str:
    done = cli(stack, "tokens", "create", "--user", user, "--name", "test")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def wait_for(client: httpx.Client, run_id: str, headers: dict, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/exports/{run_id}/status", headers=headers).json()
        if status["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not finish")


def bearer(stack, user: str) -> dict:
    return {"Authorization": f"Bearer {make_token(stack, user)}"}


@pytest.fixture(scope="module")
def subscription(stack):
    """li.wei's every-minute subscription, made first so its tick passes while the other tests run."""
    api = httpx.Client(base_url=stack["portal"].url, timeout=60)
    headers = bearer(stack, "li.wei@example.com")
    before = len(stack["smtp"].messages)
    created = api.post("/api/v1/exports/schedule", headers=headers, json={
        "name": "Every minute", "teams": ["Platform"], "sprints": "latest_completed", "formats": ["csv"],
        "cron": "* * * * *", "timezone": "Europe/Berlin"})
    assert created.status_code == 201, created.text
    return {"api": api, "headers": headers, "schedule_id": created.json()["schedule_id"], "mails_before": before}


@pytest.fixture(scope="module")
def launched(stack):
    """Two exports by li.wei, finished: sprint 4 through the single-sprint endpoint, sprint 1 through bulk."""
    api = httpx.Client(base_url=stack["portal"].url, timeout=60)
    headers = bearer(stack, "li.wei@example.com")
    single = api.post(f"/api/v1/exports/sprints/{PLATFORM_SPRINTS[1]}", headers=headers, json={"formats": ["csv", "pdf"]})
    assert single.status_code == 202 and single.json()["status_url"].endswith("/status"), single.text
    bulk = api.post("/api/v1/exports/sprints/bulk", headers=headers, json={"sprint_ids": [PLATFORM_SPRINTS[0]], "formats": ["csv", "pdf"]})
    assert bulk.status_code == 202, bulk.text
    run_ids = [*bulk.json()["export_ids"], single.json()["export_id"]]
    statuses = [wait_for(api, run_id, headers) for run_id in run_ids]
    assert all(s["status"] == "SUCCESS" for s in statuses), statuses
    return {"api": api, "headers": headers, "run_ids": run_ids, "statuses": statuses}


def test_a_subscription_is_checked_and_listed(stack, subscription):
    api, headers = subscription["api"], subscription["headers"]
    bad = api.post("/api/v1/exports/schedule", headers=headers, json={"name": "x", "teams": ["Payments"], "cron": "* * * * *"})
    assert bad.status_code == 403
    assert api.post("/api/v1/exports/schedule", headers=headers, json={"name": "x", "cron": "nope"}).status_code == 422
    listed = api.get("/api/v1/exports/schedule", headers=headers).json()["schedules"]
    assert [s["schedule_id"] for s in listed] == [subscription["schedule_id"]]


def test_sign_in_link_is_single_use_and_unknown_addresses_look_the_same(stack):
    client, link = sign_in(stack, "li.wei@example.com")
    home = client.get("/")
    assert home.status_code == 200 and "li.wei@example.com" in home.text and "My exports" in home.text
    replay = httpx.get(link)
    assert replay.status_code == 403 and "already used" in replay.text
    before = len(stack["smtp"].messages)
    stranger = httpx.Client(base_url=stack["portal"].url)
    answer = stranger.post("/login", data={"email": "nobody@example.com", "csrf_token": csrf_of(stranger.get("/login").text)})
    assert answer.status_code == 200 and "Check your mail" in answer.text
    time.sleep(1)
    assert len(stack["smtp"].messages) == before


def test_api_needs_a_live_token_and_a_revoked_one_is_refused(stack):
    api = httpx.Client(base_url=stack["portal"].url)
    assert api.get("/api/v1/exports/").status_code == 401
    assert api.get("/api/v1/exports/", headers={"Authorization": "Bearer spx_forged"}).json()["detail"]
    token = make_token(stack, "li.wei@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/exports/", headers=headers).status_code == 200
    listed = cli(stack, "tokens", "list", "--user", "li.wei@example.com")
    assert token not in listed.stdout
    token_id = re.findall(r"^(\d+)\t", listed.stdout, re.M)[-1]
    assert cli(stack, "tokens", "revoke", token_id).returncode == 0
    answer = api.get("/api/v1/exports/", headers=headers)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    assert cli(stack, "tokens", "create", "--user", "nobody@example.com").returncode != 0


def test_bulk_export_download_and_links(stack, launched):
    api, headers, run_ids, statuses = launched["api"], launched["headers"], launched["run_ids"], launched["statuses"]
    refused = api.post("/api/v1/exports/sprints/bulk", headers=headers,
                       json={"sprint_ids": [*PLATFORM_SPRINTS, PAYMENTS_SPRINT], "formats": ["csv"]})
    assert refused.status_code == 403 and f"sprint {PAYMENTS_SPRINT}" in refused.json()["detail"]
    assert api.post("/api/v1/exports/sprints/bulk", headers=headers, json={"sprint_ids": []}).status_code == 422
    assert api.post("/api/v1/exports/sprints/999", headers=headers, json={}).status_code == 404
    assert sum(s["sprints_done"] for s in statuses) == sum(s["sprints_total"] for s in statuses) == 2
    run_id = run_ids[0]
    file = next(f for f in statuses[0]["files"] if f["format"] == "pdf")
    body = api.get(f"/api/v1/exports/{run_id}/download", params={"format": "pdf", "sprint": file["sprint_id"]}, headers=headers)
    assert body.status_code == 200 and hashlib.sha256(body.content).hexdigest() == file["sha256"]
    zipped = api.get(f"/api/v1/exports/{run_id}/download", headers=headers)
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    history = api.get("/api/v1/exports/", headers=headers).json()["exports"]
    assert {item["export_id"] for item in history} >= set(run_ids)
    run = next(item for item in history if item["export_id"] == run_id)
    assert run["requested_by"] == "li.wei@example.com"
    link = next(f["download_url"] for f in run["files"] if f["format"] == "pdf")
    # the link works for its user, from the mailbox or in their session ...
    followed = httpx.get(link)
    assert followed.status_code == 200 and hashlib.sha256(followed.content).hexdigest() == file["sha256"]
    assert followed.headers["referrer-policy"] == "no-referrer"
    # ... and not for anyone else, nor changed, nor after expiry
    other, _ = sign_in(stack, "zoe@example.com")
    stolen = other.get(link.removeprefix(stack["portal"].url))
    assert stolen.status_code == 403 and "made for another person" in stolen.text
    query = parse_qs(urlparse(link).query)
    tampered = link.replace(f"expires={query['expires'][0]}", "expires=1")
    assert httpx.get(tampered).status_code == 403
    from sprint_exports.portal.keys import sign_download

    expired = link.replace(f"expires={query['expires'][0]}", "expires=1000").replace(
        f"sig={query['sig'][0]}", "sig=" + sign_download(run_id, "pdf", int(query["sprint"][0]), "li.wei@example.com", 1000))
    gone = httpx.get(expired)
    assert gone.status_code == 410 and "expired" in gone.text
    zoe = bearer(stack, "zoe@example.com")
    assert api.get(f"/api/v1/exports/{run_id}/status", headers=zoe).status_code == 403
    assert run_id not in {item["export_id"] for item in api.get("/api/v1/exports/", headers=zoe).json()["exports"]}
    from sqlalchemy import create_engine, text

    logged = create_engine(f"sqlite:///{Path(stack['env']['DAGSTER_HOME']) / 'portal.sqlite'}")
    with logged.connect() as connection:
        rows = connection.execute(text("SELECT user_email, via FROM downloads WHERE run_id = :r"), {"r": run_id}).all()
    assert ("li.wei@example.com", "api") in rows and ("li.wei@example.com", "link") in rows


def test_bulk_groups_neighbouring_sprints_into_one_run_as_the_cli_does(stack):
    from dagster import DagsterInstance

    from sprint_exports.instance.dagster_private import (
        ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG)

    api = httpx.Client(base_url=stack["portal"].url, timeout=60)
    headers = bearer(stack, "ana@example.com")  # an admin: sprints 1 to 3 belong to three teams
    answer = api.post("/api/v1/exports/sprints/bulk", headers=headers, json={"sprint_ids": [3, 1, 2, 9, 2], "formats": ["csv"]})
    assert answer.status_code == 202, answer.text
    export_ids = answer.json()["export_ids"]
    assert len(export_ids) == 2  # 1-3 are neighbours, 9 stands alone
    runs = [DagsterInstance.get().get_run_by_id(run_id) for run_id in export_ids]
    spans = [(run.tags.get(ASSET_PARTITION_RANGE_START_TAG), run.tags.get(ASSET_PARTITION_RANGE_END_TAG),
              run.tags.get(PARTITION_NAME_TAG)) for run in runs]
    assert spans == [("1", "3", None), (None, None, "9")]
    statuses = [wait_for(api, run_id, headers) for run_id in export_ids]
    assert [(s["status"], s["sprints_total"], s["sprints_done"]) for s in statuses] == [("SUCCESS", 3, 3), ("SUCCESS", 1, 1)]
    assert sorted(f["sprint_id"] for f in statuses[0]["files"]) == [1, 2, 3]


def test_history_filters_and_pages(stack, launched):
    api, headers = launched["api"], launched["headers"]

    def exports(**query) -> list[dict]:
        answer = api.get("/api/v1/exports/", headers=headers, params=query)
        assert answer.status_code == 200, answer.text
        return answer.json()["exports"]

    everything = exports()
    assert len(everything) >= 2 and [e["created_at"] for e in everything] == sorted((e["created_at"] for e in everything), reverse=True)
    assert {e["sprint_id"] for e in exports(sprint=PLATFORM_SPRINTS[0])} == {PLATFORM_SPRINTS[0]}
    assert {f["format"] for e in exports(format="pdf") for f in e["files"]} == {"pdf"}
    assert {e["team"] for e in exports(team="Platform")} == {"Platform"} and exports(team="Payments") == []
    # paging among PDFs, which the every-minute subscription (CSV) never adds to while this runs
    def keys(items: list[dict]) -> list[tuple[str, int]]:
        return [(item["export_id"], item["sprint_id"]) for item in items]

    pdfs = exports(format="pdf")
    assert len(pdfs) >= 2  # the two launched runs
    assert keys(exports(format="pdf", limit=1, page=2)) == keys(pdfs[1:2])
    assert exports(limit=1, page=1000) == []
    assert api.get("/api/v1/exports/", headers=headers, params={"format": "docx"}).status_code == 422


def test_a_portal_template_reaches_the_run_inline(stack):
    from dagster import DagsterInstance

    owner, _ = sign_in(stack, "li.wei@example.com")
    form = owner.get("/templates")
    made = owner.post("/templates", data={"csrf_token": csrf_of(form.text), "name": "li_inline", "section": ["basic_info", "issues"],
                                          "column": ["key", "summary", "status"], "column_order": "status,key",
                                          "group_by": "none", "sort_by": "key"})
    assert made.status_code == 303, made.text
    (template_id,) = re.findall(r"li_inline \(<code>user:(\d+)</code>", owner.get("/templates").text)
    api = httpx.Client(base_url=stack["portal"].url, timeout=60)
    headers = bearer(stack, "li.wei@example.com")
    answer = api.post(f"/api/v1/exports/sprints/{PLATFORM_SPRINTS[0]}", headers=headers,
                      json={"formats": ["csv"], "template": f"user:{template_id}"})
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["export_id"]
    inline = DagsterInstance.get().get_run_by_id(run_id).run_config["resources"]["report_template"]["config"]["inline"]
    assert inline["name"] == "li_inline" and inline["fields"]["issue_columns"] == ["status", "key", "summary"]
    status = wait_for(api, run_id, headers)
    assert status["status"] == "SUCCESS", status
    (file,) = status["files"]
    csv = api.get(f"/api/v1/exports/{run_id}/download", params={"format": "csv"}, headers=headers)
    assert csv.status_code == 200 and hashlib.sha256(csv.content).hexdigest() == file["sha256"]
    assert csv.content.decode("utf-8-sig").splitlines()[0] == "Status,Key,Summary"  # the template's columns, in its order
    zoe = bearer(stack, "zoe@example.com")  # not published: nobody else may use it
    refused = api.post("/api/v1/exports/sprints/2", headers=zoe, json={"formats": ["csv"], "template": f"user:{template_id}"})
    assert refused.status_code == 404 and f"user:{template_id}" in refused.json()["detail"]


def test_the_launched_run_carries_the_signed_tag_the_client_never_sets(stack, launched):
    from dagster import DagsterInstance

    from sprint_exports.portal.keys import REQUESTED_BY_SIGNATURE, requested_by_valid

    api, headers = launched["api"], launched["headers"]
    answer = api.post(f"/api/v1/exports/sprints/{PLATFORM_SPRINTS[0]}", headers=headers,
                      json={"formats": ["csv"], "requested_by": "ana@example.com"})
    assert answer.status_code == 422  # unknown body fields are refused, identity included
    # both runs passed the run-start access check (they succeeded) with the tag the portal signed
    for run_id, status in zip(launched["run_ids"], launched["statuses"]):
        run = DagsterInstance.get().get_run_by_id(run_id)
        assert run.tags[names.REQUESTED_BY] == "li.wei@example.com"
        keys = sorted({str(f["sprint_id"]) for f in status["files"]})
        assert requested_by_valid("li.wei@example.com", keys, run.tags[REQUESTED_BY_SIGNATURE], 600)


def test_materializations_link_to_the_portal_page_that_asks_for_sign_in(stack, launched):
    from dagster import AssetKey, DagsterInstance

    run_id = launched["run_ids"][-1]
    records = DagsterInstance.get().fetch_materializations(AssetKey("sprint_pdf"), limit=50).records
    (materialization,) = [r.asset_materialization for r in records if r.run_id == run_id]
    url = materialization.metadata["download_url"]
    assert type(url).__name__ == "UrlMetadataValue"
    assert url.value == f"{stack['portal'].url}/exports/{run_id}/pdf?sprint={PLATFORM_SPRINTS[1]}"
    asked = httpx.get(url.value)
    assert asked.status_code == 303 and asked.headers["location"] == "/login"
    owner, _ = sign_in(stack, "li.wei@example.com")
    sha256 = materialization.metadata["sha256"].value
    served = owner.get(url.value)
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == sha256
    stranger, _ = sign_in(stack, "zoe@example.com")
    assert stranger.get(url.value).status_code == 403


def test_export_metadata_has_no_download_url_without_a_portal_url(monkeypatch):
    import datetime as dt

    from sprint_exports.defs.exports.assets.files import export_metadata
    from sprint_exports.exports.store import ExportFile

    now = dt.datetime.now(dt.UTC)
    export = ExportFile(sprint_id=3, sprint_name="S3", format="csv", path=Path("/x/3/f/a.csv"), size_bytes=1, row_count=1,
                        sha256="0" * 64, template="default", created_at=now, expires_at=now)
    monkeypatch.delenv("SPRINT_EXPORTS_PORTAL_URL", raising=False)
    assert "download_url" not in export_metadata(export, "run-1")
    monkeypatch.setenv("SPRINT_EXPORTS_PORTAL_URL", "https://portal.example.com/")
    assert export_metadata(export, "run-1")["download_url"].value == "https://portal.example.com/exports/run-1/csv?sprint=3"


def test_the_sensor_launches_the_subscription_and_its_mail_links_work(stack, subscription):
    api, headers = subscription["api"], subscription["headers"]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        mails = [m for m in stack["smtp"].messages[subscription["mails_before"]:]
                 if "sign-in" not in m["Subject"] and m["To"] == "li.wei@example.com"]
        if mails:
            break
        time.sleep(1)
    else:
        raise AssertionError(f"no delivery mail; dagster dev log:\n{stack['dev'].log_tail(60)}")
    mail = mails[0]
    (attached,) = list(mail.iter_attachments())
    plain = mail.get_body(("plain",)).get_content()
    (link,) = re.findall(rf"{re.escape(stack['portal'].url)}/downloads/\S+", plain)
    assert parse_qs(urlparse(link).query)["user"] == ["li.wei@example.com"]
    followed = httpx.get(link)  # from the mailbox, not signed in
    assert followed.status_code == 200
    assert hashlib.sha256(followed.content).hexdigest() == hashlib.sha256(attached.get_payload(decode=True)).hexdigest()
    other, _ = sign_in(stack, "zoe@example.com")
    stolen = other.get(link)
    assert stolen.status_code == 403 and "made for another person" in stolen.text
    assert api.delete(f"/api/v1/exports/schedule/{subscription['schedule_id']}", headers=headers).status_code == 204
    assert api.get("/api/v1/exports/schedule", headers=headers).json()["schedules"] == []
