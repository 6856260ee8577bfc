"""The export storage: the one way export files (and the sprint pickles) are written, read, listed and removed.

SPRINT_EXPORTS_DIR names a local folder (the default) or an `s3://bucket/prefix`;
`export_storage()` gives the matching `ExportStorage`, and every caller (the
export assets, history and downloads, the portal, delivery, the clean-up, the
IO manager) goes through it, so no caller knows which one it has.

- **Local** (`LocalStorage`): a renderer writes a hidden `.partial` file beside
  the final one, which is renamed into place when complete (atomic within a
  filesystem); reads open the file without following a final symlink.
- **S3** (`S3Storage`, fsspec's s3fs): a renderer writes a scratch file in the
  system's temporary folder, which is hashed and uploaded under its final key
  with one PUT, or a multipart upload for large files (`put_file` aborts the
  upload on failure). Either way the object exists only once complete: no
  temporary key is ever visible. The scratch file is deleted when the upload
  ends. Reads pin the object's ETag (s3fs sends If-Match on every ranged GET),
  so what is hashed is what is sent. S3-compatible stores (MinIO, Ceph, R2)
  work through AWS_ENDPOINT_URL and the other AWS_* variables.

Both refuse recorded paths outside their root: an S3 key must lie below the
prefix segment by segment (`prefix-old/…` is not inside `prefix`), and the
clean-up lists and deletes only `<root>/<sprint id>/<export folder>/` keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import stat
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from sprint_exports import settings
from sprint_exports.exports.cleanup import folder_created, local_export_folders, local_stray_partials
from sprint_exports.exports.object_path import ObjectPath

StoredPath = Path | ObjectPath
READ_BLOCK = 1 << 20
# Below twice this size an upload is one PUT; above, a multipart upload of parts this size (s3fs's default).
MULTIPART_CHUNK = 50 * 2**20


class BadRecord(ValueError):
    """A recorded export that cannot be trusted; the message names the field and its value."""


@dataclass(frozen=True)
class Written:
    """What a finished write produced: the renderer's row count, and the file's size and sha256."""

    row_count: int
    size_bytes: int
    sha256: str


def sha256_of(path: Path) -> str:
    """The sha256 of a local file, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class ExportStorage(ABC):
    """Where export files live. `root` is SPRINT_EXPORTS_DIR as a `Path` or an `ObjectPath`."""

    root: StoredPath

    def check(self) -> None:
        """SettingError now, before a run reads anything, if the store cannot be used at all."""

    @abstractmethod
    def write(self, target: StoredPath, render: Callable[[Path], int]) -> Written:
        """`render(local_path) -> rows` writes the file; it appears at `target` only when complete."""

    @abstractmethod
    def write_bytes(self, target: StoredPath, data: bytes) -> None:
        """Store `data` at `target`, which appears only when complete."""

    @abstractmethod
    def read_bytes(self, target: StoredPath) -> bytes:
        """The bytes at `target`; FileNotFoundError when there are none."""

    @abstractmethod
    def exists(self, target: StoredPath) -> bool: ...

    @abstractmethod
    def path_from_record(self, value: str) -> StoredPath:
        """A recorded path as this storage's kind of path, normalised; BadRecord if it is not one."""

    @abstractmethod
    def open_recorded(self, path: StoredPath, size_bytes: int) -> BinaryIO:
        """The regular file at `path` opened for reading, if it has exactly `size_bytes` bytes; else BadRecord."""

    @abstractmethod
    def is_file(self, path: StoredPath) -> bool: ...

    @abstractmethod
    def export_folders(self) -> Iterator[tuple[StoredPath, dt.datetime]]:
        """Every `<root>/<sprint id>/<export folder>` with the time its name records."""

    @abstractmethod
    def safe_to_remove(self, folder: StoredPath) -> str | None:
        """None if the clean-up may delete `folder`, else why not."""

    @abstractmethod
    def remove_folder(self, folder: StoredPath) -> None:
        """Delete an export folder and what is in it (and its sprint folder once empty, where there is one)."""

    @abstractmethod
    def stray_partials(self, now: dt.datetime) -> list[StoredPath]:
        """Leftovers of writes that never finished, older than a day."""

    @abstractmethod
    def remove_file(self, path: StoredPath) -> None: ...

    def discard_unfinished(self, folder: StoredPath, extension: str) -> None:
        """Remove what writers of `.extension` files that were killed mid-write left in `folder`.

        Called for a run's own export folders once its render workers are stopped; the extension
        keeps it off the other formats, whose steps may still be writing there.
        """

    def recorded_path(self, value: object, sprint_id: int) -> StoredPath:
        """`value` as the path of an export file of `sprint_id` inside the root; or BadRecord.

        The shape is `<root>/<sprint id>/<export folder>/<file>`, nothing else.
        """
        if not isinstance(value, str) or not value or "\x00" in value:
            raise BadRecord(f"path {value!r} is not a path")
        path = self.path_from_record(value)
        if not path.is_relative_to(self.root):
            raise BadRecord(f"path {value!r} lies outside the exports directory {self.root}")
        parts = relative_parts(path, self.root)
        if len(parts) != 3 or parts[0] != str(sprint_id):
            raise BadRecord(f"path {value!r} is not an export file of sprint {sprint_id} (<exports dir>/{sprint_id}/<folder>/<file>)")
        return path

    def io_path(self, *segments: str) -> StoredPath:
        """Where the IO manager keeps a pickle: `storage/sprint_exports/…` under the root (on S3, the prefix)."""
        return join(self.root, "storage", "sprint_exports", *segments)


