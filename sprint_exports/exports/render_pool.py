"""Writing many sprints' files of one format on several processes.

A thousand-sprint backfill spends most of its time rendering, one sprint after
another: a 200-issue PDF is ~30 ms of CPU and reportlab holds the GIL, so
threads do not help. Worker processes render and write the files (through the
export store, so every file is still atomic and hashed) while the calling
process takes each finished `ExportFile` in order and records it; on a
2-core machine that keeps both cores busy.

A pool costs its workers' start-up (importing polars, xlsxwriter and
reportlab: about a second of CPU each), so it is used only for batches of at
least MIN_POOL_SPRINTS small sprints, and a pool whose batch completed is
kept for the process's next one (the run's next format). Large sprints stay in the calling
process, one at a time: they report row progress through a callback that
cannot cross processes, and rendering two at once would double peak memory.
Daemonic processes (Celery's prefork workers) may not start children, so
they always write sequentially.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.pool
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from sprint_exports.formats import OnRows, OutputFormat
from sprint_exports.report.model import SprintReport
from sprint_exports.exports.storage import StoredPath, storage_at
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
    """Render on a pool of `processes` workers: the one the last batch of this process left, or a new one.

    A batch that ends early (a sprint failed, or the step was stopped) terminates its pool, so the
    sprints still queued are not written behind the caller's back, and removes the temporary files
    of the writes it cut short; one that completes leaves it
    for the next (the next format's step of the same run): each start costs its workers a second
    of CPU importing the renderers.
    """
    pool = _idle_pools.pop(processes, None) or _new_pool(processes)
    completed = False
    try:
        for written in pool.imap(partial(_write_or_fail, options), tasks, chunksize=CHUNK_SPRINTS):
            if isinstance(written, _Failed):
                written.error.add_note(f"In the render worker:\n{written.worker_traceback}")
                raise written.error
            yield written
        completed = True
    finally:
        if completed and processes not in _idle_pools:
            _idle_pools[processes] = pool
        else:
            pool.terminate()
            pool.join()  # the workers are gone: what they were writing stays unfinished
            for task in tasks:
                storage_at(task.folder).discard_unfinished(task.folder, options.output_format.extension)


# Pools whose last batch completed, by size; multiprocessing terminates them when the process exits.
_idle_pools: dict[int, multiprocessing.pool.Pool] = {}


def _new_pool(processes: int) -> multiprocessing.pool.Pool:
    # "spawn": the calling process is a Dagster run worker with threads of its own, which fork would copy mid-flight.
    with _environment(WORKER_ENVIRONMENT):  # spawned workers start with the environment of this moment
        return multiprocessing.get_context("spawn").Pool(processes)


# Each worker renders one small sprint at a time, one worker per core, so polars' own thread pool (a
# thread per core in every worker) only adds hand-offs: a 200-issue CSV took 6.3 ms of CPU with it and
# 3.9 ms without, its metrics 3.5 and 2.2. Polars reads the variable once, when it is imported.
WORKER_ENVIRONMENT = {"POLARS_MAX_THREADS": "1"}


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """`variables` set in os.environ while the block runs, then put back as they were."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class _Failed:
    """A sprint's error, handed back as a result: raised in a worker, it would also lose the files
    its chunk's earlier sprints had written (imap fails a chunk as a whole)."""

    error: Exception
    worker_traceback: str


def _write_or_fail(options: ExportOptions, task: ExportTask) -> ExportFile | _Failed:
    try:
        return _write_one(options, task)
    except Exception as error:
        return _Failed(error, traceback.format_exc())


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
