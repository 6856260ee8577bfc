"""Benchmark one very large sprint through a whole export step: read, metrics, render; time and peak memory.

What: a tracker with ONE sprint of `--issues` issues (default 1,000,000;
`seed_demo(url, sprints=1, issues_per_sprint=N, seed=7)`), in a temporary
SQLite file (`--source sqlite`) or in a scratch PostgreSQL database
`sprint_exports_large_<pid>` on 127.0.0.1:5432, created for the run and
dropped afterwards (`--source postgres`). Then, per format (`--formats`,
default csv,xlsx; xlsx last because it is by far the slowest) and `--repeat`
times, a fresh spawned process does what an export step does, in three timed
phases:

1. read:    `connect(url)` and `read_sprints(engine, [sprint_id])`;
2. metrics: `compute_metrics(extract)` and `build_report(extract, metrics)`;
3. render:  `get_format(name).render(report, template, path)` with the default
            template, into a temporary folder.

Reported per phase: median wall time, and peak RSS of that phase alone. The
step's peak RSS is the largest of the three (it includes the imports, which
come before the step starts); the target is under 1 GB for the whole step.

Why this way:

- A fresh process ('spawn') per measurement, so one run's freed-but-kept
  memory cannot flatter or burden the next, and the peak belongs to that step.
  The parent never imports polars or the project: on Linux `ru_maxrss`
  survives exec, so a large parent would inflate every child's peak. Seeding
  runs in a child process too.
- Each phase starts by resetting the kernel's RSS high-water mark (writing 5
  to /proc/self/clear_refs), so a phase's peak is its own even when an
  earlier phase peaked higher. `ru_maxrss` at the end of each phase is
  checked against VmHWM ("RSS check" in the raw samples): they differ only if
  the parent's memory leaked into the child's numbers. Where the reset is not
  allowed, the peaks are cumulative and the output says so.
- RSS at the end of each phase is reported too: it shows what a phase keeps
  (frames, allocator caches) as opposed to what it needs only while running.

Run from the repository root:

    .venv/bin/python benchmarks/large_sprint.py --source sqlite --formats csv,xlsx --repeat 3 [--out results.md]
    .venv/bin/python benchmarks/large_sprint.py --source postgres --formats csv
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bulk_export import ScratchDatabase  # benchmarks/bulk_export.py; stdlib-only at import
from machine import command_line, in_fresh_process, load_average, machine  # benchmarks/machine.py

# Only the standard library (and the two helpers above) at module level: spawned
# children import this module, and the parent must stay small.

REPO = Path(__file__).resolve().parents[1]
FORMATS = ("csv", "xlsx", "pdf")
SOURCES = ("sqlite", "postgres")
SPRINT_ID = 1  # seed_demo(sprints=1) makes one active sprint holding every issue
DEMO_SEED = 7
TARGET_BYTES = 10**9  # "peak RSS under 1 GB"
LIBRARIES = ("polars", "sqlalchemy", "psycopg2-binary", "xlsxwriter", "reportlab")
# The code an export step runs: its digest tells which version a result belongs to.
MEASURED_CODE = (
    "sprint_exports/source",
    "sprint_exports/report",
    "sprint_exports/formats",
)
MIB = 1024 * 1024
PHASES = ("read", "metrics", "render")


@dataclass(frozen=True)
class Job:
    source: str
    url: str
    fmt: str
    issues: int
    out_dir: str


@dataclass(frozen=True)
class Phase:
    """One phase of one step, measured inside the step's process."""

    name: str
    seconds: float
    cpu_seconds: float  # user + system of the whole process (all threads) during the phase
    peak_kb: int  # VmHWM at the end: the phase's own peak when `reset` is True, else cumulative
    rss_end_kb: int  # VmRSS at the end of the phase
    maxrss_kb: int  # ru_maxrss at the end of the phase (cross-check for peak_kb)
    reset: bool  # whether the high-water mark was reset when the phase began


@dataclass(frozen=True)
class Sample:
    phases: tuple[Phase, ...]
    baseline_rss_kb: int  # after imports, before the step
    rows_written: int
    size_bytes: int

    def phase(self, name: str) -> Phase:
        return next(phase for phase in self.phases if phase.name == name)

    @property
    def step_peak_kb(self) -> int:
        return max(phase.peak_kb for phase in self.phases)


@dataclass(frozen=True)
class Measurement:
    job: Job
    samples: tuple[Sample, ...]

    def seconds(self, phase: str) -> float:
        return statistics.median(sample.phase(phase).seconds for sample in self.samples)

    @property
    def step_seconds(self) -> float:
        return statistics.median(sum(phase.seconds for phase in sample.phases) for sample in self.samples)

    def peak_mb(self, phase: str) -> float:
        return max(sample.phase(phase).peak_kb for sample in self.samples) / 1024

    @property
    def step_peak_mb(self) -> float:
        return max(sample.step_peak_kb for sample in self.samples) / 1024


# --- memory, as the kernel sees this process


