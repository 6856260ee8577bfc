"""`make dev` (which execs `sprint-exports dev`): one Ctrl-C stops every process of the Dagster UI and the portal within 10 s.

A terminal's Ctrl-C is a SIGINT to its foreground process group: here the command runs in a
group of its own and gets exactly that, both as `sprint-exports dev` and as `make dev` itself
(make and the supervisor it execs share that group). Every process below it (`dagster dev`
with its webserver, daemon and code server, the portal's uvicorn) is noted first, with its group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sprint_exports_tests.dagster_dev import REPO_ROOT, descendants, free_port, live_processes
from sprint_exports_tests.portal_stack import portal_environment

CLI = str(REPO_ROOT / ".venv/bin/sprint-exports")
STOP_WITHIN_SECONDS = 10  # the promise, not a speed target: "gone within 10 s" or not


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def dev_command(how: str, dagster_port: int, portal_port: int, home: str) -> list[str]:
    ports = f"--dagster-port {dagster_port} --portal-port {portal_port}"
    if how == "make dev":
        return ["make", "--no-print-directory", "dev", f"DAGSTER_HOME={home}", f"DEV_ARGS={ports}"]
    return [CLI, "dev", *ports.split()]


@pytest.mark.parametrize("how", ["sprint-exports dev", "make dev"])
def test_one_ctrl_c_stops_every_process_of_both_servers_within_10_s(how, tmp_path, demo_url):
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc (Linux) to see every process")
    dagster_port, portal_port = free_port(), free_port()
    with portal_environment(tmp_path, demo_url, portal_port) as setting, (tmp_path / "dev.log").open("wb") as log:
        command = dev_command(how, dagster_port, portal_port, setting["env"]["DAGSTER_HOME"])
        supervisor = subprocess.Popen(command, cwd=REPO_ROOT, env=setting["env"], stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        family: set[int] = set()
        try:
            deadline = time.monotonic() + 180
            while not (answers(f"http://127.0.0.1:{dagster_port}/server_info") and answers(f"http://127.0.0.1:{portal_port}/login")):
                assert supervisor.poll() is None, f"sprint-exports dev exited early:\n{(tmp_path / 'dev.log').read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"the servers did not answer:\n{(tmp_path / 'dev.log').read_text()[-3000:]}"
                time.sleep(0.5)
            processes = live_processes()
            family = {supervisor.pid, *descendants(supervisor.pid)}
            groups = {processes[pid].group for pid in family if pid in processes}
            assert len(groups) == 3 and len(family) >= 5  # the supervisor, dagster dev (webserver, daemon, ...), the portal

            os.killpg(supervisor.pid, signal.SIGINT)
            pressed = time.monotonic()
            while time.monotonic() - pressed < STOP_WITHIN_SECONDS + 5:
                alive = {pid for pid, info in live_processes().items() if pid in family or info.group in groups}
                if not alive:
                    break
                time.sleep(0.1)
            took = time.monotonic() - pressed
            survivors = "\n".join(f"{pid}: {command_line(pid)}" for pid in sorted(alive))
            assert not alive and took <= STOP_WITHIN_SECONDS, f"still running {took:.1f} s after Ctrl-C:\n{survivors}"
            # sprint-exports dev ends normally; make, hit by the same Ctrl-C, ends by the signal, as in a terminal
            assert supervisor.wait(5) == (0 if how == "sprint-exports dev" else -signal.SIGINT)
            print(f"\n{how}: {len(family)} processes in {len(groups)} groups gone {took:.1f} s after one SIGINT")
        finally:
            for pid in family & set(live_processes()):  # only what this test started
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if supervisor.poll() is None:
                supervisor.kill()
            supervisor.wait(10)
