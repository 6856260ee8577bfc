"""Delivery under faults, against socket servers of the test's own: a server that never gets to the
point, one that hangs up or goes silent after the whole message, an unreachable ledger, a ledger
from before leases; and run monitoring in every shipped instance config.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from sprint_exports.access import AccessPolicy, Person
from sprint_exports.delivery.ledger import DeliveryLedger, LedgerUnavailable
from sprint_exports.delivery.message import ExportedAttachment, SprintDelivery
from sprint_exports.delivery.send_loop import SendContext, deliver_all
from sprint_exports.delivery.smtp import SmtpSettings, send
from sprint_exports.delivery.statuses import DeliveryStatus
from sprint_exports.exports.store import sha256_of

REPO = Path(__file__).resolve().parents[2]


class ScriptedServer:
    """A TCP server on a free loopback port; `script(connection)` plays the server's side of each connection."""

    def __init__(self, script):
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.messages_received = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._play, args=(connection,), daemon=True).start()

    def _play(self, connection):
        with connection:
            try:
                self.script(self, connection)
            except OSError:
                pass  # the client hung up: what a deadline does

    def close(self):
        self.stop.set()
        self.listener.close()


def read_line(connection) -> bytes:
    line = b""
    while not line.endswith(b"\r\n"):
        chunk = connection.recv(1)
        if not chunk:
            raise ConnectionResetError
        line += chunk
    return line


def converse_until_data(server, connection) -> None:
    """Greet, answer EHLO, MAIL, RCPT, DATA, and read the message to its final dot."""
    connection.sendall(b"220 test ESMTP\r\n")
    while True:
        command = read_line(connection).upper()
        if command.startswith(b"EHLO"):
            connection.sendall(b"250 test\r\n")
        elif command.startswith((b"MAIL", b"RCPT")):
            connection.sendall(b"250 OK\r\n")
        elif command.startswith(b"DATA"):
            connection.sendall(b"354 go ahead\r\n")
            while read_line(connection) != b".\r\n":
                pass
            server.messages_received += 1
            return
        else:
            connection.sendall(b"250 OK\r\n")


def still_here_forever(server, connection):
    while not server.stop.is_set():
        connection.sendall(b"220-still here\r\n")
        time.sleep(1)


def close_after_data(server, connection):
    converse_until_data(server, connection)  # then hang up without a reply


def silent_after_data(server, connection):
    converse_until_data(server, connection)
    while not server.stop.is_set():
        connection.sendall(b"250-still thinking\r\n")  # a reply that never ends
        time.sleep(1)


def settings(server, **overrides) -> SmtpSettings:
    return SmtpSettings(**{"host": "127.0.0.1", "port": server.port, "timeout_seconds": 3, "max_attempts": 3,
                           "backoff_seconds": 0.01, "from_address": "reports@example.com", **overrides})


def a_message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "reports@example.com", "ana@example.com", "report"
    message.set_content(".a line that starts with a dot\nand another\n")
    return message


def send_within(seconds, smtp, message):
    """`send` in a thread; None if it is still going after `seconds` (the bug: it never ends)."""
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(send(smtp, message, "ana@example.com")), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    return (outcome[0] if outcome else None), time.monotonic() - started


def test_a_server_that_keeps_saying_still_here_cannot_outlast_the_deadline():
    server = ScriptedServer(still_here_forever)
    try:
        outcome, took = send_within(30, settings(server, max_attempts=2), a_message())
        assert outcome is not None, "the attempt ran past every deadline"
        assert outcome.status == DeliveryStatus.FAILED and outcome.attempts == 2
        assert "within the 3 s deadline" in outcome.reply
        assert 5.5 < took < 9, took  # two attempts of 3 s each, and a little
    finally:
        server.close()


def test_a_server_that_hangs_up_after_data_leaves_the_message_uncertain_and_sends_it_once():
    server = ScriptedServer(close_after_data)
    try:
        outcome, _ = send_within(30, settings(server), a_message())
        assert outcome.status == DeliveryStatus.UNCERTAIN, outcome
        assert outcome.attempts == 1 and server.messages_received == 1, "not retried: a retry could deliver it twice"
        assert "closed the connection" in outcome.reply and "may or may not have arrived" in outcome.reply
    finally:
        server.close()


def test_a_server_silent_after_data_is_uncertain_at_the_deadline():
    server = ScriptedServer(silent_after_data)
    try:
        outcome, took = send_within(30, settings(server), a_message())
        assert outcome.status == DeliveryStatus.UNCERTAIN and outcome.attempts == 1
        assert "did not reply within the 3 s deadline" in outcome.reply and took < 6
    finally:
        server.close()


