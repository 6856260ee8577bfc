"""Benchmark the CSV, XLSX and PDF renderers against naive references, on the same data, in one run.

What: for every format and issue count (default 10,000 and 100,000 issues in ONE
sprint) this measures our renderer (`get_format(name).render(report, template,
path)` with the built-in `sprint_summary` template) and a naive reference:

- CSV:  pandas `DataFrame.to_csv` of the same issue columns (labels as headers);
- XLSX: an openpyxl default workbook: bold header, `ws.append` per row, `save`
        (or pandas `DataFrame.to_excel` with `--xlsx-reference pandas`);
- PDF:  a reportlab `LongTable` of the same issue columns (`repeatRows=1`) in a
        `SimpleDocTemplate`, landscape A4. LongTable needs minutes at 100,000
        rows, so by default it runs at 10,000 rows only (`--pdf-reference-rows`).

For each it reports the median wall time of `--repeat` runs, rows per second,
the output size and the peak memory.

`--text mixed` makes every summary and assignee distinct and mixed-script (Latin
with diacritics, Greek, Cyrillic, Arabic, Hebrew, Han, kana, Hangul, Thai,
Devanagari, emoji, mixed directions: the samples of the tests' fixture tracker,
`sprint_exports_tests/scripts_tracker.py`, each with the row number), so the
PDF's font fallback, shaping and reordering run on every row and its caches of
repeated text help little. The references get the same text (LongTable draws it
in Helvetica, which shows most of it blank: it measures layout only).

Why this way:

- Every measurement runs in a fresh process ('spawn'), so one run's caches,
  imports and freed-but-kept memory cannot flatter the next, and the peak RSS
  (`ru_maxrss` read in that process) belongs to that measurement alone. We
  also report the increase over the RSS measured just before rendering, after
  the imports and the data loading: that increase is what rendering costs.
- `ru_maxrss` survives exec on Linux: a child started from a large parent
  reports at least the parent's peak. This parent therefore never imports
  polars or builds data itself (a spawned child does), and every sample is
  cross-checked against the child's own `VmHWM` from /proc/self/status.
- The timed region is the render call only. Reference data preparation
  (polars to pandas, rows as Python tuples, cells as strings) happens before
  the clock starts, which favours the references; our renderers' sorting,
  formula neutralisation and type conversion are inside the clock.
- The sprint is deterministic: `seed_demo(sprints=3, issues_per_sprint=N,
  seed=7)` into a temporary SQLite file, then sprint 1 is read with
  `read_sprints`, `compute_metrics` and `build_report`, exactly as an export
  run does. The report is pickled once per size and loaded by every child.

Run from the repository root:

    .venv/bin/python benchmarks/export_formats.py --rows 10000,100000 --repeat 3 [--out results.md]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import pickle
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from machine import in_fresh_process  # benchmarks/machine.py

# Only the standard library at module level: spawned children import this module,
# and the parent must stay small (see "ru_maxrss survives exec" above).

REPO = Path(__file__).resolve().parents[1]
FORMATS = ("csv", "xlsx", "pdf")
DEMO_SPRINTS = 3
DEMO_SEED = 7
SPRINT_ID = 1
DEFAULT_PDF_REFERENCE_ROWS = "10000"
LIBRARIES = ("polars", "pyarrow", "pandas", "numpy", "openpyxl", "xlsxwriter", "reportlab", "sqlalchemy")
MIB = 1024 * 1024

Writer = Callable[[Path], int]  # writes the file at the path, returns the number of issue rows written


@dataclass(frozen=True)
class Job:
    """One measurement: which implementation of which format, on which data."""

    fmt: str
    implementation: str  # "ours", or a reference name from REFERENCES
    rows: int
    data_path: str  # the pickled SprintReport
    out_dir: str


@dataclass(frozen=True)
class Sample:
    """What one fresh child process measured."""

    seconds: float
    cpu_seconds: float  # user + system time of this process while rendering (all threads)
    rows_written: int
    size_bytes: int
    baseline_rss_kb: int  # VmRSS just before rendering
    maxrss_before_kb: int  # ru_maxrss just before rendering
    peak_kb: int  # ru_maxrss after rendering
    vm_hwm_kb: int  # /proc/self/status VmHWM after rendering (this process's own high-water mark)


@dataclass(frozen=True)
class Measurement:
    """`--repeat` samples of one job, summarised."""

    job: Job
    samples: tuple[Sample, ...]

    @property
    def seconds(self) -> float:
        return statistics.median(sample.seconds for sample in self.samples)

    @property
    def rows_per_second(self) -> float:
        return self.job.rows / self.seconds

    @property
    def peak_mb(self) -> float:
        return max(sample.peak_kb for sample in self.samples) / 1024

    @property
    def increase_mb(self) -> float:
        return max(sample.peak_kb - sample.baseline_rss_kb for sample in self.samples) / 1024

    @property
    def size_bytes(self) -> int:
        return self.samples[-1].size_bytes


# --- data: built in a child process, so the parent never holds it


def build_report_file(rows: int, directory: str, text: str = "demo") -> tuple[str, str]:
    """Seed a demo tracker with `rows` issues per sprint, build sprint 1's report and pickle it.

    `text="mixed"` replaces the summaries and assignees with mixed-script text (see the docstring).

    Returns the pickle's path and a description of the default template (the
    parent does not import the project, see the module docstring).
    """
    from sprint_exports.report.metrics import compute_metrics
    from sprint_exports.report.model import build_report
    from sprint_exports.source.database import connect
    from sprint_exports.source.demo import seed_demo
    from sprint_exports.source.readers import read_sprints

    url = f"sqlite:///{Path(directory) / f'tracker-{rows}.sqlite'}"
    seed_demo(url, sprints=DEMO_SPRINTS, issues_per_sprint=rows, seed=DEMO_SEED)
    engine = connect(url)
    extract = read_sprints(engine, [SPRINT_ID])[SPRINT_ID]
    engine.dispose()
    report = build_report(extract, compute_metrics(extract))
    if report.issues.height != rows:
        raise RuntimeError(f"sprint {SPRINT_ID} has {report.issues.height} issues, expected {rows}")
    if text == "mixed":
        report = with_mixed_scripts(report)
    path = Path(directory) / f"report-{rows}.pickle"
    path.write_bytes(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))
    return str(path), describe_default_template()


def with_mixed_scripts(report: Any) -> Any:
    """The report with every summary and assignee in a mixed-script sample, made distinct by the row number."""
    import dataclasses

    import polars as pl

    sys.path.insert(0, str(REPO))  # the tests' fixture tracker holds the samples; it is not an installed package
    from sprint_exports_tests.scripts_tracker import PEOPLE, all_samples

    samples = [sample for name, sample in all_samples().items() if name != "long_word"]
    count = report.issues.height
    summaries = [f"{samples[index % len(samples)]} {samples[(index * 7 + 3) % len(samples)][:24]} #{index}" for index in range(count)]
    assignees = [PEOPLE[index % len(PEOPLE)] for index in range(count)]
    issues = report.issues.with_columns(pl.Series("summary", summaries), pl.Series("assignee", assignees))
    return dataclasses.replace(report, issues=issues)


def describe_default_template() -> str:
    from sprint_exports.templates import DEFAULT_TEMPLATE, get_template

    template = get_template(DEFAULT_TEMPLATE)
    options = template.format_options
    return (
        f"the `{template.name}` template: {len(template.table_columns)} issue columns, "
        f"grouped by {options.group_by}, sorted by {options.sort_by}, charts {'on' if options.include_charts else 'off'}"
    )


# --- the implementations under test; each prepares its data, then returns the timed writer


def ours(fmt: str, report: Any) -> Writer:
    from sprint_exports.formats import get_format
    from sprint_exports.templates import DEFAULT_TEMPLATE, get_template

    output_format = get_format(fmt)  # imports the renderer module now, outside the clock
    template = get_template(DEFAULT_TEMPLATE)
    return lambda path: output_format.render(report, template, path)


def issue_table(report: Any) -> tuple[list[str], Any]:
    """The default template's issue table columns, in its order, with their labels (not sorted or grouped)."""
    from sprint_exports.report.model import ISSUE_COLUMNS
    from sprint_exports.templates import DEFAULT_TEMPLATE, get_template

    columns = get_template(DEFAULT_TEMPLATE).table_columns
    return [ISSUE_COLUMNS[name].label for name in columns], report.issues.select(columns)


