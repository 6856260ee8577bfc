"""The XLSX renderer, read back with independent readers (openpyxl, python-calamine) and as a zip."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import polars as pl
import pytest
from openpyxl.utils.datetime import from_excel
from python_calamine import CalamineWorkbook

from sprint_exports.formats import xlsx
from sprint_exports.formats.cells import column_labels
from sprint_exports.report.issue_order import issue_rows
from sprint_exports.formats.xlsx.sheet import EXCEL_DAYS_BEFORE_UNIX_EPOCH, MICROSECONDS_PER_DAY, SheetColumn, rows_xml
from sprint_exports.report.metrics import compute_metrics
from sprint_exports.report.model import SprintReport, build_report
from sprint_exports.templates import Template, get_template

ALL_SHEETS = ["Summary", "Issues", "Team", "Burndown", "Velocity"]
NON_LATIN = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")  # Greek, Cyrillic
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def render(report: SprintReport, template: Template, folder: Path, name: str = "report.xlsx") -> Path:
    path = folder / name
    xlsx.render(report, template, path)
    return path


def sheet_rows(path: Path, sheet: str) -> list[tuple]:
    return list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))


def part_relations(archive: zipfile.ZipFile, part: str) -> list[str]:
    """The parts that `part` points to through its .rels file, as paths inside the zip."""
    folder, name = posixpath.split(part)
    rels = f"{folder}/_rels/{name}.rels"
    if rels not in archive.namelist():
        return []
    targets = [relation.get("Target") for relation in ElementTree.fromstring(archive.read(rels))]
    return [target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"{folder}/{target}") for target in targets]


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its worksheet part, resolved through the workbook's relationships."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {relation.get("Id"): "xl/" + relation.get("Target") for relation in rels}
    return {sheet.get("name"): targets[sheet.get(f"{{{RELS_NS}}}id")] for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet")}


def charts_by_sheet(path: Path) -> dict[str, list[str]]:
    """Sheet name -> the chart XML of every chart its drawing holds (openpyxl does not load charts)."""
    with zipfile.ZipFile(path) as archive:
        charts = {}
        for sheet, part in sheet_parts(archive).items():
            drawings = [target for target in part_relations(archive, part) if "/drawings/" in target]
            chart_parts = [chart for drawing in drawings for chart in part_relations(archive, drawing)]
            charts[sheet] = [archive.read(chart).decode() for chart in chart_parts]
        return charts


def chart_entries(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return [name for name in archive.namelist() if name.startswith("xl/charts/")]


@pytest.fixture(scope="module")
def default_template(default_template) -> Template:
    """The default template without grouping, so rows map one to one; grouping has its own tests."""
    return Template.model_validate(
        {**default_template.model_dump(), "format_options": {**default_template.format_options.model_dump(), "group_by": "none"}}
    )


@pytest.fixture(scope="module")
def awkward_report(make_report, awkward_sprint_id) -> SprintReport:
    return make_report(awkward_sprint_id)


@pytest.fixture(scope="module")
def awkward_xlsx(awkward_report, default_template, tmp_path_factory) -> Path:
    return render(awkward_report, default_template, tmp_path_factory.mktemp("xlsx"))


def test_sheets_follow_the_template_sections(awkward_report, default_template, awkward_xlsx):
    assert awkward_report.sprint.status == "completed"
    assert openpyxl.load_workbook(awkward_xlsx).sheetnames == ALL_SHEETS


def test_render_returns_the_issue_row_count(awkward_report, default_template, tmp_path):
    assert xlsx.render(awkward_report, default_template, tmp_path / "r.xlsx") == awkward_report.issues.height


def test_summary_has_title_facts_and_every_metric_as_a_number(awkward_report, default_template, awkward_xlsx):
    sheet = openpyxl.load_workbook(awkward_xlsx)["Summary"]
    assert sheet["A1"].value == default_template.title
    assert sheet["A1"].font.b and sheet["A1"].font.sz > 11
    values = {label: value for label, value in sheet.iter_rows(min_row=2, values_only=True) if label}
    assert values["Sprint"] == awkward_report.sprint.name
    assert values["Team"] == awkward_report.sprint.team_name
    for label, number in awkward_report.metric_rows():
        assert isinstance(values[label], int | float), label
        assert values[label] == pytest.approx(number), label
    assert values["Planned points"] == awkward_report.metrics.planned_points


def test_issue_table_matches_the_report_cell_for_cell(awkward_report, default_template, awkward_xlsx):
    header, *rows = sheet_rows(awkward_xlsx, "Issues")
    expected = issue_rows(awkward_report, default_template)
    assert list(header) == column_labels(default_template)
    assert len(rows) == expected.height
    for written, row in zip(rows, expected.iter_rows()):
        for value, original in zip(written, row):
            if isinstance(original, dt.datetime):
                assert abs(value - original) < dt.timedelta(milliseconds=1)
            else:
                assert value == original
    assert {row[0] for row in rows} == set(awkward_report.issues["key"])


def test_issue_cells_have_real_types(awkward_xlsx, default_template):
    sheet = openpyxl.load_workbook(awkward_xlsx)["Issues"]
    labels = column_labels(default_template)
    points = labels.index("Story points") + 1
    created = labels.index("Created") + 1
    point_cells = [row[0] for row in sheet.iter_rows(min_row=2, min_col=points, max_col=points)]
    assert any(cell.value is not None for cell in point_cells)
    assert all(cell.data_type == "n" for cell in point_cells if cell.value is not None)
    created_cells = [row[0] for row in sheet.iter_rows(min_row=2, min_col=created, max_col=created)]
    assert all(isinstance(cell.value, dt.datetime) for cell in created_cells)
    assert created_cells[0].number_format == "yyyy-mm-dd hh:mm"


def test_formula_like_text_stays_text(awkward_report, awkward_xlsx):
    sheet = openpyxl.load_workbook(awkward_xlsx)["Issues"]
    cells = {row[1].value: row[1] for row in sheet.iter_rows(min_row=2)}
    risky = [text for text in awkward_report.issues["summary"] if text and text[0] in "=+-@\t"]
    assert any(text.startswith("=") for text in risky)
    for text in risky:
        assert cells[text].data_type == "s"
        assert cells[text].value == text  # intact, no quote prefix
    with zipfile.ZipFile(awkward_xlsx) as archive:
        issues_xml = archive.read(sheet_parts(archive)["Issues"]).decode()
    assert "<f>" not in issues_xml and "<hyperlink" not in issues_xml


def test_non_latin_names_read_back_exactly(demo_extracts, make_report, default_template, tmp_path):
    sprint_id = next(
        sprint_id
        for sprint_id, extract in demo_extracts.items()
        if extract.issues["assignee"].drop_nulls().str.contains(NON_LATIN.pattern).any()
    )
    report = make_report(sprint_id)
    path = render(report, default_template, tmp_path)
    assignee = column_labels(default_template).index("Assignee")
    _, *issues = sheet_rows(path, "Issues")
    written = {row[assignee] for row in issues} - {None}
    assert written == set(report.issues["assignee"].drop_nulls())
    assert any(NON_LATIN.search(name) for name in written)
    _, *team = sheet_rows(path, "Team")
    assert [row[0] for row in team] == report.members["name"].to_list()
    assert [row[3] for row in team] == report.members["capacity"].to_list()


def test_issue_header_is_bold_frozen_and_filtered(awkward_report, default_template, awkward_xlsx):
    sheet = openpyxl.load_workbook(awkward_xlsx)["Issues"]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    last_column = openpyxl.utils.get_column_letter(len(default_template.columns))
    # The filter is the Excel table's own (a sheet filter over a table is an error in Excel).
    assert sheet.auto_filter.ref is None
    assert sheet.tables["IssueTable"].autoFilter.ref == f"A1:{last_column}{awkward_report.issues.height + 1}"
    assert sheet.column_dimensions["B"].width == pytest.approx(48, abs=1)


def test_burndown_has_dates_and_a_line_chart(awkward_report, awkward_xlsx):
    header, *rows = sheet_rows(awkward_xlsx, "Burndown")
    burndown = awkward_report.metrics.burndown
    assert list(header) == ["Day", "Remaining points", "Ideal points"]
    assert [row[0].date() for row in rows] == burndown["day"].to_list()
    assert [row[1] for row in rows] == burndown["remaining_points"].to_list()
    assert entry_exists(awkward_xlsx, "xl/charts/chart1.xml")
    charts = charts_by_sheet(awkward_xlsx)
    (burndown_chart,) = charts["Burndown"]
    assert "<c:lineChart>" in burndown_chart and burndown_chart.count("<c:ser>") == 2
    assert "Burndown!$B$2:$B$" in burndown_chart and "Burndown!$C$2:$C$" in burndown_chart
    (velocity_chart,) = charts["Velocity"]
    assert "<c:barChart>" in velocity_chart and '<c:barDir val="col"/>' in velocity_chart
    assert charts["Issues"] == []


def entry_exists(path: Path, name: str) -> bool:
    with zipfile.ZipFile(path) as archive:
        return name in archive.namelist()


def test_velocity_sheet_lists_the_history(awkward_report, awkward_xlsx):
    _, *rows = sheet_rows(awkward_xlsx, "Velocity")
    history = awkward_report.metrics.velocity_history
    assert rows == list(zip(history["name"], history["velocity"]))


def test_no_charts_when_the_template_turns_them_off(awkward_report, tmp_path):
    template = Template.model_validate({"name": "no_charts", "format_options": {"include_charts": False}})
    path = render(awkward_report, template, tmp_path)
    assert chart_entries(path) == []
    assert openpyxl.load_workbook(path).sheetnames == ALL_SHEETS


def test_sections_the_template_leaves_out_have_no_sheet(awkward_report, tmp_path):
    no_team = Template.model_validate({"name": "no_team", "fields": {"team_info": False}})
    assert openpyxl.load_workbook(render(awkward_report, no_team, tmp_path, "a.xlsx")).sheetnames == [
        "Summary",
        "Issues",
        "Burndown",
        "Velocity",
    ]
    issues_only = Template.model_validate(
        {"name": "issues_only", "fields": {"basic_info": False, "team_info": False, "metrics": False}}
    )
    path = render(awkward_report, issues_only, tmp_path, "b.xlsx")
    assert openpyxl.load_workbook(path).sheetnames == ["Issues"]
    assert chart_entries(path) == []


def test_column_choice_and_sort_order_follow_the_template(awkward_report, tmp_path):
    template = Template.model_validate(
        {
            "name": "points_first",
            "fields": {"issue_columns": ["story_points", "key"], "custom_fields": ["resolved_at"]},
            "format_options": {"sort_by": "-story_points"},
        }
    )
    header, *rows = sheet_rows(render(awkward_report, template, tmp_path), "Issues")
    assert list(header) == ["Story points", "Key", "Resolved"]
    expected = issue_rows(awkward_report, template)
    assert [row[:2] for row in rows] == list(zip(expected["story_points"], expected["key"]))


def test_empty_sprint_gives_headers_and_no_rows(make_report, empty_sprint_id, default_template, tmp_path):
    report = make_report(empty_sprint_id)
    path = tmp_path / "empty.xlsx"
    assert xlsx.render(report, default_template, path) == 0
    assert sheet_rows(path, "Issues") == [tuple(column_labels(default_template))]
    calamine_rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Issues").to_python()
    assert calamine_rows == [column_labels(default_template)]


def test_sprint_without_dates_has_no_chart_over_an_empty_range(demo_extracts, empty_sprint_id, default_template, tmp_path):
    extract = demo_extracts[empty_sprint_id]
    undated = dataclasses.replace(
        extract, sprint=dataclasses.replace(extract.sprint, start_date=None, end_date=None, updated_at=None)
    )
    report = build_report(undated, compute_metrics(undated))
    assert report.metrics.burndown.is_empty() and report.metrics.velocity_history.is_empty()
    path = render(report, default_template, tmp_path)
    assert chart_entries(path) == []
    assert sheet_rows(path, "Burndown") == [("Day", "Remaining points", "Ideal points")]
    assert sheet_rows(path, "Velocity") == [("Sprint", "Velocity")]


def test_two_renders_are_byte_identical(awkward_report, default_template, tmp_path):
    first = render(awkward_report, default_template, tmp_path, "first.xlsx")
    second = render(awkward_report, default_template, tmp_path, "second.xlsx")
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    properties = openpyxl.load_workbook(first).properties
    assert properties.created == awkward_report.sprint.updated_at
    assert properties.title == awkward_report.sprint.name


def test_awkward_text_is_kept_or_truncated_never_corrupting_the_file(awkward_report, default_template, tmp_path):
    texts = ["nul\x00bell\x07end", "_x0041_ is literal text", "x" * 40_000, "🚀" * 20_000, "  padded  "]
    issues = awkward_report.issues.head(len(texts)).with_columns(
        summary=pl.Series(texts), key=pl.Series([f"T-{index}" for index in range(len(texts))])
    )
    path = render(dataclasses.replace(awkward_report, issues=issues), default_template, tmp_path)
    openpyxl.load_workbook(path)  # well-formed XML
    # calamine decodes Excel's _xHHHH_ escapes the way Excel does.
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Issues").to_python()
    summaries = [row[1] for row in rows[1:]]
    assert summaries[0] == "nul\x00bell\x07end"
    assert summaries[1] == "_x0041_ is literal text"
    assert summaries[2] == "x" * 32_767
    assert summaries[3] == "🚀" * 16_383  # 32,766 UTF-16 units: a rocket is two
    assert summaries[4] == "  padded  "


def test_grouped_issues_are_sorted_rows_with_subtotals_on_their_own_sheet(make_report, tmp_path):
    """Grouping is the rows' order plus a Groups sheet: no heading or subtotal row inside the issue table."""
    template = get_template("sprint_summary")  # grouped by status
    report = make_report(4)
    path = render(report, template, tmp_path)
    header, *rows = sheet_rows(path, "Issues")
    assert header[0] == "Status"
    assert len(rows) == report.issues.height
    statuses = [s for s in ["To Do", "In Progress", "In Review", "Done"] if s in set(report.issues["status"])]
    runs = [status for index, status in enumerate(row[0] for row in rows) if index == 0 or rows[index - 1][0] != status]
    assert runs == statuses  # each group one run, in workflow order
    groups_header, *groups = sheet_rows(path, "Groups")
    assert groups_header == ("Status", "Issues", "Story points")
    *per_group, totals = groups
    assert [row[0] for row in per_group] == statuses
    for status, count, points in per_group:
        group = report.issues.filter(pl.col("status") == status)
        assert (count, points) == (group.height, group["story_points"].fill_null(0).sum())
    assert totals[0] == "Total" and totals[1:] == ("=SUBTOTAL(109,GroupTable[Issues])", "=SUBTOTAL(109,GroupTable[Story points])")
    cached = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Groups").to_python()[-1]
    assert cached == ["Total", report.issues.height, report.metrics.planned_points]


