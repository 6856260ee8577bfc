"""The XLSX export printed by LibreOffice: few pages, the issue table one page wide, the footer literal.

LibreOffice (`soffice --headless --convert-to pdf`) is the independent
reader here: it lays the workbook out as a printer would, and pypdf reads the
pages back. Needs Debian's `libreoffice-calc-nogui` (`.ci/run` installs it
when missing): on CI (`CI=true`) a missing `soffice` fails; elsewhere the
tests skip and say what to install. Each conversion uses its own LibreOffice
profile, so parallel runs never share one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from sprint_exports.formats import xlsx
from sprint_exports.formats.cells import column_labels
from sprint_exports.report.model import SprintReport
from sprint_exports.templates import get_template
from sprint_exports_tests.conftest import services_required
from sprint_exports_tests.xlsx_reading import hostile_report

INSTALL_HINT = "apt-get install libreoffice-calc-nogui"
CONVERT_TIMEOUT = 240  # seconds, for a handful of small workbooks on a busy machine


def require_soffice() -> str:
    """The `soffice` to run; on CI its absence fails the test, on a laptop it skips with what to install."""
    soffice = shutil.which("soffice")
    if soffice:
        return soffice
    message = f"LibreOffice's soffice is not on PATH ({INSTALL_HINT})"
    if services_required():
        pytest.fail(f"{message}: required on CI")
    print(f"\nSKIPPING the LibreOffice print tests: {message}")
    pytest.skip(message)


def print_to_pdf(workbooks: list[Path], folder: Path) -> dict[str, PdfReader]:
    """Each workbook as LibreOffice prints it, by file stem, converted in one soffice run with its own profile."""
    soffice = require_soffice()
    profile = (folder / "libreoffice-profile").as_uri()
    command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir", str(folder)]
    result = subprocess.run([*command, *map(str, workbooks)], capture_output=True, text=True, timeout=CONVERT_TIMEOUT)
    pdfs = {path.stem: folder / f"{path.stem}.pdf" for path in workbooks}
    missing = [str(pdf) for pdf in pdfs.values() if not pdf.exists()]
    assert not missing, f"soffice wrote no {missing}: {result.stdout}\n{result.stderr}"
    return {stem: PdfReader(pdf) for stem, pdf in pdfs.items()}


@pytest.fixture(scope="module")
def printed(make_report, empty_sprint_id, tmp_path_factory) -> dict[str, tuple[SprintReport, PdfReader]]:
    """The demo sprint 4 (258 issues), the same with hostile names, and an empty sprint, printed."""
    folder = tmp_path_factory.mktemp("printed")
    reports = {
        "demo": make_report(4),
        "hostile": hostile_report(make_report(4)),
        "empty": make_report(empty_sprint_id),
    }
    paths = []
    for name, report in reports.items():
        paths.append(folder / f"{name}.xlsx")
        xlsx.render(report, get_template("sprint_summary"), paths[-1])
    pdfs = print_to_pdf(paths, folder)
    return {name: (report, pdfs[name]) for name, report in reports.items()}


def page_text(page) -> str:
    """A page's text with its white space collapsed: a long footer wraps where LibreOffice likes."""
    return " ".join(page.extract_text().split())


def pages_of(pdf: PdfReader, sheet: str) -> list[tuple[float, float, str]]:
    """(width, height, text) of each page whose footer names `sheet` (its centre, before "Page N of M")."""
    footer = re.compile(rf"{sheet} ?Page \d+ of \d+")
    pages = [(float(page.mediabox.width), float(page.mediabox.height), page_text(page)) for page in pdf.pages]
    return [page for page in pages if footer.search(page[2])]


@pytest.mark.parametrize("which", ["demo", "hostile", "empty"])
def test_issue_table_prints_one_page_wide_in_landscape_with_its_header_on_every_page(which, printed):
    report, pdf = printed[which]
    issue_pages = pages_of(pdf, "Issues")
    assert issue_pages, "no page of the Issues sheet"
    labels = column_labels(get_template("sprint_summary"))
    for number, (width, height, text) in enumerate(issue_pages, start=1):
        assert width > height, f"Issues page {number} is portrait"
        missing = [label for label in labels if label not in text]
        assert not missing, f"Issues page {number} lacks columns {missing}: the table was split across pages"
    # One page wide: every issue key is on some Issues page, and the pages hold nothing but the table's rows.
    keys = set(report.issues["key"])
    printed_text = "\n".join(text for _, _, text in issue_pages)
    assert {key for key in keys if key in printed_text} == keys


def test_a_demo_sprint_prints_on_a_few_pages_with_summary_labels_beside_their_values(printed):
    report, pdf = printed["demo"]
    assert len(pdf.pages) <= 12  # 34 portrait pages before print setup
    (summary,) = pages_of(pdf, "Summary")
    text = summary[2]
    assert f"Planned points {report.metrics.planned_points}" in text
    assert f"Start {report.sprint.start_date.isoformat()}" in text


def test_the_footer_shows_a_hostile_sprint_name_literally_and_page_numbers(printed):
    _, pdf = printed["hostile"]
    total = len(pdf.pages)
    for number, page in enumerate(pdf.pages, start=1):
        text = page_text(page)
        assert f"Page {number} of {total}" in text
        assert 'R&D &P of &N &G &[Picture] &"Arial,Bold"&14' in text, f"page {number}: a footer code ran"


def test_the_groups_total_adds_up_in_libreoffice(printed):
    report, pdf = printed["demo"]
    (groups,) = pages_of(pdf, "Groups")
    assert f"Total {report.issues.height} {report.metrics.planned_points}" in groups[2]
