"""What the clean-up may delete: only export folders inside the exports directory, never through a link."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path


def safe_to_remove(folder: Path, root: Path) -> str | None:
    """None if `folder` may be deleted, else why not."""
    if folder.is_symlink() or folder.parent.is_symlink():
        return f"{folder} is a symlink; not followed"
    if not folder.resolve().is_relative_to(root.resolve()) or folder.resolve() == root.resolve():
        return f"{folder} lies outside the exports directory {root}"
    return None


def remove_empty_parent(folder: Path, root: Path) -> None:
    """Remove the sprint folder that held `folder` once it is empty (never the exports directory itself)."""
    parent = folder.parent
    if parent.resolve() != root.resolve() and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()


# `<exports dir>/<sprint id>/<UTC timestamp>-<run id prefix>/`, as `store.export_folder` names them;
# the clean-up touches nothing else it finds in the exports directory.
EXPORT_FOLDER = re.compile(r"^(\d{8}T\d{6}Z)-[0-9A-Za-z]{1,8}$")
PARTIAL_FILE = re.compile(r"^\..+\.partial$")
PARTIAL_MAX_AGE = dt.timedelta(days=1)


def export_folders(root: Path) -> Iterator[tuple[Path, dt.datetime]]:
    """Every export folder on disk with the time its name records; never through a symlink."""
    for sprint in _real_directories(root):
        if sprint.name.isdecimal():
            for folder in _real_directories(sprint):
                named = EXPORT_FOLDER.match(folder.name)
                if named:
                    created = dt.datetime.strptime(named.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
                    yield folder, created


def unrecorded_folders(root: Path, recorded: set[Path], created_before: dt.datetime) -> list[Path]:
    """Export folders no record points at (their run was deleted, say), created before `created_before`."""
    known = {folder.resolve() for folder in recorded}
    return sorted(folder for folder, created in export_folders(root) if created < created_before and folder.resolve() not in known)


def stray_partials(root: Path, now: dt.datetime) -> list[Path]:
    """Temporary files of writes that never finished (`.<name>.partial`), untouched for over a day."""
    found = []
    for folder, _ in export_folders(root):
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
