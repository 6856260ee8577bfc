"""What every benchmark report states about where and how it ran: machine, load, versions, command."""

from __future__ import annotations

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
