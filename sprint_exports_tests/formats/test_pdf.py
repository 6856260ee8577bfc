"""The PDF renderer, read back with pypdf: text, pages, fonts, charts, escaping, determinism."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from sprint_exports.formats.pdf import charts as pdf_charts
from sprint_exports.formats.pdf import document as pdf
from sprint_exports.formats.pdf import runs, tounicode
from sprint_exports.formats.pdf import style as pdf_style
from sprint_exports.formats.pdf import wrap as pdf_wrap
from sprint_exports.formats.pdf import fonts
from sprint_exports.formats.pdf.fonts import FONT, register_fonts
from sprint_exports.report.metrics import compute_metrics
from sprint_exports.report.model import ISSUE_COLUMNS, SprintReport, build_report
from sprint_exports.source.database import connect
from sprint_exports.source.readers import read_sprints
from sprint_exports.source.schema import ISSUE_STATUSES
from sprint_exports.templates import Template, get_template
from sprint_exports.text import one_line
from sprint_exports_tests import scripts_tracker
from sprint_exports_tests.conftest import services_required

GREEK = re.compile(r"[\u0370-\u03ff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@dataclasses.dataclass(frozen=True)
class RenderedPdf:
    path: Path
    rows: int
    reader: PdfReader
    pages: list[str]  # extracted text, page by page

    @property
    def text(self) -> str:
        return "\n".join(self.pages)


def render_pdf(report: SprintReport, template: Template, path: Path) -> RenderedPdf:
    rows = pdf.render(report, template, path)
    reader = PdfReader(path)
    return RenderedPdf(path, rows, reader, [page.extract_text() for page in reader.pages])


def with_summary(report: SprintReport, index: int, summary: str) -> SprintReport:
    """The report with the summary of its `index`-th issue replaced."""
    summaries = report.issues["summary"].to_list()
    summaries[index] = summary
    return dataclasses.replace(report, issues=report.issues.with_columns(pl.Series("summary", summaries)))


def issue_key_pattern(report: SprintReport) -> re.Pattern[str]:
    prefix = report.issues["key"][0].split("-")[0]
    return re.compile(rf"\b{prefix}-\d+\b")


@pytest.fixture(scope="module")
def sprint_report(make_report, awkward_sprint_id) -> SprintReport:
    """A completed demo sprint: several pages of issues, formula-like and multi-line summaries."""
    return make_report(awkward_sprint_id)


@pytest.fixture(scope="module")
def rendered(sprint_report, default_template, tmp_path_factory) -> RenderedPdf:
    return render_pdf(sprint_report, default_template, tmp_path_factory.mktemp("pdf") / "report.pdf")


def test_returns_the_number_of_issue_rows(rendered, sprint_report):
    assert rendered.rows == sprint_report.issues.height > 0


def test_text_has_sprint_team_and_every_issue_key(rendered, sprint_report):
    text = rendered.text
    assert sprint_report.sprint.name in text
    assert sprint_report.sprint.team_name in text
    keys_in_pdf = set(issue_key_pattern(sprint_report).findall(text))
    assert keys_in_pdf == set(sprint_report.issues["key"])


def test_document_title_is_the_sprint_name(rendered, sprint_report):
    assert rendered.reader.metadata.title == sprint_report.sprint.name


@pytest.mark.parametrize("script", [CYRILLIC, GREEK], ids=["cyrillic", "greek"])
def test_names_in_other_scripts_come_out_exactly(script, demo_extracts, make_report, default_template, tmp_path):
    sprint_id = next(
        sprint_id
        for sprint_id, extract in demo_extracts.items()
        if extract.sprint.status == "completed" and any(script.search(name) for name in extract.members["name"])
    )
    report = make_report(sprint_id)
    names = [name for name in report.members["name"] if script.search(name)]
    assignees = {name for name in report.issues["assignee"].drop_nulls() if script.search(name)}
    assert assignees, "the demo sprint should have an issue assigned to this member"

    text = render_pdf(report, default_template, tmp_path / "names.pdf").text
    for name in [*names, *assignees]:
        assert name in text


def test_every_page_says_page_n_of_total(rendered):
    total = len(rendered.reader.pages)
    assert total > 2, "the sprint should need several pages, or the page checks below prove little"
    assert f"Page 1 of {total}" in rendered.pages[0]
    assert f"Page {total} of {total}" in rendered.pages[-1]
    for number, text in enumerate(rendered.pages, start=1):
        assert f"Page {number} of {total}" in text


def test_issue_header_repeats_on_every_page_with_issue_rows(rendered, sprint_report):
    key = issue_key_pattern(sprint_report)
    pages_with_rows = [text for text in rendered.pages if key.search(text)]
    assert len(pages_with_rows) >= 2
    for text in pages_with_rows:
        assert "Summary" in text
        assert "Assignee" in text


def test_grouped_issues_come_in_bands_in_workflow_order(rendered, sprint_report, default_template):
    assert default_template.group_column == "status"
    text = rendered.text
    positions = []
    for status in ISSUE_STATUSES:
        group = sprint_report.issues.filter(pl.col("status") == status)
        if group.is_empty():
            continue
        count, points = group.height, int(group["story_points"].fill_null(0).sum())
        label = f"Status: {status} · {count} issue{'' if count == 1 else 's'} · {points} points"
        assert label in text
        positions.append(text.index(label))
    assert len(positions) >= 2
    assert positions == sorted(positions)


def header_line(page_text: str) -> str:
    """The issue table's header as pypdf extracts it: the labels on one line, left to right."""
    return next(line for line in page_text.splitlines() if "Key" in line and "Summary" in line)


