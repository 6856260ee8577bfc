"""The export log: every exported file, from the Dagster instance, with where it stands now.

Built from the export assets' materialization events (range runs carry no
partition tag, so run tags alone would miss backfills), joined with the
runs' tags (who asked, which schedule), the delivery ledger (who got it) and
the clean-up job's observations (what was deleted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from sprint_exports import names
from sprint_exports.access import AccessPolicy
from sprint_exports.delivery.ledger import DeliveryLedger
from sprint_exports.exports.records import BadRecord, copy_verified
from sprint_exports.exports.storage import ExportStorage, StoredPath, export_storage
from sprint_exports.instance.run_records import Warn, log_warning, read_export_record
from sprint_exports.names import DELETED_PATH, EXPORT_ASSET_NAMES

PAGE = 500


@dataclass(frozen=True)
class HistoryEntry:
    created_at: str
    sprint_id: int
    sprint_name: str
    team: str
    format: str
    template: str
    size_bytes: int
    sha256: str
    path: str
    expires_at: str
    status: str  # available | expired | deleted | missing
    run_id: str
    requested_by: str | None
    schedule: str | None
    deliveries: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HistoryFilter:
    sprint_id: int | None = None
    team: str | None = None
    format: str | None = None
    since: dt.datetime | None = None
    user: str | None = None
    run_id: str | None = None


def export_history(
    instance: DagsterInstance,
    teams_by_sprint: dict[int, tuple[int, str]],
    *,
    filters: HistoryFilter = HistoryFilter(),
    policy: AccessPolicy | None = None,
    ledger: DeliveryLedger | None = None,
    now: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    warn: Warn = log_warning,
) -> list[HistoryEntry]:
    """Exports matching `filters`, newest first; `teams_by_sprint` maps sprint id -> (team id, team name).

    A record that is not a trustworthy export of ours is left out, and `warn` hears which and why.
    """
    now = now or dt.datetime.now(dt.UTC)
    deleted = deleted_paths(instance)
    runs: dict[str, object] = {}
    found: list[HistoryEntry] = []
    for entry in _entries(instance, filters, teams_by_sprint, deleted, runs, now, warn):
        if filters.team and entry.team != filters.team:
            continue
        if filters.user is not None:
            team_id = teams_by_sprint.get(entry.sprint_id, (-1, ""))[0]
            if policy is None or not policy.decide(filters.user, team_id).allowed:
                continue
        found.append(entry)
    found.sort(key=lambda e: (e.created_at, e.sprint_id, e.format), reverse=True)
    page = found[offset : offset + limit]
    if ledger is not None:
        outcomes = {}
        for run_id in {e.run_id for e in page}:
            for row in ledger.entries(run_id):
                outcomes.setdefault((run_id, row.sprint_id), []).append({"recipient": row.recipient, "status": row.status, "reply": row.reply})
        page = [HistoryEntry(**{**e.as_dict(), "deliveries": outcomes.get((e.run_id, e.sprint_id), [])}) for e in page]
    return page


def _entries(instance, filters, teams_by_sprint, deleted, runs, now, warn) -> Iterator[HistoryEntry]:
    formats = [filters.format] if filters.format else list(EXPORT_ASSET_NAMES)
    partitions = [str(filters.sprint_id)] if filters.sprint_id is not None else None
    after = filters.since.timestamp() if filters.since else None
    storage = export_storage()
    for format_name in formats:
        records_filter = AssetRecordsFilter(
            asset_key=AssetKey(EXPORT_ASSET_NAMES[format_name]), asset_partitions=partitions, after_timestamp=after
        )
        for record in all_records(instance, records_filter):
            if filters.run_id and record.run_id != filters.run_id:
                continue
            exported = read_export_record(record, storage.root, warn)
            if exported is None:
                continue
            if record.run_id not in runs:
                runs[record.run_id] = instance.get_run_by_id(record.run_id) if record.run_id else None
            run = runs[record.run_id]
            run_tags = run.tags if run else {}
            path = str(exported.path)
            yield HistoryEntry(
                created_at=exported.created_at.isoformat(timespec="seconds"),
                sprint_id=exported.sprint_id,
                sprint_name=exported.sprint_name,
                team=teams_by_sprint.get(exported.sprint_id, (-1, ""))[1],
                format=format_name,
                template=exported.template,
                size_bytes=exported.size_bytes,
                sha256=exported.sha256,
                path=path,
                expires_at=exported.expires_at.isoformat(),
                status=file_status(storage, exported.path, exported.expires_at, deleted, now),
                run_id=record.run_id,
                requested_by=run_tags.get(names.REQUESTED_BY),
                schedule=run_tags.get(names.SCHEDULE),
            )


def all_records(instance: DagsterInstance, records_filter: AssetRecordsFilter) -> Iterator:
    cursor = None
    while True:
        result = instance.fetch_materializations(records_filter, limit=PAGE, cursor=cursor)
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def deleted_paths(instance: DagsterInstance) -> set[str]:
    """Every file path the clean-up job recorded as deleted."""
    paths: set[str] = set()
    for asset_name in EXPORT_ASSET_NAMES.values():
        cursor = None
        while True:
            result = instance.fetch_observations(AssetKey(asset_name), limit=PAGE, cursor=cursor)
            for record in result.records:
                value = record.asset_observation.metadata.get(DELETED_PATH)
                if value is not None:
                    paths.add(str(value.value))
            if not result.has_more:
                break
            cursor = result.cursor
    return paths


def file_status(storage: ExportStorage, path: StoredPath, expires_at: dt.datetime, deleted: set[str], now: dt.datetime) -> str:
    if str(path) in deleted:
        return "deleted"
    if expires_at <= now:
        return "expired"
    return "available" if storage.is_file(path) else "missing"


class DownloadRefused(RuntimeError):
    """A download that must not happen: unknown, not allowed, expired, deleted or tampered."""


def download_export(
    instance: DagsterInstance,
    teams_by_sprint: dict[int, tuple[int, str]],
    policy: AccessPolicy,
    *,
    user: str,
    format_name: str,
    destination: Path,
    run_id: str | None = None,
    sprint_id: int | None = None,
    now: dt.datetime | None = None,
    warn: Warn = log_warning,
) -> tuple[HistoryEntry, Path]:
    """Copy one export out after checking access, expiry, where it lies, its size and its sha256.

    Returns the entry and the copy. Records that cannot be trusted are skipped (`--latest` takes the
    newest one that can); asked for by run id, such a record is refused with the reason.
    """
    skipped: list[str] = []

    def note(message: str) -> None:
        skipped.append(message)
        warn(message)

    filters = HistoryFilter(run_id=run_id, sprint_id=sprint_id, format=format_name)
    matches = export_history(instance, teams_by_sprint, filters=filters, now=now, limit=1, warn=note)
    what = f"run {run_id}" if run_id else f"sprint {sprint_id}"
    if not matches:
        if run_id and skipped:
            raise DownloadRefused(f"The {format_name} export of {what} cannot be trusted. {skipped[0]}")
        raise DownloadRefused(f"No {format_name} export found for {what}; `sprint-exports history` lists what exists")
    entry = matches[0]
    decision = policy.decide(user, teams_by_sprint.get(entry.sprint_id, (-1, ""))[0])
    if not decision.allowed:
        raise DownloadRefused(f"Download refused: {decision.reason} (sprint {entry.sprint_id}, {entry.team})")
    if entry.status in ("expired", "deleted"):
        raise DownloadRefused(f"The {format_name} export of {what} is {entry.status} (expired at {entry.expires_at})")
    storage = export_storage()
    source = storage.path_from_record(entry.path)  # checked against the root when it was listed, just now
    if not storage.is_file(source):
        raise DownloadRefused(f"The file {source} of {what} is missing from the exports directory")
    target = destination / source.name if destination.is_dir() else destination
    try:
        copy_verified(source, entry.size_bytes, entry.sha256, target)
    except BadRecord as problem:
        raise DownloadRefused(f"Download refused, nothing was written: {problem}") from None
    return entry, target
