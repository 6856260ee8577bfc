"""Benchmark submit-to-SUCCESS latency of one typical sprint export on a running `dagster dev`.

What: a temp DAGSTER_HOME with a copy of the repo's dagster.yaml (SQLite
storage, QueuedRunCoordinator, dequeue every 1 s), the demo tracker
(`seed_demo` defaults: 30 sprints, 50–300 issues, seed 7), partitions 1..30
registered, and `dagster dev` started with `sprint_exports_tests.dagster_dev.DagsterDev`.
Then `export_sprints_job` is submitted through `DagsterGraphQLClient.submit_job_execution`
for one sprint at a time (default partitions 19..23, so no run reuses an
earlier one's sprint), each after the previous one finished, and the wall time
from the submit call to a SUCCESS seen by polling `get_run_status` every 0.2 s
is measured.

The split comes from the run record (`create_timestamp`, `start_time`,
`end_time`) and the run's events: queued (create → start, which includes the
queue daemon's dequeue interval and the run worker's process start-up and
definition load up to RUN_START), started → success, and inside that the steps
(first STEP_START → last STEP_SUCCESS).

    .venv/bin/python benchmarks/run_latency.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from machine import command_line, load_average, machine  # benchmarks/machine.py

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}




def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load_average()}] {message}", file=sys.stderr, flush=True)


def submit_with_retry(client, partition: str, timeout: float = 120.0) -> tuple[str, float]:
    """Submit once the code location answers; returns (run id, submit start epoch)."""
    from dagster_graphql import DagsterGraphQLClientError

    deadline = time.monotonic() + timeout
    while True:
        submitted = time.time()
        try:
            run_id = client.submit_job_execution("export_sprints_job", tags={"dagster/partition": partition})
            return run_id, submitted
        except DagsterGraphQLClientError as error:
            if time.monotonic() > deadline:
                raise
            log(f"submit not accepted yet ({str(error)[:120]}); retrying")
            time.sleep(1)


def events_split(instance, run_id: str) -> dict[str, float | None]:
    from dagster import DagsterEventType

    first: dict[str, float] = {}
    last_step_success = None
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        first.setdefault(event.event_type_value, record.timestamp)
        if event.event_type == DagsterEventType.STEP_SUCCESS:
            last_step_success = record.timestamp
    return {
        "enqueued": first.get("PIPELINE_ENQUEUED"),
        "starting": first.get("PIPELINE_STARTING"),
        "run_start": first.get("PIPELINE_START"),
        "first_step": first.get("STEP_START"),
        "last_step": last_step_success,
        "success": first.get("PIPELINE_SUCCESS"),
    }


def measure(dev, instance, partitions: list[str], poll: float) -> list[dict]:
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=dev.port, timeout=60)
    results = []
    for partition in partitions:
        load_before = load_average()
        run_id, submitted = submit_with_retry(client, partition)
        returned = time.time()
        status = None
        while True:
            status = client.get_run_status(run_id).value
            if status in TERMINAL:
                break
            time.sleep(poll)
        seen = time.time()
        record = instance.get_run_record_by_id(run_id)
        created = record.create_timestamp.timestamp()
        events = events_split(instance, run_id)
        result = {
            "partition": partition,
            "run_id": run_id,
            "status": status,
            "total": seen - submitted,
            "submit_call": returned - submitted,
            "submit_to_create": created - submitted,
            "queued": (record.start_time or created) - created,
            "started_to_end": (record.end_time or seen) - (record.start_time or created),
            "end_to_seen": seen - (record.end_time or seen),
            "events": events,
            "created": created,
            "load": f"{load_before.split()[0]} → {load_average().split()[0]}",
        }
        results.append(result)
        log(f"partition {partition}: {status} in {result['total']:.2f} s (queued {result['queued']:.2f}, started→end {result['started_to_end']:.2f})")
    return results


def since(events: dict, created: float, key: str, base: str | None = None) -> str:
    end = events.get(key)
    start = created if base is None else events.get(base)
    if end is None or start is None:
        return "—"
    return f"{end - start:.2f}"


def render(args, results, ready_after, started, elapsed, load_start, sprint_sizes) -> str:
    lines = [f"## Run latency ({started}, {elapsed / 60:.1f} min in total)", ""]
    lines += [
        "| sprint | issues | status | submit → SUCCESS seen s | queued (create → start) s | started → end s | steps s | load (1 min) |",
        "|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        e = r["events"]
        lines.append(
            f"| {r['partition']} | {sprint_sizes.get(int(r['partition']), '?')} | {r['status']} | {r['total']:.2f} | {r['queued']:.2f} | "
            f"{r['started_to_end']:.2f} | {since(e, r['created'], 'last_step', 'first_step')} | {r['load']} |"
        )
    totals = [r["total"] for r in results]
    lines += [
        "",
        f"**Median {statistics.median(totals):.2f} s, max {max(totals):.2f} s** submit → SUCCESS over {len(totals)} runs "
        f"(target: under 5 s). Median queued {statistics.median(r['queued'] for r in results):.2f} s, "
        f"median started → end {statistics.median(r['started_to_end'] for r in results):.2f} s.",
        "",
        "Where the time goes: seconds after the run record was created (from the run's events), except the submit call's own duration:",
        "",
        "| sprint | submit call took | run STARTING (dequeued, worker launched) | RUN_START (worker up, definitions loaded) | first STEP_START | last STEP_SUCCESS | RUN_SUCCESS | SUCCESS seen by poll |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        e, c = r["events"], r["created"]
        lines.append(
            f"| {r['partition']} | {r['submit_call']:.2f} | {since(e, c, 'starting')} | {since(e, c, 'run_start')} | "
            f"{since(e, c, 'first_step')} | {since(e, c, 'last_step')} | {since(e, c, 'success')} | {r['total'] - r['submit_to_create']:.2f} |"
        )
    lines += [
        "",
        "Notes:",
        "",
        f"- `dagster dev` answered /server_info {ready_after:.1f} s after start; the runs were submitted one after the other, each after the previous one's SUCCESS.",
        f"- instance: copy of the repo's `dagster.yaml` (SQLite storage, QueuedRunCoordinator, dequeue_interval_seconds 1); executor: "
        f"`SPRINT_EXPORTS_EXECUTOR={os.environ.get('SPRINT_EXPORTS_EXECUTOR') or 'unset (in_process)'}`; each run is a new run-worker process (default run launcher).",
        f"- tracker: `seed_demo(url)` defaults (30 sprints, 50–300 issues per sprint, seed 7); partitions 1..30 registered with `register_sprints`.",
        f"- submit → SUCCESS seen: from before `submit_job_execution` to the first `get_run_status` answering SUCCESS (polled every {args.poll} s), so it includes up to one poll interval and the GraphQL round trips.",
        "",
        "Machine:",
        "",
        machine(load_start, ("dagster", "dagster-graphql", "dagster-webserver")),
        "",
        "Command:",
        "",
        "```",
        command_line(),
        "```",
        "",
    ]
    return "\n".join(lines)








def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", default="19,20,21,22,23", help="sprints to export, one run each, in order")
    parser.add_argument("--poll", type=float, default=0.2, help="get_run_status interval in seconds")
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    parser.add_argument("--keep-log", type=Path, help="copy the dagster dev log here")
    args = parser.parse_args(argv)
    args.partitions = [part.strip() for part in args.partitions.split(",") if part.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    load_start = load_average()
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sprint-latency-bench-") as directory:
        base = Path(directory)
        home = base / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        tracker = base / "tracker.sqlite"
        env = {
            "DAGSTER_HOME": str(home),
            "SPRINT_SOURCE_URL": f"sqlite:///{tracker}",
            "SPRINT_EXPORTS_DIR": str(base / "exports"),
            "SPRINT_DELIVERY_LEDGER_URL": f"sqlite:///{base / 'ledger.sqlite'}",
        }
        os.environ.update(env)  # before sprint_exports is imported

        from dagster import DagsterInstance
        from dagster._core.instance.ref import InstanceRef
        from sqlalchemy import create_engine, text

        from sprint_exports.defs.exports.partitions import register_sprints
        from sprint_exports.source.demo import seed_demo
        from sprint_exports_tests.dagster_dev import DagsterDev

        seed_demo(env["SPRINT_SOURCE_URL"])
        engine = create_engine(env["SPRINT_SOURCE_URL"])
        with engine.connect() as connection:
            sizes = dict(connection.execute(text("SELECT sprint_id, count(*) FROM issues GROUP BY sprint_id")).all())
        engine.dispose()
        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        register_sprints(instance, range(1, 31))
        log_path = base / "dagster_dev.log"
        dev = DagsterDev(env={**os.environ, **env}, log_path=log_path)
        try:
            dev.start()
            ready_after = dev.wait_until_ready(timeout=180)
            log(f"dagster dev ready after {ready_after:.1f} s on {dev.url}")
            results = measure(dev, instance, args.partitions, args.poll)
        finally:
            dev.stop()
            if args.keep_log:
                shutil.copy(log_path, args.keep_log)
            instance.dispose()
    markdown = render(args, results, ready_after, started, time.perf_counter() - clock, load_start, sizes)
    print(markdown)
    if args.out:
        args.out.write_text(markdown, encoding="utf-8")


if __name__ == "__main__":
    main()
