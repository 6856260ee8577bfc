"""The template model: which sections, columns and charts an export contains.

Validated once, when a template is loaded, so renderers can trust every field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sprint_exports.report.model import ISSUE_COLUMNS

GROUP_BY_CHOICES = ("none", "status", "assignee", "issue_type", "priority")
ALL_ISSUE_COLUMNS = list(ISSUE_COLUMNS)


def _check_columns(columns: list[str], field_name: str) -> list[str]:
    unknown = [column for column in columns if column not in ISSUE_COLUMNS]
    if unknown:
        raise ValueError(
            f"{field_name} has unknown column(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(ALL_ISSUE_COLUMNS)}"
        )
    return columns


class TemplateFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    basic_info: bool = True
    team_info: bool = True
    issues: bool = True
    metrics: bool = True
    issue_columns: list[str] = Field(default_factory=lambda: list(ALL_ISSUE_COLUMNS))
    custom_fields: list[str] = Field(default_factory=list)

    @field_validator("issue_columns")
    @classmethod
    def _known_issue_columns(cls, columns: list[str]) -> list[str]:
        return _check_columns(columns, "issue_columns")

    @field_validator("custom_fields")
    @classmethod
    def _known_custom_fields(cls, columns: list[str]) -> list[str]:
        return _check_columns(columns, "custom_fields")


class FormatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    include_charts: bool = True
    group_by: Literal["none", "status", "assignee", "issue_type", "priority"] = "none"
    sort_by: str = "key"

    @field_validator("sort_by")
    @classmethod
    def _known_sort_column(cls, sort_by: str) -> str:
        if sort_by.removeprefix("-") not in ISSUE_COLUMNS:
            raise ValueError(
                f"sort_by {sort_by!r} is not an issue column; allowed: "
                f"{', '.join(ALL_ISSUE_COLUMNS)}, each optionally prefixed with '-' for descending"
            )
        return sort_by


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    title: str = "Sprint report"
    fields: TemplateFields = Field(default_factory=TemplateFields)
    format_options: FormatOptions = Field(default_factory=FormatOptions)

    @model_validator(mode="after")
    def _selects_something(self) -> Template:
        columns = self.columns
        duplicates = sorted({column for column in columns if columns.count(column) > 1})
        if duplicates:
            raise ValueError(
                f"column(s) {', '.join(duplicates)} appear more than once across issue_columns and custom_fields"
            )
        f = self.fields
        if not (f.basic_info or f.team_info or f.metrics or (f.issues and columns)):
            raise ValueError(
                "the template selects nothing: turn on at least one of basic_info, team_info, metrics, "
                "or issues with at least one issue column"
            )
        return self

    @property
    def columns(self) -> list[str]:
        """The issue table's columns in order: the issue columns, then the custom fields."""
        return [*self.fields.issue_columns, *self.fields.custom_fields]

    @property
    def group_column(self) -> str | None:
        group_by = self.format_options.group_by
        return None if group_by == "none" else group_by

    @property
    def table_columns(self) -> list[str]:
        """The exported issue table's columns: the group column first when grouping, then `columns`."""
        group = self.group_column
        if group is None:
            return self.columns
        return [group, *(column for column in self.columns if column != group)]

    @property
    def sort_column(self) -> str:
        return self.format_options.sort_by.removeprefix("-")

    @property
    def sort_descending(self) -> bool:
        return self.format_options.sort_by.startswith("-")
