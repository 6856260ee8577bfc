"""Creating a subscription for a person: every check the API and the page share.

A subscription exports for its owner and mails its recipients (the owner by
default). Everyone named must be allowed the teams' sprints, as delivery will
check again at send time; the cron must be one Dagster's scheduler accepts and
the time zone an IANA name.
"""

from __future__ import annotations

import zoneinfo

from sprint_exports.delivery.schedule_file import EMAIL, SPRINT_SELECTIONS
from sprint_exports.formats import FORMAT_NAMES
from sprint_exports.instance.dagster_private import is_valid_cron
from sprint_exports.portal.launches import LaunchRefused, template_config
from sprint_exports.portal.state import PortalState
from sprint_exports.portal_db.subscriptions import create_subscription
from sprint_exports.source.readers import list_sprints

CRON_PRESETS = {
    "weekly_monday": ("Weekly, Monday 09:00", "0 9 * * 1"),
    "weekly_friday": ("Weekly, Friday 16:00", "0 16 * * 5"),
    "daily": ("Every day 08:00", "0 8 * * *"),
    "sprint_end": ("At sprint end (every other Friday is a sprint end: checked daily at 18:00)", "0 18 * * *"),
}


def subscribe(state: PortalState, owner: str, *, name: str, teams: list[str] | str, sprints: str, formats: list[str],
              template: str | None, cron: str, timezone: str, recipients: list[str] | None) -> int:
    """Check everything, store the subscription, return its id; LaunchRefused(403/422) names the problem."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise LaunchRefused(422, "name: give a name of 1 to 200 characters")
    if sprints not in SPRINT_SELECTIONS:
        raise LaunchRefused(422, f"sprints {sprints!r} not allowed: use one of {', '.join(SPRINT_SELECTIONS)}")
    if not formats or any(f not in FORMAT_NAMES for f in formats):
        raise LaunchRefused(422, f"formats {formats!r} not allowed: use a non-empty subset of {', '.join(FORMAT_NAMES)}")
    if len(cron) > 120 or not is_valid_cron(cron):
        raise LaunchRefused(422, f"cron {cron!r} is not a valid five-field cron expression")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise LaunchRefused(422, f"timezone {timezone!r} is not an IANA time zone (for example Europe/Berlin)") from None
    template_config(state, owner, template)  # 404/422 for a template the owner cannot use
    sprint_list = list_sprints(state.tracker)
    team_ids = dict(zip(sprint_list["team_name"].to_list(), sprint_list["team_id"].to_list()))
    if teams != "all":
        if not isinstance(teams, list) or not teams:
            raise LaunchRefused(422, 'teams: give a list of team names or "all"')
        unknown = [team for team in teams if team not in team_ids]
        if unknown:
            raise LaunchRefused(404, f"Unknown team(s): {', '.join(unknown)}")
    wanted = list(team_ids.values()) if teams == "all" else [team_ids[team] for team in teams]
    recipients = [r.strip().lower() for r in (recipients or [owner])]
    bad = [r for r in recipients if not EMAIL.match(r)]
    if bad:
        raise LaunchRefused(422, f"recipients: {', '.join(map(repr, bad))} are not email addresses")
    policy = state.policy(owner) if recipients == [owner] else None
    from sprint_exports.access import AccessPolicy

    policy = policy or AccessPolicy.load(state.tracker, [owner, *recipients])
    for person in dict.fromkeys([owner, *recipients]):
        refused = [policy.decide(person, team_id) for team_id in wanted]
        problems = [d.reason for d in refused if not d.allowed]
        if problems:
            raise LaunchRefused(403, f"Subscription refused: {problems[0]}")
    return create_subscription(
        state.db, owner, name=name, teams=teams, sprints=sprints, formats=list(dict.fromkeys(formats)),
        template=template or "sprint_summary", cron=cron, timezone=timezone, recipients=recipients,
    )
