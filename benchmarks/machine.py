"""What every benchmark shares: the fresh process each measurement runs in, and what its report states
about where and how it ran (machine, load, versions, command)."""

from __future__ import annotations

import multiprocessing
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(load_start: str, libraries: Sequence[str]) -> str:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = models[0] if models else cpu
    versions = ", ".join(f"{name} {version(name)}" for name in libraries)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return "\n".join(
        [
            f"- CPU: {cpu}; nproc {len(os.sched_getaffinity(0))}",
            f"- load average (1, 5, 15 min): {load_start} at the start, {load_average()} at the end",
            f"- Python {platform.python_version()}; {versions}; commit {commit} (plus whatever was uncommitted)",
        ]
    )


def command_line() -> str:
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else sys.executable
    return f"{python} {shlex.join(sys.argv)}"


def _call_into(connection, function, args) -> None:
    try:
        connection.send(("ok", function(*args)))
    except BaseException as error:  # the parent re-raises it
        connection.send(("error", repr(error)))
        raise


def in_fresh_process(function, *args):
    """`function(*args)` in a spawned process of its own, so its peak RSS and imports are its own.

    Not a pool: a pool's workers are daemonic, and export steps in a daemonic
    process refuse to start their render processes (as under Celery).
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_call_into, args=(sender, function, args))
    process.start()
    sender.close()
    status, value = receiver.recv()
    process.join()
    if status != "ok":
        raise RuntimeError(f"the measuring process failed: {value}")
    return value
