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
    DefaultScheduleStatus,
    MetadataValue,
    OpExecutionContext,
    ScheduleDefinition,
    in_process_executor,
    job,
    op,
)
from pydantic import Field

from sprint_exports.assets import EXPORT_ASSET_NAMES
from sprint_exports.history import DELETED_PATH, all_records, deleted_paths
from sprint_exports.resources import ExportStore


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


def safe_to_remove(folder: Path, root: Path) -> str | None:
    """None if `folder` may be deleted, else why not."""
    if folder.is_symlink() or folder.parent.is_symlink():
        return f"{folder} is a symlink; not followed"
    if not folder.resolve().is_relative_to(root.resolve()) or folder.resolve() == root.resolve():
        return f"{folder} lies outside the exports directory {root}"
    return None


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
            _remove_empty(folder.parent, root)
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


def _remove_empty(folder: Path, root: Path) -> None:
    if folder.resolve() != root.resolve() and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


@job(description="Remove expired export files (see SPRINT_EXPORTS_RETENTION_DAYS).", executor_def=in_process_executor)
def cleanup_exports_job() -> None:
    remove_expired_exports()


cleanup_exports_schedule = ScheduleDefinition(
    name="cleanup_exports_daily",
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    job=cleanup_exports_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every day at 03:00 UTC, remove export folders whose files have expired.",
)
