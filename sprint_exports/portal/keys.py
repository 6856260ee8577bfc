"""Every signature the portal makes or checks, in one module.

- `requested_by_tags`: the run tags that say whom a launch exports for, with an
  HMAC-SHA256 signature over the email, the run's sprint selection and the
  issue time (`v1:<issued unix seconds>:<hex>`), so a run can tell a tag the
  portal signed from one anybody typed.
- `sign_download` / `verify_download`: download links bound to a run, format,
  sprint, user and expiry.
- `csrf_token` / `csrf_valid`: the signed double-submit token of every form.

All of them use `secret_key()`: SPRINT_EXPORTS_SECRET_KEY, or for the demo a
key generated once into the instance folder with mode 600.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sprint_exports.requested_by import (  # the run-tag signing the Dagster shell shares
    KEY_FILE,
    REQUESTED_BY_SIGNATURE,
    mac as _mac,
    requested_by_tags,
    requested_by_valid,
    secret_key,
)

__all__ = [
    "KEY_FILE", "REQUESTED_BY_SIGNATURE", "csrf_token", "csrf_valid", "new_secret", "requested_by_tags",
    "requested_by_valid", "secret_key", "sign_download", "verify_download",
]


def sign_download(run_id: str, format_name: str, sprint_id: int | None, user: str, expires: int) -> str:
    """The signature of a download link for `user` until `expires` (unix seconds)."""
    return _mac("download", run_id, format_name, "" if sprint_id is None else str(sprint_id), user, str(expires))


def verify_download(run_id: str, format_name: str, sprint_id: int | None, user: str, expires: int, signature: str) -> bool:
    return hmac.compare_digest(signature, sign_download(run_id, format_name, sprint_id, user, expires))


def new_secret() -> str:
    """A fresh random value for a session id, sign-in link, or CSRF cookie."""
    return secrets.token_urlsafe(32)


def csrf_token(csrf_cookie: str) -> str:
    """The form field that goes with the visitor's CSRF cookie (a signed double submit)."""
    return _mac("csrf", csrf_cookie)


def csrf_valid(csrf_cookie: str | None, field: str | None) -> bool:
    return bool(csrf_cookie and field) and hmac.compare_digest(field, csrf_token(csrf_cookie))
