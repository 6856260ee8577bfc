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
and the portal for its signed-in users. The same `mac` signs other things
under their own purpose: download links (`download_link`, one function for
the portal's pages and API and for delivery mail) bind a run, format, sprint,
user and expiry, never later than the file's own `expires_at`. Plain
standard library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable
from urllib.parse import quote, urlencode

from sprint_exports import names
from sprint_exports.access import normalise_email

VERSION = "v1"
REQUESTED_BY_PURPOSE = names.REQUESTED_BY
REQUESTED_BY_VALID_SECONDS = 15 * 60  # from signing to launch; queueing and run time do not count
CLOCK_SKEW_SECONDS = 60  # a signer's clock may run this far ahead of the instance's
SIGNATURE_FORMAT = re.compile(r"v1:(\d{1,11}):([0-9a-f]{64})")
SHOWN_FORMAT = "v1:<issued unix time>:<64 hex digits>"
DOWNLOAD_PURPOSE = "sprint_exports/portal/download"
LINK_DAYS = 7  # a download link lives this long at most, and never past the file's expires_at


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


def sign_download(key: bytes, run_id: str, format_name: str, sprint_id: int | None, user: str, expires: int) -> str:
    """The signature of a download link to one run's file for `user`, valid until `expires` (unix seconds)."""
    return mac(key, DOWNLOAD_PURPOSE, run_id, format_name, "" if sprint_id is None else str(sprint_id), user, str(expires))


def verify_download(key: bytes, run_id: str, format_name: str, sprint_id: int | None, user: str, expires: int,
                    signature: str) -> bool:
    return hmac.compare_digest(signature, sign_download(key, run_id, format_name, sprint_id, user, expires))


def link_expiry(file_expires_at: dt.datetime | None, now: float) -> int:
    """When a link made at `now` expires: LINK_DAYS later, or when the file does if that is sooner."""
    expires = int(now) + LINK_DAYS * 86400
    return expires if file_expires_at is None else min(expires, int(file_expires_at.timestamp()))


def download_link(key: bytes, portal_url: str, run_id: str, format_name: str, sprint_id: int | None, user: str,
                  file_expires_at: dt.datetime | None, now: float) -> str:
    """The signed link for `user` to one file of a run: `<portal>/downloads/<run>/<format>?sprint=&user=&expires=&sig=`."""
    expires = link_expiry(file_expires_at, now)
    signature = sign_download(key, run_id, format_name, sprint_id, user, expires)
    query = urlencode({**({} if sprint_id is None else {"sprint": sprint_id}), "user": user, "expires": expires, "sig": signature})
    return f"{portal_url.rstrip('/')}/downloads/{quote(run_id, safe='')}/{quote(format_name, safe='')}?{query}"


def download_page_url(portal_url: str, run_id: str, format_name: str, sprint_id: int) -> str:
    """The plain (unsigned) portal page of one file: it asks for sign-in and then decides with the access policy."""
    return f"{portal_url.rstrip('/')}/exports/{quote(run_id, safe='')}/{quote(format_name, safe='')}?sprint={sprint_id}"


def _when(unix_time: float) -> str:
    return dt.datetime.fromtimestamp(unix_time, dt.UTC).isoformat(timespec="seconds")
