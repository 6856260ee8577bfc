"""Sending one message to one recipient over SMTP, retrying what is worth retrying.

Transient trouble (connection refused or dropped, timeouts, 4xx replies) is
retried with exponential backoff; a permanent refusal (5xx) is final and is
reported with the server's reply. Problems that no retry can fix for anyone
(bad credentials, TLS set up wrong) raise `SmtpConfigurationError`.

Each attempt has one deadline, `timeout_seconds`, from connect through the
server's reply to the end of DATA, whatever the server does: a timer shuts
the connection down when it passes, so a server that keeps talking without
getting anywhere (`220-still here` once a second) or dribbles bytes cannot
hold a run. Once the whole message has gone out, a connection that closes,
or a server that stays silent past the deadline, leaves one thing unknown:
whether the message arrived. That outcome is `uncertain`, never `sent`, and
is not retried here (a retry could deliver it twice).
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from sprint_exports.delivery.statuses import DeliveryStatus

Security = Literal["none", "starttls", "ssl"]
SECURITY_CHOICES = ("none", "starttls", "ssl")


class SmtpConfigurationError(RuntimeError):
    """SMTP settings that fail for every recipient (credentials, TLS)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    username: str | None = None
    password: str | None = None
    security: Security = "none"
    from_address: str = "sprint-exports@localhost"
    timeout_seconds: float = 60.0  # the deadline of one attempt, connect through the reply to DATA
    ca_file: str | None = None
    max_attempts: int = 5
    backoff_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY_CHOICES:
            raise ValueError(f"SMTP security {self.security!r} is not allowed; allowed: {', '.join(SECURITY_CHOICES)}")
        if not 0 < self.timeout_seconds <= 3600:
            raise ValueError(f"SMTP timeout_seconds={self.timeout_seconds!r} is not allowed: use more than 0 and at most 3600 seconds")

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, username={self.username!r})"


@dataclass(frozen=True)
class SendOutcome:
    status: DeliveryStatus
    reply: str
    attempts: int


class _Transient(Exception):
    pass


class _Permanent(Exception):
    pass


class _Uncertain(Exception):
    pass


