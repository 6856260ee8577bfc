"""Benchmark a bulk export: N sprints, all formats, as ONE run, this code beside a reference tree.

What: a demo tracker with `--sprints` sprints of `--issues-per-sprint` issues
(SQLite file in a temp folder). For each code tree, this one and the
reference (`--reference main`: `git archive` of that revision, unpacked in a
temp folder, so nothing touches the repository), a fresh Dagster instance
(`--instance sqlite`: the repo's dagster.yaml in a temp DAGSTER_HOME;
`--instance postgres`: deploy/postgres/dagster.yaml on a scratch database
`sprint_exports_bench_<pid>_<n>` on 127.0.0.1:5432, dropped afterwards) and
a fresh exports folder, then in ONE fresh process with that tree first on
`sys.path` (its render workers inherit it): all N sprints, the chosen
formats, as one run (`export_sprints(instance, None)`). The trees run one
after the other on the same data (`--order` decides which first).

Reported per tree:

- **wall** of `export_sprints(...)`;
- **CPU-s**: user+sys of the measuring process, its exited children and its
  live descendants (`/proc`; the render workers): the whole process tree.
  The PostgreSQL server's own CPU is not in it;
- **CPU per part**, from snapshots of that clock taken when each step's
  STEP_START / STEP_SUCCESS event is written: read (`sprint_extract`),
  metrics (`sprint_metrics`), each format's step (render, write, report
  build, pool start-up), of which **event writes** (CPU of the writing thread
  inside the event storage's `store_event` / `store_event_batch`) and
  **hashing** (SHA-256 of that format's files, re-measured afterwards on the
  same files); **outside steps** (run creation, planned events, reading back);
- **saturation** = wall ÷ (CPU-s ÷ cores), cores = the CPUs this process may
  use: 1.0 means every core worked all the time.

`DAGSTER_EVENT_BATCH_SIZE` (`--event-batch-size`, default 1000) is set for
this tree, as `sprint-exports` sets it for itself and deploy/README.md asks
of deployments; the reference runs with the
environment it had (unset). Partitions are registered and definitions loaded
before the clock.

    .venv/bin/python benchmarks/bulk_export.py --instance postgres --sprints 1000
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import shutil
import subprocess
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
EXPORT_STEPS = {"sprint_csv": "csv", "sprint_xlsx": "xlsx", "sprint_pdf": "pdf"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load_average()}] {message}", file=sys.stderr, flush=True)


# --- the measuring process (spawned: environment and sys.path set before sprint_exports is imported)


def tree_cpu() -> float:
    """User+sys seconds of this process, its reaped children and its live ones (render workers kept
    between steps are counted while they live, and through `children_*` once reaped)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system + live_children_cpu()


