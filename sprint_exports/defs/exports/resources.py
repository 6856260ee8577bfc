"""The export store resource: where export files go, how long they are kept, how many processes render.

All three are deployment settings (SPRINT_EXPORTS_DIR, SPRINT_EXPORTS_RETENTION_DAYS,
SPRINT_EXPORTS_RENDER_PROCESSES), read from the code location's environment;
the resource has no config fields, so a launch cannot write files elsewhere.
A run shortens or lengthens its own retention only through the bounded
`sprint_exports/retention_days` tag.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import ConfigurableResource, Failure, InitResourceContext

from sprint_exports import settings
from sprint_exports.exports.storage import ExportStorage, StoredPath, export_storage
from sprint_exports.defs.common.run_start import refuse_environment_reads, run_retention_days


class ExportStore(ConfigurableResource):
    """Where export files go and how long they are kept: environment settings, not run config."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        refuse_environment_reads(context.run)
        try:
            self.root()
            if context.run is not None:
                run_retention_days(context.run.tags)
            self.processes()
        except settings.SettingError as error:
            raise Failure(f"Run refused before any step: {error}") from None

    def root(self) -> StoredPath:
        """SPRINT_EXPORTS_DIR: a local folder, or an S3 prefix (`ObjectPath`)."""
        return settings.exports_dir()

    def storage(self) -> ExportStorage:
        return export_storage()

    def retention(self, run_tags: Mapping[str, str]) -> int:
        """The run's retention tag if it has one, else SPRINT_EXPORTS_RETENTION_DAYS (both bounded)."""
        return run_retention_days(run_tags)

    def processes(self) -> int:
        return settings.render_processes()
