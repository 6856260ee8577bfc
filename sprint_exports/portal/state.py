"""What every request handler shares: the settings, the portal database, the tracker, the instance."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from starlette.requests import Request

from sprint_exports.access import AccessPolicy
from sprint_exports.portal.config import PortalConfig
from sprint_exports.portal_db.database import utc_now
from sprint_exports.source.readers import SprintTeam, sprint_teams


@dataclass
class PortalState:
    config: PortalConfig
    db: Engine
    tracker: Engine
    clock: Callable[[], dt.datetime] = utc_now  # what "now" is for sign-in links and their rate limit; tests move it
    _instance: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def instance(self):
        """The Dagster instance (DAGSTER_HOME), opened on first use: history and run status read it."""
        with self._lock:
            if self._instance is None:
                from dagster import DagsterInstance

                self._instance = DagsterInstance.get()
            return self._instance

    def policy(self, email: str) -> AccessPolicy:
        """The one access policy, read from the tracker now."""
        return AccessPolicy.load(self.tracker, [email])

    def is_admin(self, email: str) -> bool:
        """Whether the policy's admin rule applies to `email` (admins see and manage everyone's things)."""
        person = self.policy(email).person(email)
        return person is not None and person.role == "admin"

    def teams_by_sprint(self) -> dict[int, tuple[int, str]]:
        return {sprint_id: (team.team_id, team.team_name) for sprint_id, team in sprint_teams(self.tracker).items()}

    def sprint_team(self, sprint_id: int) -> SprintTeam | None:
        return sprint_teams(self.tracker).get(sprint_id)


def state_of(request: Request) -> PortalState:
    return request.app.state.portal
