"""Delivery through a real SMTP server (aiosmtpd, STARTTLS + AUTH): messages, access, faults, exactly once."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, instance_for_test

from sprint_exports import names
from sprint_exports.delivery.ledger import DeliveryLedger
from sprint_exports.definitions import defs
from sprint_exports.instance.runner import export_sprints
from sprint_exports_tests.smtp_server import PASSWORD, USERNAME, Behaviour, SmtpTestServer

ADMIN, PLATFORM_MEMBER, PAYMENTS_MEMBER, STRANGER = (
    "ana@example.com", "li.wei@example.com", "zoe@example.com", "nobody@example.com",
)


@pytest.fixture
def environment(tmp_path, monkeypatch, demo_url):
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("SPRINT_DELIVERY_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    return tmp_path


def start_server(tmp_path, **behaviour) -> SmtpTestServer:
    return SmtpTestServer(tmp_path, Behaviour(**behaviour)).start()


SMTP_VARIABLES = {
    "host": "SMTP_HOST", "port": "SMTP_PORT", "security": "SMTP_SECURITY", "ca_file": "SMTP_CA_FILE",
    "username": "SMTP_USERNAME", "password": "SMTP_PASSWORD", "from_address": "SMTP_FROM",
    "timeout_seconds": "SMTP_TIMEOUT_SECONDS", "backoff_seconds": "SMTP_BACKOFF_SECONDS",
    "max_attempts": "SMTP_MAX_ATTEMPTS", "attachment_limit_bytes": "SMTP_ATTACHMENT_LIMIT_BYTES",
}


def smtp_config(server: SmtpTestServer, **overrides) -> dict:
    config = {
        "host": "127.0.0.1", "port": server.port, "security": "starttls", "ca_file": server.ca_file,
        "username": USERNAME, "password": PASSWORD, "from_address": "reports@example.com",
        "timeout_seconds": 10, "backoff_seconds": 0.01,
    }
    return {**config, **overrides}


def smtp_environment(server: SmtpTestServer, **overrides) -> dict[str, str]:
    """The SMTP settings as the deployment gives them: environment variables (run config cannot)."""
    return {SMTP_VARIABLES[name]: str(value) for name, value in smtp_config(server, **overrides).items()}


@contextlib.contextmanager
def environment_of(variables: dict[str, str]):
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


def deliver(instance, server, export_run_id, recipients=(), **smtp_overrides):
    config = {"export_run_id": export_run_id, **({"recipients": list(recipients)} if recipients else {})}
    with environment_of(smtp_environment(server, **smtp_overrides)):
        return defs.resolve_job_def("deliver_exports_job").execute_in_process(
            instance=instance, run_config={"ops": {"deliver_exports": {"config": config}}}, raise_on_error=False
        )


def outcomes_of(result) -> list[dict]:
    for event in result.all_events:
        data = event.event_specific_data
        metadata = getattr(data, "metadata", None) or getattr(getattr(data, "user_failure_data", None), "metadata", None) or {}
        if "outcomes" in metadata:
            return metadata["outcomes"].value
    raise AssertionError("the delivery run recorded no outcomes")


def export(instance, sprint_ids, recipients, formats=("csv", "pdf")):
    (outcome,) = export_sprints(instance, sprint_ids, list(formats), tags={names.DELIVER_TO: ",".join(recipients)})
    assert outcome.success, outcome.error
    return outcome


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def test_each_recipient_gets_their_sprints_once_with_exact_files(environment):
    server = start_server(environment)
    try:
        with instance_for_test() as instance:
            run = export(instance, [1, 2], [ADMIN, PLATFORM_MEMBER, PAYMENTS_MEMBER, STRANGER])
            result = deliver(instance, server, run.run_id)
            assert result.success
            messages = server.messages
            received = sorted((m["To"], m["Subject"]) for m in messages)
            assert received == sorted([
                (ADMIN, "Platform Sprint 1 report"),
                (ADMIN, "Payments Sprint 1 report"),
                (PLATFORM_MEMBER, "Platform Sprint 1 report"),
                (PAYMENTS_MEMBER, "Payments Sprint 1 report"),
            ])
            for mail_from, rcpt_tos in server.handler.envelopes:
                assert mail_from == "reports@example.com" and len(rcpt_tos) == 1, "nobody sees the others' addresses"
            files = {(f.sprint_id, f.path.name): f for f in run.files}
            for message in messages:
                assert message["From"] == "reports@example.com"
                sprint_id = 1 if "Platform" in message["Subject"] else 2
                plain = message.get_body(("plain",)).get_content()
                html = message.get_body(("html",)).get_content()
                assert "Completion rate (%)" in plain and "<table>" in html
                got = attachments(message)
                expected = {name: f for (sid, name), f in files.items() if sid == sprint_id}
                assert set(got) == set(expected)
                for name, payload in got.items():
                    assert hashlib.sha256(payload).hexdigest() == expected[name].sha256 == hashlib.sha256(expected[name].path.read_bytes()).hexdigest()
                    assert name in plain
                types = {part.get_filename(): part.get_content_type() for part in message.iter_attachments()}
                assert set(types.values()) == {"text/csv", "application/pdf"}
            status = {(o["recipient"], o["sprint_id"]): o["status"] for o in outcomes_of(result)}
            assert {o["reply"] for o in outcomes_of(result) if o["status"] == "sent"} == {"250 2.0.0 Message accepted"}
            assert status[(PLATFORM_MEMBER, 2)] == status[(PAYMENTS_MEMBER, 1)] == "refused"
            assert status[(STRANGER, 1)] == status[(STRANGER, 2)] == "refused"
            assert [o for o in outcomes_of(result) if o["recipient"] == STRANGER][0]["reply"] == (
                "not sent: nobody@example.com is not a user of the tracker"
            )

            again = deliver(instance, server, run.run_id)
            assert again.success
            assert len(server.messages) == 4, "a second delivery of the same run sends nothing"
            assert {o["status"] for o in outcomes_of(again)} == {"already sent", "already refused"}
    finally:
        server.stop()


def test_transient_refusals_are_retried_and_every_mail_arrives_once(environment):
    server = start_server(environment, transient_failures=3)
    try:
        with instance_for_test() as instance:
            run = export(instance, [1], [ADMIN, PLATFORM_MEMBER], formats=["csv"])
            result = deliver(instance, server, run.run_id)
            assert result.success
            assert sorted(m["To"] for m in server.messages) == [ADMIN, PLATFORM_MEMBER]
            attempts = {o["recipient"]: o["attempts"] for o in outcomes_of(result)}
            assert sum(attempts.values()) == 2 + 3
    finally:
        server.stop()


def test_a_permanently_refused_mailbox_is_recorded_not_retried(environment):
    server = start_server(environment, refuse_mailboxes={PLATFORM_MEMBER})
    try:
        with instance_for_test() as instance:
            run = export(instance, [1], [ADMIN, PLATFORM_MEMBER], formats=["csv"])
            result = deliver(instance, server, run.run_id)
            assert result.success
            assert [m["To"] for m in server.messages] == [ADMIN]
            refused = next(o for o in outcomes_of(result) if o["recipient"] == PLATFORM_MEMBER)
            assert refused["status"] == "refused" and refused["attempts"] == 1
            assert refused["reply"].startswith("550")
            ledger = DeliveryLedger(os.environ["SPRINT_DELIVERY_LEDGER_URL"])
            assert {(e.recipient, e.status) for e in ledger.entries(run.run_id)} == {(ADMIN, "sent"), (PLATFORM_MEMBER, "refused")}
    finally:
        server.stop()


def test_server_down_fails_the_run_after_retries_then_a_rerun_delivers(environment):
    with instance_for_test() as instance:
        run = export(instance, [1], [ADMIN], formats=["csv"])
        server = SmtpTestServer(environment)  # not started: connection refused
        result = deliver(instance, server, run.run_id, max_attempts=3)
        assert not result.success
        (failed,) = outcomes_of(result)
        assert failed["status"] == "failed" and failed["attempts"] == 3
        assert "ConnectionRefusedError" in failed["reply"]
        server.start()
        try:
            retried = deliver(instance, server, run.run_id)
            assert retried.success and [m["To"] for m in server.messages] == [ADMIN]
        finally:
            server.stop()


CRASHING_DELIVERY = textwrap.dedent(
    """
    import sys
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef
    from sprint_exports.definitions import defs

    home, run_id = sys.argv[1], sys.argv[2]
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(home))
    defs.resolve_job_def("deliver_exports_job").execute_in_process(
        instance=instance, run_config={"ops": {"deliver_exports": {"config": {"export_run_id": run_id}}}},
    )
    """
)


def test_a_delivery_killed_midway_and_run_again_sends_no_duplicates(environment):
    server = start_server(environment, hold_after=1)
    home = environment / "instance"
    home.mkdir()
    instance = DagsterInstance.from_ref(__import__("dagster._core.instance.ref", fromlist=["InstanceRef"]).InstanceRef.from_dir(str(home)))
    try:
        run = export(instance, [1], [ADMIN, PLATFORM_MEMBER, "juergen@example.com"], formats=["csv"])
        worker = subprocess.Popen(
            [sys.executable, "-c", CRASHING_DELIVERY, str(home), run.run_id],
            env={**os.environ, **smtp_environment(server)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        assert server.behaviour.held.wait(120), "the second message never reached the server"
        os.kill(worker.pid, signal.SIGKILL)  # dies after sending to one recipient, while sending to the next
        worker.wait(30)
        assert len(server.messages) == 1
        (crashed,) = [r for r in instance.get_runs() if r.job_name == "deliver_exports_job"]
        instance.report_run_failed(crashed)  # what the run monitor does for a dead run worker
        server.behaviour.hold_after = None
        server.behaviour.release.set()

        rerun = deliver(instance, server, run.run_id)
        assert rerun.success
        recipients = sorted(m["To"] for m in server.messages)
        assert recipients == sorted([ADMIN, PLATFORM_MEMBER, "juergen@example.com"]), "each exactly once"
    finally:
        server.stop()
        instance.dispose()


def test_delivery_sensor_requests_one_delivery_per_tagged_export_run(environment):
    from dagster import build_run_status_sensor_context, DagsterEventType

    with instance_for_test() as instance:
        run = export(instance, [1], [ADMIN], formats=["csv"])
        untagged = export_sprints(instance, [2], ["csv"])[0]
        sensor = defs.resolve_sensor_def("export_delivery_sensor")

        def evaluate(run_id):
            dagster_run = instance.get_run_by_id(run_id)
            success = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_SUCCESS).records[0]
            context = build_run_status_sensor_context(
                sensor_name="export_delivery_sensor", dagster_event=success.event_log_entry.dagster_event,
                dagster_instance=instance, dagster_run=dagster_run, repository_def=defs.get_repository_def(),
            )
            return sensor(context)

        request = evaluate(run.run_id)
        assert request.run_key == f"deliver:{run.run_id}"
        assert request.run_config["ops"]["deliver_exports"]["config"]["export_run_id"] == run.run_id
        assert request.tags[names.EXPORT_RUN] == run.run_id
        skipped = evaluate(untagged.run_id)
        assert "nothing to deliver" in skipped.skip_message


def test_one_address_written_four_ways_gets_one_message(environment):
    server = start_server(environment)
    try:
        with instance_for_test() as instance:
            run = export(instance, [1], [ADMIN], formats=["csv"])
            spellings = [" ana@example.com", "ana@example.com ", "ana@example.com\n", "ANA@Example.com"]
            result = deliver(instance, server, run.run_id, recipients=spellings)
            assert result.success
            assert [m["To"] for m in server.messages] == [ADMIN]
            assert [(o["recipient"], o["status"]) for o in outcomes_of(result)] == [(ADMIN, "sent")]
            ledger = DeliveryLedger(os.environ["SPRINT_DELIVERY_LEDGER_URL"])
            assert [e.recipient for e in ledger.entries(run.run_id)] == [ADMIN]
            ledger.dispose()
    finally:
        server.stop()


def test_a_sigkilled_delivery_whose_run_still_shows_started_is_taken_over_when_its_lease_ends(environment):
    from dagster import DagsterRunStatus

    from sprint_exports.delivery.send_loop import LEASE_MARGIN_SECONDS

    server = start_server(environment, hold_after=1)
    home = environment / "instance"
    home.mkdir()
    instance = DagsterInstance.from_ref(__import__("dagster._core.instance.ref", fromlist=["InstanceRef"]).InstanceRef.from_dir(str(home)))
    try:
        recipients = [ADMIN, PLATFORM_MEMBER, "juergen@example.com"]
        run = export(instance, [1], recipients, formats=["csv"])
        worker = subprocess.Popen(
            [sys.executable, "-c", CRASHING_DELIVERY, str(home), run.run_id],
            env={**os.environ, **smtp_environment(server, timeout_seconds=3)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        assert server.behaviour.held.wait(120), "the second message never reached the server"
        os.kill(worker.pid, signal.SIGKILL)  # dies holding the claim of the second message
        worker.wait(30)
        server.behaviour.hold_after = None
        server.behaviour.release.set()
        (crashed,) = [r for r in instance.get_runs() if r.job_name == "deliver_exports_job"]
        assert crashed.status == DagsterRunStatus.STARTED, "nothing told Dagster the run died"

        started = time.monotonic()
        rerun = deliver(instance, server, run.run_id, timeout_seconds=3)
        took = time.monotonic() - started
        assert rerun.success, [o for o in outcomes_of(rerun)]
        assert sorted(m["To"] for m in server.messages) == sorted(recipients), "each exactly once, none lost"
        statuses = {o["recipient"]: o["status"] for o in outcomes_of(rerun)}
        assert statuses == {ADMIN: "already sent", PLATFORM_MEMBER: "sent", "juergen@example.com": "sent"}
        assert took < 3 + LEASE_MARGIN_SECONDS + 15, f"waited {took:.0f} s, longer than the lease"
        assert instance.get_run_by_id(crashed.run_id).status == DagsterRunStatus.STARTED
    finally:
        server.stop()
        instance.dispose()