def memory_kb() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB."""
    values = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(values["VmRSS"].split()[0]), int(values["VmHWM"].split()[0])


def max_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reset_peak() -> bool:
    """Set this process's RSS high-water mark (VmHWM, and so ru_maxrss) to its current RSS (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@contextmanager
def phase(name: str, phases: list[Phase]) -> Iterator[None]:
    reset = reset_peak()
    cpu_start, start = cpu_seconds(), time.perf_counter()
    yield
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    rss, hwm = memory_kb()
    phases.append(Phase(name, seconds, cpu, hwm, rss, max_rss_kb(), reset))


# --- in spawned children


def seed(url: str, issues: int) -> tuple[dict[str, int], float]:
    from sprint_exports.source.demo import seed_demo

    start = time.perf_counter()
    counts = seed_demo(url, sprints=1, issues_per_sprint=issues, seed=DEMO_SEED)
    return counts, time.perf_counter() - start


def measure(job: Job) -> Sample:
    """One export step in this fresh process; imports and the template come before the step."""
    from sprint_exports.formats import get_format
    from sprint_exports.report.metrics import compute_metrics
    from sprint_exports.report.model import build_report
    from sprint_exports.source.database import connect
    from sprint_exports.source.readers import read_sprints
    from sprint_exports.templates import DEFAULT_TEMPLATE, get_template

    output = get_format(job.fmt)  # imports the renderer now, outside the clock
    template = get_template(DEFAULT_TEMPLATE)
    path = Path(job.out_dir) / f"large-{os.getpid()}.{job.fmt}"
    gc.collect()
    baseline_rss, _ = memory_kb()
    phases: list[Phase] = []
    with phase("read", phases):
        engine = connect(job.url)
        extract = read_sprints(engine, [SPRINT_ID])[SPRINT_ID]
        engine.dispose()
    with phase("metrics", phases):
        report = build_report(extract, compute_metrics(extract))
    with phase("render", phases):
        rows_written = output.render(report, template, path)
    size = path.stat().st_size
    path.unlink()
    return Sample(tuple(phases), baseline_rss, rows_written, size)


# --- the plan, in the parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load_average()}] {message}", file=sys.stderr, flush=True)


@contextmanager
def tracker(source: str, issues: int, directory: str) -> Iterator[tuple[str, str]]:
    """A seeded tracker for `source`: (URL, how it was made); a PostgreSQL one is dropped afterwards."""
    if source == "sqlite":
        url = f"sqlite:///{Path(directory) / 'tracker.sqlite'}"
        yield url, seeded(url, issues)
        return
    with ScratchDatabase(f"sprint_exports_large_{os.getpid()}") as url:
        yield url, seeded(url, issues)


def seeded(url: str, issues: int) -> str:
    log(f"seeding {issues:,} issues into {url.split('@')[-1]} ...")
    counts, seconds = in_fresh_process(seed, url, issues)
    if counts["issues"] != issues:
        raise RuntimeError(f"seeded {counts['issues']} issues, expected {issues}")
    log(f"  seeded in {seconds:.1f} s")
    return f"seeded in {seconds:.1f} s"


def run_job(job: Job, repeat: int) -> Measurement:
    samples = []
    for index in range(repeat):
        sample = in_fresh_process(measure, job)
        if sample.rows_written != job.issues:
            raise RuntimeError(f"{job.fmt} wrote {sample.rows_written} rows, expected {job.issues}")
        timings = ", ".join(f"{p.name} {p.seconds:.1f} s / {p.peak_kb / 1024:.0f} MB" for p in sample.phases)
        log(f"  {job.source} {job.fmt} run {index + 1}/{repeat}: {timings}")
        samples.append(sample)
    return Measurement(job, tuple(samples))


def ordered_formats(formats: Sequence[str]) -> list[str]:
    """XLSX last: it is slow, and its renderer is the one most likely to be mid-change."""
    return sorted(dict.fromkeys(formats), key=lambda name: name == "xlsx")


# --- the report


def code_digest() -> str:
    """A short hash of the code an export step runs, and of the XLSX renderer alone."""
    files = sorted(
        path
        for part in MEASURED_CODE
        for path in ((REPO / part).rglob("*.py") if (REPO / part).is_dir() else [REPO / part])
    )
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()[:12]
    xlsx_files = sorted((REPO / "sprint_exports/formats/xlsx").rglob("*.py"))
    xlsx = hashlib.sha256(b"".join(path.read_bytes() for path in xlsx_files)).hexdigest()[:12]
    return f"{', '.join(MEASURED_CODE)} sha256 {digest}; sprint_exports/formats/xlsx/ sha256 {xlsx}"


