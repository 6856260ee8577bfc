"""`seed-demo`, `export` and `demo`: make the demo tracker and export sprints."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from sprint_exports import settings
from sprint_exports.cli.common import fail, open_instance


@click.command("seed-demo")
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
        fail(f"{masked_url(target)} already has tracker tables; seed an empty database instead")
    try:
        counts = seed_demo(target, sprints=sprints, issues_per_sprint=issues_per_sprint, seed=seed)
    except ValueError as error:
        fail(str(error), 2)
    click.echo(f"Seeded {masked_url(target)}: " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@click.command("export")
@click.option("--sprint", "sprint_ids", multiple=True, type=int, help="Sprint id to export; repeat for more.")
@click.option("--all", "all_sprints", is_flag=True, help="Export every sprint in the tracker as one run.")
@click.option("--formats", default="csv,xlsx,pdf", show_default=True, help="Comma-separated formats.")
@click.option("--template", "template_name", help="Template name (see `templates list`); default sprint_summary.")
@click.option(
    "--as", "requested_by",
    help="Export on behalf of this tracker user (a signed sprint_exports/requested_by); refused if they may not see a sprint.",
)
def export_command(
    sprint_ids: Sequence[int], all_sprints: bool, formats: str, template_name: str | None, requested_by: str | None
) -> None:
    """Run export_sprints_job in the Dagster instance and list the files written."""
    if bool(sprint_ids) == all_sprints:
        fail("give either --sprint ID (one or more) or --all", 2)
    _export(None if all_sprints else list(sprint_ids), formats, template_name, requested_by)


@click.command("demo")
def demo_command() -> None:
    """Seed the demo tracker if absent and export every demo sprint as one run."""
    if os.environ.get("SPRINT_SOURCE_URL"):
        click.echo("Note: SPRINT_SOURCE_URL is set, so the demo exports that database's sprints.")
    _export(None, "csv,xlsx,pdf")


def _export(
    sprint_ids: list[int] | None, formats_text: str, template_name: str | None = None, requested_by: str | None = None
) -> None:
    from sprint_exports.access import AccessRefused
    from sprint_exports.instance.runner import export_sprints, parse_formats
    from sprint_exports.source.database import SourceUnavailableError
    from sprint_exports.source.readers import UnknownSprintError
    from sprint_exports.templates import get_template, load_templates

    try:
        formats = parse_formats(formats_text)
        if template_name is not None:
            get_template(template_name, load_templates(settings.templates_dir()))
    except ValueError as error:
        fail(str(error), 2)
    instance = open_instance()
    bar = None

    def show_progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Exporting", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        outcomes = export_sprints(
            instance, sprint_ids, formats, on_progress=show_progress, template=template_name, requested_by=requested_by
        )
    except (SourceUnavailableError, UnknownSprintError, AccessRefused, ValueError) as error:
        fail(str(error), 2)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    files = [file for outcome in outcomes for file in outcome.files]
    _print_files(files)
    for outcome in outcomes:
        click.echo(f"Run {outcome.run_id}: {'success' if outcome.success else 'FAILED'} ({len(outcome.partition_keys)} sprints)")
    failed = [outcome for outcome in outcomes if not outcome.success]
    if failed:
        fail(f"run {failed[0].run_id} failed: {failed[0].error}")
    if not outcomes:
        click.echo("No sprints to export.")


def _print_files(files) -> None:
    from sprint_exports.exports.store import human_size

    if not files:
        return
    rows = [("sprint", "format", "size", "path")]
    rows += [(f"{f.sprint_id} {f.sprint_name}", f.format, human_size(f.size_bytes), str(f.path)) for f in files]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}")
