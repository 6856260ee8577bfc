"""Report templates: the model, the built-in YAML files, loading and validation."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from sprint_exports.templates.model import Template

BUILTIN_DIR = Path(__file__).parent / "builtin"
DEFAULT_TEMPLATE = "sprint_summary"


class TemplateError(ValueError):
    """A template that cannot be used, with a message naming the file and field."""


def load_template_file(path: Path) -> Template:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TemplateError(f"Template file {path}: cannot read it as YAML: {error}") from None
    if not isinstance(document, dict):
        raise TemplateError(f"Template file {path}: expected a mapping with name, title, fields, format_options")
    try:
        return Template.model_validate(document)
    except ValueError as error:
        raise TemplateError(f"Template file {path}: {error}") from None


@cache
def builtin_templates() -> dict[str, Template]:
    templates = (load_template_file(path) for path in sorted(BUILTIN_DIR.glob("*.yaml")))
    return {template.name: template for template in templates}


def get_template(name: str) -> Template:
    templates = builtin_templates()
    if name not in templates:
        raise TemplateError(f"Unknown template {name!r}; available: {', '.join(sorted(templates))}")
    return templates[name]


__all__ = ["DEFAULT_TEMPLATE", "Template", "TemplateError", "builtin_templates", "get_template", "load_template_file"]
