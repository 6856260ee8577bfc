"""End to end in a real browser: a user exports one sprint as Excel from the Dagster UI.

A real `dagster dev` (webserver and daemon, the repo's dagster.yaml in a
temporary DAGSTER_HOME) serves the code location over a seeded demo tracker;
headless Debian Chromium, driven by Playwright, does what a user does:

1. opens the UI and finds `sprint_xlsx` with the search palette;
2. sees its `sprints` partitions, sprint 7 among them;
3. finds the `sprint_exports` asset group the same way, selects
   `sprint_xlsx` with its upstream `sprint_extract` and `sprint_metrics`
   in the group's lineage (shift-click) and launches "Materialize
   selected (3)…" for the one partition 7: one run builds all three
   (materializing `sprint_xlsx` alone, the UI warns, fails without them);
4. follows the launched run until the run page says Success;
5. opens partition 7 of `sprint_xlsx` and reads the file's `path` and
   `size_bytes` in the materialization's metadata.

Every step leaves a PNG; they are copied to ARTIFACTS (printed at the end).
Needs /usr/bin/chromium and `playwright` (no `playwright install`): without
them the test fails on CI and skips elsewhere. Takes about 1-2 minutes.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef

from sprint_exports.defs.exports.partitions import register_sprints
from sprint_exports_tests.browser import VIEWPORT, Screenshots, launch_chromium, require_browser
from sprint_exports_tests.dagster_dev import REPO_ROOT, DagsterDev

ARTIFACTS = Path("/tmp/sprint-exports-browser-artifacts")  # .test-artifacts/ is not git-ignored
SPRINT = "7"
ASSET = "sprint_xlsx"
GROUP = "sprint_exports"
SPRINT_IDS = range(1, 31)  # the demo tracker's sprints
MATERIALIZE = ("sprint_extract", "sprint_metrics", ASSET)  # the asset and its upstream, as one run

READY_TIMEOUT = 90  # s for /server_info
UI_TIMEOUT = 30_000  # ms for one page or element to show up
COMMUNITY_MODAL_WAIT = 10_000  # ms; it opens ~1 s after the first page's data
RUN_TIMEOUT = 120  # s from launch to the run's end
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def dagster_environment(home: Path, tracker_url: str, tmp_path: Path) -> dict[str, str]:
    """The complete environment of `dagster dev`: nothing from DAGSTER_/SPRINT_/SMTP_ in the shell leaks in."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DAGSTER_", "SPRINT_", "SMTP_"))}
    templates = tmp_path / "templates"  # empty: only the built-in templates
    templates.mkdir()
    env.update(
        DAGSTER_HOME=str(home),
        SPRINT_SOURCE_URL=tracker_url,
        SPRINT_EXPORTS_DIR=str(tmp_path / "exports"),
        SPRINT_EXPORT_SCHEDULES=str(tmp_path / "no_export_schedules.yaml"),  # missing: no export schedules
        SPRINT_EXPORT_TEMPLATES_DIR=str(templates),
        SPRINT_DELIVERY_LEDGER_URL=f"sqlite:///{home / 'delivery_ledger.sqlite'}",
        PYTHONUNBUFFERED="1",
    )
    return env


def register_partitions(home: Path, env: dict[str, str]) -> None:
    """Add the demo sprints as `sprints` partitions before the stack starts (no waiting for the sensor)."""
    saved = {name: os.environ.get(name) for name in env if name.startswith(("DAGSTER_", "SPRINT_"))}
    os.environ.update({name: env[name] for name in saved})
    try:
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            register_sprints(instance, SPRINT_IDS)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def wait_for_run(home: Path, run_id: str, timeout: float) -> DagsterRunStatus:
    """Poll the instance until the run ends (bounded); returns its final status."""
    deadline = time.monotonic() + timeout
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        while True:
            run = instance.get_run_by_id(run_id)
            if run is not None and run.status in FINISHED:
                return run.status
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"run {run_id} did not finish within {timeout:.0f} s (status {run.status if run else 'unknown'})"
                )
            time.sleep(1)


