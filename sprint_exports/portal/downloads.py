"""Serving export files: only recorded files, only inside SPRINT_EXPORTS_DIR (a folder or an S3 prefix),
only after their sha256 matches.

A file is opened once, hashed through that open handle, and streamed from
the same handle, so what was checked is what is sent. Records are untrusted:
a recorded path outside the exports folder, a size or sha256 that does not
match, or an expired or deleted file is refused. Every download is logged.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fastapi.responses import StreamingResponse
from sqlalchemy import insert

from sprint_exports.exports.storage import BadRecord, export_storage
from sprint_exports.formats import MEDIA_TYPES
from sprint_exports.instance.history import HistoryEntry, HistoryFilter, export_history
from sprint_exports.portal.state import PortalState
from sprint_exports.portal_db.database import utc_now
from sprint_exports.portal_db.tables import downloads

CHUNK = 256 * 1024


class DownloadProblem(Exception):
    def __init__(self, status_code: int, detail: str):
        super().__init__(detail)
        self.status_code, self.detail = status_code, detail


def run_entries(state: PortalState, user: str, run_id: str, format_name: str | None, sprint_id: int | None) -> list[HistoryEntry]:
    """The run's files the caller asked for, after the access policy allowed every one."""
    if format_name is not None and format_name not in MEDIA_TYPES:
        raise DownloadProblem(422, f"format {format_name!r} is not allowed: use one of {', '.join(MEDIA_TYPES)}")
    teams = state.teams_by_sprint()
    entries = export_history(state.instance(), teams, filters=HistoryFilter(run_id=run_id, format=format_name, sprint_id=sprint_id), limit=100_000)
    if not entries:
        raise DownloadProblem(404, f"No {format_name or ''} file recorded for export {run_id}".replace("  ", " "))
    policy = state.policy(user)
    for entry in entries:
        decision = policy.decide(user, teams.get(entry.sprint_id, (-1, ""))[0])
        if not decision.allowed:
            raise DownloadProblem(403, f"Download refused: {decision.reason} (sprint {entry.sprint_id})")
    return entries


def open_verified(entry: HistoryEntry) -> BinaryIO:
    """The entry's file opened for reading, rewound, after every recorded fact was checked."""
    if entry.status in ("expired", "deleted"):
        raise DownloadProblem(410, f"The {entry.format} file of sprint {entry.sprint_id} is {entry.status} (expired at {entry.expires_at})")
    storage = export_storage()
    try:
        path = storage.recorded_path(entry.path, entry.sprint_id)
    except BadRecord:
        raise DownloadProblem(403, f"The recorded file of sprint {entry.sprint_id} lies outside the exports folder; refused") from None
    if not storage.is_file(path):
        raise DownloadProblem(410, f"The {entry.format} file of sprint {entry.sprint_id} is missing")
    try:
        handle = storage.open_recorded(path, entry.size_bytes)
    except BadRecord:
        raise DownloadProblem(409, f"The {entry.format} file of sprint {entry.sprint_id} does not match its recorded size and sha256") from None
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    if size != entry.size_bytes or digest.hexdigest() != entry.sha256:
        handle.close()
        raise DownloadProblem(409, f"The {entry.format} file of sprint {entry.sprint_id} does not match its recorded size and sha256")
    handle.seek(0)
    return handle


def _stream(handle: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()


def _safe_name(entry: HistoryEntry) -> str:
    """The file's own name (the store's slug), never a path from the record."""
    name = Path(entry.path).name
    return "".join(ch for ch in name if ch.isalnum() or ch in "-_.")[:200] or f"sprint-{entry.sprint_id}.{entry.format}"


def file_response(state: PortalState, user: str, entries: list[HistoryEntry], via: str) -> StreamingResponse:
    """One file when one was asked for, else a zip of them all; logged as downloaded by `user`."""
    headers = {"Referrer-Policy": "no-referrer", "Cache-Control": "private, no-store"}
    if len(entries) == 1:
        entry = entries[0]
        handle = open_verified(entry)
        _log(state, user, entry.run_id, entry.sprint_id, entry.format, _safe_name(entry), entry.sha256, via)
        headers["Content-Disposition"] = f'attachment; filename="{_safe_name(entry)}"'
        headers["Content-Length"] = str(entry.size_bytes)
        return StreamingResponse(_stream(handle), media_type=MEDIA_TYPES[entry.format], headers=headers)
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            handle = open_verified(entry)
            with handle, archive.open(f"{entry.sprint_id}/{_safe_name(entry)}", "w") as member:
                while chunk := handle.read(CHUNK):
                    member.write(chunk)
    spool.seek(0)
    run_id = entries[0].run_id
    _log(state, user, run_id, None, "zip", f"export-{run_id[:8]}.zip", None, via)
    headers["Content-Disposition"] = f'attachment; filename="export-{run_id[:8]}.zip"'
    return StreamingResponse(_stream(spool), media_type="application/zip", headers=headers)


def _log(state, user, run_id, sprint_id, format_name, file_name, sha256, via) -> None:
    with state.db.begin() as connection:
        connection.execute(insert(downloads).values(user_email=user, run_id=run_id, sprint_id=sprint_id, format=format_name,
                                                    file_name=file_name, sha256=sha256, via=via, at=utc_now()))
