"""Stores the extract and metrics assets one file per sprint partition.

Dagster's default IO manager refuses an output that covers several
partitions, and a single-run backfill of many sprints produces exactly that.
Assets hand this manager a dict {partition key: value}; it writes each value
to its own file (temporary name, then rename) and loads them back as a dict.

Neither IO manager here has config fields: where pickles go is the
instance's storage folder, and a launch cannot redirect it (Dagster's own
default `io_manager` would accept `base_dir: {env: …}` in run config).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from dagster import ConfigurableIOManager, ConfigurableIOManagerFactory, FilesystemIOManager, InputContext, OutputContext

from sprint_exports import settings


class InstanceStorageIOManager(ConfigurableIOManagerFactory):
    """Dagster's filesystem IO manager in the instance's storage folder, with nothing to configure at launch."""

    def create_io_manager(self, context):
        return FilesystemIOManager().create_io_manager(context)


class SprintPartitionIOManager(ConfigurableIOManager):
    """One pickle per sprint under `$DAGSTER_HOME/storage/sprint_exports/`; not settable in run config."""

    def _path(self, asset_path: list[str], partition_key: str) -> Path:
        root = settings.instance_home() / "storage" / "sprint_exports"
        return root.joinpath(*asset_path) / f"{partition_key}.pickle"

    def handle_output(self, context: OutputContext, obj: dict) -> None:
        expected = set(context.asset_partition_keys)
        if not isinstance(obj, dict) or set(obj) != expected:
            raise TypeError(
                f"{context.asset_key.to_user_string()} must return a dict keyed by its partition keys "
                f"{sorted(expected)}, got {type(obj).__name__}"
            )
        for partition_key, value in obj.items():
            path = self._path(context.asset_key.path, partition_key)
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
            with temporary.open("wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            temporary.replace(path)

    def load_input(self, context: InputContext) -> dict:
        loaded = {}
        for partition_key in context.asset_partition_keys:
            path = self._path(context.asset_key.path, partition_key)
            if not path.exists():
                raise FileNotFoundError(
                    f"{context.asset_key.to_user_string()} has not been materialized for sprint {partition_key}; "
                    "run export_sprints_job (all five assets) for that sprint first"
                )
            with path.open("rb") as handle:
                loaded[partition_key] = pickle.load(handle)
        return loaded