def pandas_to_csv(report: Any) -> Writer:
    labels, issues = issue_table(report)
    frame = issues.to_pandas()
    frame.columns = labels

    def write(path: Path) -> int:
        frame.to_csv(path, index=False)
        return len(frame)

    return write


def openpyxl_append(report: Any) -> Writer:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    labels, issues = issue_table(report)
    rows = issues.rows()  # Python str/int/datetime/None, as openpyxl wants them

    def write(path: Path) -> int:
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(labels)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        workbook.save(path)
        return len(rows)

    return write


def pandas_to_excel(report: Any) -> Writer:
    labels, issues = issue_table(report)
    frame = issues.to_pandas()
    frame.columns = labels

    def write(path: Path) -> int:
        frame.to_excel(path, index=False)  # pandas' default xlsx engine: openpyxl
        return len(frame)

    return write


def longtable(report: Any) -> Writer:
    import polars as pl
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, SimpleDocTemplate, TableStyle
    from sprint_exports.report.model import DATETIME_FORMAT, ISSUE_COLUMNS

    labels, issues = issue_table(report)
    texts = issues.select(
        (pl.col(name).dt.strftime(DATETIME_FORMAT) if dtype.is_temporal() else pl.col(name).cast(pl.String)).fill_null("")
        for name, dtype in issues.schema.items()
    )
    data = [labels, *map(list, texts.rows())]
    page = landscape(A4)
    width = page[0] - 2 * 12 * mm
    shares = [ISSUE_COLUMNS[name].width for name in issues.columns]
    col_widths = [width * share / sum(shares) for share in shares]
    style = TableStyle(
        [
            ("FONTSIZE", (0, 0), (-1, -1), 7),
            ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
            ("GRID", (0, 0), (-1, -1), 0.3, "#c4ccd5"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )

    def write(path: Path) -> int:
        document = SimpleDocTemplate(str(path), pagesize=page, leftMargin=12 * mm, rightMargin=12 * mm)
        table = LongTable(data, colWidths=col_widths, repeatRows=1)
        table.setStyle(style)
        document.build([table])
        return len(data) - 1

    return write


REFERENCES: dict[str, Callable[[Any], Writer]] = {
    "pandas_to_csv": pandas_to_csv,
    "openpyxl_append": openpyxl_append,
    "pandas_to_excel": pandas_to_excel,
    "longtable": longtable,
}
REFERENCE_LABELS = {
    "pandas_to_csv": "pandas `DataFrame.to_csv(index=False)`",
    "openpyxl_append": "openpyxl default `Workbook`: bold header, `ws.append` per row, `save`",
    "pandas_to_excel": "pandas `DataFrame.to_excel(index=False)` (openpyxl engine)",
    "longtable": "reportlab `LongTable(repeatRows=1)`, plain-string cells, Helvetica 7 pt, grid, landscape A4",
}


# --- one measurement, in a fresh child process


def memory_kb() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB, from /proc/self/status."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def max_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def measure(job: Job) -> Sample:
    """Load the report, prepare the implementation, then time and measure only the write."""
    with open(job.data_path, "rb") as handle:
        report = pickle.load(handle)
    prepare = (lambda r: ours(job.fmt, r)) if job.implementation == "ours" else REFERENCES[job.implementation]
    write = prepare(report)
    path = Path(job.out_dir) / f"{job.implementation}-{job.rows}.{job.fmt}"
    gc.collect()
    baseline_rss, _ = memory_kb()
    maxrss_before = max_rss_kb()
    cpu_start, start = cpu_seconds(), time.perf_counter()
    rows_written = write(path)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    peak = max_rss_kb()
    _, vm_hwm = memory_kb()
    size = path.stat().st_size
    path.unlink()
    return Sample(seconds, cpu, rows_written, size, baseline_rss, maxrss_before, peak, vm_hwm)


def run_job(job: Job, repeat: int) -> Measurement:
    samples = []
    for index in range(repeat):
        sample = in_fresh_process(measure, job)
        if sample.rows_written != job.rows:
            raise RuntimeError(f"{job.implementation} {job.fmt} wrote {sample.rows_written} rows, expected {job.rows}")
        log(f"  {job.fmt:<4} {job.implementation:<15} {job.rows:>7} rows  run {index + 1}/{repeat}: {sample.seconds:8.2f} s")
        samples.append(sample)
    return Measurement(job, tuple(samples))


# --- the plan and the report


@dataclass(frozen=True)
class Case:
    fmt: str
    rows: int
    ours: Measurement
    reference_name: str
    reference: Measurement | None  # None: not run at this size


def reference_for(fmt: str, xlsx_reference: str) -> str:
    return {"csv": "pandas_to_csv", "xlsx": f"{xlsx_reference}", "pdf": "longtable"}[fmt]


def run_cases(args: argparse.Namespace, data: dict[int, str], out_dir: str) -> list[Case]:
    cases = []
    for fmt in args.formats:
        for rows in args.rows:
            mine = run_job(Job(fmt, "ours", rows, data[rows], out_dir), args.repeat)
            name = reference_for(fmt, args.xlsx_reference)
            reference = None
            if fmt != "pdf" or rows in args.pdf_reference_rows:
                reference = run_job(Job(fmt, name, rows, data[rows], out_dir), args.repeat)
            cases.append(Case(fmt, rows, mine, name, reference))
    return cases


def megabytes(size_bytes: int) -> str:
    return f"{size_bytes / MIB:.1f} MB" if size_bytes >= MIB else f"{size_bytes / 1024:.0f} KB"


def results_table(cases: Sequence[Case]) -> str:
    header = (
        "| format | rows | ours s | ours rows/s | ours peak MB / +MB | ours size "
        "| reference s | reference rows/s | reference peak MB / +MB | reference size | speed-up × |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for case in cases:
        mine, ref = case.ours, case.reference
        cells = [
            case.fmt,
            f"{case.rows:,}",
            f"{mine.seconds:.2f}",
            f"{mine.rows_per_second:,.0f}",
            f"{mine.peak_mb:.0f} / +{mine.increase_mb:.0f}",
            megabytes(mine.size_bytes),
        ]
        if ref is None:
            cells += ["not run", "—", "—", "—", "—"]
        else:
            cells += [
                f"{ref.seconds:.2f}",
                f"{ref.rows_per_second:,.0f}",
                f"{ref.peak_mb:.0f} / +{ref.increase_mb:.0f}",
                megabytes(ref.size_bytes),
                f"{ref.seconds / mine.seconds:.1f}×",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def samples_section(cases: Sequence[Case]) -> str:
    """Every sample's wall and CPU time, plus two checks on the memory numbers (largest over the runs):

    - |ru_maxrss − VmHWM|: near 0 means ru_maxrss was not inflated by the parent process;
    - loading high-water: how far the high-water mark before rendering already stood above the
      RSS then; rendering memory up to that much is invisible in the peak, so +MB is exact only
      when rendering rises above it, which it does when this is small next to +MB.
    """
    lines = [
        "Raw samples: wall seconds per run (CPU seconds, user + system, all threads); "
        "largest |ru_maxrss − VmHWM|; largest pre-render high-water above the pre-render RSS:",
        "",
    ]
    for case in cases:
        for measurement in (case.ours, case.reference):
            if measurement is None:
                continue
            times = ", ".join(f"{sample.seconds:.2f} ({sample.cpu_seconds:.2f})" for sample in measurement.samples)
            drift = max(abs(sample.peak_kb - sample.vm_hwm_kb) for sample in measurement.samples) / 1024
            job = measurement.job
            slack = max(max(0, s.maxrss_before_kb - s.baseline_rss_kb) for s in measurement.samples) / 1024
            lines.append(
                f"- {job.fmt} {job.implementation} {job.rows:,}: {times} s; "
                f"RSS check {drift:.1f} MB; loading high-water {slack:.1f} MB"
            )
    return "\n".join(lines)


def notes(args: argparse.Namespace, cases: Sequence[Case], template: str) -> str:
    used = sorted({case.reference_name for case in cases})
    skipped = sorted({case.rows for case in cases if case.reference is None})
    lines = [
        f"- ours: `get_format(name).render(report, template, path)` with {template}; XLSX and PDF also write "
        "the summary, team, burndown and velocity sections. References get the same columns, unsorted and ungrouped.",
        *(f"- reference `{name}`: {REFERENCE_LABELS[name]}." for name in used),
        f"- s: median wall time of {args.repeat} run(s), each in a fresh spawned process; rows/s = rows / s; "
        "speed-up × = reference s / ours s.",
        "- peak MB: `ru_maxrss` of that process after rendering (max over runs); +MB: peak minus the RSS "
        "just before rendering (after imports and data loading). MB = 2^20 bytes.",
        f"- data: `seed_demo(sprints={DEMO_SPRINTS}, issues_per_sprint=N, seed={DEMO_SEED})` into a temporary "
        f"SQLite file; sprint {SPRINT_ID} read with `read_sprints` + `compute_metrics` + `build_report`.",
    ]
    if args.text == "mixed":
        lines.append(
            "- text: `--text mixed`: every summary and assignee distinct and mixed-script (every script of the "
            "tests' fixture tracker, mixed directions, emoji), for ours and the reference alike."
        )
    if skipped:
        lines.append(
            f"- The PDF reference (LongTable) was **not run** at {', '.join(f'{rows:,}' for rows in skipped)} rows "
            f"(by default it runs at {DEFAULT_PDF_REFERENCE_ROWS} rows only: at 100,000 rows it takes minutes). "
            "Run it there with `--pdf-reference-rows "
            + ",".join(str(rows) for rows in sorted(set(args.rows)))
            + "`."
        )
    return "\n".join(lines)


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def machine(digest_at_start: str, load_at_start: str) -> str:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = models[0] if models else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{total_kb / MIB:.1f} GiB"
    versions = ", ".join(f"{name} {installed_version(name)}" for name in LIBRARIES)
    return "\n".join(
        [
            f"- CPU: {cpu}; nproc {len(os.sched_getaffinity(0))}; memory {memory}",
            f"- OS: {platform.platform()}",
            f"- load average (1, 5, 15 min): {load_at_start} at the start, {load_average()} at the end",
            f"- Python {platform.python_version()} ({sys.executable})",
            f"- {versions}",
            f"- code: {code_version(digest_at_start)}",
        ]
    )


def installed_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def formats_digest() -> str:
    """A short hash of the renderer sources, to tell which code a result belongs to."""
    sources = sorted((REPO / "sprint_exports" / "formats").rglob("*.py"))
    return hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:12]


def code_version(digest_at_start: str) -> str:
    """The commit, whether the renderers differ from it, and whether they changed while we measured."""
    digest = formats_digest()
    hashed = f"sprint_exports/formats/**/*.py sha256 {digest}"
    if digest != digest_at_start:
        hashed += f" (**changed during the run**, was {digest_at_start} at the start: rerun for clean numbers)"
    try:
        commit = git("rev-parse", "--short", "HEAD")
        # --no-optional-locks: a read-only status that does not refresh the index.
        changed = git("--no-optional-locks", "status", "--porcelain", "--", "sprint_exports/formats")
    except (OSError, subprocess.CalledProcessError):
        return f"{hashed} (no git)"
    state = "uncommitted changes in " + ", ".join(line[3:] for line in changed.splitlines()) if changed else "clean"
    return f"commit {commit}, sprint_exports/formats {state}; {hashed}"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.rstrip("\n")


def command_line() -> str:
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else sys.executable
    return f"{python} {shlex.join(sys.argv)}"


def render_markdown(
    args: argparse.Namespace,
    cases: Sequence[Case],
    template: str,
    started: str,
    elapsed: float,
    state_at_start: tuple[str, str],
) -> str:
    """The whole report; `state_at_start` is (renderer sources digest, load average) when the run began."""
    return "\n\n".join(
        [
            f"## Results ({started}, {elapsed / 60:.1f} min in total)",
            results_table(cases),
            notes(args, cases, template),
            "Machine:\n\n" + machine(*state_at_start),
            f"Command:\n\n```\n{command_line()}\n```",
            samples_section(cases),
        ]
    ) + "\n"


# --- command line


def row_counts(text: str) -> list[int]:
    counts = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive row counts separated by commas")
    return counts


def format_names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"{text!r}: choose from {', '.join(FORMATS)}")
    return names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=row_counts, default=row_counts("10000,100000"), help="issue counts (default 10000,100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median is reported (default 3)")
    parser.add_argument("--formats", type=format_names, default=list(FORMATS), help="default csv,xlsx,pdf")
    parser.add_argument(
        "--pdf-reference-rows",
        type=row_counts,
        default=row_counts(DEFAULT_PDF_REFERENCE_ROWS),
        help=f"row counts at which the slow LongTable reference runs (default {DEFAULT_PDF_REFERENCE_ROWS})",
    )
    parser.add_argument(
        "--xlsx-reference",
        choices=("openpyxl_append", "pandas_to_excel"),
        default="openpyxl_append",
        help="the XLSX reference (default openpyxl_append)",
    )
    parser.add_argument(
        "--text",
        choices=("demo", "mixed"),
        default="demo",
        help="issue text: the demo data's (default) or distinct mixed-script text on every row",
    )
    parser.add_argument("--out", type=Path, help="also write the markdown results to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    clock = time.perf_counter()
    state_at_start = formats_digest(), load_average()
    with tempfile.TemporaryDirectory(prefix="sprint-bench-") as directory:
        data, template = {}, ""
        for rows in sorted(set(args.rows)):
            log(f"building a {rows:,}-issue sprint ...")
            data[rows], template = in_fresh_process(build_report_file, rows, directory, args.text)
        cases = run_cases(args, data, directory)
    markdown = render_markdown(args, cases, template, started, time.perf_counter() - clock, state_at_start)
    print(markdown)
    if args.out:
        args.out.write_text(markdown, encoding="utf-8")


if __name__ == "__main__":
    main()
