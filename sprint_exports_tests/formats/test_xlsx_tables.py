"""The XLSX Issues table adds up, prints well and survives hostile names: read back with openpyxl and calamine.

A manager sums the Story points column, sorts, filters, builds a pivot table
and prints: the Issues sheet must be an Excel table of issues and nothing
else, every sheet must print one page wide with its header on every page,
and the footer must name the sprint whatever its name holds.
"""

from __future__ import annotations

import datetime as dt
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from sprint_exports.formats import xlsx
from sprint_exports.formats.xlsx.printing import HEADER_FOOTER_LIMIT, footer_text, utf16_len
from sprint_exports.formats.xlsx.private_api import set_footer_verbatim, style_index
from sprint_exports.report.model import SprintReport
from sprint_exports.templates import Template, get_template
from sprint_exports_tests.formats.test_xlsx import LARGE_ROWS, with_issues
from sprint_exports_tests.xlsx_reading import (
    HOSTILE_NAMES,
    HOSTILE_SPRINT_NAME,
    footer_sections,
    hostile_report,
    issue_table_facts,
    literal_text,
    raw_footers,
    story_points_sum,
)

GROUPED = "sprint_summary"  # the default template: grouped by status


def render(report: SprintReport, folder: Path, template: Template | None = None, name: str = "report.xlsx") -> Path:
    path = folder / name
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # xlsxwriter warns, and drops what it warns about (a footer, a table)
        xlsx.render(report, template or get_template(GROUPED), path)
    return path


@pytest.fixture(scope="module")
def demo_report(make_report) -> SprintReport:
    return make_report(4)


@pytest.fixture(scope="module")
def hostile(make_report) -> SprintReport:
    return hostile_report(make_report(4))


@pytest.fixture(scope="module")
def hostile_xlsx(hostile, tmp_path_factory) -> Path:
    return render(hostile, tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("which", ["demo", "hostile", "empty", "large"])
def test_issue_table_data_sums_to_the_planned_points(which, demo_report, hostile, make_report, empty_sprint_id, tmp_path):
    report = {
        "demo": lambda: demo_report,
        "hostile": lambda: hostile,
        "empty": lambda: make_report(empty_sprint_id),
        "large": lambda: with_issues(make_report(1), LARGE_ROWS),
    }[which]()
    facts = issue_table_facts(render(report, tmp_path))
    planned = report.issues["story_points"].fill_null(0).sum()  # `with_issues` keeps the small sprint's metrics
    assert which == "large" or planned == report.metrics.planned_points
    assert story_points_sum(facts) == planned
    issue_rows = [row for row in facts["data"] if any(value is not None for value in row)]
    assert len(issue_rows) == report.issues.height  # one row per issue, nothing else
    assert len(facts["data"]) == max(report.issues.height, 1)  # Excel: a table has at least one (blank) row
    last_row = len(facts["data"]) + 1
    assert facts["ref"] == f"A1:J{last_row}"
    assert facts["print_area"] == f"'Issues'!$A$1:$J${last_row}"
    assert facts["print_title_rows"] == "$1:$1"
    points = [row[facts["header"].index("Story points")] for row in issue_rows]
    assert all(value is None or isinstance(value, int) for value in points)


def test_grouping_survives_a_sort_because_it_is_a_column(demo_report, tmp_path):
    """Re-sorting the table by the group column gives the groups back: no row depends on its position."""
    facts = issue_table_facts(render(demo_report, tmp_path))
    status = facts["header"].index("Status")
    workflow = ["To Do", "In Progress", "In Review", "Done"]
    shuffled = sorted(facts["data"], key=lambda row: row[1])  # a manager sorts by key ...
    regrouped = sorted(shuffled, key=lambda row: workflow.index(row[status]))  # ... and back by status
    assert [row[status] for row in regrouped] == [row[status] for row in facts["data"]]
    assert {row[status] for row in facts["data"]} <= set(workflow)  # no heading row among the statuses


def test_every_sheet_prints_one_page_wide_with_repeated_headers_and_a_footer(demo_report, tmp_path):
    workbook = openpyxl.load_workbook(render(demo_report, tmp_path))
    assert workbook.sheetnames == ["Summary", "Issues", "Groups", "Team", "Burndown", "Velocity"]
    orientation = {}
    for sheet in workbook:
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (None, 0), sheet.title  # 1 wide, N tall
        orientation[sheet.title] = sheet.page_setup.orientation
        if sheet.title != "Summary":
            assert sheet.print_title_rows == "$1:$1", sheet.title
    assert orientation == {
        "Summary": "portrait",
        "Issues": "landscape",
        "Groups": "portrait",
        "Team": "landscape",
        "Burndown": "landscape",  # a chart beside the table
        "Velocity": "landscape",
    }
    for sheet, footer in raw_footers(tmp_path / "report.xlsx").items():
        sections = footer_sections(footer)
        assert literal_text(sections["L"]) == demo_report.sprint.name
        assert sections["C"] == "&A" and sections["R"] == "Page &P of &N", sheet


def test_hostile_sprint_name_is_literal_footer_text_on_every_sheet(hostile, hostile_xlsx):
    printable = HOSTILE_SPRINT_NAME.replace("\x07", " ").replace("\x1b", " ")
    footers = raw_footers(hostile_xlsx)
    assert len(footers) == 6
    for footer in footers.values():
        sections = footer_sections(footer)
        assert literal_text(sections["L"]) == printable  # no &P, &N, &G, font or size code survives
        assert utf16_len(footer) <= HEADER_FOOTER_LIMIT


def test_a_long_sprint_name_is_cut_to_excels_footer_limit_between_characters():
    for name in ["&" * 400, "🚀" * 300, "R&D " * 100, "x" * 1000]:
        footer = footer_text(name)
        assert utf16_len(footer) <= HEADER_FOOTER_LIMIT
        left = literal_text(footer_sections(footer)["L"])  # never half an `&&`
        assert left.endswith("…") and name.startswith(left[:-1])
    assert footer_text("Sprint 7") == "&LSprint 7&C&A&RPage &P of &N"


def test_hostile_text_stays_text_in_every_reader(hostile, hostile_xlsx):
    workbook = openpyxl.load_workbook(hostile_xlsx)
    calamine = CalamineWorkbook.from_path(str(hostile_xlsx))  # decodes Excel's _xHHHH_ escapes, as Excel does
    header, *issues = calamine.get_sheet_by_name("Issues").to_python()
    assert {row[header.index("Assignee")] for row in issues} == set(hostile.issues["assignee"])
    assert {row[header.index("Summary")] for row in issues} == set(hostile.issues["summary"])
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                is_total = sheet.title == "Groups" and cell.row == sheet.max_row
                assert cell.data_type != "f" or is_total, (sheet.title, cell.coordinate, cell.value)
    summary = {row[0]: row[1] for row in calamine.get_sheet_by_name("Summary").to_python() if row[0]}
    assert summary["Sprint"] == HOSTILE_SPRINT_NAME and summary["Team"] == "&P Team =1+1"
    assert calamine.sheet_names == workbook.sheetnames
    team = calamine.get_sheet_by_name("Team").to_python()
    assert [row[0] for row in team[1:]] == HOSTILE_NAMES[: hostile.members.height]
    groups = calamine.get_sheet_by_name("Groups").to_python()
    assert groups[-1] == ["Total", hostile.issues.height, hostile.metrics.planned_points]


def test_groups_sheet_keeps_hostile_group_names_as_text(hostile, tmp_path):
    template = Template.model_validate({"name": "by_assignee", "format_options": {"group_by": "assignee"}})
    path = render(hostile, tmp_path, template)
    groups = openpyxl.load_workbook(path)["Groups"]
    rows = list(groups.iter_rows(min_row=2, max_row=groups.max_row - 1))
    assert {row[0].data_type for row in rows} == {"s"}
    assert sum(row[2].value for row in rows) == hostile.metrics.planned_points
    _, *read_back = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Groups").to_python()
    assert {row[0] for row in read_back[:-1]} == set(hostile.issues["assignee"])
    assert issue_table_facts(path)["header"][0] == "Assignee"


def test_summary_has_real_dates_and_one_decimal_rates(demo_report, tmp_path):
    sheet = openpyxl.load_workbook(render(demo_report, tmp_path))["Summary"]
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2) if row[0].value}
    for label, day in (("Start", demo_report.sprint.start_date), ("End", demo_report.sprint.end_date)):
        assert isinstance(cells[label].value, dt.datetime) and cells[label].value.date() == day
        assert cells[label].number_format == "yyyy-mm-dd"
    assert isinstance(cells["Completion rate (%)"].value, float)
    assert cells["Completion rate (%)"].number_format == "0.0"
    (average,) = [cell for label, cell in cells.items() if label.startswith("Average velocity (")]
    assert average.number_format == "0.0"
    assert cells["Planned points"].number_format == "General"


