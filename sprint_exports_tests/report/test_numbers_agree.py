"""One sprint's numbers read back from every place a reader meets them: they agree to the digit.

Demo sprint 17 has an average velocity of 678.33… and Done issues the
burndown cannot count; each file is read with an independent reader.
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import openpyxl
import pytest

from sprint_exports.defs.exports.assets.metrics import metrics_markdown
from sprint_exports.delivery.message import ExportedAttachment, SprintDelivery, build_message
from sprint_exports.exports.store import write_export
from sprint_exports.formats import get_format
from sprint_exports.report.model import metrics_summary
from sprint_exports.templates import get_template
from sprint_exports_tests.conftest import services_required

SPRINT = 17
AVERAGE = "678.3"
COMPLETION = "92.4"


@pytest.fixture(scope="module")
def report(make_report):
    report = make_report(SPRINT)
    assert report.metrics.average_velocity == pytest.approx(678.3333, abs=1e-3), "the demo data this test relies on"
    return report


def written(report, template_name: str, format_name: str, folder) -> str:
    import datetime as dt

    export = write_export(report, get_template(template_name), get_format(format_name), folder,
                          created_at=dt.datetime(2026, 11, 30, tzinfo=dt.UTC), retention_days=30)
    return str(export.path)


def test_every_reader_sees_the_same_rounded_numbers_and_labels(report, tmp_path):
    label = "Average velocity (this and 2 before)"
    notes = ["Done after the sprint ended: 37 issues, 206 points", "Done without a resolution date: 8 issues, 30 points"]

    with open(written(report, "metrics_only", "csv", tmp_path / "csv"), encoding="utf-8-sig", newline="") as handle:
        csv_values = {row[1]: row[2] for row in csv.reader(handle)}
    assert csv_values[label] == AVERAGE and csv_values["Completion rate (%)"] == COMPLETION

    summary = openpyxl.load_workbook(written(report, "sprint_summary", "xlsx", tmp_path / "xlsx"))["Summary"]
    cells = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row and row[0]}
    assert f"{cells[label]:.1f}" == AVERAGE and cells[label] == float(AVERAGE), "the cell holds the rounded value"
    assert all(note in cells for note in notes)

    pdf = written(report, "sprint_summary", "pdf", tmp_path / "pdf")
    try:
        text = subprocess.run(["pdftotext", "-raw", pdf, "-"], capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        if services_required():
            raise
        pytest.skip("pdftotext is missing: apt-get install poppler-utils")
    flat = " ".join(text.split())
    assert f"{label} {AVERAGE}" in flat and f"Completion rate (%) {COMPLETION}" in flat
    assert all(note in flat for note in notes)

    preview = metrics_markdown(report.metrics)
    assert f"| {label} | {AVERAGE} |" in preview and f"| Completion rate (%) | {COMPLETION} |" in preview
    assert all(f"- {note}" in preview for note in notes)

    delivery = SprintDelivery("run-17", SPRINT, report.sprint.name, report.sprint.team_id, report.sprint.team_name,
                              (ExportedAttachment(Path(pdf), "application/pdf", Path(pdf).stat().st_size, "0" * 64),),
                              metrics_summary(report.metrics))
    message = build_message(delivery, sender="a@example.com", recipient="b@example.com")
    plain = message.get_body(("plain",)).get_content()
    assert f"{label}: {AVERAGE}" in plain and f"Completion rate (%): {COMPLETION}" in plain
    assert all(note in plain for note in notes)


def test_the_mail_carries_the_burndown_inline(report, tmp_path):
    delivery = SprintDelivery("run-17", SPRINT, report.sprint.name, report.sprint.team_id, report.sprint.team_name,
                              (), metrics_summary(report.metrics))
    message = build_message(delivery, sender="a@example.com", recipient="b@example.com")
    html = message.get_body(("html",)).get_content()
    (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image.get_content_disposition() == "inline", "shown in the body, not listed as an attachment"
    assert f"src='cid:{image['Content-ID'].strip('<>')}'" in html
    assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert message.get_body(("plain",)) is not None, "a plain-text twin"


def test_an_empty_sprint_says_nothing_planned(make_report, empty_sprint_id):
    report = make_report(empty_sprint_id)
    rows = dict(report.metric_rows())
    assert rows["Completion rate (%)"] == "nothing planned"
    assert report.burndown_absence() in ("No burndown: nothing planned, so nothing to burn down.",
                                         "No burndown: the sprint has no start or end date.")


def test_a_sprint_with_dates_but_no_points_does_not_claim_it_has_no_dates(make_report, empty_sprint_id):
    import dataclasses

    report = make_report(empty_sprint_id)
    if report.sprint.start_date is None:
        import datetime as dt

        report = dataclasses.replace(report, sprint=dataclasses.replace(
            report.sprint, start_date=dt.date(2026, 11, 2), end_date=dt.date(2026, 11, 13)))
    assert report.burndown_absence() == "No burndown: nothing planned, so nothing to burn down."
