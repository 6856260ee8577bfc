"""Dagster's GraphQL API against a real `dagster dev`: the export history query, template choice,
and the access check on runs launched over the API."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from sprint_exports import names, settings
from sprint_exports.instance.runner import export_sprints
from sprint_exports.signing import sign_requested_by
from sprint_exports_tests.dagster_dev import REPO_ROOT, DagsterDev

# The query the README documents under "History and downloads".
HISTORY_QUERY = """
query ExportHistory($asset: [String!]!, $partitions: [String!], $limit: Int) {
  assetOrError(assetKey: {path: $asset}) {
    ... on Asset {
      assetMaterializations(partitions: $partitions, limit: $limit) {
        runId
        partition
        timestamp
        metadataEntries {
          label
          ... on PathMetadataEntry { path }
          ... on TextMetadataEntry { text }
          ... on IntMetadataEntry { intValue }
        }
      }
    }
  }
}
"""


def graphql(url: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def metadata_of(entry: dict) -> dict:
    values = {}
    for item in entry["metadataEntries"]:
        values[item["label"]] = item.get("path") or item.get("text") or item.get("intValue")
    return values


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_url):
    base = tmp_path_factory.mktemp("graphql")
    home = base / "home"
    home.mkdir()
    (base / "templates").mkdir()  # empty: only the built-in templates
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DAGSTER_", "SPRINT_", "SMTP_"))}
    env.update(DAGSTER_HOME=str(home), SPRINT_SOURCE_URL=demo_url, SPRINT_EXPORTS_DIR=str(base / "exports"),
               SPRINT_EXPORT_SCHEDULES=str(base / "no-schedules.yaml"), SPRINT_EXPORT_TEMPLATES_DIR=str(base / "templates"),
               SPRINT_DELIVERY_LEDGER_URL=f"sqlite:///{base / 'ledger.sqlite'}", PYTHONUNBUFFERED="1")
    saved = {name: os.environ.get(name) for name in ("DAGSTER_HOME", "SPRINT_SOURCE_URL", "SPRINT_EXPORTS_DIR")}
    os.environ.update({name: env[name] for name in saved})
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    runs = [export_sprints(instance, [sprint], ["csv"])[0] for sprint in (1, 2)]
    dev = DagsterDev(env=env, log_path=base / "dagster_dev.log").start()
    try:
        dev.wait_until_ready()
        # The backfill daemon looks for new backfills every 30 s (fixed in Dagster), so the backfill test's
        # backfill is launched first and runs while the other tests do.
        backfill = graphql(dev.url, BACKFILL_MUTATION, {"params": {"partitionNames": BACKFILL_SPRINTS, "assetSelection": SPRINT_ASSET_KEYS}})
        yield {"dev": dev, "instance": instance, "runs": runs, "exports": base / "exports", "backfill": backfill}
    finally:
        dev.stop()
        instance.dispose()
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


def signed_requester(email: str, *sprint_keys: str) -> dict[str, str]:
    """The tags `sprint-exports export --as` (or the portal) puts on a run for `email`, signed with the
    instance's key (the demo's, generated into DAGSTER_HOME; the fixture points this process there too)."""
    signature = sign_requested_by(settings.secret_key(), email, sprint_keys, int(time.time()))
    return {names.REQUESTED_BY: email, names.REQUESTED_BY_SIGNATURE: signature}


def wait_for_run(client: DagsterGraphQLClient, run_id: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not finish within {timeout} s")


def test_history_query_returns_the_exports_with_their_metadata(server):
    data = graphql(server["dev"].url, HISTORY_QUERY, {"asset": ["sprint_csv"], "partitions": ["1", "2"], "limit": 10})
    found = data["assetOrError"]["assetMaterializations"]  # (the fixture's backfill writes others meanwhile)
    assert sorted((m["partition"], m["runId"]) for m in found) == sorted((str(r.files[0].sprint_id), r.run_id) for r in server["runs"])
    for materialization in found:
        values = metadata_of(materialization)
        (exported,) = [r for r in server["runs"] if r.run_id == materialization["runId"]][0].files
        assert values["path"] == str(exported.path) and values["sha256"] == exported.sha256
        assert values["size_bytes"] == exported.size_bytes and values["template"] == "sprint_summary"
    one = graphql(server["dev"].url, HISTORY_QUERY, {"asset": ["sprint_csv"], "partitions": ["2"], "limit": 10})
    assert [m["partition"] for m in one["assetOrError"]["assetMaterializations"]] == ["2"]


def test_launch_with_a_template_over_graphql(server):
    client = DagsterGraphQLClient("127.0.0.1", port_number=server["dev"].port)
    run_id = client.submit_job_execution(
        "export_sprints_job",
        run_config={"resources": {"report_template": {"config": {"name": "issue_list"}}}},
        tags={"dagster/partition": "4", **signed_requester("li.wei@example.com", "4")},
    )
    assert wait_for_run(client, run_id) == "SUCCESS"
    data = graphql(server["dev"].url, HISTORY_QUERY, {"asset": ["sprint_xlsx"], "partitions": ["4"], "limit": 1})
    (materialization,) = data["assetOrError"]["assetMaterializations"]
    assert materialization["runId"] == run_id and metadata_of(materialization)["template"] == "issue_list"


def test_unauthorized_requester_over_graphql_fails_and_writes_nothing(server):
    client = DagsterGraphQLClient("127.0.0.1", port_number=server["dev"].port)
    run_id = client.submit_job_execution(
        "export_sprints_job", tags={"dagster/partition": "5", **signed_requester("li.wei@example.com", "5")}
    )
    assert wait_for_run(client, run_id) == "FAILURE"
    assert not (server["exports"] / "5").exists()
    errors = [
        entry.dagster_event.event_specific_data.error.to_string()
        for entry in server["instance"].all_logs(run_id)
        if entry.is_dagster_event and getattr(entry.dagster_event.event_specific_data, "error", None)
    ]
    assert any("Export refused for li.wei@example.com" in error for error in errors), errors


def test_invalid_template_config_is_refused_at_launch(server):
    client = DagsterGraphQLClient("127.0.0.1", port_number=server["dev"].port)
    with pytest.raises(DagsterGraphQLClientError) as raised:
        client.submit_job_execution(
            "export_sprints_job",
            run_config={"resources": {"report_template": {"config": {"inline": {"fields": {"issue_columns": ["key", "owner"]}}}}}},
            tags={"dagster/partition": "6"},
        )
    assert "owner" in str(raised.value) or "RunConfigValidationInvalid" in str(raised.value)
    assert not (server["exports"] / "6").exists()


BACKFILL_MUTATION = """
mutation LaunchExportBackfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
BACKFILL_SPRINTS = [str(i) for i in range(7, 27)]
SPRINT_ASSET_KEYS = [{"path": [name]} for name in ("sprint_extract", "sprint_metrics", "sprint_csv", "sprint_xlsx", "sprint_pdf")]


