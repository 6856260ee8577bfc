"""`sprint-exports`: seed the demo tracker and export sprints from the command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from sprint_exports import settings


# Before a range run's first step Dagster writes one "planned" event per sprint and asset (5,000
# for a 1,000-sprint export, ~10 ms each) unless this is set; then it writes one per asset. The
# cost: sprints of a failed run show as missing, not failed, in the UI; the CLI prints the failure.
ONE_PLANNED_EVENT_PER_ASSET = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def _instance():
    """The Dagster instance at DAGSTER_HOME (a `.dagster_home` here when unset)."""
    from dagster import DagsterInstance

    home = settings.instance_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault(ONE_PLANNED_EVENT_PER_ASSET, "true")  # an explicit setting wins
    return DagsterInstance.get()


def _fail(message: str, code: int = 1) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


@click.group()
def main() -> None:
    """Sprint exports: CSV, Excel and PDF reports of an agile tracker's sprints, run by Dagster."""


@main.command("seed-demo")
@click.option("--url", help="SQLAlchemy URL of the database to create (default: the embedded demo database).")
@click.option("--sprints", default=30, show_default=True, type=int, help="Number of sprints across 3 teams.")
@click.option("--issues-per-sprint", type=int, help="Exactly this many issues per sprint (default: 50-300).")
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed; the same seed gives the same data.")
def seed_demo_command(url: str | None, sprints: int, issues_per_sprint: int | None, seed: int) -> None:
    """Create a deterministic demo tracker database."""
    from sqlalchemy import create_engine, inspect

    from sprint_exports.source.database import masked_url, normalise_url
    from sprint_exports.source.demo import seed_demo

    target = url or settings.default_source_url()
    if target == settings.default_source_url():
        settings.demo_database_path().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(normalise_url(target))
    try:
        existing = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if "sprints" in existing:
        _fail(f"{masked_url(target)} already has tracker tables; seed an empty database instead")
    try:
        counts = seed_demo(target, sprints=sprints, issues_per_sprint=issues_per_sprint, seed=seed)
    except ValueError as error:
        _fail(str(error), 2)
    click.echo(f"Seeded {masked_url(target)}: " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@main.command("export")
@click.option("--sprint", "sprint_ids", multiple=True, type=int, help="Sprint id to export; repeat for more.")
@click.option("--all", "all_sprints", is_flag=True, help="Export every sprint in the tracker as one run.")
@click.option("--formats", default="csv,xlsx,pdf", show_default=True, help="Comma-separated formats.")
@click.option("--template", "template_name", help="Template name (see `templates list`); default sprint_summary.")
@click.option("--as", "requested_by", help="Export on behalf of this tracker user; refused if they may not see a sprint.")
def export_command(
    sprint_ids: Sequence[int], all_sprints: bool, formats: str, template_name: str | None, requested_by: str | None
) -> None:
    """Run export_sprints_job in the Dagster instance and list the files written."""
    if bool(sprint_ids) == all_sprints:
        _fail("give either --sprint ID (one or more) or --all", 2)
    _export(None if all_sprints else list(sprint_ids), formats, template_name, requested_by)


@main.command("demo")
def demo_command() -> None:
    """Seed the demo tracker if absent and export every demo sprint as one run."""
    if os.environ.get("SPRINT_SOURCE_URL"):
        click.echo("Note: SPRINT_SOURCE_URL is set, so the demo exports that database's sprints.")
    _export(None, "csv,xlsx,pdf")


def _export(
    sprint_ids: list[int] | None, formats_text: str, template_name: str | None = None, requested_by: str | None = None
) -> None:
    from sprint_exports.runner import export_sprints, parse_formats
    from sprint_exports.source.database import SourceUnavailableError
    from sprint_exports.source.readers import UnknownSprintError
    from sprint_exports.tags import REQUESTED_BY
    from sprint_exports.templates import get_template, load_templates

    try:
        formats = parse_formats(formats_text)
        if template_name is not None:
            get_template(template_name, load_templates(settings.templates_dir()))
    except ValueError as error:
        _fail(str(error), 2)
    instance = _instance()
    bar = None

    def show_progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Exporting", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        run_tags = {REQUESTED_BY: requested_by} if requested_by else None
        outcomes = export_sprints(
            instance, sprint_ids, formats, on_progress=show_progress, template=template_name, tags=run_tags
        )
    except (SourceUnavailableError, UnknownSprintError, ValueError) as error:
        _fail(str(error), 2)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    files = [file for outcome in outcomes for file in outcome.files]
    _print_files(files)
    for outcome in outcomes:
        click.echo(f"Run {outcome.run_id}: {'success' if outcome.success else 'FAILED'} ({len(outcome.partition_keys)} sprints)")
    failed = [outcome for outcome in outcomes if not outcome.success]
    if failed:
        _fail(f"run {failed[0].run_id} failed: {failed[0].error}")
    if not outcomes:
        click.echo("No sprints to export.")


def _print_files(files) -> None:
    from sprint_exports.store import human_size

    if not files:
        return
    rows = [("sprint", "format", "size", "path")]
    rows += [(f"{f.sprint_id} {f.sprint_name}", f.format, human_size(f.size_bytes), str(f.path)) for f in files]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}")


