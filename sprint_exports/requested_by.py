"""The signed `requested_by` tags of runs launched for a person, and the key they are signed with.

Shared ground of the portal (launches) and the Dagster shell (the subscription
sensor), which may not import each other's door. `sprint_exports.portal.keys`
re-exports it: the portal signs only through that module.

The signature tag is `v1:<issued unix seconds>:<hex HMAC-SHA256>` over
"email\nkey1,key2,...\nissued" under `secret_key()`: SPRINT_EXPORTS_SECRET_KEY,
or for the demo a key generated once into the instance folder with mode 600.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from sprint_exports import names, settings

REQUESTED_BY_SIGNATURE = "sprint_exports/requested_by_signature"
KEY_FILE = "portal_secret_key"


def secret_key() -> bytes:
    """SPRINT_EXPORTS_SECRET_KEY, else the instance folder's generated key (made mode 600 on first use)."""
    configured = os.environ.get("SPRINT_EXPORTS_SECRET_KEY")
    if configured:
        return configured.encode("utf-8")
    path = settings.instance_home() / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return _read_key(path)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key; delete it to have a new one generated")
    return key.encode("utf-8")


def mac(*parts: str) -> str:
    return hmac.new(secret_key(), "\n".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def requested_by_tags(email: str, partition_keys: Sequence[str], issued: int | None = None) -> dict[str, str]:
    """The tags a launch for `email` over `partition_keys` carries: the email and its signature."""
    issued = int(time.time()) if issued is None else issued
    signature = mac(email, ",".join(partition_keys), str(issued))
    return {names.REQUESTED_BY: email, REQUESTED_BY_SIGNATURE: f"v1:{issued}:{signature}"}


def requested_by_valid(email: str, partition_keys: Sequence[str], signature_tag: str, max_age_seconds: int) -> bool:
    """Whether `signature_tag` signs `email` for exactly these keys, issued within `max_age_seconds`."""
    version, _, rest = signature_tag.partition(":")
    issued, _, given = rest.partition(":")
    if version != "v1" or not issued.isdecimal() or abs(time.time() - int(issued)) > max_age_seconds:
        return False
    return hmac.compare_digest(given, mac(email, ",".join(partition_keys), issued))
