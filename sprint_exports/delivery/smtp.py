"""Sending one message to one recipient over SMTP, retrying what is worth retrying.

Transient trouble (connection refused or dropped, timeouts, 4xx replies) is
retried with exponential backoff; a permanent refusal (5xx) is final and is
reported with the server's reply. Problems that no retry can fix for anyone
(bad credentials, TLS set up wrong) raise `SmtpConfigurationError`.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
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
    timeout_seconds: float = 30.0
    ca_file: str | None = None
    max_attempts: int = 5
    backoff_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY_CHOICES:
            raise ValueError(f"SMTP security {self.security!r} is not allowed; allowed: {', '.join(SECURITY_CHOICES)}")

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


def send(
    settings: SmtpSettings,
    message: EmailMessage,
    recipient: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _: None,
) -> SendOutcome:
    """Deliver `message` to `recipient` only; returns what finally happened."""
    last_reply = ""
    for attempt in range(1, settings.max_attempts + 1):
        try:
            reply = _send_once(settings, message, recipient)
            return SendOutcome(DeliveryStatus.SENT, reply, attempt)
        except _Permanent as refusal:
            return SendOutcome(DeliveryStatus.REFUSED, str(refusal), attempt)
        except _Transient as trouble:
            last_reply = str(trouble)
            if attempt < settings.max_attempts:
                delay = settings.backoff_seconds * 2 ** (attempt - 1)
                log(f"{recipient}: attempt {attempt} failed ({last_reply}); retrying in {delay:g} s")
                sleep(delay)
    return SendOutcome(DeliveryStatus.FAILED, last_reply, settings.max_attempts)


def _send_once(settings: SmtpSettings, message: EmailMessage, recipient: str) -> str:
    try:
        with _connect(settings) as client:
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
            code, text = client.data(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
            if code != 250:
                raise _classify(code, text)
            return _reply(code, text)
    except smtplib.SMTPAuthenticationError as error:
        raise SmtpConfigurationError(f"SMTP login to {settings.host}:{settings.port} refused: {_reply(error.smtp_code, error.smtp_error)}") from None
    except smtplib.SMTPNotSupportedError as error:
        raise SmtpConfigurationError(f"SMTP server {settings.host}:{settings.port}: {error}") from None
    except ssl.SSLError as error:
        raise SmtpConfigurationError(f"TLS with {settings.host}:{settings.port} failed: {error}") from None
    except smtplib.SMTPRecipientsRefused as error:
        code, text = error.recipients.get(recipient, (550, b"refused"))
        raise _classify(code, text) from None
    except smtplib.SMTPResponseException as error:  # sender refused, data error, 4xx/5xx at any step
        raise _classify(error.smtp_code, error.smtp_error) from None
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, socket.timeout, OSError) as error:
        raise _Transient(f"{type(error).__name__}: {error}") from None


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=settings.ca_file) if settings.security != "none" else None
    if settings.security == "ssl":
        return smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds, context=context)
    client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    if settings.security == "starttls":
        client.starttls(context=context)
    return client


def _classify(code: int, text: bytes | str) -> Exception:
    reply = _reply(code, text)
    return _Permanent(reply) if 500 <= code < 600 else _Transient(reply)


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}".strip()