def test_group_column_comes_first_and_ungrouped_keeps_the_template_order(rendered, sprint_report, tmp_path):
    assert header_line(rendered.pages[-1]).split()[:3] == ["Status", "Key", "Summary"]

    document = render_pdf(sprint_report, get_template("issue_list"), tmp_path / "issue_list.pdf")
    assert "Status: " not in document.text, "no group bands"
    assert header_line(document.pages[-1]).split()[:3] == ["Key", "Summary", "Status"]


def test_charts_only_when_the_template_asks_for_them(sprint_report, default_template, tmp_path):
    no_charts = Template.model_validate(
        {**default_template.model_dump(), "name": "no_charts", "format_options": {"include_charts": False}}
    )
    with_charts = render_pdf(sprint_report, default_template, tmp_path / "charts.pdf").text
    without_charts = render_pdf(sprint_report, no_charts, tmp_path / "no_charts.pdf").text
    for chart_text in ("Burndown", "Velocity history", "Points remaining", "Sprint day", "Remaining", "Ideal"):
        assert chart_text in with_charts
        assert chart_text not in without_charts


def test_charts_are_drawn_as_vector_paths(rendered):
    first_page = rendered.reader.pages[0].get_contents().get_data().decode("latin-1")
    # Lines and bars of the charts: many stroked path segments on the first page.
    assert first_page.count(" l ") + first_page.count(" l\n") > 20


def filled_rectangles(content: str, colour: colors.Color) -> list[tuple[float, ...]]:
    """(x, y, width, height) of each rectangle filled in `colour` in a page's content stream."""
    fill = " ".join(f"{component:g}".lstrip("0") or "0" for component in colour.rgb()) + " rg"
    rectangles = []
    for block in content.split(fill)[1:]:
        for line in block.split("\n")[1:]:
            found = re.fullmatch(r"n ([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) re f\*", line)
            if found is None:
                break
            rectangles.append(tuple(float(number) for number in found.groups()))
    return rectangles


