"""`deliver`: email an export run's files by hand, through the scheduled path."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from sprint_exports import settings
from sprint_exports.cli.common import fail, open_instance


@click.command("deliver")
@click.argument("run_id")
@click.option("--to", "recipients", multiple=True, required=True, help="Recipient email; repeat for more.")
@click.option("--subject", help="Subject template with {team}, {sprint}, {sprint_id}.")
def deliver_command(run_id: str, recipients: tuple[str, ...], subject: str | None) -> None:
    """Email an export run's files through the same path and access rules as scheduled delivery."""
    from sprint_exports.defs.delivery.jobs import deliver_exports_job
    from sprint_exports.definitions import defs
    from sprint_exports.instance.runner import failure_message

    instance = open_instance()
    if instance.get_run_by_id(run_id) is None:
        fail(f"No Dagster run with id {run_id!r} in the instance at {settings.instance_home()}", 2)
    config = {"export_run_id": run_id, "recipients": list(recipients), **({"subject": subject} if subject else {})}
    job = defs.resolve_job_def(deliver_exports_job.name)
    result = job.execute_in_process(
        instance=instance,
        run_config={"ops": {"deliver_exports": {"config": config}}, "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        tags={"sprint_exports/export_run": run_id},
        raise_on_error=False,
    )
    outcomes = []
    for event in result.all_events:
        if event.is_successful_output or event.is_step_failure:
            data = event.event_specific_data
            metadata = getattr(data, "metadata", None) or getattr(getattr(data, "user_failure_data", None), "metadata", None) or {}
            if "outcomes" in metadata:
                outcomes = metadata["outcomes"].value
    for outcome in outcomes:
        click.echo(f"{outcome['sprint']:<24} {outcome['recipient']:<32} {outcome['status']:<16} {outcome['reply']}")
    if not result.success:
        fail(f"delivery run {result.run_id} failed: {failure_message(result)}")
    click.echo(f"Delivery run {result.run_id}: success")