def test_the_ledger_records_uncertain_not_sent_and_the_run_is_not_done(tmp_path):
    exported = tmp_path / "exports" / "1" / "20261127T083005Z-run" / "platform-sprint-1.csv"
    exported.parent.mkdir(parents=True)
    exported.write_bytes(b"Key,Summary\r\nPLAT-1,x\r\n")
    delivery = SprintDelivery("run-1", 1, "Platform Sprint 1", 1, "Platform",
                              (ExportedAttachment(exported, "text/csv", exported.stat().st_size, sha256_of(exported)),))
    policy = AccessPolicy({"ana@example.com": Person("ana@example.com", "Ana", "admin", frozenset())}, {1: "Platform"})
    ledger = DeliveryLedger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    server = ScriptedServer(close_after_data)
    try:
        outcomes = []
        context = SendContext("run-1", "delivery-1", settings(server), "{sprint}", 10_000_000, lambda _: False)
        deliver_all([delivery], ["ana@example.com"], policy=policy, ledger=ledger, context=context, on_outcome=outcomes.append)
        assert [o.status for o in outcomes] == [DeliveryStatus.UNCERTAIN]
        (entry,) = ledger.entries("run-1")
        assert entry.status == "uncertain" and entry.lease_expires_at is None
    finally:
        server.close()
        ledger.dispose()


def test_an_unreachable_ledger_is_a_named_error_with_the_password_masked(tmp_path):
    url = "postgresql://exporter:s3cretpw@127.0.0.1:1/ledger"
    with pytest.raises(LedgerUnavailable) as raised:
        DeliveryLedger(url)
    message = str(raised.value)
    assert message.startswith("Cannot reach the delivery ledger SPRINT_DELIVERY_LEDGER_URL=postgresql://exporter:***@127.0.0.1:1/ledger: connection to server")
    assert "s3cretpw" not in message
    shown = subprocess.run(
        [sys.executable, "-m", "sprint_exports", "history"], capture_output=True, text=True, timeout=120,
        env={**os.environ, "SPRINT_DELIVERY_LEDGER_URL": url, "DAGSTER_HOME": str(tmp_path)},
    )
    assert shown.returncode == 2 and "Error: Cannot reach the delivery ledger" in shown.stderr
    assert "s3cretpw" not in shown.stderr + shown.stdout and "Traceback" not in shown.stderr


def test_a_ledger_from_before_leases_is_upgraded_and_its_stuck_claim_taken_over(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE TABLE sprint_export_deliveries (export_run_id TEXT, sprint_id INTEGER, recipient TEXT, status TEXT NOT NULL, "
            "reply TEXT, attempts INTEGER NOT NULL, delivery_run_id TEXT NOT NULL, updated_at DATETIME NOT NULL, "
            "PRIMARY KEY (export_run_id, sprint_id, recipient))"
        ))
        connection.execute(text(
            "INSERT INTO sprint_export_deliveries VALUES ('run-1', 1, 'ana@example.com', 'sending', NULL, 0, 'dead-run', '2026-01-01 00:00:00')"
        ))
    engine.dispose()
    ledger = DeliveryLedger(url)
    try:
        claim = ledger.claim("run-1", 1, " Ana@Example.com\n", "new-run", run_has_ended=lambda _: False, lease_seconds=30)
        assert claim.granted, "a claim from before leases has no lease left"
        entry = ledger.entry("run-1", 1, "ana@example.com")
        assert entry.delivery_run_id == "new-run" and entry.lease_expires_at > dt.datetime.now(dt.UTC).replace(tzinfo=None)
    finally:
        ledger.dispose()


@pytest.mark.parametrize("config", ["dagster.yaml", "deploy/postgres/dagster.yaml"])
def test_every_shipped_instance_config_turns_run_monitoring_on(config):
    monitoring = yaml.safe_load((REPO / config).read_text())["run_monitoring"]
    assert monitoring["enabled"] is True


def test_the_local_instance_has_run_monitoring_and_delivery_runs_a_maximum_runtime(tmp_path):
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    from sprint_exports.definitions import defs

    (tmp_path / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path)))
    try:
        assert instance.run_monitoring_enabled
    finally:
        instance.dispose()
    tags = defs.resolve_job_def("deliver_exports_job").tags
    assert float(tags["dagster/max_runtime"]) > 0
