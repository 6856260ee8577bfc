"""`ObjectPath`: where an export lives in an S3 bucket, with the few path manners callers use.

An export's `path` is a `pathlib.Path` on local disk and an `ObjectPath` on S3;
both print as what is recorded (`/srv/exports/3/…/sprint-3.csv`,
`s3://bucket/prefix/3/…/sprint-3.csv`) and both have `.name`, `.stem`,
`.suffix`, `.parent` and `/`. It is a value only: reading and writing go
through the export storage (`sprint_exports.exports.storage`), never through
the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEME = "s3://"
# S3's rules for bucket names: 3-63 lower-case letters, digits, dots and hyphens, a letter or digit at each end.
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# A key segment: no control characters, and nothing a reader could take for "here" or "up".
BAD_SEGMENT = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True, order=True)
class ObjectPath:
    """An object (or a key prefix) in an S3 bucket: `bucket` and a key of clean `/`-separated segments."""

    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, url: str) -> ObjectPath:
        """`s3://bucket/a/b` as an ObjectPath; ValueError saying what is wrong otherwise."""
        if not url.startswith(SCHEME):
            raise ValueError(f"{url!r} does not start with {SCHEME}")
        bucket, _, key = url[len(SCHEME) :].partition("/")
        if not BUCKET.match(bucket) or ".." in bucket:
            raise ValueError(f"{bucket!r} is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)")
        if any(mark in key for mark in "?#"):
            raise ValueError(f"{url!r} has a query or fragment; give only s3://bucket/prefix")
        segments = [segment for segment in key.split("/") if segment]
        if any(segment in (".", "..") or BAD_SEGMENT.search(segment) for segment in segments):
            raise ValueError(f"{url!r} has a '.', '..', backslash or control character in its key")
        return cls(bucket, "/".join(segments))

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}" if self.key else f"{SCHEME}{self.bucket}"

    @property
    def fs_path(self) -> str:
        """`bucket/key`, as fsspec's S3 filesystem names objects."""
        return f"{self.bucket}/{self.key}" if self.key else self.bucket

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.key.split("/")) if self.key else ()

    @property
    def name(self) -> str:
        return self.parts[-1] if self.key else ""

    @property
    def suffix(self) -> str:
        name = self.name
        return name[name.rfind(".") :] if "." in name.lstrip(".") else ""

    @property
    def stem(self) -> str:
        return self.name[: len(self.name) - len(self.suffix)] if self.suffix else self.name

    @property
    def parent(self) -> ObjectPath:
        return ObjectPath(self.bucket, "/".join(self.parts[:-1]))

    def __truediv__(self, segment: str) -> ObjectPath:
        return ObjectPath.parse(f"{self}/{segment}")

    def is_relative_to(self, root: ObjectPath) -> bool:
        """Inside `root` (or `root` itself), segment by segment: `prefix-old/x` is not inside `prefix`."""
        return self.bucket == root.bucket and self.parts[: len(root.parts)] == root.parts

    def relative_parts(self, root: ObjectPath) -> tuple[str, ...]:
        """The segments below `root`; ValueError if this object is not inside it."""
        if not self.is_relative_to(root):
            raise ValueError(f"{self} is not inside {root}")
        return self.parts[len(root.parts) :]