def test_velocity_bars_are_as_tall_as_the_points_and_this_sprint_stands_out(
    demo_extracts, make_report, default_template, tmp_path
):
    sprint_report = max(
        (make_report(sprint_id) for sprint_id in demo_extracts), key=lambda report: report.metrics.velocity_history.height
    )
    history = sprint_report.metrics.velocity_history
    assert history.height >= 3 and sprint_report.sprint.id in history["id"].to_list()
    rendered = render_pdf(sprint_report, default_template, tmp_path / "velocity.pdf")
    content = rendered.reader.pages[0].get_contents().get_data().decode("latin-1")
    others = filled_rectangles(content, pdf_charts.BAR_COLOUR)
    (current,) = filled_rectangles(content, pdf_charts.CURRENT_BAR_COLOUR)
    bars = sorted([*others, current])  # left to right, as the history is ordered
    velocities = history["velocity"].to_list()
    assert len(bars) == len([value for value in velocities if value])
    heights = [height for _, _, _, height in bars]
    for height, velocity in zip(heights, velocities, strict=True):
        assert height / heights[0] == pytest.approx(velocity / velocities[0], rel=1e-4)
    position = history["id"].to_list().index(sprint_report.sprint.id)
    assert bars[position] == current, "this sprint's bar has the highlight colour"
    assert len({y for _, y, _, _ in bars}) == 1, "every bar stands on the axis"
    page = rendered.pages[0]
    for value in velocities:
        assert f"{value:.0f}" in page, "each bar is labelled with its points"


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [(807, [0, 200, 400, 600, 800, 1000]), (5, [0, 1, 2, 3, 4, 5]), (12, [0, 2.5, 5, 7.5, 10, 12.5]), (0, [0, 1]), (0.3, [0, 0.1, 0.2, 0.3])],
)
def test_value_axis_ticks_are_round_and_reach_the_highest_value(highest, ticks):
    assert pdf_charts.value_ticks(highest) == pytest.approx(ticks)


def test_only_our_fonts_are_used_all_embedded_as_subsets(rendered):
    ours = {font_file.name for font_file in fonts.ALL_FONTS}
    for page in rendered.reader.pages:
        page_fonts = page["/Resources"]["/Font"]
        assert page_fonts, "every page has text"
        for reference in page_fonts.values():
            font = reference.get_object()
            assert "Helvetica" not in font["/BaseFont"]
            assert_embedded_subset(font, ours)


def assert_embedded_subset(font, ours: set[str]) -> None:
    """An embedded TrueType subset (`ABCDEF+Name`) of one of the project's fonts."""
    tag, _, name = str(font["/BaseFont"]).lstrip("/").partition("+")
    assert re.fullmatch(r"[A-Z]{6}", tag), f"{font['/BaseFont']} is not a subset"
    assert "/FontFile2" in font["/FontDescriptor"].get_object(), f"{name} is not embedded"
    assert name.split("-")[0] in {our.split("-")[0] for our in ours}, name


def test_markup_characters_render_literally(sprint_report, default_template, tmp_path):
    summary = "<b>&amp; bold</b> & <i>not italic</i> <font name=x>"
    report = with_summary(sprint_report, 0, summary)
    assert summary in render_pdf(report, default_template, tmp_path / "markup.pdf").text


def test_formula_like_summaries_are_shown_as_written(rendered, sprint_report):
    formulas = [summary for summary in sprint_report.issues["summary"] if summary.startswith("=")]
    assert formulas
    for summary in formulas:
        assert summary in rendered.text  # a PDF is not a spreadsheet: nothing to neutralise


def test_long_summary_wraps_inside_its_column(sprint_report, default_template, tmp_path):
    words = [f"lorem{index}" for index in range(240)] + ["finalword"]
    summary = " ".join(words)
    assert len(summary) > 2000
    document = render_pdf(with_summary(sprint_report, 0, summary), default_template, tmp_path / "long.pdf")
    assert "finalword" in document.text

    # pypdf joins text on one baseline (the key and the first summary line), so keep only our words.
    summary_word = re.compile(r"lorem\d+|finalword")
    lines: list[tuple[float, str]] = []

    def collect(text: str, cm, tm, font, size) -> None:
        found = summary_word.findall(text)
        if found:
            lines.append((tm[5], " ".join(found)))

    for page in document.reader.pages:
        page.extract_text(visitor_text=collect)
    assert len({y for y, _ in lines}) >= 5, "the summary should take several lines"
    assert " ".join(text for _, text in lines) == summary, "every word once, in order"

    frame_width = pdf.PAGE_SIZE[0] - 2 * pdf.MARGIN
    shares = [ISSUE_COLUMNS[name].width for name in default_template.columns]
    summary_width = frame_width * ISSUE_COLUMNS["summary"].width / sum(shares)
    register_fonts()
    for _, text in lines:
        assert stringWidth(text, FONT, pdf_style.CELL_SIZE) <= summary_width - 2 * pdf_style.CELL_PAD_X