def results_table(measurements: Sequence[Measurement]) -> str:
    lines = [
        "| source | format | issues | read s | metrics s | render s | step s | render rows/s "
        "| peak MB read / metrics / render | step peak MB | under 1 GB | file |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for m in measurements:
        peaks = " / ".join(f"{m.peak_mb(name):,.0f}" for name in PHASES)
        lines.append(
            f"| {m.job.source} | {m.job.fmt} | {m.job.issues:,} | {m.seconds('read'):.1f} | {m.seconds('metrics'):.2f} "
            f"| {m.seconds('render'):.1f} | {m.step_seconds:.1f} | {m.job.issues / m.seconds('render'):,.0f} "
            f"| {peaks} | {m.step_peak_mb:,.0f} | {'yes' if m.step_peak_mb * MIB < TARGET_BYTES else '**no**'} "
            f"| {m.samples[-1].size_bytes / MIB:,.0f} MB |"
        )
    return "\n".join(lines)


def samples_section(measurements: Sequence[Measurement]) -> str:
    lines = [
        "Raw samples, per run: each phase's wall s (CPU s, all threads), its peak RSS and the RSS at its end, MB; "
        "the RSS before the step; and the largest |ru_maxrss − VmHWM| over the phases (RSS check):",
        "",
    ]
    for m in measurements:
        for index, sample in enumerate(m.samples, 1):
            phases = "; ".join(
                f"{p.name} {p.seconds:.2f} ({p.cpu_seconds:.2f}) s, "
                f"peak {p.peak_kb / 1024:,.0f}, end {p.rss_end_kb / 1024:,.0f}"
                for p in sample.phases
            )
            drift = max(abs(p.maxrss_kb - p.peak_kb) for p in sample.phases) / 1024
            lines.append(
                f"- {m.job.source} {m.job.fmt} run {index}: before {sample.baseline_rss_kb / 1024:,.0f}; {phases}; "
                f"RSS check {drift:.1f} MB"
            )
    return "\n".join(lines)


def notes(args: argparse.Namespace, seeding: dict[str, str], resets: bool) -> str:
    lines = [
        f"- data: `seed_demo(url, sprints=1, issues_per_sprint={args.issues}, seed={DEMO_SEED})`, one active sprint "
        f"({'; '.join(f'{source} {how}' for source, how in seeding.items())}); template: the default "
        "(`sprint_summary`: 10 issue columns, grouped by status, sorted by key, charts on).",
        f"- s: median of {args.repeat} run(s), each a fresh spawned process; step s = read + metrics + render; "
        "render rows/s = issues / render s.",
        "- peak MB: " + (
            "RSS high-water mark of that phase alone (reset when it began); "
            if resets
            else "**cumulative** RSS high-water mark at the end of that phase (the reset was not allowed here); "
        ) + "step peak = the largest, max over runs; it includes the imports (RSS before the step: see raw samples). "
        f"MB = 2^20 bytes; under 1 GB means below 10^9 bytes ({TARGET_BYTES / MIB:,.0f} MB).",
    ]
    return "\n".join(lines)


def render_markdown(
    args: argparse.Namespace,
    measurements: Sequence[Measurement],
    seeding: dict[str, str],
    started: str,
    elapsed: float,
    load_start: str,
    code_start: str,
) -> str:
    resets = all(phase.reset for m in measurements for sample in m.samples for phase in sample.phases)
    code = code_digest()
    if code != code_start:
        code += f" (**changed during the run**, was: {code_start})"
    return "\n\n".join(
        [
            f"## Large sprint: {args.issues:,} issues ({started}, {elapsed / 60:.1f} min in total)",
            results_table(measurements),
            notes(args, seeding, resets),
            "Machine:\n\n" + machine(load_start, LIBRARIES) + f"\n- code: {code}",
            f"Command:\n\n```\n{command_line()}\n```",
            samples_section(measurements),
        ]
    ) + "\n"


# --- command line


def names(choices: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        picked = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [name for name in picked if name not in choices]
        if not picked or unknown:
            raise argparse.ArgumentTypeError(f"{text!r}: choose from {', '.join(choices)}")
        return picked

    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=1_000_000, help="issues in the sprint (default 1,000,000)")
    parser.add_argument(
        "--source", type=names(SOURCES), default=["sqlite"], help="sqlite, postgres or both (default sqlite)"
    )
    parser.add_argument("--formats", type=names(FORMATS), default=["csv", "xlsx"], help="default csv,xlsx")
    parser.add_argument("--repeat", type=int, default=3, help="runs per format; medians are reported (default 3)")
    parser.add_argument("--out", type=Path, help="also write the markdown results to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.issues < 1:
        parser.error("--repeat and --issues must be 1 or more")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started, load_start, code_start = time.strftime("%Y-%m-%d %H:%M %Z"), load_average(), code_digest()
    clock = time.perf_counter()
    measurements, seeding = [], {}
    for source in dict.fromkeys(args.source):
        with tempfile.TemporaryDirectory(prefix="sprint-large-") as directory:
            with tracker(source, args.issues, directory) as (url, how):
                seeding[source] = how
                for fmt in ordered_formats(args.formats):
                    measurements.append(run_job(Job(source, url, fmt, args.issues, directory), args.repeat))
    elapsed = time.perf_counter() - clock
    markdown = render_markdown(args, measurements, seeding, started, elapsed, load_start, code_start)
    print(markdown)
    if args.out:
        args.out.write_text(markdown, encoding="utf-8")


if __name__ == "__main__":
    main()
