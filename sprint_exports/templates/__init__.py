"""Report templates: the model, the built-in YAML files, custom template folders.

Templates are validated when they are loaded, at definition load, so a bad
file stops the code location from loading with a message that names the
file, the field and what is allowed, instead of failing a run later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from sprint_exports.templates.model import Template

BUILTIN_DIR = Path(__file__).parent / "builtin"
DEFAULT_TEMPLATE = "sprint_summary"


class TemplateError(ValueError):
    """A template that cannot be used, with a message naming the file and field."""


# Error messages never echo what a file holds beyond what its author needs: a template path may be a
# symlink to a secret (a file like /etc/shadow parses as YAML keys), so a key is shown only when it
# looks like a field name, and YAML errors give the line and column, never the line itself.
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
GRAMMAR = re.compile(r"^.(<[a-z ]+>|[^\w\s]{1,3}|\\[a-z])?.$")  # '<stream end>', ']', '\t': YAML's own words


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """What is wrong and where (line, column), without the file's text."""
    problem = getattr(error, "problem", None) or type(error).__name__
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    if isinstance(error, yaml.reader.ReaderError):
        problem, where = "a character YAML does not allow", f" at character {error.position}"
    return QUOTED.sub(lambda quoted: quoted.group() if GRAMMAR.match(quoted.group()) else "…", str(problem)) + where


def _field_path(location: tuple) -> str:
    parts = [str(part) if isinstance(part, int) or FIELD_NAME.match(str(part)) else "<a key that is not a field name>" for part in location]
    return ".".join(parts)


def describe_validation_error(error: ValidationError) -> str:
    """Pydantic's errors as `field: problem` lines a person can act on."""
    lines = []
    for problem in error.errors():
        field = _field_path(problem["loc"]) or "template"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "is not a template field (allowed: name, title, fields, format_options and their documented keys)"
        elif problem["type"] == "literal_error":
            message = f"{problem['input']!r} is not allowed; {message[0].lower()}{message[1:]}"
        elif problem["type"] == "string_pattern_mismatch" and field == "name":
            message = "must be lower-case letters, digits and underscores, starting with a letter"
        lines.append(f"{field}: {message}")
    return "; ".join(lines)


def parse_template(document: object, source: str) -> Template:
    """Validate a template given as parsed YAML/run config; `source` names it in errors."""
    if not isinstance(document, Mapping):
        raise TemplateError(f"{source}: expected a mapping with name, title, fields, format_options")
    try:
        return Template.model_validate(dict(document))
    except ValidationError as error:
        raise TemplateError(f"{source}: {describe_validation_error(error)}") from None


def read_yaml(path: Path, label: str, error: type[ValueError]) -> object:
    """The parsed YAML of `path` (a template or schedule file); a failure raises `error` naming `label`
    and where in the file, never the file's text (it may be a link to anything)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as problem:
        raise error(f"{label}: cannot read it as YAML: {describe_yaml_error(problem)}") from None
    except UnicodeDecodeError as problem:
        raise error(f"{label}: is not UTF-8 text (byte {problem.start})") from None
    except OSError as problem:
        raise error(f"{label}: cannot read it: {problem.strerror}") from None


def load_template_file(path: Path) -> Template:
    return parse_template(read_yaml(path, f"Template file {path}", TemplateError), f"Template file {path}")


@cache
def builtin_templates() -> dict[str, Template]:
    templates = (load_template_file(path) for path in sorted(BUILTIN_DIR.glob("*.yaml")))
    return {template.name: template for template in templates}


def load_templates(custom_dir: Path | None) -> dict[str, Template]:
    """The built-ins plus every `*.yaml`/`*.yml` in `custom_dir` (which may be absent)."""
    templates = dict(builtin_templates())
    if custom_dir is None or not custom_dir.is_dir():
        return templates
    origins: dict[str, Path] = {}
    for path in sorted([*custom_dir.glob("*.yaml"), *custom_dir.glob("*.yml")]):
        template = load_template_file(path)
        if template.name in builtin_templates():
            raise TemplateError(
                f"Template file {path}: name {template.name!r} clashes with a built-in template "
                f"({', '.join(sorted(builtin_templates()))}); choose another name"
            )
        if template.name in origins:
            raise TemplateError(
                f"Template file {path}: name {template.name!r} is already used by {origins[template.name]}"
            )
        origins[template.name] = path
        templates[template.name] = template
    return templates


def get_template(name: str, templates: Mapping[str, Template] | None = None) -> Template:
    available = builtin_templates() if templates is None else templates
    if name not in available:
        raise TemplateError(f"Unknown template {name!r}; available: {', '.join(sorted(available))}")
    return available[name]


def template_yaml(template: Template) -> str:
    """The resolved template as YAML, in the field order of the model."""
    return yaml.safe_dump(template.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


__all__ = [
    "DEFAULT_TEMPLATE",
    "describe_yaml_error",
    "Template",
    "TemplateError",
    "builtin_templates",
    "get_template",
    "load_template_file",
    "load_templates",
    "parse_template",
    "template_yaml",
]
