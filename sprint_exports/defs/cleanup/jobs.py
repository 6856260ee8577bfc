"""`cleanup_exports_job`: deletes expired export folders, and nothing else.

Only a folder whose every file has expired is removed, and only if it lies
inside the exports directory once symlinks are resolved and is not itself a
symlink; files inside are removed without following links. On S3 only keys
below the prefix, in `<prefix>/<sprint id>/<export folder>/`, are listed or
deleted. Each deleted file
is recorded as an observation of its asset partition, which the history reads
as "deleted". Export folders that no record points at any more (their run was
deleted) go once older than the retention, judged by the time in the folder's
name; `.partial` files of writes that never finished go after a day.
Materializations that are not ours or are malformed are skipped with a
warning naming the run and partition.
"""

# No `from __future__ import annotations`: Dagster reads the op's type hints at definition time.
import datetime as dt

from dagster import (
    AssetKey,
    AssetObservation,
    AssetRecordsFilter,
    Config,
    MetadataValue,
    OpExecutionContext,
    in_process_executor,
    job,
    op,
)
from pydantic import Field

from sprint_exports import settings
from sprint_exports.exports.cleanup import unrecorded_folders
from sprint_exports.exports.storage import ExportStorage, StoredPath
from sprint_exports.instance.history import all_records, deleted_paths
from sprint_exports.instance.run_records import read_export_record
from sprint_exports.names import DELETED_PATH, EXPORT_ASSET_NAMES
from sprint_exports.defs.exports.resources import ExportStore


class CleanupConfig(Config):
    as_of: str | None = Field(default=None, description="ISO 8601 instant to judge expiry at; default now.")
    dry_run: bool = Field(default=False, description="Report what would be removed, remove nothing.")


ExpiredFile = tuple[str, str, str, str]  # asset, partition, path, run id


def recorded_folders(instance, root: StoredPath, now: dt.datetime, warn) -> tuple[set[StoredPath], dict[StoredPath, list[ExpiredFile]]]:
    """Every folder a trustworthy record points at, and those whose every recorded file has expired by `now`.

    Records that are not ours or are malformed are skipped with `warn`; they never stop the clean-up.
    """
    files: dict[StoredPath, list[tuple[ExpiredFile, dt.datetime]]] = {}
    for asset_name in EXPORT_ASSET_NAMES.values():
        for record in all_records(instance, AssetRecordsFilter(asset_key=AssetKey(asset_name))):
            exported = read_export_record(record, root, warn)
            if exported is not None:
                entry = (asset_name, str(exported.sprint_id), str(exported.path), record.run_id)
                files.setdefault(exported.path.parent, []).append((entry, exported.expires_at))
    expired = {
        folder: [entry for entry, _ in entries]
        for folder, entries in files.items()
        if all(expires_at <= now for _, expires_at in entries)
    }
    return set(files), expired


@op(description="Delete expired export folders, folders no record points at any more, and stale partial files.")
def remove_expired_exports(context: OpExecutionContext, config: CleanupConfig, export_store: ExportStore) -> None:
    now = dt.datetime.fromisoformat(config.as_of) if config.as_of else dt.datetime.now(dt.UTC)
    now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    storage: ExportStorage = export_store.storage()
    root = storage.root
    already = deleted_paths(context.instance)
    verb = "Would remove" if config.dry_run else "Removed"
    removed, refused = [], []
    recorded, expired = recorded_folders(context.instance, root, now, context.log.warning)
    for folder, files in sorted(expired.items()):
        if all(path in already for _, _, path, _ in files):
            continue
        problem = storage.safe_to_remove(folder)
        if problem:
            refused.append(problem)
            context.log.warning(f"Not removing: {problem}")
            continue
        if not config.dry_run:
            storage.remove_folder(folder)
            for asset_name, partition, path, run_id in files:
                context.log_event(
                    AssetObservation(
                        asset_key=AssetKey(asset_name),
                        partition=partition,
                        metadata={DELETED_PATH: path, "export_run_id": run_id, "deleted_at": now.isoformat()},
                    )
                )
        removed.append(str(folder))
        context.log.info(f"{verb} {folder} ({len(files)} files)")
    retention = settings.retention_days()  # unrecorded folders have no run tags: the global setting
    unrecorded = unrecorded_folders(storage.export_folders(), recorded, now - dt.timedelta(days=retention))
    for folder in unrecorded:
        if not config.dry_run:
            storage.remove_folder(folder)
        context.log.info(f"{verb} {folder}: no record points at it and it is older than {retention} days")
    partials = storage.stray_partials(now)
    for partial in partials:
        if not config.dry_run:
            storage.remove_file(partial)
        context.log.info(f"{verb} {partial}: an unfinished write, untouched for over a day")
    context.add_output_metadata(
        {
            "removed_folders": len(removed),
            "removed": MetadataValue.json(removed),
            "removed_unrecorded": MetadataValue.json([str(folder) for folder in unrecorded]),
            "removed_partials": MetadataValue.json([str(partial) for partial in partials]),
            "refused": MetadataValue.json(refused),
            "as_of": now.isoformat(),
            "dry_run": config.dry_run,
        }
    )


@job(description="Remove expired export files (see SPRINT_EXPORTS_RETENTION_DAYS).", executor_def=in_process_executor)
def cleanup_exports_job() -> None:
    remove_expired_exports()
