"""Reading an XLSX export back as a manager's spreadsheet app would, and a report with hostile names.

Shared by the XLSX table, print and LibreOffice tests. The checks read the
file with openpyxl and the raw XML, never with the renderer's own code.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import polars as pl
from openpyxl.utils import range_boundaries

from sprint_exports.report.model import SprintReport

MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

# A sprint name that is every kind of trouble at once: a formula, footer codes (page number, page
# count, picture, font, font size), a path, a reserved device name, control characters, every script.
HOSTILE_SPRINT_NAME = (
    '=HYPERLINK("http://evil.test","x") R&D &P of &N &G &[Picture] &"Arial,Bold"&14 '
    "../../etc/passwd CON\x07\x1b Ελλάδα Москва עברית العربية 中文 日本語 한국어 ไทย हिन्दी 🚀"
)
HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.test","click")',
    "+1",
    "-1+2",
    "@SUM(A1:A9)",
    "\tTabbed",
    "../../etc/passwd",
    "C:\\Windows\\CON",
    "NUL.txt",
    "&P&N&G&[Picture]",
    "ctrl\x01\x1fchars",
    "_x0041_",
    "Zoë Ñúñez",
    "Ελένη",
    "Иван",
    "דוד כהן",
    "محمد علي",
    "李雷",
    "山田 太郎",
    "김민준",
    "สมชาย",
    "अर्जुन",
    "🚀 Rocket",
]


def hostile_report(report: SprintReport) -> SprintReport:
    """`report` with hostile sprint, team, assignee, summary and label text (its numbers unchanged)."""
    issues = report.issues
    cycle = list(itertools.islice(itertools.cycle(HOSTILE_NAMES), issues.height))
    issues = issues.with_columns(
        assignee=pl.Series(cycle),
        summary=pl.Series([f"{name} summary" if index % 3 else name for index, name in enumerate(cycle)]),
        labels=pl.Series(list(reversed(cycle))),
    )
    members = report.members.with_columns(name=pl.Series(HOSTILE_NAMES[: report.members.height]))
    sprint = dataclasses.replace(report.sprint, name=HOSTILE_SPRINT_NAME, team_name="&P Team =1+1")
    return dataclasses.replace(report, sprint=sprint, issues=issues, members=members)


def issue_table_facts(path: Path) -> dict:
    """The Issues sheet's Excel table as openpyxl reads it: checked for what Excel insists on.

    Returns its ref, header, data rows (the rows inside the table below the
    header), print area and print title rows.
    """
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Issues"]
    (name,) = sheet.tables.keys()
    table = sheet.tables[name]
    first_column, first_row, last_column, last_row = range_boundaries(table.ref)
    assert (first_column, first_row) == (1, 1)
    assert table.autoFilter.ref == table.ref and not table.totalsRowCount
    header = [cell.value for cell in sheet[1]]
    assert [column.name for column in table.tableColumns] == header  # Excel: header text = column names
    assert len({label.lower() for label in header}) == len(header)  # Excel: unique, case-insensitive
    assert last_column == len(header)
    data = [list(row) for row in sheet.iter_rows(min_row=2, max_row=last_row, max_col=last_column, values_only=True)]
    assert sheet.max_row <= last_row  # nothing below the table
    return {
        "ref": table.ref,
        "header": header,
        "data": data,
        "print_area": sheet.print_area,
        "print_title_rows": sheet.print_title_rows,
        "sheet": sheet,
    }


def story_points_sum(facts: dict) -> int:
    points = facts["header"].index("Story points")
    return sum(row[points] or 0 for row in facts["data"])


def raw_footers(path: Path) -> dict[str, str]:
    """Sheet name -> its odd-page footer string, from the XML (openpyxl's parser misreads `&&"`)."""
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        names = [sheet.get("name") for sheet in workbook.iter(f"{MAIN_NS}sheet")]
        footers = {}
        for index, name in enumerate(names, start=1):
            sheet = ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{index}.xml"))
            footer = sheet.find(f"{MAIN_NS}headerFooter/{MAIN_NS}oddFooter")
            footers[name] = "" if footer is None else footer.text
        return footers


def footer_sections(footer: str) -> dict[str, str]:
    """A footer string split into its left, centre and right sections, codes kept, `&&` kept."""
    sections: dict[str, str] = {}
    current, text = None, ""
    for token in re.findall(r"&&|&[LCR]|&|[^&]+", footer):
        if token in ("&L", "&C", "&R"):
            if current:
                sections[current] = text
            current, text = token[1], ""
        else:
            text += token
    if current:
        sections[current] = text
    return sections


def literal_text(section: str) -> str:
    """A section holding literal text only, as Excel prints it; fails on any code left in it."""
    assert "&" not in section.replace("&&", ""), f"a code in {section!r}"
    return section.replace("&&", "&")
