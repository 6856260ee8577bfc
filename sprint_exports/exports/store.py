"""The export store: where files go, written so that no reader ever sees half a file.

Layout: `<exports dir>/<sprint id>/<UTC timestamp>-<run id prefix>/<slug>.<ext>`.
Every export gets a new folder, so history stays downloadable until it
expires. The export storage (`storage.py`) makes each write atomic: on local
disk a complete file is renamed into place, on S3 the object appears under its
final key only when its upload is complete.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from sprint_exports.exports.object_path import ObjectPath
from sprint_exports.exports.storage import StoredPath, sha256_of, storage_at  # noqa: F401 (sha256_of: re-exported)
from sprint_exports.formats import OnRows, OutputFormat
from sprint_exports.report.model import SprintReport
from sprint_exports.templates import Template


@dataclass(frozen=True)
class ExportFile:
    sprint_id: int
    sprint_name: str
    format: str
    path: StoredPath  # a local Path, or an ObjectPath that prints as its s3:// URL
    size_bytes: int
    row_count: int
    sha256: str
    template: str
    created_at: dt.datetime
    expires_at: dt.datetime

    def as_dict(self) -> dict:
        record = asdict(self)
        record.update(path=str(self.path), created_at=self.created_at.isoformat(), expires_at=self.expires_at.isoformat())
        return record


# Names Windows reserves for devices, with or without an extension (CON, CON.csv, com1.pdf ...).
WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))})
# A slug's budget: 80 characters, and bytes enough that `.<slug>.<ext>.<pid>.partial` fits 255 bytes.
SLUG_MAX_CHARS = 80
SLUG_MAX_BYTES = 200


def slugify(text: str, fallback: str) -> str:
    """A file-name-safe slug that keeps every script readable: `Спринт 7` -> `спринт-7`.

    Tracker text never decides a path on its own: only letters, digits and the
    marks that belong to them (NFC, lower case) survive, everything else
    becomes `-`. The result is never a Windows device name, never ends in a dot
    or space, and fits SLUG_MAX_BYTES of UTF-8.
    """
    characters = [ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else "-" for ch in unicodedata.normalize("NFC", text).lower()]
    slug = re.sub(r"-+", "-", "".join(characters)).strip("-")
    slug = unicodedata.normalize("NFC", slug)[:SLUG_MAX_CHARS]
    while len(slug.encode("utf-8")) > SLUG_MAX_BYTES:
        slug = slug[:-1]
    slug = slug.strip("-")
    if not slug or not (slug[0].isalnum()):
        return fallback
    return f"{slug}-sprint" if slug in WINDOWS_RESERVED else slug


def export_folder(root: StoredPath, sprint_id: int, created_at: dt.datetime, run_id: str) -> StoredPath:
    stamp = created_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_prefix = re.sub(r"[^0-9a-zA-Z]", "", run_id)[:8] or "local"
    if isinstance(root, ObjectPath):  # keys have no symlinks; the segments are digits and [0-9A-Za-z]
        return root / str(int(sprint_id)) / f"{stamp}-{run_prefix}"
    folder = (root / str(int(sprint_id)) / f"{stamp}-{run_prefix}").resolve()
    if not folder.is_relative_to(root.resolve()):
        raise ValueError(f"Export folder {folder} would fall outside the exports directory {root}")
    return folder


def write_export(
    report: SprintReport,
    template: Template,
    output_format: OutputFormat,
    folder: StoredPath,
    *,
    created_at: dt.datetime,
    retention_days: int,
    on_rows: OnRows | None = None,
) -> ExportFile:
    """Render one format of one sprint into `folder` (local or S3), atomically, and describe the file.

    `on_rows` goes to the renderer, which calls it with each slice of rows it writes.
    """
    name = f"{slugify(report.sprint.name, f'sprint-{report.sprint.id}')}.{output_format.extension}"
    final = folder / name

    def render(path: Path) -> int:
        if on_rows is None:  # a plain three-argument renderer works too when nobody asks for progress
            return output_format.render(report, template, path)
        return output_format.render(report, template, path, on_rows=on_rows)

    written = storage_at(folder).write(final, render)
    return ExportFile(
        sprint_id=report.sprint.id,
        sprint_name=report.sprint.name,
        format=output_format.name,
        path=final,
        size_bytes=written.size_bytes,
        row_count=written.row_count,
        sha256=written.sha256,
        template=template.name,
        created_at=created_at,
        expires_at=created_at + dt.timedelta(days=retention_days),
    )


def human_size(size: float) -> str:
    """1536 -> '1.5 KB': sizes as people read them in tables and emails."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
