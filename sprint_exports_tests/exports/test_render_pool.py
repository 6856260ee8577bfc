"""Bulk rendering on worker processes: same files as one process, failures surface, settings checked."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os

import pytest

from sprint_exports import settings
from sprint_exports.formats import get_format
from sprint_exports.exports import render_pool
from sprint_exports.exports.render_pool import MIN_POOL_SPRINTS, ExportOptions, ExportTask, pool_size, write_exports
from sprint_exports.exports.store import sha256_of

CREATED = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def tasks_for(make_report, root, sprint_ids):
    return [ExportTask(make_report(sprint_id), root / str(sprint_id)) for sprint_id in sprint_ids]


def options(template, format_name: str) -> ExportOptions:
    return ExportOptions(template=template, output_format=get_format(format_name), created_at=CREATED, retention_days=7)


@pytest.mark.parametrize("format_name", ["xlsx", "pdf"])
def test_worker_processes_write_the_same_files_in_task_order(make_report, default_template, tmp_path, format_name):
    sprint_ids = list(range(1, 31))
    assert pool_size(len(sprint_ids), 2) == 2
    pooled = list(write_exports(tasks_for(make_report, tmp_path / "pool", sprint_ids), options(default_template, format_name), processes=2))
    alone = list(write_exports(tasks_for(make_report, tmp_path / "one", sprint_ids), options(default_template, format_name), processes=1))
    assert [export.sprint_id for export in pooled] == sprint_ids
    assert [export.sha256 for export in pooled] == [export.sha256 for export in alone]
    assert all(sha256_of(export.path) == export.sha256 for export in pooled)
    assert [export.row_count for export in pooled] == [make_report(i).issues.height for i in sprint_ids]


def test_a_failing_sprint_stops_the_batch_and_leaves_no_partial_file(make_report, default_template, tmp_path):
    sprint_ids = list(range(1, MIN_POOL_SPRINTS + 6))
    tasks = tasks_for(make_report, tmp_path, sprint_ids)
    blocked = tmp_path / str(sprint_ids[-3])
    blocked.write_text("a file where the sprint's folder should be")
    written = []
    with pytest.raises(OSError):
        for export in write_exports(tasks, options(default_template, "csv"), processes=2):
            written.append(export.sprint_id)
    assert written == sprint_ids[:-3], "every sprint before the failing one is handed back, its chunk's too"
    assert not list(tmp_path.rglob("*.partial"))


def test_a_completed_batch_leaves_its_workers_to_the_next_and_a_failed_one_stops_them(make_report, default_template, tmp_path):
    sprint_ids = list(range(1, MIN_POOL_SPRINTS + 1))
    first = list(write_exports(tasks_for(make_report, tmp_path / "a", sprint_ids), options(default_template, "csv"), processes=2))
    workers = {process.pid for process in multiprocessing.active_children()}
    second = list(write_exports(tasks_for(make_report, tmp_path / "b", sprint_ids), options(default_template, "xlsx"), processes=2))
    assert len(first) == len(second) == len(sprint_ids)
    assert len(workers) >= 2 and workers <= {process.pid for process in multiprocessing.active_children()}, "the same workers"
    (tmp_path / "c" / str(sprint_ids[0])).parent.mkdir()
    (tmp_path / "c" / str(sprint_ids[0])).write_text("blocked")
    with pytest.raises(OSError):
        list(write_exports(tasks_for(make_report, tmp_path / "c", sprint_ids), options(default_template, "csv"), processes=2))
    alive = {process.pid for process in multiprocessing.active_children()}
    assert not workers & alive, "a batch that failed stops its workers: nothing queued goes on writing"


def polars_threads(_: object) -> int:
    import polars

    return polars.thread_pool_size()


def test_workers_run_polars_on_one_thread_and_leave_the_environment_as_it_was(monkeypatch):
    monkeypatch.setenv("POLARS_MAX_THREADS", "7")
    pool = render_pool._new_pool(2)
    try:
        assert pool.map(polars_threads, range(2)) == [1, 1], "one worker per core, one polars thread each"
    finally:
        pool.terminate()
        pool.join()
    assert os.environ["POLARS_MAX_THREADS"] == "7"


def test_small_batches_and_daemonic_processes_render_in_process():
    assert pool_size(MIN_POOL_SPRINTS - 1, 2) == 1
    assert pool_size(1000, 1) == 1
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # a pool's workers are daemonic, like Celery's
        assert pool.apply(pool_size, (1000, 2)) == 1


def test_large_sprints_stay_in_the_calling_process_with_row_progress(make_report, default_template, tmp_path):
    counted: list[int] = []
    tasks = tasks_for(make_report, tmp_path, range(1, MIN_POOL_SPRINTS + 1))
    exports = list(
        write_exports(tasks, options(default_template, "csv"), processes=2, row_progress=lambda report: counted.append)
    )
    assert sum(counted) == sum(export.row_count for export in exports) > 0


@pytest.mark.parametrize("raw", ["0", "two", "-1"])
def test_render_processes_setting_names_the_bad_value(monkeypatch, raw):
    monkeypatch.setenv("SPRINT_EXPORTS_RENDER_PROCESSES", raw)
    with pytest.raises(ValueError, match=f"SPRINT_EXPORTS_RENDER_PROCESSES='{raw}' is not allowed"):
        settings.render_processes()


def test_render_processes_default_to_the_usable_cores(monkeypatch):
    monkeypatch.delenv("SPRINT_EXPORTS_RENDER_PROCESSES", raising=False)
    assert settings.render_processes() >= 1
    monkeypatch.setenv("SPRINT_EXPORTS_RENDER_PROCESSES", "3")
    assert settings.render_processes() == 3