class _Deadline:
    """The end of one attempt. When it passes, every connection handed to `watch` is shut down,
    which ends any read or write blocked on it, in whatever state the conversation is."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.passed = False
        self._duplicates: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_) -> None:
        self._timer.cancel()
        with self._lock:
            for duplicate in self._duplicates:
                duplicate.close()

    def watch(self, connection: socket.socket) -> socket.socket:
        # A duplicate descriptor of the same socket: shutting it down also ends reads on the TLS
        # wrapper that smtplib later puts around the original (wrapping detaches the original object).
        with self._lock:
            self._duplicates.append(connection.dup())
            if self.passed:
                self._shut(self._duplicates[-1])
        return connection

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            for duplicate in self._duplicates:
                self._shut(duplicate)

    @staticmethod
    def _shut(connection: socket.socket) -> None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class _Client(smtplib.SMTP):
    """smtplib's client, handing every connection it opens to the attempt's deadline."""

    deadline: _Deadline

    def __init__(self, *args, deadline: _Deadline | None = None, **kwargs):
        if deadline is not None:
            self.deadline = deadline
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):  # smtplib's hook for opening the connection
        return self.deadline.watch(super()._get_socket(host, port, timeout))


class _SslClient(smtplib.SMTP_SSL, _Client):
    def __init__(self, *args, deadline: _Deadline, **kwargs):
        self.deadline = deadline
        super().__init__(*args, **kwargs)


def send(
    settings: SmtpSettings,
    message: EmailMessage,
    recipient: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _: None,
    before_attempt: Callable[[int], None] = lambda _: None,
) -> SendOutcome:
    """Deliver `message` to `recipient` only; returns what finally happened.

    `before_attempt(n)` runs before attempt n; whatever it raises ends the sending there.
    """
    last_reply = ""
    for attempt in range(1, settings.max_attempts + 1):
        before_attempt(attempt)
        try:
            reply = _send_once(settings, message, recipient)
            return SendOutcome(DeliveryStatus.SENT, reply, attempt)
        except _Permanent as refusal:
            return SendOutcome(DeliveryStatus.REFUSED, str(refusal), attempt)
        except _Uncertain as unknown:
            return SendOutcome(DeliveryStatus.UNCERTAIN, str(unknown), attempt)
        except _Transient as trouble:
            last_reply = str(trouble)
            if attempt < settings.max_attempts:
                delay = settings.backoff_seconds * 2 ** (attempt - 1)
                log(f"{recipient}: attempt {attempt} failed ({last_reply}); retrying in {delay:g} s")
                sleep(delay)
    return SendOutcome(DeliveryStatus.FAILED, last_reply, settings.max_attempts)


def _send_once(settings: SmtpSettings, message: EmailMessage, recipient: str) -> str:
    where = f"{settings.host}:{settings.port}"
    sent_whole_message = False
    with _Deadline(settings.timeout_seconds) as deadline:
        client = None
        try:
            client = _connect(settings, deadline)
            if settings.username:
                client.login(settings.username, settings.password or "")
            # One envelope recipient per message, step by step, to keep the server's own replies.
            client.ehlo_or_helo_if_needed()
            code, text = client.mail(settings.from_address)
            if code != 250:
                raise _classify(code, text)
            code, text = client.rcpt(recipient)
            if code not in (250, 251):
                raise _classify(code, text)
            code, text = client.docmd("DATA")
            if code != 354:
                raise _classify(code, text)
            client.send(_data_block(message))
            sent_whole_message = True
            code, text = client.getreply()
            if code != 250:
                raise _classify(code, text)
            return _reply(code, text)
        except (_Transient, _Permanent):
            raise
        except smtplib.SMTPAuthenticationError as error:
            raise SmtpConfigurationError(f"SMTP login to {where} refused: {_reply(error.smtp_code, error.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError as error:
            raise SmtpConfigurationError(f"SMTP server {where}: {error}") from None
        except smtplib.SMTPRecipientsRefused as error:
            code, text = error.recipients.get(recipient, (550, b"refused"))
            raise _classify(code, text) from None
        except smtplib.SMTPResponseException as error:  # sender refused, 4xx/5xx at any step
            raise _classify(error.smtp_code, error.smtp_error) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
            if sent_whole_message:
                raise _Uncertain(_uncertain_reply(error, deadline, where)) from None
            if deadline.passed:
                raise _Transient(f"no answer from {where} within the {settings.timeout_seconds:g} s deadline") from None
            if isinstance(error, ssl.SSLError):
                raise SmtpConfigurationError(f"TLS with {where} failed: {error}") from None
            raise _Transient(f"{type(error).__name__}: {error}") from None
        finally:
            if client is not None:
                _hang_up(client)


def _uncertain_reply(error: BaseException, deadline: _Deadline, where: str) -> str:
    what = (
        f"{where} did not reply within the {deadline.seconds:g} s deadline"
        if deadline.passed
        else f"{where} closed the connection ({type(error).__name__})"
    )
    return f"{what} after the whole message was sent: it may or may not have arrived"


def _data_block(message: EmailMessage) -> bytes:
    """The message as DATA sends it: CRLF lines, leading dots doubled, ended by a lone dot."""
    payload = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    payload = re.sub(rb"(?m)^\.", b"..", payload)
    return payload + (b"" if payload.endswith(b"\r\n") else b"\r\n") + b".\r\n"


def _hang_up(client: smtplib.SMTP) -> None:
    """QUIT politely, within what is left of the deadline; the outcome is already decided."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _connect(settings: SmtpSettings, deadline: _Deadline) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=settings.ca_file) if settings.security != "none" else None
    timeout = settings.timeout_seconds
    if settings.security == "ssl":
        return _SslClient(settings.host, settings.port, timeout=timeout, context=context, deadline=deadline)
    client = _Client(settings.host, settings.port, timeout=timeout, deadline=deadline)
    if settings.security == "starttls":
        client.starttls(context=context)
    return client


def _classify(code: int, text: bytes | str) -> Exception:
    reply = _reply(code, text)
    return _Permanent(reply) if 500 <= code < 600 else _Transient(reply)


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}".strip()
