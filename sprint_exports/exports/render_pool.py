"""Writing many sprints' files of one format on several processes.

A thousand-sprint backfill spends most of its time rendering, one sprint after
another: a 200-issue PDF is ~70 ms of CPU and reportlab holds the GIL, so
threads do not help. Worker processes render and write the files (through the
export store, so every file is still atomic and hashed) while the calling
process takes each finished `ExportFile` in order and records it; on a
2-core machine that keeps both cores busy.

A pool costs its workers' start-up (importing polars, xlsxwriter and
reportlab: about a second of CPU each), so it is used only for batches of at
least MIN_POOL_SPRINTS small sprints. Large sprints stay in the calling
process, one at a time: they report row progress through a callback that
cannot cross processes, and rendering two at once would double peak memory.
Daemonic processes (Celery's prefork workers) may not start children, so
they always write sequentially.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from sprint_exports.formats import OnRows, OutputFormat
from sprint_exports.report.model import SprintReport
from sprint_exports.exports.storage import StoredPath
from sprint_exports.exports.store import ExportFile, write_export
from sprint_exports.templates import Template

# Fewer sprints than this are not worth a pool's start-up.
MIN_POOL_SPRINTS = 24
# Sprints handed to a worker at a time: fewer round trips, still an even spread.
CHUNK_SPRINTS = 4


@dataclass(frozen=True)
class ExportTask:
    """One sprint's file to write: its report and the folder it goes in."""

    report: SprintReport
    folder: StoredPath


@dataclass(frozen=True)
class ExportOptions:
    """What every file of one run and format shares."""

    template: Template
    output_format: OutputFormat
    created_at: dt.datetime
    retention_days: int


def write_exports(
    tasks: Sequence[ExportTask],
    options: ExportOptions,
    *,
    processes: int,
    row_progress: Callable[[SprintReport], OnRows | None] = lambda report: None,
    on_pool: Callable[[int], None] = lambda workers: None,
) -> Iterator[ExportFile]:
    """Write every task's file, yielding each `ExportFile` in task order as soon as it is written.

    `row_progress(report)` gives a sprint's row-progress callback (None for a
    sprint too small to report); any sprint with one makes the whole batch
    sequential. `on_pool(workers)` is told when the batch goes to a pool.
    """
    callbacks = [row_progress(task.report) for task in tasks]
    workers = pool_size(len(tasks), processes)
    if workers > 1 and not any(callbacks):
        on_pool(workers)
        yield from _write_in_pool(tasks, options, workers)
        return
    for task, on_rows in zip(tasks, callbacks):
        yield _write_one(options, task, on_rows)


def pool_size(sprints: int, processes: int) -> int:
    """How many worker processes to use for `sprints` sprints; 1 means "no pool"."""
    if processes <= 1 or sprints < MIN_POOL_SPRINTS or multiprocessing.current_process().daemon:
        return 1
    return min(processes, sprints)


def _write_in_pool(tasks: Sequence[ExportTask], options: ExportOptions, processes: int) -> Iterator[ExportFile]:
    # "spawn": the calling process is a Dagster run worker with threads of its own, which fork would copy mid-flight.
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        yield from pool.imap(partial(_write_one, options), tasks, chunksize=CHUNK_SPRINTS)


def _write_one(options: ExportOptions, task: ExportTask, on_rows: OnRows | None = None) -> ExportFile:
    return write_export(
        task.report,
        options.template,
        options.output_format,
        task.folder,
        created_at=options.created_at,
        retention_days=options.retention_days,
        on_rows=on_rows,
    )
