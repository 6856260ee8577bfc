"""Drive Debian's Chromium with Playwright for the browser tests.

The browser is the distribution's `/usr/bin/chromium` (`apt-get install
chromium`, done by `.ci/run` when missing), never a Playwright download: do
not run `playwright install`. Playwright for Python (`pip install playwright`)
only talks to it over the DevTools protocol.

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        ...
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from sprint_exports_tests.conftest import services_required

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}


def browser_unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when Chromium and Playwright are both present."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright for Python is not installed (pip install playwright; no `playwright install`)")
    return "; ".join(missing) or None


def require_browser() -> None:
    """Fail on CI, skip with a printed reason elsewhere, when Chromium or Playwright is missing."""
    reason = browser_unavailable_reason()
    if reason is None:
        return
    if services_required():
        pytest.fail(f"browser test cannot run: {reason} (required on CI)")
    print(f"\nSKIPPING browser test: {reason}")
    pytest.skip(reason)


def launch_chromium(playwright, **options):
    """Headless Debian Chromium; Playwright gives each launch a fresh temporary profile."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, **options)


class Screenshots:
    """Numbered full-window PNGs of a test's steps, written to `folder` and copied to `stable` at the end."""

    def __init__(self, folder: Path, stable: Path):
        self.folder = Path(folder)
        self.stable = Path(stable)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.paths: list[Path] = []

    def take(self, page, name: str) -> Path:
        path = self.folder / f"{len(self.paths) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), animations="disabled")  # finished transitions, e.g. a sliding toast
        self.paths.append(path)
        return path

    def publish(self) -> list[Path]:
        """Replace the stable folder's PNGs with this run's; returns the copies' paths."""
        self.stable.mkdir(parents=True, exist_ok=True)
        for old in self.stable.glob("*.png"):
            old.unlink()
        copies = []
        for path in self.paths:
            if path.exists():
                copies.append(Path(shutil.copy2(path, self.stable / path.name)))
        return copies
