"""`sprint-exports dev`: the Dagster UI and the portal side by side, stopped together by one Ctrl-C.

Each server runs in its own process group, so a Ctrl-C reaches only this
supervisor, which then ends both groups: SIGTERM, and SIGKILL for whatever
is still alive after a few seconds (`dagster dev` alone lingers over a minute
after SIGTERM), so everything is gone within 10 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

GRACE_SECONDS = 5.0


def _beside_python(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _end_groups(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        _signal(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and any(_alive(p.pid) for p in processes):
        time.sleep(0.2)
    for process in processes:
        _signal(process.pid, signal.SIGKILL)
    for process in processes:
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass


def _signal(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@click.command("dev")
@click.option("--dagster-port", default=3000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--portal-port", default=3001, show_default=True, type=click.IntRange(1, 65535))
def dev_command(dagster_port: int, portal_port: int) -> None:
    """Run `dagster dev` and the portal until Ctrl-C, then stop every process of both."""
    commands = [
        [_beside_python("dagster"), "dev", "-h", "127.0.0.1", "-p", str(dagster_port), "-w", "workspace.yaml"],
        [_beside_python("sprint-exports"), "portal", "--host", "127.0.0.1", "--port", str(portal_port)],
    ]
    env = {**os.environ, "SPRINT_EXPORTS_DAGSTER_URL": os.environ.get("SPRINT_EXPORTS_DAGSTER_URL") or f"http://127.0.0.1:{dagster_port}/graphql"}
    processes = [subprocess.Popen(command, env=env, start_new_session=True) for command in commands]
    click.echo(f"Dagster UI: http://127.0.0.1:{dagster_port}   Portal: http://127.0.0.1:{portal_port}   (Ctrl-C stops both)")
    stopping = {"now": False}

    def stop(signum, _frame) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping["now"] and all(p.poll() is None for p in processes):
            time.sleep(0.2)
    finally:
        _end_groups(processes)
    codes = [p.returncode for p in processes]
    if not stopping["now"]:
        raise click.ClickException(f"a server exited on its own (exit codes {codes}); both are stopped")
