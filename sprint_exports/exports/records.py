"""An export's recorded facts, read back without trusting them.

A materialization of an export asset is an event that more people can write
than our asset: the UI's "Report materialization", GraphQL, anyone who can
edit the event log. So every field is checked when it is read back, and the
recorded path must name a file of that sprint inside the exports directory
(`<exports dir>/<sprint id>/<export folder>/<file>`, symlinks resolved)
before anything opens it. A record that fails is not an export of ours:
`BadRecord` says why, and the caller skips it with a warning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from sprint_exports.exports.store import ExportFile

SHA256 = re.compile(r"^[0-9a-f]{64}$")
COPY_BLOCK = 1 << 20


class BadRecord(ValueError):
    """A recorded export that cannot be trusted; the message names the field and its value."""


def export_file_from_metadata(
    values: Mapping[str, object],
    *,
    format_name: str,
    partition: str | None,
    created_at: dt.datetime,
    root: Path,
) -> ExportFile:
    """The file a materialization's metadata describes, every field checked; or BadRecord."""
    if "path" not in values:
        raise BadRecord("no `path` in its metadata: not a materialization this code location wrote")
    sprint_id = _sprint_id(partition)
    return ExportFile(
        sprint_id=sprint_id,
        sprint_name=_text(values, "sprint", required=False),
        format=format_name,
        path=recorded_path(values["path"], sprint_id, root),
        size_bytes=_count(values, "size_bytes"),
        row_count=_count(values, "row_count"),
        sha256=_sha256(values),
        template=_text(values, "template"),
        created_at=created_at,
        expires_at=_instant(values, "expires_at"),
    )


def recorded_path(value: object, sprint_id: int, root: Path) -> Path:
    """`value` as the path of an export file of `sprint_id` inside `root`, symlinks resolved; or BadRecord."""
    if not isinstance(value, str) or not value or "\x00" in value or not os.path.isabs(value):
        raise BadRecord(f"path {value!r} is not an absolute path")
    base = root.resolve()
    resolved = Path(value).resolve()
    if not resolved.is_relative_to(base):
        raise BadRecord(f"path {value!r} lies outside the exports directory {base}")
    parts = resolved.relative_to(base).parts
    if len(parts) != 3 or parts[0] != str(sprint_id):
        raise BadRecord(f"path {value!r} is not an export file of sprint {sprint_id} (<exports dir>/{sprint_id}/<folder>/<file>)")
    return resolved


def open_recorded_file(path: Path, size_bytes: int) -> int:
    """A read-only descriptor of the regular file at `path` (never through a final symlink) of exactly
    `size_bytes` bytes; BadRecord when it is something else or has another size."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise BadRecord(f"the file {path} cannot be opened: {error.strerror}") from None
    facts = os.fstat(descriptor)
    problem = None
    if not stat.S_ISREG(facts.st_mode):
        problem = f"{path} is not a regular file"
    elif facts.st_size != size_bytes:
        problem = f"the file {path} is {facts.st_size} bytes, but {size_bytes} were recorded: it was changed after export"
    if problem:
        os.close(descriptor)
        raise BadRecord(problem)
    return descriptor


def verify_file(path: Path, size_bytes: int, sha256: str) -> None:
    """Raise BadRecord unless the file at `path` has the recorded size and sha256."""
    descriptor = open_recorded_file(path, size_bytes)
    with os.fdopen(descriptor, "rb") as source:
        digest = hashlib.file_digest(source, "sha256").hexdigest()
    if digest != sha256:
        raise BadRecord(f"the file {path} does not match its recorded sha256 {sha256}: it was changed after export")


def copy_verified(path: Path, size_bytes: int, sha256: str, target: Path) -> None:
    """Copy the file at `path` to `target` only if the bytes copied have the recorded size and sha256.

    The bytes are hashed as they are copied from one descriptor, so what lands at `target` is what
    was checked; it lands under a temporary name first, and nothing is left behind on refusal.
    """
    descriptor = open_recorded_file(path, size_bytes)
    temporary = target.with_name(f".{target.name}.partial")
    digest = hashlib.sha256()
    try:
        with os.fdopen(descriptor, "rb") as source, temporary.open("wb") as copy:
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
