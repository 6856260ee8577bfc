"""The portal's settings, read once from the environment when the app is built."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from sprint_exports import settings
from sprint_exports.delivery.smtp import SmtpSettings

SIGN_IN_LINK_MINUTES = 15
SESSION_DAYS = 7


@dataclass(frozen=True)
class PortalConfig:
    portal_url: str = field(default_factory=settings.portal_url)
    dagster_url: str = field(default_factory=settings.dagster_graphql_url)
    db_url: str = field(default_factory=settings.portal_db_url)
    auth_header: str | None = field(default_factory=settings.auth_header)
    trusted_proxies: tuple[str, ...] = field(default_factory=settings.trusted_proxies)
    location_name: str = "sprint_exports"
    # Sign-in requests allowed per 15 minutes: per address, and per client address.
    per_address_limit: int = 5
    per_client_limit: int = 30

    @property
    def secure_cookies(self) -> bool:
        return self.portal_url.startswith("https://")

    def is_trusted_proxy(self, peer: str | None) -> bool:
        if not peer or not self.auth_header:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network, strict=False) for network in self.trusted_proxies)


def smtp_settings() -> SmtpSettings:
    """The contract's SMTP_* settings, as the delivery job reads them, for sign-in mail."""
    raw_port = os.environ.get("SMTP_PORT") or "25"
    if not raw_port.isdecimal() or not 0 < int(raw_port) < 65536:
        raise ValueError(f"SMTP_PORT={raw_port!r} is not allowed: use a port number from 1 to 65535")
    return SmtpSettings(
        host=os.environ.get("SMTP_HOST") or "localhost",
        port=int(raw_port),
        username=os.environ.get("SMTP_USERNAME") or None,
        password=os.environ.get("SMTP_PASSWORD") or None,
        security=(os.environ.get("SMTP_SECURITY") or "none"),  # type: ignore[arg-type]  (checked by SmtpSettings)
        from_address=os.environ.get("SMTP_FROM") or "sprint-exports@localhost",
        timeout_seconds=15.0,
        max_attempts=2,
        backoff_seconds=1.0,
    )
