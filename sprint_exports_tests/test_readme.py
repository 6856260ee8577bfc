"""The README's command examples, run as written, so the manual cannot rot.

Every ```bash block runs, except those marked `<!-- readme-test: skip (why) -->`
(the quick start itself, long-running servers, synopses). Placeholders such as
`<run id>` become the id of a real export run made first; each block runs in
a fresh instance and exports folder, from the repo root, and must exit 0.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from sprint_exports_tests.smtp_server import SmtpTestServer

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- readme-test: skip \((?P<why>[^)]*)\) -->\n)?```bash\n(?P<body>.*?)```", re.S)


def readme_blocks() -> list[tuple[int, str, str | None]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 1, m["body"], m["why"]) for m in BLOCK.finditer(text)]


RUNNABLE = [(line, body) for line, body, why in readme_blocks() if why is None]


def test_the_readme_has_runnable_examples_and_marks_the_rest():
    assert len(RUNNABLE) >= 3
    assert all(why for _, _, why in readme_blocks() if why is not None)


@pytest.fixture(scope="module")
def readme_env(tmp_path_factory, demo_url):
    """A fresh instance and exports folder, the demo tracker, and a real SMTP server for `deliver`."""
    base = tmp_path_factory.mktemp("readme")
    smtp = SmtpTestServer(base, tls=False, auth=False).start()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DAGSTER_", "SPRINT_", "SMTP_"))}
    env.update(DAGSTER_HOME=str(base / "home"), SPRINT_SOURCE_URL=demo_url, SPRINT_EXPORTS_DIR=str(base / "exports"))
    env.update(smtp.environment())
    first = subprocess.run([str(REPO / ".venv/bin/sprint-exports"), "export", "--sprint", "19", "--sprint", "4"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    env["README_RUN_ID"] = re.search(r"Run ([0-9a-f-]{36}): success", first.stdout).group(1)
    yield env
    smtp.stop()


@pytest.mark.parametrize("line, body", RUNNABLE, ids=[f"README.md:{line}" for line, _ in RUNNABLE])
def test_readme_example_runs(line, body, readme_env, tmp_path):
    script = re.sub(r"<(export )?run id>", "$README_RUN_ID", body)
    script = script.replace("-o ./reports/", f"-o {tmp_path}/reports/")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=readme_env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"README.md:{line} failed:\n{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
