"""An export's recorded facts, read back without trusting them.

A materialization of an export asset is an event that more people can write
than our asset: the UI's "Report materialization", GraphQL, anyone who can
edit the event log. So every field is checked when it is read back, and the
recorded path must name a file of that sprint inside the exports directory
(`<exports dir>/<sprint id>/<export folder>/<file>`, symlinks resolved; on S3,
a key below the prefix) before anything opens it. A record that fails is not an export of ours:
`BadRecord` says why, and the caller skips it with a warning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from sprint_exports.exports.storage import BadRecord, StoredPath, storage_at
from sprint_exports.exports.store import ExportFile

__all__ = ["BadRecord", "copy_verified", "export_file_from_metadata", "verify_file"]

SHA256 = re.compile(r"^[0-9a-f]{64}$")
COPY_BLOCK = 1 << 20


def export_file_from_metadata(
    values: Mapping[str, object],
    *,
    format_name: str,
    partition: str | None,
    created_at: dt.datetime,
    root: StoredPath,
) -> ExportFile:
    """The file a materialization's metadata describes, every field checked; or BadRecord."""
    if "path" not in values:
        raise BadRecord("no `path` in its metadata: not a materialization this code location wrote")
    sprint_id = _sprint_id(partition)
    return ExportFile(
        sprint_id=sprint_id,
        sprint_name=_text(values, "sprint", required=False),
        format=format_name,
        path=storage_at(root).recorded_path(values["path"], sprint_id),
        size_bytes=_count(values, "size_bytes"),
        row_count=_count(values, "row_count"),
        sha256=_sha256(values),
        template=_text(values, "template"),
        created_at=created_at,
        expires_at=_instant(values, "expires_at"),
    )


def verify_file(path: StoredPath, size_bytes: int, sha256: str) -> None:
    """Raise BadRecord unless the file at `path` (local or S3) has the recorded size and sha256."""
    with storage_at(path).open_recorded(path, size_bytes) as source:
        digest = hashlib.file_digest(source, "sha256").hexdigest()
    if digest != sha256:
        raise BadRecord(f"the file {path} does not match its recorded sha256 {sha256}: it was changed after export")


def copy_verified(path: StoredPath, size_bytes: int, sha256: str, target: Path) -> None:
    """Copy the file at `path` (local or S3) to the local `target` only if the bytes copied have the
    recorded size and sha256.

    The bytes are hashed as they are streamed from one open handle, so what lands at `target` is what
    was checked; it lands under a temporary name first, and nothing is left behind on refusal.
    """
    source = storage_at(path).open_recorded(path, size_bytes)
    temporary = target.with_name(f".{target.name}.partial")
    digest = hashlib.sha256()
    try:
        with source, temporary.open("wb") as copy:
            while block := source.read(COPY_BLOCK):
                digest.update(block)
                copy.write(block)
        if digest.hexdigest() != sha256:
            raise BadRecord(f"the file {path} does not match its recorded sha256 {sha256}: it was changed after export")
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def _sprint_id(partition: str | None) -> int:
    if not isinstance(partition, str) or not partition.isdecimal() or len(partition) > 18:
        raise BadRecord(f"partition {partition!r} is not a sprint id")
    return int(partition)


def _text(values: Mapping[str, object], key: str, required: bool = True) -> str:
    value = values.get(key, None if required else "")
    if not isinstance(value, str):
        raise BadRecord(f"{key} {value!r} is not text")
    return value


def _count(values: Mapping[str, object], key: str) -> int:
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRecord(f"{key} {value!r} is not a whole number of 0 or more")
    return value


def _sha256(values: Mapping[str, object]) -> str:
    value = values.get("sha256")
    if not isinstance(value, str) or not SHA256.match(value):
        raise BadRecord(f"sha256 {value!r} is not 64 lower-case hex digits")
    return value


def _instant(values: Mapping[str, object], key: str) -> dt.datetime:
    value = values.get(key)
    try:
        instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        instant = None
    if instant is None:
        raise BadRecord(f"{key} {value!r} is not an ISO 8601 date and time")
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)
