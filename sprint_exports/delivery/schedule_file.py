"""The scheduled-exports file (`export_schedules.yaml`): its model, validation and meaning.

What the file alone decides (syntax, cron, time zone, template, formats,
subject) is checked at definition load, so a bad entry stops the code
location loading with a message that names the file, the entry and the field.
What depends on the tracker (teams, recipients) is checked where it matters:
at each tick of the entry's schedule, and by `sprint-exports schedules
validate`; never for a disabled entry, so a demo example or a renamed team
cannot take the code location down. Delivery re-checks every recipient's
access at send time anyway.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sprint_exports.access import normalise_email
from sprint_exports.delivery.message import DEFAULT_SUBJECT, check_subject_template
from sprint_exports.formats import FORMAT_NAMES
from sprint_exports.settings import check_retention_days
from sprint_exports.templates import DEFAULT_TEMPLATE, describe_validation_error, read_yaml

SPRINT_SELECTIONS = ("latest_completed", "active", "completed_since_last_run")
EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"']+$")


class ScheduleFileError(ValueError):
    """A schedule file that cannot be used; the message names file, entry and field."""


class ScheduledExport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    cron: str
    timezone: str = "UTC"
    teams: list[str] | Literal["all"] = "all"
    sprints: Literal["latest_completed", "active", "completed_since_last_run"] = "latest_completed"
    template: str = DEFAULT_TEMPLATE
    formats: list[Literal["csv", "xlsx", "pdf"]] = Field(default_factory=lambda: list(FORMAT_NAMES))
    recipients: list[str] = Field(min_length=1)
    subject: str = DEFAULT_SUBJECT
    enabled: bool = True
    retention_days: int | None = Field(default=None, description="Overrides SPRINT_EXPORTS_RETENTION_DAYS.")

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int | None) -> int | None:
        return None if value is None else check_retention_days(value, "retention_days")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)") from None
        return value

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"give at least one of {', '.join(FORMAT_NAMES)}")
        return list(dict.fromkeys(value))

    @field_validator("recipients")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        bad = [email for email in value if not EMAIL.match(email)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not an email address")
        return value

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        check_subject_template(value)
        return value

    @field_validator("teams")
    @classmethod
    def _teams(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list) and not value:
            raise ValueError('give team names, or "all"')
        return value


class ScheduleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schedules: list[ScheduledExport] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> ScheduleFile:
        names = [entry.name for entry in self.schedules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"schedule name(s) {', '.join(duplicates)} appear more than once; names must be unique")
        return self


def load_schedule_file(
    path: Path,
    *,
    templates: Sequence[str],
    is_valid_cron: Callable[[str], bool],
) -> ScheduleFile:
    """Read and check `path` as far as the file alone decides; a missing file means no schedules."""
    if not path.exists():
        return ScheduleFile()
    document = read_yaml(path, f"Schedule file {path}", ScheduleFileError) or {}
    if not isinstance(document, Mapping):
        raise ScheduleFileError(f"Schedule file {path}: expected a mapping with a `schedules:` list")
    try:
        parsed = ScheduleFile.model_validate(document)
    except ValidationError as error:
        raise ScheduleFileError(f"Schedule file {path}: {_name_entries(describe_validation_error(error), document)}") from None
    for entry in parsed.schedules:
        problem = _entry_problem(entry, templates, is_valid_cron)
        if problem:
            raise ScheduleFileError(f"Schedule file {path}: entry {entry.name!r}: {problem}")
    return parsed


def _name_entries(message: str, document: Mapping) -> str:
    """`schedules.2.cron: …` -> `entry 'platform_weekly' (schedules.2) cron: …`."""
    entries = document.get("schedules") or []

    def name_of(match: re.Match) -> str:
        index = int(match.group(1))
        entry = entries[index] if index < len(entries) and isinstance(entries[index], Mapping) else {}
        return f"entry {entry.get('name', '#' + str(index + 1))!r} (schedules.{index}) "

    return re.sub(r"schedules\.(\d+)\.", name_of, message)


def _entry_problem(entry: ScheduledExport, templates: Sequence[str], is_valid_cron: Callable[[str], bool]) -> str | None:
    if not is_valid_cron(entry.cron):
        return f"cron {entry.cron!r} is not a valid cron expression (five fields, e.g. \"0 8 * * MON\")"
    if entry.template not in templates:
        return f"template {entry.template!r} is not a known template; available: {', '.join(sorted(templates))}"
    return None


def tracker_problem(entry: ScheduledExport, team_names: Sequence[str], user_emails: Sequence[str]) -> str | None:
    """What in `entry` the tracker does not know (teams, recipients), or None."""
    if entry.teams != "all":
        unknown = [team for team in entry.teams if team not in team_names]
        if unknown:
            return f"teams: {', '.join(map(repr, unknown))} not in the tracker; teams there: {', '.join(sorted(team_names))}"
    known = {normalise_email(email) for email in user_emails}
    strangers = [email for email in entry.recipients if normalise_email(email) not in known]
    if strangers:
        return f"recipients: {', '.join(strangers)} not a user of the tracker; recipients must be tracker users"
    return None


def tracker_problems(schedules: ScheduleFile, team_names: Sequence[str], user_emails: Sequence[str]) -> dict[str, str]:
    """Entry name -> what the tracker does not know of it, for every enabled entry."""
    found = {entry.name: tracker_problem(entry, team_names, user_emails) for entry in schedules.schedules if entry.enabled}
    return {name: problem for name, problem in found.items() if problem}


def check_against_tracker(schedules: ScheduleFile, path: Path, team_names: Sequence[str], user_emails: Sequence[str]) -> None:
    """Raise ScheduleFileError naming every enabled entry that names teams or recipients the tracker lacks."""
    problems = tracker_problems(schedules, team_names, user_emails)
    if problems:
        raise ScheduleFileError("; ".join(f"Schedule file {path}: entry {name!r}: {problem}" for name, problem in problems.items()))


def select_sprints(
    entry: ScheduledExport,
    sprints: pl.DataFrame,
    window: tuple[dt.datetime, dt.datetime] | None = None,
) -> list[int]:
    """The sprint ids a tick of `entry` exports, from `list_sprints` rows.

    `window` (UTC, start inclusive, end exclusive) bounds `completed_since_last_run`
    by the sprints' `updated_at`, taken as UTC.
    """
    if entry.teams != "all":
        sprints = sprints.filter(pl.col("team_name").is_in(entry.teams))
    if entry.sprints == "active":
        chosen = sprints.filter(pl.col("status") == "active")
    elif entry.sprints == "latest_completed":
        chosen = (
            sprints.filter(pl.col("status") == "completed")
            .sort("end_date", "id")
            .group_by("team_id", maintain_order=True)
            .last()
        )
    else:
        if window is None:
            raise ValueError("completed_since_last_run needs the window since the previous tick")
        start, end = (moment.astimezone(dt.UTC).replace(tzinfo=None) for moment in window)
        chosen = sprints.filter(
            (pl.col("status") == "completed") & (pl.col("updated_at") >= start) & (pl.col("updated_at") < end)
        )
    return sorted(chosen["id"].to_list())
