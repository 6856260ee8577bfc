"""Delivery resources: the SMTP server and the delivery ledger, configured from the environment."""

from __future__ import annotations

import os

from dagster import ConfigurableResource, EnvVar

from sprint_exports import settings
from sprint_exports.delivery.ledger import DeliveryLedger
from sprint_exports.delivery.message import DEFAULT_ATTACHMENT_LIMIT
from sprint_exports.delivery.smtp import SmtpSettings


class SmtpResource(ConfigurableResource):
    """The mail server deliveries go through. The password comes from SMTP_PASSWORD via EnvVar."""

    host: str = "localhost"
    port: int = 25
    username: str | None = None
    password: str | None = None
    security: str = "none"
    from_address: str = "sprint-exports@localhost"
    timeout_seconds: float = 60.0  # the deadline of one attempt, connect through the reply to DATA
    ca_file: str | None = None
    max_attempts: int = 5
    backoff_seconds: float = 2.0
    attachment_limit_bytes: int = DEFAULT_ATTACHMENT_LIMIT

    def settings(self) -> SmtpSettings:
        return SmtpSettings(
            host=self.host,
            port=self.port,
            username=self.username or None,
            password=self.password or None,
            security=self.security,  # type: ignore[arg-type]  (checked in SmtpSettings)
            from_address=self.from_address,
            timeout_seconds=self.timeout_seconds,
            ca_file=self.ca_file or None,
            max_attempts=self.max_attempts,
            backoff_seconds=self.backoff_seconds,
        )


def smtp_from_environment() -> SmtpResource:
    """The SMTP resource wired to the contract's SMTP_* variables, each only if set.

    Values go in as `EnvVar`s, so the UI and run config show the variable's
    name, never the password.
    """
    texts = {"host": "SMTP_HOST", "username": "SMTP_USERNAME", "password": "SMTP_PASSWORD",
             "security": "SMTP_SECURITY", "from_address": "SMTP_FROM"}
    values: dict = {field: EnvVar(name) for field, name in texts.items() if os.environ.get(name)}
    if os.environ.get("SMTP_PORT"):
        values["port"] = EnvVar.int("SMTP_PORT")
    return SmtpResource(**values)


class DeliveryLedgerResource(ConfigurableResource):
    """Where delivery outcomes are recorded; SPRINT_DELIVERY_LEDGER_URL or SQLite beside the instance."""

    url: str | None = None

    def open(self) -> DeliveryLedger:
        return DeliveryLedger(self.url or settings.delivery_ledger_url())