def relative_parts(path: StoredPath, root: StoredPath) -> tuple[str, ...]:
    if isinstance(path, ObjectPath) and isinstance(root, ObjectPath):
        return path.relative_parts(root)
    return Path(path).relative_to(Path(root)).parts


def join(base: StoredPath, *segments: str) -> StoredPath:
    for segment in segments:
        base = base / segment
    return base


class LocalStorage(ExportStorage):
    """Export files in a local folder (or a shared filesystem every host mounts at the same path)."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def io_path(self, *segments: str) -> Path:
        """On local disk the pickles stay in the instance's storage folder, where they always were."""
        return join(settings.instance_home(), "storage", "sprint_exports", *segments)

    def write(self, target: Path, render: Callable[[Path], int]) -> Written:
        folder = target.parent
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{target.name}.{os.getpid()}.partial"
        try:
            rows = render(temporary)
            written = Written(rows, temporary.stat().st_size, sha256_of(temporary))
            temporary.replace(target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            _remove_if_empty(folder)
            raise
        return written

    def write_bytes(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
        temporary.write_bytes(data)
        temporary.replace(target)

    def read_bytes(self, target: Path) -> bytes:
        return target.read_bytes()

    def exists(self, target: Path) -> bool:
        return target.exists()

    def path_from_record(self, value: str) -> Path:
        if not os.path.isabs(value):
            raise BadRecord(f"path {value!r} is not an absolute path")
        return Path(value).resolve()  # symlinks resolved before the inside-the-root check

    def open_recorded(self, path: Path, size_bytes: int) -> BinaryIO:
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
        return os.fdopen(descriptor, "rb")

    def is_file(self, path: Path) -> bool:
        return Path(path).is_file()

    def export_folders(self) -> Iterator[tuple[Path, dt.datetime]]:
        return local_export_folders(self.root)

    def safe_to_remove(self, folder: Path) -> str | None:
        if folder.is_symlink() or folder.parent.is_symlink():
            return f"{folder} is a symlink; not followed"
        if not folder.resolve().is_relative_to(self.root) or folder.resolve() == self.root:
            return f"{folder} lies outside the exports directory {self.root}"
        return None

    def remove_folder(self, folder: Path) -> None:
        if folder.exists():
            shutil.rmtree(folder)  # unlinks symlinks inside, never follows them
        parent = folder.parent
        if parent.resolve() != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()

    def stray_partials(self, now: dt.datetime) -> list[Path]:
        return local_stray_partials(self.root, now)

    def discard_unfinished(self, folder: Path, extension: str) -> None:
        if not folder.is_dir():
            return
        for leftover in folder.glob(f".*.{extension}.*.partial"):
            leftover.unlink(missing_ok=True)
        _remove_if_empty(folder)

    def remove_file(self, path: Path) -> None:
        path.unlink(missing_ok=True)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
        folder.parent.rmdir()
    except OSError:
        pass  # not empty: other formats of this export are already there


class S3Storage(ExportStorage):
    """Export files as objects under an S3 prefix, through s3fs; `multipart_chunk` is the part size of large uploads."""

    def __init__(self, root: ObjectPath, multipart_chunk: int = MULTIPART_CHUNK):
        self.root = root
        self.multipart_chunk = multipart_chunk

    def __getstate__(self) -> dict:  # render worker processes get the settings, never a live client
        return {"root": self.root, "multipart_chunk": self.multipart_chunk}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @cached_property
    def fs(self):
        import s3fs  # only a deployment on S3 pays for importing botocore

        endpoint = settings.s3_endpoint_url()
        # No listings cache: the clean-up and history must see what other hosts wrote a moment ago.
        return s3fs.S3FileSystem(endpoint_url=endpoint, use_listings_cache=False)

    def check(self) -> None:
        """The bucket exists and these credentials may use it; else a SettingError naming SPRINT_EXPORTS_DIR."""
        where = f"{settings.EXPORTS_DIR_ENV}={str(self.root)!r}"
        endpoint = f" at {settings.s3_endpoint_url()}" if settings.s3_endpoint_url() else ""
        try:
            self.fs.call_s3("head_bucket", Bucket=self.root.bucket)
        except FileNotFoundError:
            raise settings.SettingError(f"{where} cannot be used: there is no bucket {self.root.bucket!r}{endpoint}") from None
        except PermissionError:
            raise settings.SettingError(f"{where} cannot be used: access to bucket {self.root.bucket!r}{endpoint} is denied "
                                        "for these credentials (AWS_ACCESS_KEY_ID, or the instance role)") from None
        except Exception as error:  # botocore's: no credentials, endpoint unreachable... (never carry a secret)
            raise settings.SettingError(f"{where} cannot be used: {type(error).__name__}: {error}") from None

    def write(self, target: ObjectPath, render: Callable[[Path], int]) -> Written:
        with tempfile.TemporaryDirectory(prefix="sprint-export-") as scratch:
            local = Path(scratch) / target.name
            rows = render(local)
            written = Written(rows, local.stat().st_size, sha256_of(local))
            self.fs.put_file(str(local), target.fs_path, chunksize=self.multipart_chunk)
        return written

    def write_bytes(self, target: ObjectPath, data: bytes) -> None:
        self.fs.pipe_file(target.fs_path, data, chunksize=self.multipart_chunk)

    def read_bytes(self, target: ObjectPath) -> bytes:
        return self.fs.cat_file(target.fs_path)

    def exists(self, target: ObjectPath) -> bool:
        return self.fs.exists(target.fs_path)

    def path_from_record(self, value: str) -> ObjectPath:
        try:
            return ObjectPath.parse(value)
        except ValueError as problem:
            raise BadRecord(f"path {value!r} is not an s3:// URL of an export: {problem}") from None

    def open_recorded(self, path: ObjectPath, size_bytes: int) -> BinaryIO:
        try:
            facts = self.fs.info(path.fs_path)
        except FileNotFoundError:
            raise BadRecord(f"the file {path} cannot be opened: no such object") from None
        if facts.get("type") != "file":
            raise BadRecord(f"{path} is not an object")
        if facts.get("size") != size_bytes:
            raise BadRecord(f"the file {path} is {facts.get('size')} bytes, but {size_bytes} were recorded: it was changed after export")
        # Opened with its ETag: every later read of this handle is of these bytes, or fails.
        return self.fs.open(path.fs_path, "rb", block_size=READ_BLOCK, cache_type="readahead")

    def is_file(self, path: ObjectPath) -> bool:
        return self.fs.isfile(path.fs_path)

    def _keys(self) -> Iterator[ObjectPath]:
        """Every object below the root, only those whose key lies inside the prefix segment by segment."""
        below = f"{self.root.fs_path}/" if self.root.key else f"{self.root.bucket}/"
        for name in self.fs.find(below):
            try:
                path = ObjectPath.parse(f"s3://{name}")
            except ValueError:
                continue  # a key our paths cannot name is not ours
            if path.is_relative_to(self.root) and path != self.root:
                yield path

    def export_folders(self) -> Iterator[tuple[ObjectPath, dt.datetime]]:
        found: dict[ObjectPath, dt.datetime] = {}
        for path in self._keys():
            parts = path.relative_parts(self.root)
            if len(parts) == 3 and parts[0].isdecimal() and (created := folder_created(parts[1])):
                found[path.parent] = created
        return iter(sorted(found.items()))

    def safe_to_remove(self, folder: ObjectPath) -> str | None:
        if not folder.is_relative_to(self.root) or folder == self.root:
            return f"{folder} lies outside the exports directory {self.root}"
        parts = folder.relative_parts(self.root)
        if len(parts) != 2 or not parts[0].isdecimal() or folder_created(parts[1]) is None:
            return f"{folder} is not an export folder (<exports dir>/<sprint id>/<folder>)"
        return None

    def remove_folder(self, folder: ObjectPath) -> None:
        if reason := self.safe_to_remove(folder):
            raise ValueError(reason)
        keys = [name for name in self.fs.find(f"{folder.fs_path}/") if ObjectPath.parse(f"s3://{name}").parent == folder]
        if keys:
            self.fs.rm(keys)

    def stray_partials(self, now: dt.datetime) -> list[ObjectPath]:
        return []  # nothing is written under a temporary key; a killed upload leaves no object

    def remove_file(self, path: ObjectPath) -> None:
        self.fs.rm_file(path.fs_path)


def storage_at(root: StoredPath) -> ExportStorage:
    """The storage rooted at `root`: S3 for an `ObjectPath`, local disk for a `Path`."""
    return S3Storage(root) if isinstance(root, ObjectPath) else LocalStorage(root)


def export_storage() -> ExportStorage:
    """The storage SPRINT_EXPORTS_DIR names (SettingError if it names none we support)."""
    return storage_at(settings.exports_dir())