def recorded_export(home: Path, run_id: str) -> tuple[Path, int]:
    """The `path` and `size_bytes` that the run recorded for ASSET's partition SPRINT."""
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=1000).records
    ours = [
        r.event_log_entry.asset_materialization
        for r in records
        if r.event_log_entry.asset_materialization.asset_key.to_user_string() == ASSET
        and r.event_log_entry.asset_materialization.partition == SPRINT
    ]
    assert len(ours) == 1, f"expected one {ASSET} materialization of partition {SPRINT} by run {run_id}, got {len(ours)}"
    metadata = ours[0].metadata
    return Path(str(metadata["path"].value)), int(metadata["size_bytes"].value)


def search_and_open(page, query: str, result_kind: str, name: str) -> None:
    """Open the search palette, type `query`, click the result `name` described as `result_kind`."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Search").click()
    box = page.get_by_placeholder(re.compile(r"^Search assets"))
    expect(box).to_be_visible()
    box.fill(query)
    result = page.get_by_role("link").filter(has_text=result_kind).filter(has=page.get_by_text(name, exact=True))
    expect(result).to_have_count(1)
    result.click()


def skip_community_modal(page) -> None:
    """Skip the "Join the Dagster community" modal, as a user would.

    On a 127.0.0.1 webserver whose instance has not seen it, the UI opens it one second after the
    first page loads; once skipped it stays away. A handler still skips it should it ever come later.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect

    modal = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
    try:
        modal.wait_for(state="visible", timeout=COMMUNITY_MODAL_WAIT)
    except PlaywrightTimeoutError:
        pass  # not shown by this Dagster: nothing to skip
    else:
        modal.get_by_role("button", name="Skip").click()
        expect(modal).to_be_hidden()
    page.add_locator_handler(modal, lambda: modal.get_by_role("button", name="Skip").click())


def export_one_sprint(page, shots: Screenshots, home: Path, exports: Path, timings: dict[str, float]) -> None:
    """The user's steps in the UI, with the checks and a screenshot after each."""
    from playwright.sync_api import expect

    started = time.monotonic()
    # 1. The UI, then sprint_xlsx through the search palette.
    page.goto("/")
    expect(page.get_by_role("link", name="Catalog")).to_be_visible()
    skip_community_modal(page)
    expect(page.get_by_text(re.compile(r"^Loading"))).to_have_count(0)  # the overview's runs and ticks
    shots.take(page, "home")
    search_and_open(page, ASSET, "Asset in", ASSET)
    expect(page).to_have_url(re.compile(rf"/assets/{ASSET}"))
    expect(page.get_by_text("Latest materialization")).to_be_visible()
    expect(page.get_by_text("Never materialized")).to_be_visible()
    shots.take(page, "asset-overview")

    # 2. Its partitions: the 30 demo sprints, none materialized yet.
    page.get_by_role("tab", name="Partitions").click()
    expect(page.get_by_text(f"{len(SPRINT_IDS)} Partitions Selected")).to_be_visible()
    expect(page.get_by_text(f"Missing ({len(SPRINT_IDS)})")).to_be_visible()
    expect(page.get_by_text(SPRINT, exact=True).first).to_be_visible()
    shots.take(page, "asset-partitions")

    # 3. The asset group's lineage: select sprint_xlsx with its upstream assets, materialize them for partition 7.
    search_and_open(page, GROUP, "Asset group", GROUP)
    expect(page.get_by_role("button", name="Materialize all…")).to_be_enabled()
    expect(page.get_by_text("Loading…", exact=True)).to_have_count(0)  # every node's partitions counted
    for index, name in enumerate(MATERIALIZE):
        page.get_by_role("button", name=name).click(modifiers=["Shift"] if index else [])  # the asset list beside the graph
    materialize = page.get_by_role("button", name=f"Materialize selected ({len(MATERIALIZE)})…")
    expect(materialize).to_be_enabled()
    shots.take(page, "asset-group-selection")
    materialize.click()
    dialog = page.get_by_role("dialog").filter(has_text=f"Launch runs to materialize {len(MATERIALIZE)} assets")
    expect(dialog).to_be_visible()
    dialog.get_by_text("Select a partition or create one").click()
    page.get_by_placeholder("Filter partitions").fill(SPRINT)
    page.get_by_role("menuitem").filter(has=page.get_by_title(SPRINT, exact=True)).click()
    page.keyboard.press("Escape")  # closes the partition picker, not the dialog
    expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
    launch = dialog.get_by_role("button", name="Launch 1 run")
    expect(launch).to_be_enabled()
    shots.take(page, "launch-dialog")
    launch.click()
    launched_at = time.monotonic()
    timings["UI: home->launch"] = launched_at - started

    # 4. The toast names the run; its page follows the run to the end.
    expect(page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))).to_be_visible()
    view_run = page.get_by_role("link", name="View", exact=True)  # the toast's link to the run
    expect(view_run).to_be_visible()
    shots.take(page, "run-launched")
    view_run.click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    run_id = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
    expect(page.get_by_text(f"partition: {SPRINT}")).to_be_visible()
    expect(page.get_by_text("Loading run logs…")).to_have_count(0)
    shots.take(page, "run-page")
    status = wait_for_run(home, run_id, RUN_TIMEOUT - (time.monotonic() - launched_at))
    timings["run launch->end"] = time.monotonic() - launched_at
    expect(page.get_by_text("RUN_SUCCESS" if status == DagsterRunStatus.SUCCESS else "RUN_FAILURE", exact=True)).to_be_visible()
    shots.take(page, "run-finished")
    assert status == DagsterRunStatus.SUCCESS, f"run {run_id} ended {status.value}: see the run-finished screenshot"
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()

    # 5. Partition 7 of sprint_xlsx shows the file's path and size.
    path, size = recorded_export(home, run_id)
    assert path.is_file() and path.stat().st_size == size, f"{path}: recorded {size} bytes"
    assert path.is_relative_to(exports / SPRINT), path
    search_and_open(page, ASSET, "Asset in", ASSET)
    expect(page).to_have_url(re.compile(rf"/assets/{ASSET}"))
    page.get_by_role("tab", name="Partitions").click()
    expect(page.get_by_text("Materialized (1)")).to_be_visible()
    page.get_by_placeholder(re.compile(r"^Filter by name")).fill(SPRINT)
    page.get_by_text(SPRINT, exact=True).first.click()
    expect(page).to_have_url(re.compile(rf"partition={SPRINT}\b"))
    expect(page.get_by_text("Materialized", exact=True)).to_be_visible()
    expect(page.get_by_text(str(path), exact=True)).to_be_visible()
    size_row = page.get_by_role("row").filter(has=page.get_by_text("size_bytes", exact=True))
    expect(size_row).to_contain_text(str(size))
    expect(page.get_by_role("link", name=run_id[:8], exact=True)).to_be_visible()  # "Run" of the latest materialization
    shots.take(page, "partition-metadata")
    timings["UI: run end->metadata"] = time.monotonic() - launched_at - timings["run launch->end"]


