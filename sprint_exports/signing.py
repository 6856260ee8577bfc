"""Signatures under SPRINT_EXPORTS_SECRET_KEY: identity that is proven, not declared.

A run tagged `sprint_exports/requested_by` exports for that person only if it
also carries `sprint_exports/requested_by_signature`:

    v1:<issued unix time>:<HMAC-SHA256, 64 hex digits>

The HMAC covers the purpose (`sprint_exports/requested_by`), the issue time,
the email (stripped, lower-case) and the run's sprint selection (its sprint
ids, ascending, comma-separated), each length-prefixed so no two inputs
share a message. It is valid only if the run was launched within
`REQUESTED_BY_VALID_SECONDS` after it was issued, so a signature cannot be
moved to another person or other sprints, nor kept and reused later.

Only processes holding the key sign: the `sprint-exports export --as` command
and, later, the portal for its signed-in users. The same `mac` signs other
things (download links) under their own purpose. Plain standard library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable

from sprint_exports import names
from sprint_exports.access import normalise_email

VERSION = "v1"
REQUESTED_BY_PURPOSE = names.REQUESTED_BY
REQUESTED_BY_VALID_SECONDS = 15 * 60  # from signing to launch; queueing and run time do not count
CLOCK_SKEW_SECONDS = 60  # a signer's clock may run this far ahead of the instance's
SIGNATURE_FORMAT = re.compile(r"v1:(\d{1,11}):([0-9a-f]{64})")
SHOWN_FORMAT = "v1:<issued unix time>:<64 hex digits>"


class SignatureError(ValueError):
    """A signature that proves nothing; the message says why."""


def mac(key: bytes, purpose: str, *parts: str) -> str:
    """HMAC-SHA256 (hex) of `purpose` and `parts`, each length-prefixed."""
    message = b"".join(f"{len(part.encode())}:".encode() + part.encode() for part in (purpose, *parts))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def selection_text(sprint_keys: Iterable[str]) -> str:
    """A run's sprint selection in one canonical form: `1,2,10`."""
    return ",".join(sorted(set(sprint_keys), key=lambda key: (len(key), key)))


def sign_requested_by(key: bytes, email: str, sprint_keys: Iterable[str], issued_at: int) -> str:
    """The signature tag value for a run exporting `sprint_keys` for `email`."""
    digest = mac(key, REQUESTED_BY_PURPOSE, str(issued_at), normalise_email(email), selection_text(sprint_keys))
    return f"{VERSION}:{issued_at}:{digest}"


def requested_by_tags(key: bytes, email: str, sprint_keys: Iterable[str], issued_at: int) -> dict[str, str]:
    """The two tags of a run launched for `email` over `sprint_keys`: who, and the proof."""
    return {names.REQUESTED_BY: email, names.REQUESTED_BY_SIGNATURE: sign_requested_by(key, email, sprint_keys, issued_at)}


def verify_requested_by(
    key: bytes, email: str, sprint_keys: Iterable[str], signature: str | None, launched_at: float
) -> None:
    """Raise SignatureError saying why, unless `signature` is a valid one for this person, these sprints and a
    run launched at `launched_at` (unix time)."""
    if not signature:
        raise SignatureError(
            "the run has no sprint_exports/requested_by_signature tag, so nothing proves who it is for. "
            "`sprint-exports export --as EMAIL` signs its runs; launch without sprint_exports/requested_by "
            "to run as an operator"
        )
    matched = SIGNATURE_FORMAT.fullmatch(signature.strip())
    if matched is None:
        shown = signature if len(signature) <= 80 else signature[:80] + "…"
        raise SignatureError(f"sprint_exports/requested_by_signature {shown!r} is not of the form {SHOWN_FORMAT}")
    issued_at, digest = int(matched.group(1)), matched.group(2)
    selection = selection_text(sprint_keys)
    expected = mac(key, REQUESTED_BY_PURPOSE, str(issued_at), normalise_email(email), selection)
    if not hmac.compare_digest(digest, expected):
        raise SignatureError(
            f"sprint_exports/requested_by_signature does not match {email} and this run's sprints "
            f"({selection or 'none'}): it is forged, or was made for another person or other sprints"
        )
    age = launched_at - issued_at
    if age < -CLOCK_SKEW_SECONDS:
        raise SignatureError(f"the signature was issued at {_when(issued_at)}, after the run was launched ({_when(launched_at)})")
    if age > REQUESTED_BY_VALID_SECONDS:
        raise SignatureError(
            f"the signature expired: issued at {_when(issued_at)}, {int(age)} s before the run was launched "
            f"({_when(launched_at)}); a signature is valid for {REQUESTED_BY_VALID_SECONDS} s. Launch again with a new one"
        )


def _when(unix_time: float) -> str:
    return dt.datetime.fromtimestamp(unix_time, dt.UTC).isoformat(timespec="seconds")