@main.group("templates")
def templates_group() -> None:
    """List, show and validate report templates."""


@templates_group.command("list")
def templates_list() -> None:
    """Every template a run can use: the built-ins and SPRINT_EXPORT_TEMPLATES_DIR's files."""
    from sprint_exports.templates import builtin_templates, load_templates

    try:
        templates = load_templates(settings.templates_dir())
    except ValueError as error:
        _fail(str(error))
    for name, template in sorted(templates.items()):
        origin = "built-in" if name in builtin_templates() else "custom"
        click.echo(f"{name:<24} {origin:<9} {template.title}")


@templates_group.command("show")
@click.argument("name")
def templates_show(name: str) -> None:
    """Print a template as resolved YAML, defaults filled in."""
    from sprint_exports.templates import get_template, load_templates, template_yaml

    try:
        click.echo(template_yaml(get_template(name, load_templates(settings.templates_dir()))), nl=False)
    except ValueError as error:
        _fail(str(error))


@templates_group.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def templates_validate(paths: tuple[Path, ...]) -> None:
    """Check template files; exit code 1 and the problems if any is invalid."""
    from sprint_exports.templates import TemplateError, builtin_templates, load_template_file

    failed = False
    for path in paths:
        try:
            template = load_template_file(path)
            if template.name in builtin_templates():
                raise TemplateError(f"Template file {path}: name {template.name!r} clashes with a built-in template")
        except TemplateError as error:
            failed = True
            click.secho(f"INVALID {error}", fg="red", err=True)
        else:
            click.echo(f"ok      {path} ({template.name})")
    if failed:
        sys.exit(1)


@main.command("deliver")
@click.argument("run_id")
@click.option("--to", "recipients", multiple=True, required=True, help="Recipient email; repeat for more.")
@click.option("--subject", help="Subject template with {team}, {sprint}, {sprint_id}.")
def deliver_command(run_id: str, recipients: tuple[str, ...], subject: str | None) -> None:
    """Email an export run's files through the same path and access rules as scheduled delivery."""
    from sprint_exports.delivery_job import deliver_exports_job
    from sprint_exports.definitions import defs
    from sprint_exports.runner import failure_message

    instance = _instance()
    if instance.get_run_by_id(run_id) is None:
        _fail(f"No Dagster run with id {run_id!r} in the instance at {settings.instance_home()}", 2)
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
        _fail(f"delivery run {result.run_id} failed: {failure_message(result)}")
    click.echo(f"Delivery run {result.run_id}: success")


def _history_inputs(users: list[str]):
    """What history and downloads need from the tracker: sprint teams and the access policy."""
    from sprint_exports.access import AccessPolicy
    from sprint_exports.source.database import connect
    from sprint_exports.source.readers import list_sprints

    engine = connect()
    try:
        sprints = list_sprints(engine)
        teams = {row["id"]: (row["team_id"], row["team_name"]) for row in sprints.iter_rows(named=True)}
        return teams, AccessPolicy.load(engine, users)
    finally:
        engine.dispose()


@main.command("history")
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

    from sprint_exports.delivery.ledger import DeliveryLedger
    from sprint_exports.history import HistoryFilter, export_history

    teams, policy = _history_inputs([user] if user else [])
    filters = HistoryFilter(
        sprint_id=sprint_id, team=team, format=format_name, user=user,
        since=since.replace(tzinfo=dt.UTC) if since else None,
    )
    ledger = DeliveryLedger(settings.delivery_ledger_url())
    try:
        entries = export_history(_instance(), teams, filters=filters, policy=policy, ledger=ledger,
                                 limit=limit, offset=(page - 1) * limit)
    finally:
        ledger.dispose()
    if as_json:
        click.echo(json.dumps([entry.as_dict() for entry in entries], indent=2, ensure_ascii=False))
        return
    from sprint_exports.store import human_size

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


@main.command("download")
@click.argument("run_id", required=False)
@click.option("--sprint", "sprint_id", type=int, help="With --latest: the sprint's newest export.")
@click.option("--latest", is_flag=True, help="The newest export of --sprint.")
@click.option("--format", "format_name", required=True, type=click.Choice(["csv", "xlsx", "pdf"]))
@click.option("--user", required=True, help="The tracker user downloading; they must be allowed to see the sprint.")
@click.option("-o", "--output", default=".", show_default=True, help="File, or folder (created if it ends with /).")
def download_command(run_id, sprint_id, latest, format_name, user, output) -> None:
    """Copy an export out, after checking access, expiry and its sha256."""
    from sprint_exports.history import DownloadRefused, download_export

    if bool(run_id) == bool(sprint_id is not None and latest):
        _fail("give either RUN_ID or --sprint ID --latest", 2)
    destination = Path(output)
    if output.endswith("/"):
        destination.mkdir(parents=True, exist_ok=True)
    teams, policy = _history_inputs([user])
    try:
        entry, target = download_export(
            _instance(), teams, policy, user=user, format_name=format_name, destination=destination,
            run_id=run_id, sprint_id=sprint_id if latest else None,
        )
    except DownloadRefused as refusal:
        _fail(str(refusal))
    click.echo(f"{target} ({entry.size_bytes} bytes, sha256 {entry.sha256} verified)")
