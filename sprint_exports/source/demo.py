"""A deterministic demo tracker: the same seed always gives the same database.

The data is built to exercise what real trackers throw at an exporter: names
in several scripts, summaries that look like spreadsheet formulas, quotes,
commas and newlines, null story points, issues resolved after the sprint
ended, and one sprint with no issues at all.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from sqlalchemy import create_engine, insert

from sprint_exports.source import schema
from sprint_exports.source.database import normalise_url

TEAMS = [(1, "Platform", "PLAT"), (2, "Payments", "PAY"), (3, "Mobile", "MOB")]

# (name, email, role, team ids, team role, capacity)
PEOPLE = [
    ("Ana Núñez", "ana@example.com", "admin", [1], "Engineering Manager", 40),
    ("Li Wei", "li.wei@example.com", "member", [1], "Developer", 60),
    ("Jürgen Weiß", "juergen@example.com", "member", [1, 2], "Developer", 50),
    ("Иван Петров", "ivan@example.com", "member", [1], "QA", 55),
    ("Zoë Ørsted", "zoe@example.com", "member", [2], "Developer", 60),
    ("Αλέξης Παπαδόπουλος", "alexis@example.com", "member", [2], "Developer", 60),
    ("François d'Aubigné", "francois@example.com", "member", [2], "QA", 45),
    ("Dana O'Brien", "dana@example.com", "admin", [], None, 0),
    ("Søren Kjær", "soren@example.com", "member", [3], "Developer", 60),
    ("Ольга Смирнова", "olga@example.com", "member", [3], "Designer", 40),
    ("José Álvarez", "jose@example.com", "member", [3], "Developer", 60),
    ("Chloé Dubois", "chloe@example.com", "member", [3], "QA", 50),
]

ISSUE_TYPES = ["Story", "Story", "Story", "Bug", "Bug", "Task", "Spike"]
PRIORITIES = ["Lowest", "Low", "Medium", "Medium", "High", "Highest"]
POINTS = [1, 2, 3, 3, 5, 5, 8, 13, None]
LABELS = ["backend", "frontend", "api", "ux", "tech-debt", "security", "perf", "i18n"]

SUBJECTS = [
    "checkout page",
    "login flow",
    "invoice PDF",
    "push notifications",
    "search index",
    "CSV import",
    "payment retries",
    "dark mode",
    "audit log",
    "rate limiter",
    "onboarding wizard",
    "Übersetzungen (de)",
    "экспорт отчётов",
    "αναζήτηση χρηστών",
]
VERBS = ["Fix", "Add", "Refactor", "Speed up", "Document", "Remove", "Test", "Migrate"]
# Summaries a spreadsheet would treat as formulas, and other awkward text.
AWKWARD_SUMMARIES = [
    '=HYPERLINK("http://evil.example/","click me")',
    "=SUM(A1:A9) shows in the billing export",
    "+1 from the customer: \"make it faster\"",
    "-- flaky test in CI, see log",
    "@channel outage review notes",
    "Handle commas, \"quotes\" and\nnewlines in names",
    "Emoji in titles 🚀 should not break exports ✅",
    "\tTab-led summary from a paste",
]


def seed_demo(
    url: str,
    *,
    sprints: int = 30,
    issues_per_sprint: int | None = None,
    seed: int = 7,
) -> dict[str, int]:
    """Create the tracker tables at `url` and fill them; returns row counts per table.

    `issues_per_sprint=None` gives 50–300 issues per sprint; a number gives
    exactly that many. The last planned sprint always stays empty.
    """
    if sprints < 1:
        raise ValueError(f"--sprints {sprints} is not allowed: give 1 or more")
    if issues_per_sprint is not None and issues_per_sprint < 0:
        raise ValueError(f"--issues-per-sprint {issues_per_sprint} is not allowed: give 0 or more")
    rng = random.Random(seed)
    engine = create_engine(normalise_url(url))
    schema.metadata.create_all(engine)
    sprint_rows = list(_sprint_rows(sprints, rng))
    empty_sprint = max((row for row in sprint_rows if row["status"] == "planned"), key=lambda r: r["id"], default=None)
    counts = {"teams": len(TEAMS), "users": len(PEOPLE), "sprints": len(sprint_rows), "issues": 0}
    with engine.begin() as connection:
        connection.execute(insert(schema.teams), [{"id": i, "name": n} for i, n, _ in TEAMS])
        connection.execute(
            insert(schema.users),
            [{"id": i + 1, "name": p[0], "email": p[1], "role": p[2]} for i, p in enumerate(PEOPLE)],
        )
        connection.execute(insert(schema.team_members), list(_member_rows()))
        connection.execute(insert(schema.sprints), sprint_rows)
        next_issue_id = 1
        next_key = {team_id: 1 for team_id, _, _ in TEAMS}
        batch: list[dict] = []
        for sprint in sprint_rows:
            if empty_sprint is not None and sprint["id"] == empty_sprint["id"]:
                continue
            count = issues_per_sprint if issues_per_sprint is not None else rng.randint(50, 300)
            for _ in range(count):
                team_id = sprint["team_id"]
                batch.append(_issue_row(next_issue_id, next_key[team_id], sprint, rng))
                next_issue_id += 1
                next_key[team_id] += 1
                if len(batch) >= 20_000:
                    connection.execute(insert(schema.issues), batch)
                    batch.clear()
        if batch:
            connection.execute(insert(schema.issues), batch)
        counts["issues"] = next_issue_id - 1
    engine.dispose()
    return counts


def _member_rows() -> Iterator[dict]:
    for index, (_, _, _, team_ids, team_role, capacity) in enumerate(PEOPLE):
        for team_id in team_ids:
            yield {"team_id": team_id, "user_id": index + 1, "role": team_role, "capacity": capacity}


def _sprint_rows(count: int, rng: random.Random) -> Iterator[dict]:
    """Two-week sprints per team, oldest first: completed, then one active, then planned."""
    per_team = -(-count // len(TEAMS))
    first_start = dt.date(2026, 1, 5)
    sprint_id = 1
    for number in range(1, per_team + 1):
        for team_id, team_name, _ in TEAMS:
            if sprint_id > count:
                return
            start = first_start + dt.timedelta(days=14 * (number - 1))
            end = start + dt.timedelta(days=13)
            status = _sprint_status(number, per_team)
            yield {
                "id": sprint_id,
                "team_id": team_id,
                "name": f"{team_name} Sprint {number}",
                "status": status,
                "start_date": start,
                "end_date": end,
                "goal": rng.choice([None, f"Ship the {rng.choice(SUBJECTS)} work", "Pay down tech debt"]),
                "updated_at": dt.datetime.combine(end, dt.time(18, 0)) if status == "completed" else dt.datetime.combine(start, dt.time(9, 0)),
            }
            sprint_id += 1


def _sprint_status(number: int, per_team: int) -> str:
    """The last two of a team's sprints are planned (one if it has few), the one before is active."""
    planned = 2 if per_team >= 4 else (1 if per_team >= 2 else 0)
    active = per_team - planned
    if number > active:
        return "planned"
    return "active" if number == active else "completed"


