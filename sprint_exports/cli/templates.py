"""`templates list|show|validate`: the report templates a run can use."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from sprint_exports import settings
from sprint_exports.cli.common import fail, open_instance


@click.group("templates")
def templates_group() -> None:
    """List, show and validate report templates."""


@templates_group.command("list")
def templates_list() -> None:
    """Every template a run can use: the built-ins and SPRINT_EXPORT_TEMPLATES_DIR's files."""
    from sprint_exports.templates import builtin_templates, load_templates

    try:
        templates = load_templates(settings.templates_dir())
    except ValueError as error:
        fail(str(error))
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
        fail(str(error))


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
