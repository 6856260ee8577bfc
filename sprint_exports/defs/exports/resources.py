"""The export store resource: where export files go, how long they are kept, how many processes render."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from sprint_exports import settings


class ExportStore(ConfigurableResource):
    """Where export files go and how long they are kept."""

    directory: str | None = None
    retention_days: int | None = None
    render_processes: int | None = None

    def root(self) -> Path:
        return Path(self.directory).resolve() if self.directory else settings.exports_dir()

    def retention(self) -> int:
        return self.retention_days or settings.retention_days()

    def processes(self) -> int:
        return self.render_processes or settings.render_processes()
