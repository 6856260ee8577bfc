"""`sprint-exports`: seed the demo tracker, export sprints, and read and deliver what was exported."""

from __future__ import annotations

import click

from sprint_exports.cli.delivery import deliver_command
from sprint_exports.cli.dev import dev_command
from sprint_exports.cli.exports import demo_command, export_command, seed_demo_command
from sprint_exports.cli.history import download_command, history_command
from sprint_exports.cli.portal import portal_command, tokens_group
from sprint_exports.cli.schedules import schedules_group
from sprint_exports.cli.templates import templates_group


@click.group()
def main() -> None:
    """Sprint exports: CSV, Excel and PDF reports of an agile tracker's sprints, run by Dagster."""


for command in (
    seed_demo_command, export_command, demo_command, templates_group, schedules_group,
    deliver_command, history_command, download_command, portal_command, tokens_group, dev_command,
):
    main.add_command(command)
