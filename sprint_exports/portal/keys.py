"""Every signature the portal makes or checks, in one module.

- `requested_by_tags`: the run tags that say whom a launch exports for, with an
  HMAC-SHA256 signature over the email, the run's sprint selection and the
  issue time (`v1:<issued unix seconds>:<hex>`), so a run can tell a tag the
  portal signed from one anybody typed.
- `sign_download` / `verify_download` / `download_link`: download links bound
  to a run, format, sprint, user and expiry; `signing.py` makes them, for
  delivery mail too, and these use the one key.
- `csrf_token` / `csrf_valid`: the signed double-submit token of every form.

All of them use the code location's one key (`settings.secret_key()`:
SPRINT_EXPORTS_SECRET_KEY, or for the demo a key generated once into the
instance folder with mode 600) and `signing.py`'s HMAC, each under its own
purpose, so a run checks a portal-signed tag exactly as one `export --as` made.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import time
from collections.abc import Sequence

from sprint_exports import signing
from sprint_exports.names import REQUESTED_BY_SIGNATURE
from sprint_exports.settings import secret_key

__all__ = [
    "REQUESTED_BY_SIGNATURE", "csrf_token", "csrf_valid", "new_secret", "requested_by_tags",
    "requested_by_valid", "secret_key", "sign_download", "verify_download", "download_link",
]


def _mac(purpose: str, *parts: str) -> str:
    return signing.mac(secret_key(), f"sprint_exports/portal/{purpose}", *parts)


def requested_by_tags(email: str, partition_keys: Sequence[str], issued: int | None = None) -> dict[str, str]:
    """The tags a launch for `email` over `partition_keys` carries: the email and its signature."""
    return signing.requested_by_tags(secret_key(), email, partition_keys, int(time.time()) if issued is None else issued)


def requested_by_valid(email: str, partition_keys: Sequence[str], signature_tag: str, max_age_seconds: int) -> bool:
    """Whether `signature_tag` signs `email` for exactly these keys, issued within `max_age_seconds` of now."""
    try:
        signing.verify_requested_by(secret_key(), email, partition_keys, signature_tag, time.time())
    except signing.SignatureError:
        return False
    issued = int(signature_tag.split(":")[1])
    return abs(time.time() - issued) <= max_age_seconds


def sign_download(run_id: str, format_name: str, sprint_id: int | None, user: str, expires: int) -> str:
    """`signing.sign_download` under the code location's key."""
    return signing.sign_download(secret_key(), run_id, format_name, sprint_id, user, expires)


def verify_download(run_id: str, format_name: str, sprint_id: int | None, user: str, expires: int, signature: str) -> bool:
    return signing.verify_download(secret_key(), run_id, format_name, sprint_id, user, expires, signature)


def download_link(portal_url: str, run_id: str, format_name: str, sprint_id: int | None, user: str,
                  file_expires_at: dt.datetime | None) -> str:
    """`signing.download_link` under the code location's key, made now: the same link delivery mail carries."""
    return signing.download_link(secret_key(), portal_url, run_id, format_name, sprint_id, user, file_expires_at, time.time())


def new_secret() -> str:
    """A fresh random value for a session id, sign-in link, or CSRF cookie."""
    return secrets.token_urlsafe(32)


def csrf_token(csrf_cookie: str) -> str:
    """The form field that goes with the visitor's CSRF cookie (a signed double submit)."""
    return _mac("csrf", csrf_cookie)


def csrf_valid(csrf_cookie: str | None, field: str | None) -> bool:
    return bool(csrf_cookie and field) and hmac.compare_digest(field, csrf_token(csrf_cookie))