def _issue_row(issue_id: int, number: int, sprint: dict, rng: random.Random) -> dict:
    prefix = TEAMS[sprint["team_id"] - 1][2]
    start: dt.date = sprint["start_date"]
    end: dt.date = sprint["end_date"]
    created = dt.datetime.combine(start, dt.time(9, 0)) - dt.timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 600))
    status = _issue_status(sprint["status"], rng)
    resolved = None
    if status == "Done" and rng.random() > 0.03:  # a few Done issues were closed without a date
        day = rng.randint(0, (end - start).days + 3)  # some resolved after the sprint ended
        resolved = dt.datetime.combine(start + dt.timedelta(days=day), dt.time(rng.randint(8, 19), rng.randint(0, 59)))
    members = [i + 1 for i, p in enumerate(PEOPLE) if sprint["team_id"] in p[3]]
    summary = (
        rng.choice(AWKWARD_SUMMARIES)
        if rng.random() < 0.04
        else f"{rng.choice(VERBS)} {rng.choice(SUBJECTS)}"
    )
    return {
        "id": issue_id,
        "sprint_id": sprint["id"],
        "key": f"{prefix}-{number}",
        "summary": summary,
        "status": status,
        "issue_type": rng.choice(ISSUE_TYPES),
        "priority": rng.choice(PRIORITIES),
        "assignee_id": rng.choice(members) if members and rng.random() > 0.1 else None,
        "story_points": rng.choice(POINTS),
        "labels": ",".join(sorted(rng.sample(LABELS, rng.randint(0, 2)))) or None,
        "created_at": created,
        "resolved_at": resolved,
        "updated_at": resolved or created,
    }


def _issue_status(sprint_status: str, rng: random.Random) -> str:
    if sprint_status == "planned":
        return "To Do"
    weights = [5, 5, 5, 85] if sprint_status == "completed" else [30, 30, 15, 25]
    return rng.choices(list(schema.ISSUE_STATUSES), weights=weights)[0]
