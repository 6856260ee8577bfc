"""The export log: every exported file, from the Dagster instance, with where it stands now.

Built from the export assets' materialization events (range runs carry no
partition tag, so run tags alone would miss backfills), joined with the
runs' tags (who asked, which schedule), the delivery ledger (who got it) and
the clean-up job's observations (what was deleted).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from sprint_exports import names
from sprint_exports.access import AccessPolicy
from sprint_exports.names import DELETED_PATH, EXPORT_ASSET_NAMES
from sprint_exports.delivery.ledger import DeliveryLedger

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
) -> list[HistoryEntry]:
    """Exports matching `filters`, newest first; `teams_by_sprint` maps sprint id -> (team id, team name)."""
    now = now or dt.datetime.now(dt.UTC)
    deleted = deleted_paths(instance)
    runs: dict[str, object] = {}
    found: list[HistoryEntry] = []
    for entry in _entries(instance, filters, teams_by_sprint, deleted, runs, now):
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


def _entries(instance, filters, teams_by_sprint, deleted, runs, now) -> Iterator[HistoryEntry]:
    formats = [filters.format] if filters.format else list(EXPORT_ASSET_NAMES)
    partitions = [str(filters.sprint_id)] if filters.sprint_id is not None else None
    after = filters.since.timestamp() if filters.since else None
    for format_name in formats:
        records_filter = AssetRecordsFilter(
            asset_key=AssetKey(EXPORT_ASSET_NAMES[format_name]), asset_partitions=partitions, after_timestamp=after
        )
        for record in all_records(instance, records_filter):
            if filters.run_id and record.run_id != filters.run_id:
                continue
            materialization = record.asset_materialization
            values = {key: entry.value for key, entry in materialization.metadata.items()}
            if record.run_id not in runs:
                runs[record.run_id] = instance.get_run_by_id(record.run_id)
            run = runs[record.run_id]
            run_tags = run.tags if run else {}
            sprint_id = int(materialization.partition)
            path = str(values.get("path", ""))
            yield HistoryEntry(
                created_at=dt.datetime.fromtimestamp(record.timestamp, dt.UTC).isoformat(timespec="seconds"),
                sprint_id=sprint_id,
                sprint_name=str(values.get("sprint", "")),
                team=teams_by_sprint.get(sprint_id, (-1, ""))[1],
                format=format_name,
                template=str(values.get("template", "")),
                size_bytes=int(values.get("size_bytes", 0)),
                sha256=str(values.get("sha256", "")),
                path=path,
                expires_at=str(values.get("expires_at", "")),
                status=file_status(path, str(values.get("expires_at", "")), deleted, now),
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


def file_status(path: str, expires_at: str, deleted: set[str], now: dt.datetime) -> str:
    if path in deleted:
        return "deleted"
    if expires_at and dt.datetime.fromisoformat(expires_at) <= now:
        return "expired"
    return "available" if Path(path).is_file() else "missing"


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
) -> tuple[HistoryEntry, Path]:
    """Copy one export out after checking access, expiry and its sha256; returns the entry and the copy."""
    from sprint_exports.exports.store import sha256_of

    filters = HistoryFilter(run_id=run_id, sprint_id=sprint_id, format=format_name)
    matches = export_history(instance, teams_by_sprint, filters=filters, now=now, limit=1)
    what = f"run {run_id}" if run_id else f"sprint {sprint_id}"
    if not matches:
        raise DownloadRefused(f"No {format_name} export found for {what}; `sprint-exports history` lists what exists")
    entry = matches[0]
    decision = policy.decide(user, teams_by_sprint.get(entry.sprint_id, (-1, ""))[0])
    if not decision.allowed:
        raise DownloadRefused(f"Download refused: {decision.reason} (sprint {entry.sprint_id}, {entry.team})")
    if entry.status in ("expired", "deleted"):
        raise DownloadRefused(f"The {format_name} export of {what} is {entry.status} (expired at {entry.expires_at})")
    source = Path(entry.path)
    if not source.is_file():
        raise DownloadRefused(f"The file {source} of {what} is missing from the exports directory")
    if sha256_of(source) != entry.sha256:
        raise DownloadRefused(f"The file {source} does not match its recorded sha256 {entry.sha256}: it was changed after export")
    target = destination / source.name if destination.is_dir() else destination
    temporary = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, temporary)
    if sha256_of(temporary) != entry.sha256:
        temporary.unlink(missing_ok=True)
        raise DownloadRefused(f"The copy of {source} did not match its recorded sha256; nothing was written")
    temporary.replace(target)
    return entry, target
