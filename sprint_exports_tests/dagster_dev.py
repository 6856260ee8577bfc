"""Start and stop a real `dagster dev` (webserver + daemon) for end-to-end tests.

Reusable by any test that needs the running stack (schedules, sensors, the
GraphQL API, a browser). `dagster dev` runs from the venv this interpreter
belongs to, with the repo root as working folder, in its own process group:
after SIGTERM its children (webserver, daemon, code server, runs) can linger,
so `stop()` ends the whole group and waits for it.

    with DagsterDev(env=..., log_path=tmp_path / "dagster.log") as dev:
        dev.wait_until_ready()
        requests.post(f"{dev.url}/graphql", ...)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dagster_executable() -> Path:
    """`dagster` next to this interpreter (the venv's bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "dagster"
    return beside if beside.exists() else Path("dagster")


class DagsterDevError(RuntimeError):
    pass


class DagsterDev:
    """One `dagster dev` process group; `env` is the complete environment it gets."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        log_path: Path,
        port: int | None = None,
        workspace: Path | None = None,
        cwd: Path = REPO_ROOT,
    ):
        self.env = dict(env)
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.workspace = workspace or cwd / "workspace.yaml"
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None
        self.ready_after: float | None = None  # seconds from start to /server_info answering

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(dagster_executable()), "dev", "-h", "127.0.0.1", "-p", str(self.port), "-w", str(self.workspace)]

    def start(self) -> DagsterDev:
        command = self.command()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, ended as a whole in stop()
            )
        self.started_at = time.monotonic()
        return self

    def wait_until_ready(self, timeout: float = 90.0) -> float:
        """Wait for /server_info to answer; returns the seconds since start."""
        assert self.process is not None and self.started_at is not None, "start() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DagsterDevError(
                    f"dagster dev exited with code {self.process.returncode} before answering; log tail:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=2) as response:
                    if response.status == 200:
                        self.ready_after = time.monotonic() - self.started_at
                        return self.ready_after
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        raise DagsterDevError(f"dagster dev did not answer {self.url}/server_info within {timeout:.0f} s; log tail:\n{self.log_tail()}")

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the process group, wait up to `grace` s, then SIGKILL it; wait until the group is gone."""
        if self.process is None:
            return
        pgid = self.process.pid  # start_new_session: the leader's pid is the group id
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _group_alive(pgid) or self.process.poll() is None:
            _signal_group(pgid, signal.SIGKILL)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            kill_deadline = time.monotonic() + 10
            while _group_alive(pgid) and time.monotonic() < kill_deadline:
                time.sleep(0.2)
        self.process = None

    def log_tail(self, lines: int = 120) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no dagster dev log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> DagsterDev:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class ReadOnlyWebserver(DagsterDev):
    """`dagster-webserver --read-only` (no daemon): what the README tells viewers to be given."""

    def command(self) -> list[str]:
        webserver = dagster_executable().with_name("dagster-webserver")
        return [str(webserver), "--read-only", "-h", "127.0.0.1", "-p", str(self.port), "-w", str(self.workspace)]


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    """Whether a live (non-zombie) process is still in the group."""
    if not Path("/proc").is_dir():  # not Linux: signal 0 also counts zombies, good enough
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return any(process.group == pgid for process in live_processes().values())


class ProcessInfo(NamedTuple):
    parent: int
    group: int


def live_processes() -> dict[int, ProcessInfo]:
    """pid -> parent and process group of every live (non-zombie) process, read from /proc (Linux)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and fields[0] != "Z":
            found[int(entry.name)] = ProcessInfo(parent=int(fields[1]), group=int(fields[2]))
    return found


def descendants(pid: int) -> set[int]:
    """The live processes below `pid` (children, their children, ...)."""
    processes = live_processes()
    below, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, info in processes.items() if info.parent in frontier} - below
        below |= frontier
    return below
