"""Benchmark a bulk export: N sprints, all formats, as ONE run, against one run per sprint.

What: a demo tracker with `--sprints` sprints of `--issues-per-sprint` issues
(SQLite file in a temp folder) and a fresh Dagster instance (`--instance
sqlite`: the repo's dagster.yaml in a temp DAGSTER_HOME; `--instance postgres`:
deploy/postgres/dagster.yaml on a scratch database `sprint_exports_bench_<pid>`
on 127.0.0.1:5432, dropped afterwards). Then, in ONE fresh process:

- (b) the reference: `--sample` sprints spread over 1..N, each as its own run
  (`export_sprints(instance, [i])`, one after the other), extrapolated to N;
- (a) all N sprints, all three formats, as one run (`export_sprints(instance, None)`).

The reference runs first, on the then-empty instance, so (a) is not flattered
by a smaller event log. For every run it reads the run's events back and
splits the wall time into

- **steps**: the sum of STEP_START → STEP_SUCCESS/FAILURE spans (Dagster's own
  timestamps), i.e. the asset bodies plus what Dagster does inside a step
  (IO manager, per-partition materialization events);
- **event writes**: wall time inside the event log storage's `store_event` /
  `store_event_batch` (the storage is wrapped in the measuring process), split
  into writes inside and outside the step spans;
- **outside steps**: the wall time not in any step: run creation, the
  ASSET_MATERIALIZATION_PLANNED events (one per asset and partition), run
  start/success events, reading the run's exports back.

Partitions for all N sprints are registered before the clock starts (timed
separately), so neither side pays for it.

    .venv/bin/python benchmarks/bulk_export.py --instance postgres --sprints 1000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from machine import command_line, in_fresh_process, load_average, machine  # benchmarks/machine.py

REPO = Path(__file__).resolve().parents[1]
POSTGRES_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"
FORMATS = ("csv", "xlsx", "pdf")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load_average()}] {message}", file=sys.stderr, flush=True)




# --- the measuring process (spawned: environment set before sprint_exports is imported)


def measure(env: dict[str, str], sprints: int, sample: list[int], formats: list[str], skip_bulk: bool) -> dict:
    os.environ.update(env)
    from dagster import DagsterEventType, DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    import sprint_exports.definitions  # noqa: F401 - definition load outside the clock
    from sprint_exports.defs.exports.partitions import register_sprints
    from sprint_exports.instance.runner import export_sprints

    instance = DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"]))
    writes: list[tuple[float, float, int]] = []  # (start epoch, seconds, events)
    storage = instance.event_log_storage
    original_one, original_batch = storage.store_event, storage.store_event_batch

    def store_event(event):
        start, clock = time.time(), time.perf_counter()
        try:
            return original_one(event)
        finally:
            writes.append((start, time.perf_counter() - clock, 1))

    def store_event_batch(events):
        start, clock = time.time(), time.perf_counter()
        try:
            return original_batch(events)
        finally:
            writes.append((start, time.perf_counter() - clock, len(events)))

    storage.store_event = store_event
    storage.store_event_batch = store_event_batch

    clock = time.perf_counter()
    register_sprints(instance, range(1, sprints + 1))
    registration = time.perf_counter() - clock

    def one(sprint_ids):
        writes.clear()
        load_before = load_average()
        cpu_before = os.times()
        clock = time.perf_counter()
        outcomes = export_sprints(instance, sprint_ids, formats)
        wall = time.perf_counter() - clock
        cpu_after = os.times()
        # children: the export steps' render processes, counted once they have exited (end of each step)
        cpu = sum(getattr(cpu_after, name) - getattr(cpu_before, name) for name in ("user", "system", "children_user", "children_system"))
        (outcome,) = outcomes
        records = instance.all_logs(outcome.run_id)
        spans, starts = [], {}
        for record in records:
            event = record.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                starts[event.step_key] = record.timestamp
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                spans.append((event.step_key, starts[event.step_key], record.timestamp))
        steps = sum(end - start for _, start, end in spans)

        def inside(moment: float) -> bool:
            return any(start <= moment <= end for _, start, end in spans)

        write_in = sum(seconds for start, seconds, _ in writes if inside(start))
        write_total = sum(seconds for _, seconds, _ in writes)
        run_record = instance.get_run_record_by_id(outcome.run_id)
        types = Counter(r.dagster_event.event_type_value for r in records if r.dagster_event is not None)
        return {
            "success": outcome.success,
            "error": outcome.error,
            "partitions": len(outcome.partition_keys),
            "files": len(outcome.files),
            "wall": wall,
            "cpu": cpu,
            "steps": steps,
            "step_spans": {key: end - start for key, start, end in spans},
            "write_total": write_total,
            "write_in_steps": write_in,
            "write_calls": len(writes),
            "events_written": sum(n for _, _, n in writes),
            "events": sum(types.values()),
            "event_types": dict(types.most_common()),
            "run_record": {
                "create_to_start": (run_record.start_time or 0) - run_record.create_timestamp.timestamp(),
                "start_to_end": (run_record.end_time or 0) - (run_record.start_time or 0),
            },
            "load": f"{load_before} → {load_average()}",
        }

    results: dict = {"registration": registration, "sample": [], "bulk": None}
    for sprint_id in sample:
        log(f"reference: sprint {sprint_id} as its own run ...")
        results["sample"].append({"sprint": sprint_id, **one([sprint_id])})
        log(f"  {results['sample'][-1]['wall']:.2f} s")
    if not skip_bulk:
        log(f"bulk: all {sprints} sprints as one run ...")
        results["bulk"] = one(None)
        log(f"  {results['bulk']['wall']:.1f} s")
    instance.dispose()
    return results


# --- set-up in the parent


def seed(path: Path, sprints: int, issues: int, seed_value: int) -> dict:
    from sprint_exports.source.demo import seed_demo  # the parent only seeds; no Dagster instance here

    return seed_demo(f"sqlite:///{path}", sprints=sprints, issues_per_sprint=issues, seed=seed_value)


class ScratchDatabase:
    def __init__(self, name: str):
        from sqlalchemy import create_engine

        self.name = name
        self.admin = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")

    def _execute(self, statement: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def __enter__(self) -> str:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{self.name}"')
        return f"{POSTGRES_SERVER}/{self.name}"

    def __exit__(self, *exc_info) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def sample_ids(sprints: int, count: int) -> list[int]:
    count = min(count, sprints)
    return sorted({1 + (index * sprints) // count for index in range(count)})


# --- report


def fmt(seconds: float) -> str:
    return f"{seconds:,.1f}" if seconds >= 10 else f"{seconds:.2f}"


def render(args, counts, results, started, elapsed, load_start, instance_label) -> str:
    sample, bulk = results["sample"], results["bulk"]
    n = args.sprints
    lines = [f"## Bulk export ({started}, {instance_label}, {elapsed / 60:.1f} min in total)", ""]
    lines += [
        "| what | runs | sprints | wall s | sprints/min | steps s | event writes s (in steps / outside) | outside steps s | events | CPU s | load (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]

    def row(label, runs, sprints, wall, steps, w_in, w_total, events, cpu, load):
        outside = wall - steps
        lines.append(
            f"| {label} | {runs:,} | {sprints:,} | {fmt(wall)} | {sprints / wall * 60:,.0f} | {fmt(steps)} | "
            f"{fmt(w_total)} ({fmt(w_in)} / {fmt(w_total - w_in)}) | {fmt(outside)} | {events:,} | {fmt(cpu)} | {load} |"
        )

    if bulk:
        row("(a) all sprints as ONE run", 1, n, bulk["wall"], bulk["steps"], bulk["write_in_steps"], bulk["write_total"], bulk["events"], bulk["cpu"], bulk["load"])
    if sample:
        k = len(sample)
        total = lambda key: sum(s[key] for s in sample)  # noqa: E731
        row(
            f"(b) {k} sampled sprints, one run each (measured)",
            k, k, total("wall"), total("steps"), total("write_in_steps"), total("write_total"), total("events"), total("cpu"),
            f"{sample[0]['load'].split(' → ')[0].split()[0]} → {sample[-1]['load'].split(' → ')[1].split()[0]}",
        )
        scale = n / k
        lines.append(
            f"| (b) extrapolated to {n:,} runs (× {scale:g}) | {n:,} | {n:,} | {fmt(total('wall') * scale)} | "
            f"{k / total('wall') * 60:,.0f} | {fmt(total('steps') * scale)} | {fmt(total('write_total') * scale)} | "
            f"{fmt((total('wall') - total('steps')) * scale)} | {round(total('events') * scale):,} | {fmt(total('cpu') * scale)} | — |"
        )
    lines.append("")
    if bulk and sample:
        per_run = statistics.median(s["wall"] for s in sample)
        lines.append(
            f"One run for all {n:,} sprints: **{fmt(bulk['wall'])} s** against **{fmt(per_run * n)} s** extrapolated "
            f"from one run per sprint (median {per_run:.2f} s per run): {per_run * n / bulk['wall']:.1f}× faster."
        )
        lines.append("")
    lines += ["Notes:", ""]
    lines.append(
        f"- data: `seed_demo(sprints={n}, issues_per_sprint={args.issues_per_sprint}, seed={args.seed})`: "
        f"{counts['sprints']:,} sprints, {counts['issues']:,} issues (the last planned sprint is empty by design), "
        f"formats {','.join(args.formats)}."
    )
    lines.append(
        f"- partitions for all {n:,} sprints registered before the clock: {results['registration']:.2f} s. "
        "Definition load (`import sprint_exports.definitions`) also happens before the clock."
    )
    lines.append(
        "- wall: `export_sprints(...)` around one run, in one spawned process; steps: sum of STEP_START → STEP_SUCCESS "
        "spans from the run's events (in-process executor: one step at a time; export steps of 24+ sprints render on "
        "worker processes); event writes: time inside the event storage's store_event/store_event_batch; outside "
        "steps = wall − steps (run creation, planned events, run start/success, reading back the exports); CPU s: "
        "the measuring process and its exited children (the render processes)."
    )
    lines.append(
        f"- planned events: {args.planned_events} (`DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS="
        f"{'true' if args.planned_events == 'per-asset' else 'false'}`); render processes: "
        f"{args.render_processes if args.render_processes is not None else 'default (one per core)'}."
    )
    if sample:
        lines.append(f"- sampled sprints: {', '.join(str(s['sprint']) for s in sample)}.")
    for label, result in ([("(a)", bulk)] if bulk else []) + ([("(b) first sample", sample[0])] if sample else []):
        spans = ", ".join(f"{key} {seconds:.1f} s" for key, seconds in result["step_spans"].items())
        types = ", ".join(f"{name} {count:,}" for name, count in result["event_types"].items())
        lines.append(f"- {label} step spans: {spans}.")
        lines.append(f"- {label} events by type: {types}; {result['write_calls']:,} storage calls for {result['events_written']:,} events.")
        rr = result["run_record"]
        lines.append(
            f"- {label} run record: create → start {rr['create_to_start']:.2f} s, start → end {rr['start_to_end']:.2f} s; "
            f"success {result['success']}, {result['files']:,} export files."
            + (f" Error: {result['error']}" if result["error"] else "")
        )
    if sample:
        walls = ", ".join(f"{s['wall']:.2f}" for s in sample)
        lines.append(f"- (b) per-run wall seconds: {walls}.")
    lines += ["", "Machine:", "", machine(load_start, ("dagster", "dagster-postgres", "sqlalchemy", "polars")), "", "Command:", "", "```", command_line(), "```", ""]
    return "\n".join(lines)








def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--sprints", type=int, default=1000)
    parser.add_argument("--issues-per-sprint", type=int, default=200)
    parser.add_argument("--sample", type=int, default=10, help="sprints run one per run for the reference (0: skip)")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-bulk", action="store_true", help="only the one-run-per-sprint reference")
    parser.add_argument(
        "--planned-events",
        choices=("per-asset", "per-partition"),
        default="per-asset",
        help="DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS true (per-asset, what `sprint-exports export` sets) or false",
    )
    parser.add_argument("--render-processes", type=int, help="SPRINT_EXPORTS_RENDER_PROCESSES (default: one per core)")
    parser.add_argument(
        "--postgres-socket", help="reach PostgreSQL through this Unix socket folder (e.g. /var/run/postgresql), not TCP"
    )
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    args = parser.parse_args(argv)
    args.formats = [part.strip() for part in args.formats.split(",") if part.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    load_start = load_average()
    clock = time.perf_counter()
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="sprint-bulk-bench-") as directory:
        base = Path(directory)
        tracker = base / "tracker.sqlite"
        log(f"seeding {args.sprints} sprints x {args.issues_per_sprint} issues ...")
        counts = seed(tracker, args.sprints, args.issues_per_sprint, args.seed)
        home = base / "dagster_home"
        home.mkdir()
        env = {
            "DAGSTER_HOME": str(home),
            "SPRINT_SOURCE_URL": f"sqlite:///{tracker}",
            "SPRINT_EXPORTS_DIR": str(base / "exports"),
            "SPRINT_DELIVERY_LEDGER_URL": f"sqlite:///{base / 'ledger.sqlite'}",
            "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true" if args.planned_events == "per-asset" else "false",
        }
        if args.render_processes is not None:
            env["SPRINT_EXPORTS_RENDER_PROCESSES"] = str(args.render_processes)
        sample = sample_ids(args.sprints, args.sample) if args.sample else []
        if args.instance == "postgres":
            shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
            with ScratchDatabase(f"sprint_exports_bench_{os.getpid()}") as url:
                if args.postgres_socket:  # same database, reached without TCP
                    url = url.replace("@127.0.0.1:5432/", "@/") + f"?host={args.postgres_socket}"
                env["DAGSTER_POSTGRES_URL"] = url
                results = in_fresh_process(measure, env, args.sprints, sample, args.formats, args.skip_bulk)
            via = f"Unix socket {args.postgres_socket}" if args.postgres_socket else "TCP 127.0.0.1:5432"
            label = f"PostgreSQL instance (deploy/postgres/dagster.yaml, {via})"
        else:
            shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
            results = in_fresh_process(measure, env, args.sprints, sample, args.formats, args.skip_bulk)
            label = "SQLite instance (repo dagster.yaml)"
    markdown = render(args, counts, results, started, time.perf_counter() - clock, load_start, label)
    print(markdown)
    if args.out:
        args.out.write_text(markdown, encoding="utf-8")


if __name__ == "__main__":
    main()
