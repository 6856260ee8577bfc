"""`cleanup_exports_job`: deletes expired export folders, and nothing else.

Only a folder whose every file has expired is removed, and only if it lies
inside the exports directory once symlinks are resolved and is not itself a
symlink; files inside are removed without following links. Each deleted file
is recorded as an observation of its asset partition, which the history reads
as "deleted".
"""

# No `from __future__ import annotations`: Dagster reads the op's type hints at definition time.
import datetime as dt
import shutil
from pathlib import Path

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

from sprint_exports.exports.cleanup import remove_empty_parent, safe_to_remove

from sprint_exports.names import DELETED_PATH, EXPORT_ASSET_NAMES
from sprint_exports.instance.history import all_records, deleted_paths
from sprint_exports.defs.exports.resources import ExportStore


class CleanupConfig(Config):
    as_of: str | None = Field(default=None, description="ISO 8601 instant to judge expiry at; default now.")
    dry_run: bool = Field(default=False, description="Report what would be removed, remove nothing.")


def expired_folders(instance, now: dt.datetime) -> dict[Path, list[tuple[str, str, str, str]]]:
    """Folders whose every recorded file has expired by `now`: folder -> [(asset, partition, path, run id)]."""
    files: dict[Path, list[tuple[str, str, str, str, dt.datetime]]] = {}
    for asset_name in EXPORT_ASSET_NAMES.values():
        for record in all_records(instance, AssetRecordsFilter(asset_key=AssetKey(asset_name))):
            metadata = record.asset_materialization.metadata
            path, expires = str(metadata["path"].value), dt.datetime.fromisoformat(str(metadata["expires_at"].value))
            entry = (asset_name, record.asset_materialization.partition, path, record.run_id, expires)
            files.setdefault(Path(path).parent, []).append(entry)
    return {
        folder: [entry[:4] for entry in entries]
        for folder, entries in files.items()
        if all(entry[4] <= now for entry in entries)
    }


@op(description="Delete export folders whose files have all expired; record each deleted file.")
def remove_expired_exports(context: OpExecutionContext, config: CleanupConfig, export_store: ExportStore) -> None:
    now = dt.datetime.fromisoformat(config.as_of) if config.as_of else dt.datetime.now(dt.UTC)
    now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    root = export_store.root()
    already = deleted_paths(context.instance)
    removed, refused = [], []
    for folder, files in sorted(expired_folders(context.instance, now).items()):
        if all(path in already for _, _, path, _ in files):
            continue
        problem = safe_to_remove(folder, root)
        if problem:
            refused.append(problem)
            context.log.warning(f"Not removing: {problem}")
            continue
        if not config.dry_run:
            if folder.exists():
                shutil.rmtree(folder)  # unlinks symlinks inside, never follows them
            remove_empty_parent(folder, root)
            for asset_name, partition, path, run_id in files:
                context.log_event(
                    AssetObservation(
                        asset_key=AssetKey(asset_name),
                        partition=partition,
                        metadata={DELETED_PATH: path, "export_run_id": run_id, "deleted_at": now.isoformat()},
                    )
                )
        removed.append(str(folder))
        context.log.info(f"{'Would remove' if config.dry_run else 'Removed'} {folder} ({len(files)} files)")
    context.add_output_metadata(
        {
            "removed_folders": len(removed),
            "removed": MetadataValue.json(removed),
            "refused": MetadataValue.json(refused),
            "as_of": now.isoformat(),
            "dry_run": config.dry_run,
        }
    )


@job(description="Remove expired export files (see SPRINT_EXPORTS_RETENTION_DAYS).", executor_def=in_process_executor)
def cleanup_exports_job() -> None:
    remove_expired_exports()
