"""The Summary sheet: the template's title, then the sprint's facts and metrics as label/value rows.

Values are typed cells: the start and end dates are dates (sortable, and
shown in the date format), metrics are numbers, and the rates and averages
show one decimal. Labels are bold in a column as wide as the longest.
"""

from __future__ import annotations

import datetime as dt

from xlsxwriter.worksheet import Worksheet

from sprint_exports.formats.xlsx.printing import PageLayout
from sprint_exports.formats.xlsx.styles import Styles
from sprint_exports.formats.xlsx.tables import BOLD_CHARACTER_WIDTH
from sprint_exports.report.model import SprintReport
from sprint_exports.templates import Template

LABEL_WIDTH = 28
VALUE_WIDTH = 48


def write_summary(sheet: Worksheet, report: SprintReport, template: Template, styles: Styles) -> PageLayout:
    """The Summary sheet's cells; returns its page layout."""
    facts = typed_facts(report) if template.fields.basic_info else []
    metrics = report.metric_rows() if template.fields.metrics else []
    labels = [label for label, _ in facts + metrics]
    label_width = max([LABEL_WIDTH, *(round(len(label) * BOLD_CHARACTER_WIDTH + 1) for label in labels)])
    sheet.set_column(0, 0, label_width)
    sheet.set_column(1, 1, VALUE_WIDTH)
    sheet.write_string(0, 0, template.title, styles.title)
    row = 2
    for label, value in facts:
        sheet.write_string(row, 0, label, styles.header)
        if isinstance(value, dt.date):
            sheet.write_datetime(row, 1, value, styles.date)
        elif value:  # an unknown fact is a blank cell, not an empty string
            sheet.write_string(row, 1, value, styles.wrapped)
        row += 1
    if facts:
        row += 1
    for label, value in metrics:
        if isinstance(value, str):  # "nothing planned": text, never a number or a formula
            sheet.write_string(row, 1, value)
        else:
            sheet.write_number(row, 1, value, styles.one_decimal if isinstance(value, float) else None)
        sheet.write_string(row, 0, label, styles.header)
        row += 1
    for note in report.burndown_notes() if template.fields.metrics else []:  # why the burndown ends above planned - completed
        sheet.write_string(row, 0, note)
        row += 1
    return PageLayout(label_width + VALUE_WIDTH)


def typed_facts(report: SprintReport) -> list[tuple[str, str | dt.date]]:
    """The report's facts, with the start and end dates as dates rather than their text."""
    dates = {"Start": report.sprint.start_date, "End": report.sprint.end_date}
    return [(label, dates[label] if dates.get(label) else text) for label, text in report.facts()]
