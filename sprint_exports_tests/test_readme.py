"""The README's command examples, run as written, so the manual cannot rot.

Every ```bash block runs, except those marked `<!-- readme-test: skip (why) -->`
(the quick start itself, long-running servers, synopses). Placeholders such as
`<run id>` become the id of a real export run made first; each block runs in
a fresh instance and exports folder, from the repo root, and must exit 0.
Blocks marked `<!-- readme-test: portal -->` (the REST API's curl examples) run
beside a live `dagster dev` and the portal, with SPRINT_EXPORTS_PORTAL_URL
pointing at it.
"""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from sprint_exports_tests.portal_stack import portal_stack
from sprint_exports_tests.smtp_server import SmtpTestServer

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(
    r"(<!-- readme-test: (?:skip \((?P<why>[^)]*)\)|(?P<portal>portal)) -->\n)?```bash\n(?P<body>.*?)```", re.S)


def readme_blocks() -> list[tuple[int, str, str | None, bool]]:
    """(line, body, why it is skipped or None, whether it needs the portal) of every bash block."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 1, m["body"], m["why"], m["portal"] is not None) for m in BLOCK.finditer(text)]


RUNNABLE = [(line, body) for line, body, why, portal in readme_blocks() if why is None and not portal]
WITH_PORTAL = [(line, body) for line, body, why, portal in readme_blocks() if portal]


def test_the_readme_has_runnable_examples_and_marks_the_rest():
    assert len(RUNNABLE) >= 3
    assert any("curl" in body for _, body in WITH_PORTAL)
    assert all(why for _, _, why, portal in readme_blocks() if why is not None)


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


def run_block(line: int, body: str, env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run one block as written (placeholders filled, ./reports/ moved into `tmp_path`); it must exit 0."""
    script = re.sub(r"<(export )?run id>", "$README_RUN_ID", body)
    script = script.replace("-o ./reports/", f"-o {tmp_path}/reports/")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"README.md:{line} failed:\n{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done


@pytest.mark.parametrize("line, body", RUNNABLE, ids=[f"README.md:{line}" for line, _ in RUNNABLE])
def test_readme_example_runs(line, body, readme_env, tmp_path):
    run_block(line, body, readme_env, tmp_path)


@pytest.fixture(scope="module")
def readme_portal(tmp_path_factory, demo_url):
    with portal_stack(tmp_path_factory.mktemp("readme_portal"), demo_url) as stack:
        yield stack


@pytest.mark.parametrize("line, body", WITH_PORTAL, ids=[f"README.md:{line}" for line, _ in WITH_PORTAL])
def test_readme_api_example_runs_against_the_portal(line, body, readme_portal, tmp_path):
    done = run_block(line, body, readme_portal["env"], tmp_path)
    # what the reader was promised: the PDF and the zip on disk, the refusal named, the subscription gone
    assert (tmp_path / "reports/sprint-4.pdf").read_bytes().startswith(b"%PDF")
    assert zipfile.is_zipfile(tmp_path / "reports/export.zip")
    assert re.search(r"sprint 2: .* 403$", done.stdout, re.M), done.stdout
    assert '"export_ids":[' in done.stdout and '{"schedules":[' in done.stdout