def test_summary_of_a_sprint_without_dates_leaves_them_blank(make_report, empty_sprint_id, tmp_path):
    import dataclasses

    report = make_report(empty_sprint_id)
    undated = dataclasses.replace(report, sprint=dataclasses.replace(report.sprint, start_date=None, end_date=None))
    sheet = openpyxl.load_workbook(render(undated, tmp_path))["Summary"]
    cells = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    assert cells["Start"] is None and cells["End"] is None


def test_columns_are_wide_enough_for_their_headers(demo_report, tmp_path):
    workbook = openpyxl.load_workbook(render(demo_report, tmp_path))
    for name in ["Issues", "Groups", "Team", "Burndown", "Velocity"]:
        sheet = workbook[name]
        for cell in sheet[1]:
            width = sheet.column_dimensions[cell.column_letter].width
            assert width >= len(cell.value) + 3, (name, cell.value, width)  # bold text and the filter button
    burndown = workbook["Burndown"]
    assert {row[2].number_format for row in burndown.iter_rows(min_row=2)} == {"0.0"}  # ideal points


def test_every_table_part_belongs_to_its_sheet(hostile_xlsx):
    """Each table part is reached from its worksheet's relationships and listed in the content types."""
    with zipfile.ZipFile(hostile_xlsx) as archive:
        names = archive.namelist()
        content_types = archive.read("[Content_Types].xml").decode()
        tables = sorted(name for name in names if name.startswith("xl/tables/"))
        assert len(tables) == 5  # Issues, Groups, Team, Burndown, Velocity
        related = "".join(archive.read(name).decode() for name in names if name.startswith("xl/worksheets/_rels/"))
        for table in tables:
            assert f'PartName="/{table}"' in content_types
            assert f'Target="../tables/{table.rsplit("/", 1)[1]}"' in related


def test_the_private_xlsxwriter_api_we_use_is_still_there(tmp_path):
    """An xlsxwriter upgrade that drops either fails here, not in a manager's workbook."""
    path = tmp_path / "private.xlsx"
    workbook = xlsxwriter.Workbook(path)
    bold = workbook.add_format({"bold": True})
    index = style_index(bold)
    assert isinstance(index, int) and index > 0
    sheet = workbook.add_worksheet()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        set_footer_verbatim(sheet, "&LR&&G &&[Picture]&RPage &P", "&RPage &P")
    workbook.close()
    assert raw_footers(path) == {"Sheet1": "&LR&&G &&[Picture]&RPage &P"}
    with zipfile.ZipFile(path) as archive:
        assert "<b/>" in archive.read("xl/styles.xml").decode()