def test_a_cell_taller_than_a_page_is_cut_with_an_ellipsis(sprint_report, default_template, tmp_path):
    report = with_summary(sprint_report, 0, "many words " * 5000 + "unreachable")
    document = render_pdf(report, default_template, tmp_path / "tall.pdf")
    assert "…" in document.text
    assert "unreachable" not in document.text
    assert set(issue_key_pattern(report).findall(document.text)) == set(report.issues["key"])


def test_emoji_and_cjk_do_not_break_the_render(sprint_report, default_template, tmp_path):
    report = with_summary(sprint_report, 0, "Ship it 🚀 中文 ✅ done")
    document = render_pdf(report, default_template, tmp_path / "emoji.pdf")
    assert "Ship it" in document.text
    assert document.rows == report.issues.height


def test_two_renders_are_byte_identical(sprint_report, default_template, tmp_path):
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    pdf.render(sprint_report, default_template, first)
    pdf.render(sprint_report, default_template, second)
    assert hashlib.sha256(first.read_bytes()).hexdigest() == hashlib.sha256(second.read_bytes()).hexdigest()


def test_render_leaves_the_garbage_collector_as_it_found_it(sprint_report, default_template, tmp_path):
    """The collector is paused while a PDF is built (`collector`); a render must never leave it off,
    nor turn it back on for a caller that had turned it off, nor resume it while another render
    (another thread's) is still running."""
    import gc

    from sprint_exports.formats.pdf.collector import collection_paused

    assert gc.isenabled()
    pdf.render(sprint_report, default_template, tmp_path / "enabled.pdf")
    assert gc.isenabled()
    with collection_paused():
        pdf.render(sprint_report, default_template, tmp_path / "overlapping.pdf")
        assert not gc.isenabled(), "the inner render's end resumed collection under a running one"
    assert gc.isenabled()
    gc.disable()
    try:
        pdf.render(sprint_report, default_template, tmp_path / "disabled.pdf")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_empty_sprint_gives_a_valid_pdf_with_a_note(make_report, empty_sprint_id, default_template, tmp_path):
    report = make_report(empty_sprint_id)
    document = render_pdf(report, default_template, tmp_path / "empty.pdf")
    assert document.rows == 0
    assert len(document.reader.pages) >= 1
    assert "No issues in this sprint" in document.text
    assert "Summary" in document.text  # the header row is still there
    assert f"Page 1 of {len(document.reader.pages)}" in document.pages[0]


def test_empty_burndown_shows_a_note_instead_of_a_chart(sprint_report, default_template, tmp_path):
    metrics = dataclasses.replace(
        sprint_report.metrics,
        burndown=sprint_report.metrics.burndown.clear(),
        velocity_history=sprint_report.metrics.velocity_history.clear(),
    )
    report = dataclasses.replace(sprint_report, metrics=metrics)
    text = render_pdf(report, default_template, tmp_path / "no_chart_data.pdf").text
    assert "Points remaining" not in text
    assert "nothing to plot" in text


def test_template_without_issue_table(sprint_report, tmp_path):
    template = Template.model_validate({"name": "summary_only", "fields": {"issues": False}})
    document = render_pdf(sprint_report, template, tmp_path / "summary.pdf")
    assert document.rows == 0
    assert sprint_report.sprint.name in document.text
    assert sprint_report.issues["key"][0] not in document.text


