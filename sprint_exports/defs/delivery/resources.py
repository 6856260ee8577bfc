"""Delivery resources: the SMTP server and the delivery ledger, configured from the environment only.

Where mail goes (SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USERNAME,
SMTP_PASSWORD, SMTP_FROM and the tuning variables in `settings.smtp_settings`)
and where outcomes are kept (SPRINT_DELIVERY_LEDGER_URL) are deployment
settings. Neither resource has config fields, so no launch can send the mail
(or the password, in AUTH) to another server, and nothing here shows in run
config or the UI.
"""

from __future__ import annotations

from dagster import ConfigurableResource, Failure, InitResourceContext
from pydantic import PrivateAttr

from sprint_exports import settings
from sprint_exports.defs.common.run_start import refuse_environment_reads
from sprint_exports.delivery.ledger import DeliveryLedger
from sprint_exports.delivery.smtp import SmtpSettings


class SmtpResource(ConfigurableResource):
    """The mail server deliveries go through: the SMTP_* environment variables, checked when a run starts."""

    _settings: SmtpSettings | None = PrivateAttr(default=None)
    _attachment_limit: int | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        refuse_environment_reads(context.run)
        try:
            self._settings = settings.smtp_settings()
            self._attachment_limit = settings.smtp_attachment_limit()
        except settings.SettingError as error:
            raise Failure(f"Delivery refused before sending anything: {error}") from None

    def settings(self) -> SmtpSettings:
        return self._settings if self._settings is not None else settings.smtp_settings()

    @property
    def attachment_limit_bytes(self) -> int:
        return self._attachment_limit if self._attachment_limit is not None else settings.smtp_attachment_limit()


class DeliveryLedgerResource(ConfigurableResource):
    """Where delivery outcomes are recorded: SPRINT_DELIVERY_LEDGER_URL, or SQLite beside the instance."""

    def open(self) -> DeliveryLedger:
        return DeliveryLedger(settings.delivery_ledger_url())