def test_backfill_of_twenty_sprints_runs_as_one_run(server):
    from dagster import DagsterRunStatus, RunsFilter
    from dagster._core.execution.backfill import BulkActionStatus

    sprints = BACKFILL_SPRINTS
    launched = server["backfill"]["launchPartitionBackfill"]  # launched by the fixture, see there
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]
    instance = server["instance"]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        backfill = instance.get_backfill(backfill_id)
        if backfill.status in (BulkActionStatus.COMPLETED_SUCCESS, BulkActionStatus.COMPLETED, BulkActionStatus.COMPLETED_FAILED, BulkActionStatus.FAILED):
            break
        time.sleep(2)
    assert instance.get_backfill(backfill_id).status in (BulkActionStatus.COMPLETED_SUCCESS, BulkActionStatus.COMPLETED)
    runs = instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill_id}))
    assert len(runs) == 1 and runs[0].status == DagsterRunStatus.SUCCESS
    assert (runs[0].tags["dagster/asset_partition_range_start"], runs[0].tags["dagster/asset_partition_range_end"]) == ("7", "26")
    data = graphql(server["dev"].url, HISTORY_QUERY, {"asset": ["sprint_pdf"], "partitions": sprints, "limit": 100})
    materialized = data["assetOrError"]["assetMaterializations"]
    assert sorted(int(m["partition"]) for m in materialized) == list(range(7, 27))
    assert {m["runId"] for m in materialized} == {runs[0].run_id}
    for materialization in materialized:
        assert Path(metadata_of(materialization)["path"]).is_file()