def test_sprint_facts_and_metrics_sit_side_by_side_with_their_labels_shaded(rendered, sprint_report):
    first = rendered.reader.pages[0]
    lefts: dict[str, float] = {}

    def collect(text: str, cm, tm, font, size) -> None:
        for label in ("Goal", "Planned points"):
            if text.startswith(label):
                lefts.setdefault(label, cm[4] + tm[4])

    first.extract_text(visitor_text=collect)
    assert lefts["Planned points"] > lefts["Goal"] + 100, "the metrics beside the facts, not under them"
    content = first.get_contents().get_data().decode("latin-1")
    shaded = sorted(filled_rectangles(content, pdf_style.ZEBRA_FILL), key=lambda rectangle: rectangle[2])
    assert [round(width / pdf.mm) for _, _, width, _ in shaded] == [24, 64], "each table's label column"
    facts, metrics = (height for _, _, _, height in shaded)
    assert facts / len(sprint_report.facts()) == pytest.approx(metrics / len(sprint_report.metric_rows()))


def test_a_goal_longer_than_a_page_continues_on_the_next_page(sprint_report, default_template, tmp_path):
    words = [f"goalword{index}" for index in range(1500)]
    report = dataclasses.replace(sprint_report, sprint=dataclasses.replace(sprint_report.sprint, goal=" ".join(words)))
    document = render_pdf(report, default_template, tmp_path / "goal.pdf")
    found = re.findall(r"goalword\d+", document.text)
    assert found == words, "every word of the goal once, in order"
    pages = [number for number, text in enumerate(document.pages) if "goalword" in text]
    assert len(pages) >= 2 and pages == list(range(pages[0], pages[-1] + 1))


def test_a_long_team_repeats_its_header_on_every_page(sprint_report, default_template, tmp_path):
    count = 150
    members = pl.DataFrame(
        {
            **{name: [sprint_report.members[name][0]] * count for name in sprint_report.members.columns},
            "name": [f"Member {index:03d}" for index in range(count)],
        },
        schema=sprint_report.members.schema,
    )
    document = render_pdf(dataclasses.replace(sprint_report, members=members), default_template, tmp_path / "team.pdf")
    pages = [text for text in document.pages if re.search(r"Member \d{3}", text)]
    assert len(pages) >= 2
    for text in pages:
        assert "Capacity (h)" in text
    assert re.findall(r"Member (\d{3})", document.text) == [f"{index:03d}" for index in range(count)]


def test_issue_table_alone_with_one_column(sprint_report, tmp_path):
    template = Template.model_validate(
        {
            "name": "points_only",
            "fields": {"basic_info": False, "team_info": False, "metrics": False, "issue_columns": ["key"]},
        }
    )
    document = render_pdf(sprint_report, template, tmp_path / "keys.pdf")
    assert set(issue_key_pattern(sprint_report).findall(document.text)) == set(sprint_report.issues["key"])


def test_wrap_text_breaks_words_wider_than_the_column():
    register_fonts()
    word = "x" * 300
    lines = pdf_wrap.wrap_text(word, width=60, max_lines=100)
    assert len(lines) > 1
    assert "".join(lines) == word
    assert all(stringWidth(line, FONT, pdf_style.CELL_SIZE) <= 60 for line in lines)


def test_wrap_text_keeps_line_breaks_and_cuts_at_max_lines():
    register_fonts()
    assert pdf_wrap.wrap_text("first\nsecond", width=200, max_lines=5) == ("first", "second")
    lines = pdf_wrap.wrap_text("word " * 200, width=60, max_lines=3)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert stringWidth(lines[-1], FONT, pdf_style.CELL_SIZE) <= 60


# --- every script: the fixture tracker of `scripts_tracker`, read back by pdftotext and pypdf