def test_user_exports_one_sprint_as_xlsx_from_the_ui(tmp_path, demo_url, capsys):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    began = time.monotonic()
    timings: dict[str, float] = {}
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = dagster_environment(home, demo_url, tmp_path)
    register_partitions(home, env)
    shots = Screenshots(tmp_path / "screenshots", ARTIFACTS)
    dev = DagsterDev(env=env, log_path=tmp_path / "dagster_dev.log")
    try:
        dev.start()
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)  # starts while dagster dev is still loading
            timings["dagster dev ready"] = dev.wait_until_ready(READY_TIMEOUT)
            page = browser.new_page(viewport=VIEWPORT, base_url=dev.url)
            page.set_default_timeout(UI_TIMEOUT)
            expect.set_options(timeout=UI_TIMEOUT)
            try:
                export_one_sprint(page, shots, home, Path(env["SPRINT_EXPORTS_DIR"]), timings)
            except BaseException:
                try:
                    shots.take(page, "failure")
                except Exception:  # noqa: BLE001 - the original error matters more
                    pass
                raise
            finally:
                browser.close()
    except BaseException:
        print(f"\n--- dagster dev log tail ({dev.log_path}) ---\n{dev.log_tail()}\n--- end of log tail ---")
        raise
    finally:
        stopping = time.monotonic()
        dev.stop()
        timings["dagster dev stop"] = time.monotonic() - stopping
        copies = shots.publish()
        timings["total"] = time.monotonic() - began
        with capsys.disabled():  # shown in CI's output even when the test passes
            print("\nbrowser e2e timings (s): " + ", ".join(f"{k}: {v:.1f}" for k, v in timings.items()))
            print(f"browser e2e screenshots, copied to {ARTIFACTS}:\n" + "\n".join(f"  {p}" for p in copies))
