"""A real SMTP server for tests: aiosmtpd on a free loopback port, STARTTLS and AUTH required.

Faults are the server's own behaviour, as a mail server would show them:
refusing the first N deliveries with a 4xx, refusing one mailbox with 550,
or holding a message (never answering DATA) until released.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME, PASSWORD = "exporter", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Behaviour:
    transient_failures: int = 0  # refuse this many DATA commands with 451 first
    refuse_mailboxes: set[str] = field(default_factory=set)  # 550 at RCPT
    hold_after: int | None = None  # accept this many messages, then hold DATA until `release`
    release: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)


class RecordingHandler:
    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.data_attempts = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if address.lower() in self.behaviour.refuse_mailboxes:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.data_attempts += 1
            if self.data_attempts <= self.behaviour.transient_failures:
                return "451 4.3.0 Try again later"
            hold = self.behaviour.hold_after is not None and len(self.messages) >= self.behaviour.hold_after
        if hold:
            self.behaviour.held.set()
            while not self.behaviour.release.wait(0.1):
                pass
            return "421 4.3.2 Shutting down"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 Message accepted"


class SmtpTestServer:
    """Start with `start()`; `ca_file` is what a client must trust for STARTTLS."""

    def __init__(self, tmp_path, behaviour: Behaviour | None = None, tls: bool = True, auth: bool = True):
        self.behaviour = behaviour or Behaviour()
        self.handler = RecordingHandler(self.behaviour)
        self.port = free_port()
        self.tls = tls
        self.auth = auth
        authority = trustme.CA()
        certificate = authority.issue_cert("127.0.0.1", "localhost")
        self.ca_file = str(tmp_path / "smtp-ca.pem")
        authority.cert_pem.write_to_path(self.ca_file)
        self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(self.tls_context)
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls_context if tls else None,
            require_starttls=tls,
            auth_required=auth,
            auth_require_tls=tls,
            authenticator=self._authenticate,
            server_hostname="127.0.0.1",
            auth_exclude_mechanism=["LOGIN"],  # smtplib falls back to LOGIN after a failed PLAIN, which aiosmtpd stalls on
            ready_timeout=10,
        )

    @staticmethod
    def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok)

    def start(self) -> SmtpTestServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.behaviour.release.set()
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    def environment(self) -> dict[str, str]:
        """The contract's SMTP_* settings pointing at this server."""
        env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_FROM": "reports@example.com",
               "SMTP_SECURITY": "starttls" if self.tls else "none"}
        if self.auth:
            env.update(SMTP_USERNAME=USERNAME, SMTP_PASSWORD=PASSWORD)
        return env
