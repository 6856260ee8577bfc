"""`schedules validate`: check the scheduled-exports file, the tracker's teams and users included."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sprint_exports import settings
from sprint_exports.cli.common import fail


@click.group("schedules")
def schedules_group() -> None:
    """Check the scheduled-exports file (export_schedules.yaml)."""


@schedules_group.command("validate")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def schedules_validate(path: Path | None) -> None:
    """Check FILE (default: SPRINT_EXPORT_SCHEDULES) against the templates and the tracker; exit 1 with the problems.

    Disabled entries are checked as far as the file decides, not against the tracker.
    """
    from sprint_exports.delivery.schedule_file import load_schedule_file, tracker_problems
    from sprint_exports.instance.dagster_private import is_valid_cron
    from sprint_exports.source.database import SourceUnavailableError, connect
    from sprint_exports.source.readers import team_and_user_names
    from sprint_exports.templates import load_templates

    path = path or settings.schedules_file()
    if not path.is_file():
        fail(f"No schedule file at {path}", 2)
    try:
        schedules = load_schedule_file(path, templates=list(load_templates(settings.templates_dir())), is_valid_cron=is_valid_cron)
        engine = connect()
    except (ValueError, SourceUnavailableError) as error:
        click.secho(f"INVALID {error}", fg="red", err=True)
        sys.exit(1)
    try:
        problems = tracker_problems(schedules, *team_and_user_names(engine))
    finally:
        engine.dispose()
    for entry in schedules.schedules:
        if entry.name in problems:
            click.secho(f"INVALID Schedule file {path}: entry {entry.name!r}: {problems[entry.name]}", fg="red", err=True)
        else:
            click.echo(f"ok      {entry.name}{'' if entry.enabled else ' (disabled: tracker not checked)'}")
    if problems:
        sys.exit(1)
