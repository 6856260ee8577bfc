"""What a launcher may and may not do, over Dagster's GraphQL API against a real `dagster dev`.

Launch-time run config cannot redirect the tracker, mail, files, ledger or IO
manager; launch options cannot read the run worker's environment; subject
templates are bounded; `sprint_exports/requested_by` is honoured only with a
valid signature (also on re-execution); and the read-only webserver refuses
every launch. One `dagster dev` (and one read-only webserver) for the module.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request

import pytest
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from sprint_exports import names, settings
from sprint_exports.instance.runner import export_sprints
from sprint_exports.signing import REQUESTED_BY_VALID_SECONDS, sign_requested_by
from sprint_exports_tests.dagster_dev import REPO_ROOT, DagsterDev, ReadOnlyWebserver
from sprint_exports_tests.smtp_server import SmtpTestServer

SECRET = "hunter2-not-for-launchers"  # a variable of the run worker no launch may read
ADMIN, PLATFORM_MEMBER = "ana@example.com", "li.wei@example.com"

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""
REEXECUTE = """
mutation Reexecute($params: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""
BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""


def graphql(url: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"HTTP {error.code} from {url}/graphql: {error.read().decode(errors='replace')[:2000]}") from None
    assert "errors" not in body, body
    return body["data"]


def launch(url: str, job: str, run_config: dict | None = None, tags: dict | None = None) -> dict:
    params = {
        "selector": {"repositoryLocationName": "sprint_exports", "repositoryName": "__repository__", "jobName": job},
        "runConfigData": run_config or {},
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
    }
    return graphql(url, LAUNCH, {"params": params})["launchRun"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, demo_url):
    base = tmp_path_factory.mktemp("launch_security")
    home = base / "home"
    home.mkdir()
    (base / "templates").mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    smtp = SmtpTestServer(base, tls=False, auth=False).start()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DAGSTER_", "SPRINT_", "SMTP_"))}
    env.update(DAGSTER_HOME=str(home), SPRINT_SOURCE_URL=demo_url, SPRINT_EXPORTS_DIR=str(base / "exports"),
               SPRINT_EXPORT_SCHEDULES=str(base / "no-schedules.yaml"), SPRINT_EXPORT_TEMPLATES_DIR=str(base / "templates"),
               SPRINT_DELIVERY_LEDGER_URL=f"sqlite:///{base / 'ledger.sqlite'}", SPRINT_TEST_SECRET=SECRET,
               SMTP_BACKOFF_SECONDS="0.01", PYTHONUNBUFFERED="1", **smtp.environment())
    saved = {name: os.environ.get(name) for name in ("DAGSTER_HOME", "SPRINT_SOURCE_URL", "SPRINT_EXPORTS_DIR")}
    os.environ.update({name: env[name] for name in saved})
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    (export_run,) = export_sprints(instance, [1], ["csv"])  # an operator's export to deliver; registers the sprints
    assert export_run.success, export_run.error
    dev = DagsterDev(env=env, log_path=base / "dagster_dev.log").start()
    viewer = ReadOnlyWebserver(env=env, log_path=base / "read_only.log").start()
    try:
        dev.wait_until_ready()
        viewer.wait_until_ready()
        yield {"url": dev.url, "viewer": viewer.url, "instance": instance, "smtp": smtp, "exports": base / "exports",
               "export_run": export_run.run_id}
    finally:
        viewer.stop()
        dev.stop()
        smtp.stop()
        instance.dispose()
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


def finished(instance, run_id: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return run.status.value
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish within {timeout} s")


def run_errors(instance, run_id: str) -> list[str]:
    return [
        entry.dagster_event.event_specific_data.error.to_string()
        for entry in instance.all_logs(run_id)
        if entry.is_dagster_event and getattr(entry.dagster_event.event_specific_data, "error", None)
    ]


def steps_started(instance, run_id: str) -> list[str]:
    return [e.step_key for e in instance.all_logs(run_id) if e.is_dagster_event and e.dagster_event.is_step_start]


def all_log_text(instance, run_id: str) -> str:
    return "\n".join(
        (entry.user_message or "") + (entry.dagster_event.event_specific_data.error.to_string()
                                      if entry.is_dagster_event and getattr(entry.dagster_event.event_specific_data, "error", None) else "")
        for entry in instance.all_logs(run_id)
    )


def refused_at_start(stack, launched: dict, expected: str) -> str:
    """The launch went through, and the run failed before any step with `expected` in its error."""
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    instance = stack["instance"]
    assert finished(instance, run_id) == "FAILURE"
    errors = run_errors(instance, run_id)
    assert any(expected in error for error in errors), errors
    assert steps_started(instance, run_id) in ([], ["deliver_exports"]), "no export step ran"
    assert SECRET not in all_log_text(instance, run_id)
    return run_id


def signed(email: str, *sprint_keys: str, issued_at: int | None = None) -> dict[str, str]:
    issued = int(time.time()) if issued_at is None else issued_at
    return {names.REQUESTED_BY: email, names.REQUESTED_BY_SIGNATURE: sign_requested_by(settings.secret_key(), email, sprint_keys, issued)}


# --- 1. Deployment settings are not run config ------------------------------------------------------------

LOCKED = [
    ("deliver_exports_job", {"tracker": {"config": {"url": "sqlite:////tmp/attacker.sqlite"}}},
     'Received unexpected config entry "url" at path root:resources:tracker:config'),
    ("export_sprints_job", {"tracker": {"config": {"url": "sqlite:////tmp/attacker.sqlite"}}},
     'Received unexpected config entry "url" at path root:resources:tracker:config'),
    ("deliver_exports_job", {"smtp": {"config": {"host": "evil.example", "username": {"env": "SMTP_PASSWORD"}}}},
     'Received unexpected config entries "[\'host\', \'username\']" at path root:resources:smtp:config'),
    ("export_sprints_job", {"export_store": {"config": {"directory": "/tmp/anywhere"}}},
     'Received unexpected config entry "directory" at path root:resources:export_store:config'),
    ("export_sprints_job", {"export_store": {"config": {"retention_days": 99999999999}}},
     'Received unexpected config entry "retention_days" at path root:resources:export_store:config'),
    ("export_sprints_job", {"export_store": {"config": {"render_processes": 64}}},
     'Received unexpected config entry "render_processes" at path root:resources:export_store:config'),
    ("deliver_exports_job", {"delivery_ledger": {"config": {"url": "sqlite:////tmp/forged-ledger.sqlite"}}},
     'Received unexpected config entry "url" at path root:resources:delivery_ledger:config'),
    ("export_sprints_job", {"sprint_io_manager": {"config": {"base_dir": "/tmp/anywhere"}}},
     'Received unexpected config entry "base_dir" at path root:resources:sprint_io_manager:config'),
    ("export_sprints_job", {"io_manager": {"config": {"base_dir": {"env": "HOME"}}}},
     'Received unexpected config entry "base_dir" at path root:resources:io_manager:config'),
    ("export_sprints_job", {"access_check": {"config": {"enabled": False}}},
     'Received unexpected config entry "enabled" at path root:resources:access_check:config'),
    ("export_sprints_job", {"report_template": {"config": {"name": {"env": "SPRINT_TEST_SECRET"}}}},
     "Value at path root:resources:report_template:config:name for enum type TemplateName must be a string"),
    ("export_sprints_job", {"report_template": {"config": {"name": "no_such_template"}}},
     "Value at path root:resources:report_template:config:name not in enum type TemplateName got no_such_template"),
]


@pytest.mark.parametrize("job, resources, message", LOCKED, ids=[f"{j}:{'.'.join(r)}:{m.split()[4]}" for j, r, m in LOCKED])
def test_resource_config_is_refused_at_launch(stack, job, resources, message):
    before = stack["instance"].get_runs_count()
    tags = {"dagster/partition": "2"} if job == "export_sprints_job" else {}
    config = {"resources": resources}
    if job == "deliver_exports_job":
        config["ops"] = {"deliver_exports": {"config": {"export_run_id": stack["export_run"], "recipients": [ADMIN]}}}
    launched = launch(stack["url"], job, config, tags)
    assert launched["__typename"] == "RunConfigValidationInvalid", launched
    assert any(message in error["message"] for error in launched["errors"]), launched["errors"]
    assert stack["instance"].get_runs_count() == before, "no run was created"


# --- Launch options may not read the environment --------------------------------------------------------

def test_an_inline_template_reading_the_environment_is_refused_before_any_step(stack):
    config = {"resources": {"report_template": {"config": {"inline": {"title": {"env": "SPRINT_TEST_SECRET"}}}}}}
    refused_at_start(stack, launch(stack["url"], "export_sprints_job", config, {"dagster/partition": "3"}),
                     "Run config may not read the environment, and this run's does at resources.report_template.config.inline.title")
    assert not (stack["exports"] / "3").exists()


@pytest.mark.parametrize(
    "subject, message",
    [
        ({"env": "SPRINT_TEST_SECRET"}, "Run config may not read the environment, and this run's does at ops.deliver_exports.config.subject"),
        ("{sprint:>2500000000}", "subject placeholder {sprint:>2500000000} is not allowed"),
        ("{sprint!r} report", "subject placeholder {sprint!r} is not allowed"),
        ("{sprint.__class__}", "subject placeholder {sprint.__class__} is not allowed"),
        ("x" * 201, "subject template has 201 characters; at most 200 are allowed"),
    ],
    ids=["env", "format-spec", "conversion", "attribute", "too-long"],
)
def test_a_bad_delivery_subject_is_refused_and_nothing_is_mailed(stack, subject, message):
    mails_before = len(stack["smtp"].messages)
    config = {"ops": {"deliver_exports": {"config": {"export_run_id": stack["export_run"], "recipients": [ADMIN], "subject": subject}}}}
    refused_at_start(stack, launch(stack["url"], "deliver_exports_job", config), message)
    assert len(stack["smtp"].messages) == mails_before
    assert all(SECRET not in str(m["Subject"]) for m in stack["smtp"].messages)


@pytest.mark.parametrize(
    "tag, value, message",
    [
        (names.SUBJECT, "{sprint:>2500000000}", "Run tag sprint_exports/subject: subject placeholder {sprint:>2500000000} is not allowed"),
        (names.RETENTION_DAYS, "99999999999", "Run tag sprint_exports/retention_days='99999999999' is not allowed: use a whole number of days from 1 to 3650"),
        (names.RETENTION_DAYS, "3000000", "Run tag sprint_exports/retention_days='3000000' is not allowed"),
    ],
    ids=["subject", "retention-huge", "retention-large"],
)
def test_bad_run_options_in_tags_are_refused_before_any_step(stack, tag, value, message):
    refused_at_start(stack, launch(stack["url"], "export_sprints_job", tags={"dagster/partition": "6", tag: value}), message)
    assert not (stack["exports"] / "6").exists()


def test_what_a_launch_may_set_still_works(stack):
    """Template, formats (the asset selection), subject, recipients and retention: a delivered export."""
    instance = stack["instance"]
    launched = launch(stack["url"], "export_sprints_job",
                      {"resources": {"report_template": {"config": {"name": "issue_list"}}}},
                      {"dagster/partition": "7", names.RETENTION_DAYS: "3", **signed(ADMIN, "7")})
    assert launched["__typename"] == "LaunchRunSuccess", launched
    export_run = launched["run"]["runId"]
    assert finished(instance, export_run) == "SUCCESS", run_errors(instance, export_run)
    config = {"ops": {"deliver_exports": {"config": {"export_run_id": export_run, "recipients": [ADMIN], "subject": "{sprint_id}: {team} / {sprint}"}}}}
    delivered = launch(stack["url"], "deliver_exports_job", config)
    assert finished(instance, delivered["run"]["runId"]) == "SUCCESS", run_errors(instance, delivered["run"]["runId"])
    (message,) = [m for m in stack["smtp"].messages if str(m["Subject"]).startswith("7: ")]
    assert message["To"] == ADMIN


# --- 2. Identity that cannot be forged --------------------------------------------------------------------

@pytest.mark.parametrize(
    "make_tags, message",
    [
        (lambda: {names.REQUESTED_BY: ADMIN}, "the run has no sprint_exports/requested_by_signature tag"),
        (lambda: {names.REQUESTED_BY: ADMIN, names.REQUESTED_BY_SIGNATURE: f"v1:{int(time.time())}:{'ab' * 32}"}, "it is forged"),
        (lambda: signed(ADMIN, "1"), "does not match ana@example.com and this run's sprints (8)"),  # copied from a sprint 1 run
        (lambda: {**signed(PLATFORM_MEMBER, "8"), names.REQUESTED_BY: ADMIN}, "made for another person or other sprints"),
        (lambda: signed(ADMIN, "8", issued_at=int(time.time()) - REQUESTED_BY_VALID_SECONDS - 60), "the signature expired"),
    ],
    ids=["unsigned", "forged", "copied-to-other-sprints", "copied-to-other-person", "expired"],
)
def test_requested_by_without_a_valid_signature_is_refused_before_any_step(stack, make_tags, message):
    launched = launch(stack["url"], "export_sprints_job", tags={"dagster/partition": "8", **make_tags()})
    refused_at_start(stack, launched, message)
    assert not (stack["exports"] / "8").exists()


def test_a_signed_requester_who_may_not_see_the_sprint_is_still_refused(stack):
    launched = launch(stack["url"], "export_sprints_job", tags={"dagster/partition": "9", **signed(PLATFORM_MEMBER, "9")})
    refused_at_start(stack, launched, "Export refused for li.wei@example.com (sprint_exports/requested_by): sprint 9:")


@pytest.fixture(scope="module")
def launched_run(stack) -> str:
    """An operator's export run launched through the webserver (re-execution needs a run it launched)."""
    launched = launch(stack["url"], "export_sprints_job", tags={"dagster/partition": "11"})
    assert launched["__typename"] == "LaunchRunSuccess", launched
    assert finished(stack["instance"], launched["run"]["runId"]) == "SUCCESS"
    return launched["run"]["runId"]


def test_re_execution_cannot_add_an_unsigned_requester(stack, launched_run):
    params = {"parentRunId": launched_run, "strategy": "ALL_STEPS",
              "extraTags": [{"key": names.REQUESTED_BY, "value": ADMIN}]}
    launched = graphql(stack["url"], REEXECUTE, {"params": params})["launchRunReexecution"]
    refused_at_start(stack, launched, "the run has no sprint_exports/requested_by_signature tag")


# --- The read-only webserver launches nothing -------------------------------------------------------------

def test_the_read_only_webserver_refuses_every_launch(stack, launched_run):
    before = stack["instance"].get_runs_count()
    launched = launch(stack["viewer"], "export_sprints_job", tags={"dagster/partition": "10"})
    assert launched["__typename"] == "UnauthorizedError", launched
    reexecuted = graphql(stack["viewer"], REEXECUTE, {"params": {"parentRunId": launched_run, "strategy": "ALL_STEPS"}})
    assert reexecuted["launchRunReexecution"]["__typename"] == "UnauthorizedError", reexecuted
    backfill = graphql(stack["viewer"], BACKFILL, {"params": {"partitionNames": ["10"], "assetSelection": [{"path": ["sprint_csv"]}]}})
    assert backfill["launchPartitionBackfill"]["__typename"] == "UnauthorizedError", backfill
    assert stack["instance"].get_runs_count() == before
