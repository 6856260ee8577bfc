"""Choosing a template at launch: the `report_template` resource and its run config.

One resource configures all three export assets of a run, so a template is
chosen in one place: by name, or inline. The inline form mirrors the core
template model with Dagster config types, so an unknown column or grouping is
rejected by Dagster when the run is launched; the rules a schema cannot state
(duplicates, an empty template) are checked when the run starts, before
anything is read or written. A template `name` is one of the templates known
when the code location loaded (built-ins and the custom folder), so an
unknown name is refused as you type in the Launchpad; adding a custom
template needs a reload of the code location, as its file is checked then.

These are the only resource options a launch may set; like every launch
option they may not read the environment (`{env: …}`), see `run_start.py`.
"""

from __future__ import annotations

from enum import Enum

from dagster import Config, ConfigurableResource, InitResourceContext
from pydantic import Field

from sprint_exports import settings
from sprint_exports.defs.common.run_start import refuse_environment_reads
from sprint_exports.report.model import ISSUE_COLUMNS
from sprint_exports.templates import DEFAULT_TEMPLATE, Template, TemplateError, get_template, load_templates, parse_template
from sprint_exports.templates.model import GROUP_BY_CHOICES

IssueColumnName = Enum("IssueColumnName", {name: name for name in ISSUE_COLUMNS})
GroupBy = Enum("GroupBy", {name: name for name in GROUP_BY_CHOICES})
# Template names are lower-case identifiers (the template model checks that), so they make enum members.
TemplateName = Enum("TemplateName", {name: name for name in sorted(load_templates(settings.templates_dir()))})


class InlineTemplateFields(Config):
    basic_info: bool = True
    team_info: bool = True
    issues: bool = True
    metrics: bool = True
    issue_columns: list[IssueColumnName] = Field(default_factory=lambda: list(IssueColumnName))
    custom_fields: list[IssueColumnName] = Field(default_factory=list)


class InlineFormatOptions(Config):
    include_charts: bool = True
    group_by: GroupBy = GroupBy.none
    sort_by: str = Field(default="key", description="An issue column; prefix '-' for descending.")


class InlineTemplate(Config):
    name: str = "inline"
    title: str = "Sprint report"
    fields: InlineTemplateFields = Field(default_factory=InlineTemplateFields)
    format_options: InlineFormatOptions = Field(default_factory=InlineFormatOptions)

    def to_template(self) -> Template:
        f, o = self.fields, self.format_options
        document = {
            "name": self.name,
            "title": self.title,
            "fields": {
                "basic_info": f.basic_info,
                "team_info": f.team_info,
                "issues": f.issues,
                "metrics": f.metrics,
                "issue_columns": [_value(c) for c in f.issue_columns],
                "custom_fields": [_value(c) for c in f.custom_fields],
            },
            "format_options": {"include_charts": o.include_charts, "group_by": _value(o.group_by), "sort_by": o.sort_by},
        }
        return parse_template(document, "Inline template in run config (resources.report_template.config.inline)")


def _value(member: Enum | str) -> str:
    """Dagster hands back enum members or their names depending on the path; accept both."""
    return member.value if isinstance(member, Enum) else str(member)


class ReportTemplate(ConfigurableResource):
    """The template of a run's exports: a built-in or custom template by name, or one given inline."""

    name: TemplateName = Field(default=TemplateName[DEFAULT_TEMPLATE], description="A built-in or custom template's name.")
    inline: InlineTemplate | None = Field(default=None, description="A whole template; overrides `name`.")

    def resolve(self) -> Template:
        if self.inline is not None:
            return self.inline.to_template()
        return get_template(_value(self.name), load_templates(settings.templates_dir()))

    def setup_for_execution(self, context: InitResourceContext) -> None:
        refuse_environment_reads(context.run)
        try:
            self.resolve()
        except TemplateError as error:
            raise TemplateError(f"report_template: {error}") from None
