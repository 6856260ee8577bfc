"""`history` and `download`: the export log, and copying an export out."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from sprint_exports import settings
from sprint_exports.cli.common import fail, open_instance


def warn(message: str) -> None:
    click.secho(f"Warning: {message}", fg="yellow", err=True)


def _history_inputs(users: list[str]):
    """What history and downloads need from the tracker: sprint teams and the access policy."""
    from sprint_exports.access import AccessPolicy
    from sprint_exports.source.database import connect
    from sprint_exports.source.readers import sprint_teams

    engine = connect()
    try:
        return sprint_teams(engine), AccessPolicy.load(engine, users)
    finally:
        engine.dispose()


@click.command("history")
@click.option("--sprint", "sprint_id", type=int, help="Only this sprint.")
@click.option("--team", help="Only this team's sprints.")
@click.option("--format", "format_name", type=click.Choice(["csv", "xlsx", "pdf"]), help="Only this format.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="Only exports since (UTC).")
@click.option("--user", help="Only what this tracker user may see.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="Entries per page.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="Page number, newest first.")
def history_command(sprint_id, team, format_name, since, user, as_json, limit, page) -> None:
    """List exports, newest first: when, sprint, format, template, size, checksum, who, delivery, status."""
    import datetime as dt
    import json

    from sprint_exports.delivery.ledger import DeliveryLedger, LedgerUnavailable
    from sprint_exports.instance.history import HistoryFilter, export_history

    teams, policy = _history_inputs([user] if user else [])
    filters = HistoryFilter(
        sprint_id=sprint_id, team=team, format=format_name, user=user,
        since=since.replace(tzinfo=dt.UTC) if since else None,
    )
    try:
        ledger = DeliveryLedger(settings.delivery_ledger_url())
    except LedgerUnavailable as problem:
        fail(str(problem), 2)
    try:
        entries = export_history(open_instance(), teams, filters=filters, policy=policy, ledger=ledger,
                                 limit=limit, offset=(page - 1) * limit, warn=warn)
    finally:
        ledger.dispose()
    if as_json:
        click.echo(json.dumps([entry.as_dict() for entry in entries], indent=2, ensure_ascii=False))
        return
    from sprint_exports.exports.store import human_size

    rows = [("when (UTC)", "sprint", "team", "format", "template", "size", "sha256", "by", "delivered", "status", "run")]
    for e in entries:
        sent = sum(d["status"] == "sent" for d in e.deliveries)
        refused = sum(d["status"] != "sent" for d in e.deliveries)
        rows.append((
            e.created_at.replace("T", " ")[:19], f"{e.sprint_id} {e.sprint_name}", e.team, e.format, e.template,
            human_size(e.size_bytes), e.sha256[:12], e.requested_by or (f"schedule {e.schedule}" if e.schedule else "-"),
            f"{sent} sent, {refused} not" if e.deliveries else "-", e.status, e.run_id[:8],
        ))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not entries:
        click.echo("No exports match." if page == 1 else f"No exports on page {page}.")


@click.command("download")
@click.argument("run_id", required=False)
@click.option("--sprint", "sprint_id", type=int, help="With --latest: the sprint's newest export.")
@click.option("--latest", is_flag=True, help="The newest export of --sprint.")
@click.option("--format", "format_name", required=True, type=click.Choice(["csv", "xlsx", "pdf"]))
@click.option("--user", required=True, help="The tracker user downloading; they must be allowed to see the sprint.")
@click.option("-o", "--output", default=".", show_default=True, help="File, or folder (created if it ends with /).")
def download_command(run_id, sprint_id, latest, format_name, user, output) -> None:
    """Copy an export out, after checking access, expiry, where it lies, its size and its sha256."""
    from sprint_exports.instance.history import DownloadRefused, download_export

    if bool(run_id) == bool(sprint_id is not None and latest):
        fail("give either RUN_ID or --sprint ID --latest", 2)
    destination = Path(output)
    if output.endswith("/"):
        destination.mkdir(parents=True, exist_ok=True)
    teams, policy = _history_inputs([user])
    try:
        entry, target = download_export(
            open_instance(), teams, policy, user=user, format_name=format_name, destination=destination,
            run_id=run_id, sprint_id=sprint_id if latest else None, warn=warn,
        )
    except DownloadRefused as refusal:
        fail(str(refusal))
    click.echo(f"{target} ({entry.size_bytes} bytes, sha256 {entry.sha256} verified)")
