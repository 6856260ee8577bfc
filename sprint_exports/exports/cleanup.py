"""What the clean-up may delete: only export folders inside the exports directory, never through a link.

The names are the store's (`<exports dir>/<sprint id>/<UTC timestamp>-<run id prefix>/`);
the clean-up touches nothing else it finds there. The local listings live here;
the export storage (`storage.py`) lists S3 keys by the same names.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

# `<exports dir>/<sprint id>/<UTC timestamp>-<run id prefix>/`, as `store.export_folder` names them.
EXPORT_FOLDER = re.compile(r"^(\d{8}T\d{6}Z)-[0-9A-Za-z]{1,8}$")
PARTIAL_FILE = re.compile(r"^\..+\.partial$")
PARTIAL_MAX_AGE = dt.timedelta(days=1)


def folder_created(name: str) -> dt.datetime | None:
    """The time an export folder's name records, or None if `name` is not an export folder's."""
    named = EXPORT_FOLDER.match(name)
    if named is None:
        return None
    return dt.datetime.strptime(named.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def local_export_folders(root: Path) -> Iterator[tuple[Path, dt.datetime]]:
    """Every export folder on disk with the time its name records; never through a symlink."""
    for sprint in _real_directories(root):
        if sprint.name.isdecimal():
            for folder in _real_directories(sprint):
                created = folder_created(folder.name)
                if created is not None:
                    yield folder, created


def unrecorded_folders(folders: Iterable[tuple[object, dt.datetime]], recorded: set, created_before: dt.datetime) -> list:
    """Export folders no record points at (their run was deleted, say), created before `created_before`."""
    return sorted(folder for folder, created in folders if created < created_before and folder not in recorded)


def local_stray_partials(root: Path, now: dt.datetime) -> list[Path]:
    """Temporary files of writes that never finished (`.<name>.partial`), untouched for over a day."""
    found = []
    for folder, _ in local_export_folders(root):
        with os.scandir(folder) as entries:
            for entry in entries:
                if PARTIAL_FILE.match(entry.name) and not entry.is_dir(follow_symlinks=False):
                    modified = dt.datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, dt.UTC)
                    if now - modified > PARTIAL_MAX_AGE:
                        found.append(Path(entry.path))
    return sorted(found)


def _real_directories(folder: Path) -> list[Path]:
    """The sub-folders of `folder` that are folders themselves, not symlinks to one."""
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(entry.path) for entry in entries if entry.is_dir(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        return []