# --- The issue rows are XML written by our own code (xlsx_sheet): what xlsxwriter used to guarantee. ---

LARGE_ROWS = 30_000


def with_issues(report: SprintReport, rows: int, **columns: list) -> SprintReport:
    """`report` with `rows` issues (its own, repeated) keyed T-0, T-1, ... in order, and `columns` replaced."""
    base = report.issues
    issues = pl.concat([base] * -(-rows // base.height)).head(rows)
    issues = issues.with_columns(
        key=pl.format("T-{}", pl.int_range(rows)), **{name: pl.Series(values) for name, values in columns.items()}
    )
    return dataclasses.replace(report, issues=issues)


def calamine_rows(path: Path, sheet: str = "Issues") -> list[list]:
    """The sheet's values as calamine reads them; a datetime at midnight, which it gives as a date, as a datetime."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    return [[as_datetime(value) for value in row] for row in rows]


def as_datetime(value):
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def summaries_read_back(report: SprintReport, texts: list[str], template: Template, folder: Path) -> tuple[list, list]:
    """`texts` as issue summaries, rendered, then as openpyxl and as calamine read them back (in order)."""
    path = render(with_issues(report, len(texts), summary=texts), template, folder)
    summary = column_labels(template).index("Summary")
    _, *opened = sheet_rows(path, "Issues")
    _, *calamined = calamine_rows(path)
    return [row[summary] for row in opened], [row[summary] for row in calamined]


def test_xml_special_characters_read_back_exactly(awkward_report, default_template, tmp_path):
    texts = ["R&D", "<b>not bold</b>", "a < b > c", "quote \" and ' apostrophe", "]]>", "&amp; stays &amp;", "&#65;"]
    opened, calamined = summaries_read_back(awkward_report, texts, default_template, tmp_path)
    assert opened == texts
    assert calamined == texts


def test_control_characters_are_kept_through_excel_escapes(awkward_report, default_template, tmp_path):
    controls = [chr(code) for code in range(0x20) if chr(code) not in "\t\n\r"]
    texts = [f"before{char}after" for char in controls] + ["tab\tand\nnewline", "non-characters \ufffe\uffff"]
    report = with_issues(awkward_report, len(texts), summary=texts)
    path = render(report, default_template, tmp_path)
    summary = column_labels(default_template).index("Summary")
    read_back = [row[summary] for row in calamine_rows(path)[1:]]
    assert read_back[:-1] == texts[:-1]  # calamine decodes _xHHHH_ as Excel does
    with zipfile.ZipFile(path) as archive:
        issues_xml = archive.read(sheet_parts(archive)["Issues"]).decode()
    assert "before_x0001_after" in issues_xml and "before_x001F_after" in issues_xml
    assert "non-characters _xFFFE__xFFFF_" in issues_xml  # as xlsxwriter writes them (calamine leaves these escaped)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", issues_xml)


def test_text_that_looks_like_an_escape_stays_literal(awkward_report, default_template, tmp_path):
    texts = ["_x0041_", "_x005F_", "a_x00e9_b_x0000_", "_X0041_ (capital X is no escape)", "_x004_", "__x0041__"]
    # Runs sharing an underscore, and an escape-like text before a control character (which becomes
    # "_x0001_"): xlsxwriter escaped these so that they read back as "_x0041B" and "Ax0001_".
    texts += ["_x0041_x0042_", "_x0041\x01"]
    report = with_issues(awkward_report, len(texts), summary=texts)
    first, second = render(report, default_template, tmp_path, "a.xlsx"), render(report, default_template, tmp_path, "b.xlsx")
    summary = column_labels(default_template).index("Summary")
    assert [row[summary] for row in calamine_rows(first)[1:]] == texts
    assert report.issues["summary"].to_list() == texts  # the report itself is left as it was
    assert first.read_bytes() == second.read_bytes()


def test_leading_and_trailing_white_space_is_kept(awkward_report, default_template, tmp_path):
    texts = ["  padded  ", " lead", "trail ", "\ttab first", "newline last\n", "\u00a0no-break\u3000", "   "]
    texts += ["in  side"]
    opened, calamined = summaries_read_back(awkward_report, texts, default_template, tmp_path)
    assert opened == texts
    assert calamined == texts


def test_text_is_cut_at_excels_cell_limit_before_escaping(awkward_report, default_template, tmp_path):
    limit = 32_767
    texts = ["x" * limit, "y" * (limit + 1), "z" * (limit - 1) + "🚀", "\x00" * 40_000, "&" * 40_000, "é" * 40_000]
    expected = ["x" * limit, "y" * limit, "z" * (limit - 1), "\x00" * limit, "&" * limit, "é" * limit]
    _, calamined = summaries_read_back(awkward_report, texts, default_template, tmp_path)
    assert calamined == expected


def test_formula_and_number_like_text_stays_text(awkward_report, default_template, tmp_path):
    texts = ["=SUM(A1)", "+1", "-1", "@x", "=1+1", "0012", "1e5", "TRUE", "#N/A", "12:30", "2024-01-01"]
    texts += ["http://x.test", "mailto:a@b.test"]
    path = render(with_issues(awkward_report, len(texts), summary=texts), default_template, tmp_path)
    sheet = openpyxl.load_workbook(path)["Issues"]
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == texts
    assert {cell.data_type for cell in cells} == {"s"}
    summary = column_labels(default_template).index("Summary")
    assert [row[summary] for row in calamine_rows(path)[1:]] == texts


def test_datetimes_read_back_as_the_reports_datetimes(awkward_report, default_template, tmp_path):
    created = [
        dt.datetime(2024, 2, 29, 13, 45, 30, 123_000),
        dt.datetime(2026, 1, 1),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999_000),
        dt.datetime(1900, 3, 1, 6),
        dt.datetime(2100, 6, 15, 0, 0, 1),
    ]
    resolved = [None, dt.datetime(2026, 1, 1, 0, 1), None, None, dt.datetime(2100, 6, 15, 12)]
    report = with_issues(awkward_report, len(created), created_at=created, resolved_at=resolved)
    path = render(report, default_template, tmp_path)
    labels = column_labels(default_template)
    _, *opened = sheet_rows(path, "Issues")
    _, *calamined = calamine_rows(path)
    for rows, blank in ((opened, None), (calamined, "")):
        assert [row[labels.index("Created")] for row in rows] == created
        expected_resolved = [blank if value is None else value for value in resolved]
        assert [row[labels.index("Resolved")] for row in rows] == expected_resolved
    sheet = openpyxl.load_workbook(path)["Issues"]
    assert {row[0].number_format for row in sheet.iter_rows(min_row=2, min_col=9, max_col=9)} == {"yyyy-mm-dd hh:mm"}


def test_serials_read_back_as_xlsxwriters_would(tmp_path):
    """Polars prints the shortest text of each serial, xlsxwriter 16 significant digits: readers see the same time."""
    start = dt.datetime(2020, 1, 1)
    moments = [start + dt.timedelta(microseconds=step * 7_919_993_137) for step in range(5_000)]
    xml = rows_xml(pl.DataFrame({"at": moments}), [SheetColumn("at", "datetime", 1)], first_row=2).decode()
    written = [float(value) for value in re.findall(r"<v>([^<]*)</v>", xml)]
    assert len(written) == len(moments)
    for moment, value in zip(moments, written):
        serial = (moment - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1) / MICROSECONDS_PER_DAY
        xlsxwriter_text = f"{serial + EXCEL_DAYS_BEFORE_UNIX_EPOCH:.16G}"
        assert from_excel(value) == from_excel(float(xlsxwriter_text))
        assert abs(from_excel(value) - moment) <= dt.timedelta(microseconds=500)


def test_groups_by_assignee_keep_awkward_names_and_count_blanks(awkward_report, tmp_path):
    """The date format is used by no cell xlsxwriter writes here: it must still be in styles.xml."""
    template = Template.model_validate(
        {
            "name": "by_assignee",
            "fields": {"basic_info": False, "team_info": False, "metrics": False},
            "format_options": {"group_by": "assignee"},
        }
    )
    names = ["R&D <ops>", None, "R&D <ops>", "Zoë", None]
    report = with_issues(awkward_report, len(names), assignee=names, story_points=[1, 2, None, 8, 3])
    path = render(report, template, tmp_path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Issues", "Groups"]
    sheet = workbook["Issues"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [row[0] for row in values] == ["Assignee", "R&D <ops>", "R&D <ops>", "Zoë", None, None]
    assert sum(row[values[0].index("Story points")] or 0 for row in values[1:]) == 14
    created = sheet.cell(row=3, column=values[0].index("Created") + 1)
    assert isinstance(created.value, dt.datetime) and created.number_format == "yyyy-mm-dd hh:mm"
    assert sheet.tables["IssueTable"].ref == f"A1:J{len(values)}"
    groups = [row[:3] for row in workbook["Groups"].iter_rows(min_row=2, max_row=4, values_only=True)]
    assert groups == [("R&D <ops>", 2, 1), ("Zoë", 1, 8), ("(none)", 2, 5)]


@pytest.fixture(scope="module")
def large_report(make_report) -> SprintReport:
    return with_issues(make_report(1), LARGE_ROWS)


@pytest.fixture(scope="module")
def large_xlsx(large_report, tmp_path_factory) -> tuple[Path, list[int]]:
    """The large sprint rendered grouped by status (the slices cross group boundaries), and its progress calls."""
    calls: list[int] = []
    path = tmp_path_factory.mktemp("large") / "large.xlsx"
    assert xlsx.render(large_report, get_template("sprint_summary"), path, on_rows=calls.append) == LARGE_ROWS
    return path, calls


def expected_grouped_rows(report: SprintReport, template: Template) -> list[list]:
    """The Issues sheet worked out independently: the header, then per status in workflow order, its issues."""
    rows = issue_rows(report, template)
    expected = [column_labels(template)]
    for status in ["To Do", "In Progress", "In Review", "Done"]:
        expected.extend(list(row) for row in rows.filter(pl.col("status") == status).iter_rows())
    return expected


def test_large_grouped_table_reads_back_cell_for_cell(large_report, large_xlsx):
    path, calls = large_xlsx
    expected = expected_grouped_rows(large_report, get_template("sprint_summary"))
    assert len(expected) == 1 + LARGE_ROWS
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheet = workbook["Issues"]
    assert sheet.calculate_dimension() == f"A1:J{len(expected)}"
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == expected
    workbook.close()
    assert calamine_rows(path) == [["" if value is None else value for value in row] for row in expected]
    assert sum(calls) == LARGE_ROWS and len(calls) >= 10 and max(calls) <= LARGE_ROWS // 10


def test_large_render_is_byte_identical(large_report, large_xlsx, tmp_path):
    again = tmp_path / "again.xlsx"
    xlsx.render(large_report, get_template("sprint_summary"), again)
    assert again.read_bytes() == large_xlsx[0].read_bytes()


@pytest.mark.parametrize("which", ["awkward", "large"])
def test_every_part_is_well_formed_and_issue_cells_are_in_order(which, awkward_xlsx, large_xlsx):
    """What Excel checks before it offers to "repair" a file: XML, row and cell order, style indices."""
    path = awkward_xlsx if which == "awkward" else large_xlsx[0]
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))  # every member is well-formed XML
            assert archive.getinfo(name).date_time == (1980, 1, 1, 0, 0, 0)
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
        xf_count = len(styles.find(f"{{{MAIN_NS}}}cellXfs"))
        sheet = ElementTree.fromstring(archive.read(sheet_parts(archive)["Issues"]))
    previous_row = 0
    for row in sheet.iter(f"{{{MAIN_NS}}}row"):
        number = int(row.get("r"))
        assert number > previous_row
        previous_row = number
        previous_column = -1
        for cell in row:
            column, cell_row = openpyxl.utils.cell.coordinate_from_string(cell.get("r"))
            assert cell_row == number
            index = openpyxl.utils.column_index_from_string(column)
            assert index > previous_column
            previous_column = index
            assert int(cell.get("s", 0)) < xf_count
            if cell.get("t") == "inlineStr":
                assert cell.find(f"{{{MAIN_NS}}}is/{{{MAIN_NS}}}t") is not None
            elif cell.get("t") is None:
                float(cell.find(f"{{{MAIN_NS}}}v").text)
            else:
                assert cell.get("t") == "s" and number == 1  # only the header uses shared strings
