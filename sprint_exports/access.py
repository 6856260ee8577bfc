"""Who may export or receive which sprint: one policy, called from every door.

Rules, checked in this order:

1. An email the tracker does not know may do nothing.
2. A user whose role is `admin` may export and receive every sprint.
3. Any other user may export and receive the sprints of the teams they are a
   member of (`team_members`), and nothing else.

Emails compare in one canonical form (`normalise_email`: stripped,
lower-cased, Unicode NFC). The tracker is read at the moment of each
decision, so someone who left a team loses access at once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from sprint_exports.source import schema as t
from sprint_exports.source.readers import sprint_teams


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    role: str
    team_ids: frozenset[int]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def normalise_email(email: str) -> str:
    """The one canonical form of an address, used by every comparison: Unicode NFC, no surrounding
    whitespace (spaces, tabs, line breaks), lower case."""
    return unicodedata.normalize("NFC", email).strip().lower()


class AccessPolicy:
    """The policy over a snapshot of the tracker's users and team memberships."""

    def __init__(self, people: dict[str, Person], team_names: dict[int, str]):
        self._people = people
        self._team_names = team_names

    @classmethod
    def load(cls, engine: Engine, emails: Iterable[str] | None = None) -> AccessPolicy:
        """Read the people named by `emails` (everyone when None) and the team names."""
        wanted = None if emails is None else sorted({normalise_email(e) for e in emails})
        query = select(t.users.c.id, t.users.c.email, t.users.c.name, t.users.c.role)
        if wanted is not None:
            query = query.where(func.lower(t.users.c.email).in_(wanted))
        with engine.connect() as connection:
            users = connection.execute(query).all()
            ids = [row.id for row in users]
            memberships = connection.execute(
                select(t.team_members.c.user_id, t.team_members.c.team_id).where(t.team_members.c.user_id.in_(ids))
            ).all() if ids else []
            team_names = dict(connection.execute(select(t.teams.c.id, t.teams.c.name)).all())
        teams_of: dict[int, set[int]] = {}
        for user_id, team_id in memberships:
            teams_of.setdefault(user_id, set()).add(team_id)
        people = {
            normalise_email(row.email): Person(
                email=row.email, name=row.name, role=row.role, team_ids=frozenset(teams_of.get(row.id, ()))
            )
            for row in users
        }
        return cls(people, team_names)

    def person(self, email: str) -> Person | None:
        return self._people.get(normalise_email(email))

    def decide(self, email: str, team_id: int) -> Decision:
        """May `email` export or receive a sprint of team `team_id`?"""
        person = self.person(email)
        team = self._team_names.get(team_id, f"team {team_id}")
        if person is None:
            return Decision(False, f"{email} is not a user of the tracker")
        if person.role == "admin":
            return Decision(True, f"{email} is an admin")
        if team_id in person.team_ids:
            return Decision(True, f"{email} is a member of {team}")
        return Decision(False, f"{email} is not a member of {team} and not an admin")

    def refusals(self, email: str, team_of_sprint: Mapping[int, int], sprint_ids: Iterable[int]) -> dict[int, str]:
        """Sprint id -> why `email` may not export it, for each of `sprint_ids` refused (sprints the
        tracker does not have are left to the caller, which names them as unknown)."""
        decisions = {sprint_id: self.decide(email, team_of_sprint[sprint_id]) for sprint_id in sprint_ids if sprint_id in team_of_sprint}
        return {sprint_id: decision.reason for sprint_id, decision in decisions.items() if not decision.allowed}


def export_refusals(engine: Engine, email: str, sprint_ids: Iterable[int]) -> dict[int, str]:
    """Sprint id -> why `email` may not export it, read from the tracker now (every door's one question)."""
    policy = AccessPolicy.load(engine, [email])
    teams = {sprint_id: team.team_id for sprint_id, team in sprint_teams(engine).items()}
    return policy.refusals(email, teams, sprint_ids)


class AccessRefused(PermissionError):
    """An export someone may not have: names every refused sprint and why."""

    def __init__(self, email: str, refusals: Mapping[int, str], via: str = ""):
        """`via` names where the requester came from, e.g. ` (sprint_exports/requested_by)`."""
        self.email, self.refusals = email, dict(refusals)
        listed = "; ".join(f"sprint {sprint_id}: {reason}" for sprint_id, reason in sorted(self.refusals.items()))
        super().__init__(
            f"Export refused for {email}{via}: {listed}. Admins may export every sprint; other users only their teams' sprints."
        )