def live_children_cpu() -> float:
    """utime+stime (their own reaped children's included) of this process's live multiprocessing
    children (the render workers), from /proc/<pid>/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for child in multiprocessing.active_children():
        try:  # after "pid (comm)": state ppid ...; utime stime cutime cstime are fields 11-14 from state
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile: counted once reaped
        total += sum(int(value) for value in fields[11:15]) / tick
    return total


def measure(env: dict[str, str], tree: str, sprints: int, formats: list[str]) -> dict:
    os.environ.update(env)
    sys.path.insert(0, tree)
    os.chdir(tree)  # the definitions read export_schedules.yaml and templates/ from the working folder
    from dagster import DagsterEventType, DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    import sprint_exports
    import sprint_exports.definitions  # noqa: F401 - definition load outside the clock
    from sprint_exports.defs.exports.partitions import register_sprints
    from sprint_exports.instance.runner import export_sprints

    assert Path(sprint_exports.__file__).resolve().is_relative_to(Path(tree).resolve()), sprint_exports.__file__
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"]))
    storage = instance.event_log_storage
    original_one, original_batch = storage.store_event, storage.store_event_batch
    writes: list[tuple[str | None, float, float, int]] = []  # (open step, wall s, thread CPU s, events)
    marks: dict[str, dict[str, float]] = {}
    open_step: list[str | None] = [None]

    def note_step(event) -> None:
        dagster_event = event.dagster_event
        if dagster_event is None:
            return
        if dagster_event.event_type == DagsterEventType.STEP_START:
            marks[dagster_event.step_key] = {"start": tree_cpu(), "wall_start": time.perf_counter()}
            open_step[0] = dagster_event.step_key
        elif dagster_event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            marks[dagster_event.step_key].update(end=tree_cpu(), wall_end=time.perf_counter())
            open_step[0] = None

    def timed(write, events, count):
        step = open_step[0]
        clock, cpu = time.perf_counter(), time.thread_time()
        try:
            return write(events)
        finally:
            writes.append((step, time.perf_counter() - clock, time.thread_time() - cpu, count))

    def store_event(event):
        note_step(event)
        return timed(original_one, event, 1)

    def store_event_batch(events):
        return timed(original_batch, events, len(events))

    storage.store_event = store_event
    storage.store_event_batch = store_event_batch
    register_sprints(instance, range(1, sprints + 1))

    load_before = load_average()
    cpu_before = tree_cpu()
    clock = time.perf_counter()
    (outcome,) = export_sprints(instance, None, formats)
    wall = time.perf_counter() - clock
    cpu = tree_cpu() - cpu_before
    load_after = load_average()

    hashing: dict[str, float] = {}
    for record in outcome.files:
        started = time.process_time()
        with open(record.path, "rb") as handle:
            hashlib.file_digest(handle, "sha256")
        hashing[record.format] = hashing.get(record.format, 0.0) + time.process_time() - started
    records = instance.all_logs(outcome.run_id)
    types = Counter(r.dagster_event.event_type_value for r in records if r.dagster_event is not None)
    steps = {
        step: {
            "cpu": mark["end"] - mark["start"],
            "wall": mark["wall_end"] - mark["wall_start"],
            "write_cpu": sum(c for s, _, c, _ in writes if s == step),
            "write_wall": sum(w for s, w, _, _ in writes if s == step),
        }
        for step, mark in marks.items()
        if "end" in mark
    }
    instance.dispose()
    return {
        "success": outcome.success,
        "error": outcome.error,
        "files": len(outcome.files),
        "wall": wall,
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "steps": steps,
        "hashing": hashing,
        "write_cpu": sum(c for _, _, c, _ in writes),
        "write_wall": sum(w for _, w, _, _ in writes),
        "write_calls": len(writes),
        "events_written": sum(n for *_, n in writes),
        "event_types": dict(types.most_common()),
        "load": f"{load_before} → {load_after}",
        "batch_size": os.environ.get("DAGSTER_EVENT_BATCH_SIZE", "unset"),
    }


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


def unpack_tree(revision: str, into: Path) -> tuple[Path, str]:
    """`git archive` of `revision` unpacked under `into`: the reference code, with no worktree or
    checkout made in the repository. Returns the folder and the commit's short hash."""
    commit = subprocess.run(["git", "rev-parse", "--short", revision], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    folder = into / f"reference-{commit}"
    folder.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder, commit


# --- report


def fmt(seconds: float) -> str:
    return f"{seconds:,.1f}" if seconds >= 10 else f"{seconds:.2f}"


def ms_per_sprint(seconds: float, sprints: int) -> str:
    return f"{seconds / sprints * 1000:,.1f}"


def parts(result: dict, formats: Sequence[str]) -> list[tuple[str, float]]:
    """(part, CPU seconds) in the run: steps, with hashing and event writes taken out of them."""
    steps = result["steps"]
    rows = [("read (sprint_extract)", steps.get("sprint_extract", {}).get("cpu", 0.0) - steps.get("sprint_extract", {}).get("write_cpu", 0.0))]
    rows.append(("metrics (sprint_metrics)", steps.get("sprint_metrics", {}).get("cpu", 0.0) - steps.get("sprint_metrics", {}).get("write_cpu", 0.0)))
    for step, fmt_name in EXPORT_STEPS.items():
        if fmt_name not in formats or step not in steps:
            continue
        hashing = result["hashing"].get(fmt_name, 0.0)
        rows.append((f"{fmt_name} render + write ({step})", steps[step]["cpu"] - steps[step]["write_cpu"] - hashing))
        rows.append((f"{fmt_name} hashing", hashing))
    in_steps = sum(step["cpu"] for step in steps.values())
    rows.append(("event writes (all, storage calls' thread CPU)", result["write_cpu"]))
    outside = result["cpu"] - in_steps - (result["write_cpu"] - sum(step["write_cpu"] for step in steps.values()))
    rows.append(("outside steps (run start/end, planned events, read-back)", outside))
    return rows


def render(args, counts, results: dict[str, dict], labels: dict[str, str], started, elapsed, load_start, instance_label) -> str:
    n = args.sprints
    lines = [f"## Bulk export ({started}, {instance_label}, {n:,} sprints, {elapsed / 60:.1f} min in total)", ""]
    lines += [
        "| code | wall s | CPU s (process tree) | CPU ms / sprint | saturation (wall ÷ CPU-s/cores) | event writes: wall s / CPU s / calls for events | events | load (1, 5, 15 min) before → after |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, result in results.items():
        saturation = result["wall"] / (result["cpu"] / result["cores"]) if result["cpu"] else float("nan")
        lines.append(
            f"| {labels[name]} | {fmt(result['wall'])} | {fmt(result['cpu'])} | **{ms_per_sprint(result['cpu'], n)}** | "
            f"{saturation:.2f} | {fmt(result['write_wall'])} / {fmt(result['write_cpu'])} / {result['write_calls']:,} for "
            f"{result['events_written']:,} | {sum(result['event_types'].values()):,} | {result['load']} |"
        )
    lines += ["", "CPU ms per sprint, by part (the run's own clock; see Notes):", ""]
    names = list(results)
    lines.append("| part | " + " | ".join(labels[name] for name in names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    table = {name: parts(results[name], args.formats) for name in names}
    for index, (part, _) in enumerate(table[names[0]]):
        cells = []
        for name in names:
            rows = table[name]
            cells.append(ms_per_sprint(rows[index][1], n) if index < len(rows) else "—")
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{ms_per_sprint(results[name]['cpu'], n)}**" for name in names) + " |")
    lines += ["", "Notes:", ""]
    lines.append(
        f"- data: `seed_demo(sprints={n}, issues_per_sprint={args.issues_per_sprint}, seed={args.seed})`: "
        f"{counts['sprints']:,} sprints, {counts['issues']:,} issues, formats {','.join(args.formats)}; "
        f"render processes: {args.render_processes if args.render_processes is not None else 'default (one per core)'}; "
        f"planned events per asset (`DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true`)."
    )
    for name, result in results.items():
        spans = ", ".join(
            f"{step} {info['wall']:.1f} s wall / {info['cpu']:.1f} s CPU (event writes {info['write_wall']:.1f} s / {info['write_cpu']:.1f} s)"
            for step, info in result["steps"].items()
        )
        types = ", ".join(f"{kind} {count:,}" for kind, count in result["event_types"].items())
        lines.append(f"- {labels[name]}: `DAGSTER_EVENT_BATCH_SIZE` {result['batch_size']}; success {result['success']}, {result['files']:,} files"
                     + (f"; error: {result['error']}" if result["error"] else "") + ".")
        lines.append(f"  - steps: {spans}.")
        lines.append(f"  - events by type: {types}.")
    lines.append(
        "- parts: a step's CPU is the process tree's user+sys between its STEP_START and STEP_SUCCESS events "
        "(render workers included, live ones read from /proc); "
        "event writes and hashing are taken out of the steps they happened in; hashing is SHA-256 of the same "
        "files re-measured after the run; the PostgreSQL server's CPU is not counted anywhere."
    )
    lines += ["", "Machine:", "", machine(load_start, ("dagster", "dagster-postgres", "sqlalchemy", "polars")), "", "Command:", "", "```", command_line(), "```", ""]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--sprints", type=int, default=1000)
    parser.add_argument("--issues-per-sprint", type=int, default=200)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reference", default="main", help="git revision measured beside this tree ('' to skip)")
    parser.add_argument("--order", choices=("reference-first", "this-first"), default="reference-first")
    parser.add_argument("--event-batch-size", type=int, default=1000, help="DAGSTER_EVENT_BATCH_SIZE for this tree (0: unset)")
    parser.add_argument("--render-processes", type=int, help="SPRINT_EXPORTS_RENDER_PROCESSES (default: one per core)")
    parser.add_argument(
        "--postgres-socket", help="reach PostgreSQL through this Unix socket folder (e.g. /var/run/postgresql), not TCP"
    )
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    args = parser.parse_args(argv)
    args.formats = [part.strip() for part in args.formats.split(",") if part.strip()]
    return args


def run_one(args, base: Path, tracker: Path, name: str, tree: Path) -> tuple[dict, str]:
    """One tree's run on a fresh instance and exports folder; returns its results and instance label."""
    home = base / f"dagster_home_{name}"
    home.mkdir()
    env = {
        "DAGSTER_HOME": str(home),
        "SPRINT_SOURCE_URL": f"sqlite:///{tracker}",
        "SPRINT_EXPORTS_DIR": str(base / f"exports_{name}"),
        "SPRINT_DELIVERY_LEDGER_URL": f"sqlite:///{base / f'ledger_{name}.sqlite'}",
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
    }
    if args.render_processes is not None:
        env["SPRINT_EXPORTS_RENDER_PROCESSES"] = str(args.render_processes)
    if name == "this" and args.event_batch_size > 0:
        env["DAGSTER_EVENT_BATCH_SIZE"] = str(args.event_batch_size)
    log(f"{name}: all {args.sprints} sprints as one run ({tree}) ...")
    if args.instance == "postgres":
        shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
        env.setdefault("SPRINT_EXPORTS_SECRET_KEY", "bulk-benchmark-key-" + "0" * 40)
        with ScratchDatabase(f"sprint_exports_bench_{os.getpid()}_{name}") as url:
            if args.postgres_socket:  # same database, reached without TCP
                url = url.replace("@127.0.0.1:5432/", "@/") + f"?host={args.postgres_socket}"
            env["DAGSTER_POSTGRES_URL"] = url
            result = in_fresh_process(measure, env, str(tree), args.sprints, args.formats)
        via = f"Unix socket {args.postgres_socket}" if args.postgres_socket else "TCP 127.0.0.1:5432"
        label = f"PostgreSQL instance (deploy/postgres/dagster.yaml, {via})"
    else:
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        result = in_fresh_process(measure, env, str(tree), args.sprints, args.formats)
        label = "SQLite instance (repo dagster.yaml)"
    log(f"  {name}: {result['wall']:.1f} s wall, {result['cpu']:.1f} CPU s")
    return result, label


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
        trees = {"this": REPO}
        labels = {"this": "this tree"}
        if args.reference:
            trees["reference"], commit = unpack_tree(args.reference, base)
            labels["reference"] = f"reference `{args.reference}` ({commit})"
            if args.order == "reference-first":
                trees = {"reference": trees["reference"], "this": REPO}
        results, label = {}, ""
        for name, tree in trees.items():
            results[name], label = run_one(args, base, tracker, name, tree)
    ordered = {name: results[name] for name in ("this", "reference") if name in results}
    markdown = render(args, counts, ordered, labels, started, time.perf_counter() - clock, load_start, label)
    print(markdown)
    if args.out:
        args.out.write_text(markdown, encoding="utf-8")


if __name__ == "__main__":
    main()