SCRIPTS_TITLE = "Отчёт · تقرير · 報告 🚀"
# pdftotext marks right-to-left runs with embedding controls; they are not text.
BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def pdftotext() -> str:
    """The pdftotext binary; on CI its absence fails, on a laptop it skips."""
    path = shutil.which("pdftotext")
    if path is None:
        message = "pdftotext is missing: apt-get install poppler-utils"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def scripts_report(tmp_path_factory) -> SprintReport:
    url = f"sqlite:///{tmp_path_factory.mktemp('scripts') / 'tracker.sqlite'}"
    sprint_id = scripts_tracker.seed_scripts_tracker(url)
    engine = connect(url)
    try:
        extract = read_sprints(engine, [sprint_id])[sprint_id]
    finally:
        engine.dispose()
    return build_report(extract, compute_metrics(extract))


@pytest.fixture(scope="module")
def scripts_pdf(scripts_report, default_template, tmp_path_factory) -> RenderedPdf:
    template = Template.model_validate({**default_template.model_dump(), "name": "scripts", "title": SCRIPTS_TITLE})
    return render_pdf(scripts_report, template, tmp_path_factory.mktemp("scripts_pdf") / "scripts.pdf")


@pytest.fixture(scope="module")
def extracted(scripts_pdf, pdftotext) -> str:
    """pdftotext's text of the whole PDF, NFKC-normalised (Arabic is drawn as presentation forms)."""
    text = subprocess.run([pdftotext, str(scripts_pdf.path), "-"], capture_output=True, text=True, check=True).stdout
    return unicodedata.normalize("NFKC", BIDI_CONTROLS.sub("", text))


