"""The caller's exports as the API and pages show them: history, one run's status, signed links.

History comes from the instance layer (`instance/history.py`, built from
materialization events), filtered by the access policy for the caller; a run
whose sprints the caller may not all see is not theirs to inspect.
"""

from __future__ import annotations

import datetime as dt

from sprint_exports import names
from sprint_exports.instance.history import HistoryEntry, HistoryFilter, export_history
from sprint_exports.portal.keys import download_link
from sprint_exports.portal.state import PortalState

MAX_LIMIT = 200


class UnknownExport(LookupError):
    pass


class ForbiddenExport(PermissionError):
    pass


def download_url(state: PortalState, entry: HistoryEntry, user: str) -> str:
    """A link for `user` to `entry`'s file, expiring within LINK_DAYS and never after the file does."""
    file_expires = dt.datetime.fromisoformat(entry.expires_at) if entry.expires_at else None
    return download_link(state.config.portal_url, entry.run_id, entry.format, entry.sprint_id, user, file_expires)


def file_json(state: PortalState, entry: HistoryEntry, user: str) -> dict:
    return {
        "format": entry.format, "size_bytes": entry.size_bytes, "sha256": entry.sha256, "expires_at": entry.expires_at,
        "status": entry.status, "download_url": download_url(state, entry, user) if entry.status == "available" else None,
    }


def history(state: PortalState, user: str, *, sprint: int | None = None, team: str | None = None,
            format_name: str | None = None, limit: int = 50, page: int = 1) -> list[dict]:
    """`user`'s visible exports, newest first, one item per run and sprint."""
    entries = export_history(
        state.instance(), state.teams_by_sprint(),
        filters=HistoryFilter(sprint_id=sprint, team=team, format=format_name, user=user),
        policy=state.policy(user), limit=100_000,
    )
    grouped: dict[tuple[str, int], dict] = {}
    for entry in entries:
        item = grouped.setdefault((entry.run_id, entry.sprint_id), {
            "export_id": entry.run_id, "sprint_id": entry.sprint_id, "sprint_name": entry.sprint_name, "team": entry.team,
            "created_at": entry.created_at, "template": entry.template, "requested_by": entry.requested_by, "files": [],
        })
        item["files"].append(file_json(state, entry, user))
    items = list(grouped.values())
    start = (page - 1) * limit
    return items[start : start + limit]


def run_status(state: PortalState, user: str, run_id: str) -> dict:
    """`{export_id, status, sprints_total, sprints_done, files}` of an export run the caller may see."""
    from sprint_exports.defs.exports.run_plan import run_partition_keys

    instance = state.instance()
    run = instance.get_run_by_id(run_id) if len(run_id) <= 64 else None
    if run is None:
        raise UnknownExport(f"No export with id {run_id!r}")
    keys = run_partition_keys(instance, run.tags)
    if not keys:
        raise UnknownExport(f"Run {run_id} is not an export of sprints")
    teams = state.teams_by_sprint()
    policy = state.policy(user)
    refused = [key for key in keys if not policy.decide(user, teams.get(int(key), (-1, ""))[0]).allowed]
    if refused:
        raise ForbiddenExport(f"{user} may not see export {run_id}: sprint(s) {', '.join(refused)} are not theirs")
    entries = export_history(instance, teams, filters=HistoryFilter(run_id=run_id), limit=100_000)
    wanted_formats = {
        fmt for fmt, asset in names.EXPORT_ASSET_NAMES.items()
        if run.asset_selection is None or any(k.to_user_string() == asset for k in run.asset_selection)
    }
    done = sum(1 for key in keys if wanted_formats <= {e.format for e in entries if e.sprint_id == int(key)})
    return {
        "export_id": run_id, "status": run.status.value, "sprints_total": len(keys), "sprints_done": done,
        "files": [{"sprint_id": e.sprint_id, **file_json(state, e, user)} for e in sorted(entries, key=lambda e: (e.sprint_id, e.format))],
    }
