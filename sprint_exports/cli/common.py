"""What every command shares: the Dagster instance and failing with a message."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from sprint_exports import settings

# Before a range run's first step Dagster writes one "planned" event per sprint and asset (5,000
# for a 1,000-sprint export, ~10 ms each) unless this is set; then it writes one per asset. The
# cost: sprints of a failed run show as missing, not failed, in the UI; the CLI prints the failure.
ONE_PLANNED_EVENT_PER_ASSET = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def open_instance():
    """The Dagster instance at DAGSTER_HOME (a `.dagster_home` here when unset)."""
    from dagster import DagsterInstance

    from sprint_exports.instance.event_writes import enable_batches_for

    home = settings.instance_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault(ONE_PLANNED_EVENT_PER_ASSET, "true")  # an explicit setting wins
    instance = DagsterInstance.get()
    enable_batches_for(instance)  # export steps record their files in batches
    return instance


def fail(message: str, code: int = 1) -> NoReturn:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)
