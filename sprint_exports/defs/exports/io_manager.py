"""Stores the extract and metrics assets one file per sprint partition.

Dagster's default IO manager refuses an output that covers several
partitions, and a single-run backfill of many sprints produces exactly that.
Assets hand this manager a dict {partition key: value}; it writes each value
to its own file through the export storage (atomic: temporary name then
rename on disk, a complete PUT on S3) and loads them back as a dict. With
SPRINT_EXPORTS_DIR on S3 the pickles go under that prefix too
(`<prefix>/storage/sprint_exports/…`), so a step on one host reads what a step
on another wrote, with no shared disk; the bucket must then be writable only
by the deployment, as the instance folder is.

Neither IO manager here has config fields: where pickles go is the
instance's storage folder, and a launch cannot redirect it (Dagster's own
default `io_manager` would accept `base_dir: {env: …}` in run config).
"""

from __future__ import annotations

import pickle

from dagster import ConfigurableIOManager, ConfigurableIOManagerFactory, FilesystemIOManager, InputContext, OutputContext

from sprint_exports.exports.storage import ExportStorage, StoredPath, export_storage


class InstanceStorageIOManager(ConfigurableIOManagerFactory):
    """Dagster's filesystem IO manager in the instance's storage folder, with nothing to configure at launch."""

    def create_io_manager(self, context):
        return FilesystemIOManager().create_io_manager(context)


class SprintPartitionIOManager(ConfigurableIOManager):
    """One pickle per sprint under `$DAGSTER_HOME/storage/sprint_exports/` (or the S3 prefix); not settable in run config."""

    @staticmethod
    def _path(storage: ExportStorage, asset_path: list[str], partition_key: str) -> StoredPath:
        return storage.io_path(*asset_path, f"{partition_key}.pickle")

    def handle_output(self, context: OutputContext, obj: dict) -> None:
        expected = set(context.asset_partition_keys)
        if not isinstance(obj, dict) or set(obj) != expected:
            raise TypeError(
                f"{context.asset_key.to_user_string()} must return a dict keyed by its partition keys "
                f"{sorted(expected)}, got {type(obj).__name__}"
            )
        storage = export_storage()
        for partition_key, value in obj.items():
            path = self._path(storage, context.asset_key.path, partition_key)
            storage.write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def load_input(self, context: InputContext) -> dict:
        loaded = {}
        storage = export_storage()
        for partition_key in context.asset_partition_keys:
            path = self._path(storage, context.asset_key.path, partition_key)
            try:
                loaded[partition_key] = pickle.loads(storage.read_bytes(path))
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"{context.asset_key.to_user_string()} has not been materialized for sprint {partition_key}; "
                    "run export_sprints_job (all five assets) for that sprint first"
                ) from None
        return loaded