def logical(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@pytest.mark.parametrize("script", sorted(scripts_tracker.SCRIPT_SAMPLES))
def test_every_script_reaches_the_text_layer_in_logical_order(script, extracted):
    assert logical(scripts_tracker.SCRIPT_SAMPLES[script]) in extracted


@pytest.mark.parametrize("name", scripts_tracker.PEOPLE)
def test_names_in_every_script_reach_the_text_layer(name, extracted):
    assert logical(name) in extracted


def test_mixed_direction_cell_keeps_its_parts_in_order(extracted):
    # pdftotext moves the space next to a right-to-left run inside it: spaces there are not compared.
    line = next(line for line in extracted.splitlines() if line.startswith("Fix "))
    assert re.fullmatch(r"Fix +تسجيل الدخول *in v2 \(build 42\)", line.strip()), line
    # Hebrew with Latin and a digit inside: each Hebrew word comes back whole and in logical order.
    for word in ("עדכון", "גרסה", "לשרת", "API"):
        assert word in extracted


def test_arabic_is_drawn_joined(scripts_pdf, pdftotext):
    """Joined letters are presentation forms: what pdftotext reads before normalising is not the input."""
    raw = subprocess.run([pdftotext, str(scripts_pdf.path), "-"], capture_output=True, text=True, check=True).stdout
    arabic = scripts_tracker.SCRIPT_SAMPLES["arabic"]
    assert arabic not in raw
    assert re.search("[\ufe70-\ufefc]", raw), "Arabic presentation forms (joined letters) on the page"


def test_devanagari_is_drawn_shaped_and_read_back_as_written(scripts_pdf, extracted):
    """pypdf reads the glyphs in the order they are drawn (it ignores /ActualText), pdftotext the
    characters as written. Shaped, the vowel sign of अनिल is drawn before न, as a glyph no
    character maps to, and त्रुटि is drawn as a conjunct, not as its six characters."""
    drawn = "\n".join(scripts_pdf.pages)
    assert "अनिल" not in drawn and re.search("अ[\U000f0000-\U000ffffd]नल", drawn), "ि drawn before न"
    assert "त्रुटि" not in drawn
    assert logical("अनिल कुमार") in extracted
    assert logical(scripts_tracker.SCRIPT_SAMPLES["devanagari"]) in extracted


def test_an_emoji_sequence_is_drawn_as_one_glyph_and_read_back_as_written(scripts_pdf, extracted):
    """A skin tone, a flag, a family joined by zero-width joiners and a keycap are each one glyph of
    the emoji font (pypdf, reading the glyphs as drawn, finds none of their parts), read back whole."""
    drawn = "\n".join(scripts_pdf.pages)
    for sequence in ("👍🏽", "🇩🇪", "👨\u200d👩\u200d👧", "1\ufe0f\u20e3"):
        assert sequence in scripts_tracker.SCRIPT_SAMPLES["emoji"] and logical(sequence) in extracted
    parts = {"\U0001f3fd", "\u200d", "\U0001f1e9", "\U0001f467", "\u20e3"}
    assert not parts & set(drawn), "parts of a sequence drawn"


def test_thai_marks_are_placed_by_the_font_and_read_back_as_written(scripts_pdf, extracted):
    """Thai's marks stack where the font's positioning puts them: the page draws shaped runs (a TJ
    array that moves the pen inside a span whose ActualText is the text), and pdftotext reads it."""
    thai = scripts_tracker.SCRIPT_SAMPLES["thai"]
    content = b"".join(page.get_contents().get_data() for page in scripts_pdf.reader.pages)
    assert f"/ActualText <FEFF{thai.encode('utf-16-be').hex().upper()}>".encode() in content
    assert logical(thai) in extracted


def test_sprint_team_and_title_in_every_script_on_title_footer_and_chart(scripts_report, extracted):
    sprint_name = logical(scripts_report.sprint.name)
    assert sprint_name == logical(scripts_tracker.SPRINT_NAMES[-1])
    assert logical(scripts_tracker.TEAM_NAME) in extracted
    pages = extracted.split("\f")
    for page in pages[:-1]:
        assert f"{sprint_name} · " in page, "the footer of every page names the sprint"
    for word in ("Отчёт", "報告 🚀", "تقرير"):
        assert word in pages[0], "the title"
    # The velocity chart labels its bars with the team's sprint names.
    for name in ("スプリント3 🎌", "스프린트 4", "冲刺五 🐉 Σπριντ"):
        assert name in pages[0]


def test_hostile_text_is_shown_as_written(extracted):
    hostile = scripts_tracker.HOSTILE
    for name in ("path", "windows_path", "formula", "plus_formula", "markup"):
        assert logical(hostile[name]) in extracted
    assert "bell escape [31m tab end" in re.sub(" +", " ", extracted), "control characters become spaces"
    assert "evil override" in extracted, "a bidi override is not obeyed"
    assert hostile["long_word"][:20] in extracted


def test_no_character_of_the_fixture_is_drawn_as_notdef(scripts_pdf, scripts_report):
    """Every character the fixture holds has a real glyph in the font its run is drawn in."""
    register_fonts()
    texts = [*scripts_tracker.all_samples().values(), *scripts_tracker.PEOPLE, *scripts_tracker.SPRINT_NAMES,
             scripts_tracker.TEAM_NAME, SCRIPTS_TITLE]
    chain = runs.regular()
    for text in texts:
        for line in pdf_wrap.wrap_text(one_line(text), 10_000, 10, chain):
            for font_name, run in chain.runs(line):
                coverage = next(font.coverage for font in chain.fonts if font.name == font_name)
                missing = [f"U+{ord(character):04X}" for character in run if ord(character) not in coverage]
                assert not missing, f"{text!r}: {missing} have no glyph in {font_name}"


def test_every_font_is_embedded_as_a_subset(scripts_pdf):
    ours = {font_file.name for font_file in fonts.ALL_FONTS}
    seen = set()
    for page in scripts_pdf.reader.pages:
        for reference in page["/Resources"]["/Font"].values():
            font = reference.get_object()
            assert_embedded_subset(font, ours)
            seen.add(str(font["/BaseFont"]).partition("+")[2].split("-")[0])
    assert {"Roboto", "NotoSansArabic", "NotoSansHebrew", "NotoSansThai", "NotoSansDevanagari", "NotoEmoji",
            "WenQuanYiMicroHei"} <= seen


def test_a_200_issue_sprint_in_every_script_stays_small(scripts_report, default_template, tmp_path):
    samples = list(scripts_tracker.all_samples().values())
    count = 200
    issues = pl.concat([scripts_report.issues] * (count // scripts_report.issues.height + 1)).head(count)
    issues = issues.with_columns(
        pl.Series("key", [f"ÜB-{index}" for index in range(count)]),
        pl.Series("summary", [f"{samples[index % len(samples)]} #{index}" for index in range(count)]),
    )
    document = render_pdf(dataclasses.replace(scripts_report, issues=issues), default_template, tmp_path / "200.pdf")
    assert document.rows == count
    assert document.path.stat().st_size < 400_000, "fonts are embedded as subsets, not whole"


def test_missing_font_package_raises_instead_of_leaving_text_out(monkeypatch):
    missing = dataclasses.replace(fonts.FALLBACKS[-1], package="not_installed_fonts", distribution="not-installed-fonts")
    with pytest.raises(fonts.FontsMissingError, match="not-installed-fonts"):
        fonts.check_fonts_installed((missing,))


def test_render_refuses_to_start_without_its_fonts(monkeypatch, sprint_report, default_template, tmp_path):
    missing = dataclasses.replace(fonts.FALLBACKS[1], path="files/nothing-here.ttf")
    monkeypatch.setattr(fonts, "ALL_FONTS", (*fonts.ALL_FONTS, missing))
    monkeypatch.setattr(fonts, "_checked", False)
    with pytest.raises(fonts.FontsMissingError, match="manimgx-fonts"):
        pdf.render(sprint_report, default_template, tmp_path / "never.pdf")
    assert not (tmp_path / "never.pdf").exists()


def test_reportlab_still_has_the_tounicode_function_we_replace():
    """`tounicode` replaces a reportlab internal; an upgrade that renames it must fail here, loudly."""
    from reportlab.pdfbase import ttfonts

    assert callable(getattr(ttfonts, "makeToUnicodeCMap", None)), "reportlab.pdfbase.ttfonts.makeToUnicodeCMap is gone"
    assert "makeToUnicodeCMap(" in Path(ttfonts.__file__).read_text(), "TTFont.addObjects no longer calls it"
    register_fonts()
    assert ttfonts.makeToUnicodeCMap is tounicode.make_to_unicode_cmap


def test_emoji_beyond_the_basic_plane_extract_as_themselves(extracted):
    for emoji in ("🚀", "🐛", "🎉", "👍", "🌍", "🐉", "🎌"):
        assert emoji in extracted
    assert "Ὠ" not in extracted, "reportlab 5.1.0's ToUnicode bug (🚀 read back as Ὠ)"


def test_brackets_inside_right_to_left_text_are_mirrored():
    """`direction` tells a bracket's level from markers placed beside it, or, when a combining mark
    follows it, from python-bidi's debug output; an upgrade that changes either must fail here."""
    from sprint_exports.formats.pdf.direction import visual

    assert visual("שלום (עולם)") == "(םלוע) םולש"
    assert visual("Fix (לוגין) bug") == "Fix (ןיגול) bug"
    assert visual("ab (ש) c") == "ab (ש) c"
    assert visual("a < b ש «c» [ד] 1") == "a < b ש «c» [ד] 1"
    assert visual("שלום <עולם> ד") == "ד <םלוע> םולש"
    assert visual("שלום (עולם)\u05b0") == "\u05b0(םלוע) םולש"  # the debug output's levels
    assert visual("שלום ─ (עולם)") == "(םלוע) ─ םולש"  # a box-drawing character of its own: the debug output
    assert visual("ש " + "() " * 70 + "ם") == "ם " + "() " * 70 + "ש"  # more brackets than markers


def test_right_to_left_text_quoting_the_bidi_debug_form_is_reordered():
    """The levels are read from python-bidi's debug output, which shows the text first: a summary
    holding that output's own words must still be read from the levels, not from its text."""
    from sprint_exports.formats.pdf.direction import visual

    assert visual("levels: [ paragraphs: שלום (x) 12") == "levels: [ paragraphs: םולש (x) 12"
    assert visual("שלום (levels: [ paragraphs:)") == "םולש (levels: [ paragraphs:)"
