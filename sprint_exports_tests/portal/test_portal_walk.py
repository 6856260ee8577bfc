"""The portal as a reader walks it, in Debian's Chromium driven by Playwright.

Sign in by the mailed link (caught by aiosmtpd) → My exports → create a subscription → export
two sprints from the Export page → watch the progress → download a file and check its sha256 →
the real sensor of a live `dagster dev` launches the subscription → the mail arrives with a link
that downloads the file. Another team's sprint is refused on the Export page. Each page
is photographed into a folder the test prints.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from pathlib import Path

import httpx
import pytest

from sprint_exports_tests.browser import VIEWPORT, Screenshots, launch_chromium, require_browser
from sprint_exports_tests.portal_stack import portal_stack

SHOTS = Path("/tmp/sprint-exports-portal-walk")  # the last run's screenshots
USER = "li.wei@example.com"
PLATFORM_SPRINTS = ("1", "4")
PAYMENTS_SPRINT = "2"
UI_TIMEOUT = 30_000  # ms


def as_a_mail_client_shows_it(message) -> str:
    """The HTML body with each cid: image replaced by its inline part, as a mail client draws it."""
    html = message.get_body(("html",)).get_content()
    for part in message.walk():
        if part["Content-ID"]:
            data = base64.b64encode(part.get_payload(decode=True)).decode()
            html = html.replace(f"cid:{part['Content-ID'].strip('<>')}", f"data:{part.get_content_type()};base64,{data}")
    return html


def wait_for_mail(smtp, before: int, wanted, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in smtp.messages[before:] if wanted(m)]
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError("no such mail arrived")


def test_a_reader_walks_the_portal(tmp_path_factory, demo_url):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    base = tmp_path_factory.mktemp("walk")
    shots = Screenshots(base / "screenshots", SHOTS)
    print(f"\nportal walk screenshots: {shots.folder} (copied to {SHOTS})")
    with portal_stack(base, demo_url) as stack, sync_playwright() as playwright:
        smtp, portal = stack["smtp"], stack["portal"]
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(base_url=portal.url, viewport=VIEWPORT, accept_downloads=True).new_page()
            page.set_default_timeout(UI_TIMEOUT)

            # Sign in by the email link.
            page.goto("/login")
            page.fill("#email", USER)
            shots.take(page, "sign-in")
            before = len(smtp.messages)
            page.get_by_role("button", name="Email me a sign-in link").click()
            expect(page.get_by_text("Check your mail")).to_be_visible()
            mail = wait_for_mail(smtp, before, lambda m: m["To"] == USER, timeout=20)
            page.goto(re.search(r"(http://\S+/login/\S+)", mail.get_content()).group(1))
            expect(page.get_by_text(USER).first).to_be_visible()
            expect(page.get_by_role("heading", name="My exports")).to_be_visible()
            shots.take(page, "my-exports-empty")

            # A subscription, every minute, CSV, mailed to li.wei: made first, so the wait for its minute
            # (the sensor launches it at the next one) overlaps the export below.
            page.goto("/subscriptions")
            page.fill("input[name=name]", "Walk: every minute")
            page.check("input[name=team][value=Platform]")
            page.uncheck("input[name=format][value=pdf]")
            page.check("input[name=format][value=csv]")
            page.check("input[name=preset][value=custom]")
            page.fill("input[name=cron]", "* * * * *")
            page.fill("input[name=timezone]", "Europe/Berlin")
            subscribed = len(smtp.messages)
            page.click("#subscribe")
            expect(page.get_by_text("Walk: every minute")).to_be_visible()
            shots.take(page, "subscriptions")

            # Another team's sprint is not offered, and forging it into the form is refused.
            page.goto("/export")
            expect(page.locator(f"#sprint-{PAYMENTS_SPRINT}")).to_have_count(0)
            page.evaluate(f"""() => {{ const box = document.querySelector('#sprint-{PLATFORM_SPRINTS[0]}').cloneNode();
                box.id = 'forged'; box.value = '{PAYMENTS_SPRINT}'; box.checked = true;
                document.querySelector('form[action="/export"]').appendChild(box); }}""")
            page.click("#launch")
            expect(page.get_by_text(re.compile(rf"sprint {PAYMENTS_SPRINT}\b"))).to_be_visible()
            assert page.url.endswith("/export")
            shots.take(page, "export-refused")

            # Export two sprints of li.wei's team, CSV and PDF.
            page.goto("/export")
            for sprint in PLATFORM_SPRINTS:
                page.check(f"#sprint-{sprint}")
            page.uncheck("input[name=format][value=xlsx]")
            shots.take(page, "export-form")
            page.click("#launch")
            expect(page).to_have_url(re.compile(r"/progress\?run="))
            expect(page.locator(".progress").first).to_contain_text("of 1 sprints")
            shots.take(page, "progress-running")
            expect(page.locator("#finished")).to_be_visible(timeout=180_000)
            assert page.locator(".run").count() == 2  # sprints 1 and 4 are not neighbours: two runs
            for status in page.locator(".run .status").all_text_contents():
                assert status == "SUCCESS"
            expect(page.locator(".progress").first).to_have_text("1 of 1 sprints")
            shots.take(page, "progress-done")

            # Download the PDF and check it against the sha256 the page shows.
            item = page.locator("li", has=page.locator("a.download", has_text="pdf")).first
            expected = item.locator(".sha256").text_content()
            with page.expect_download() as download:
                item.locator("a.download").click()
            assert hashlib.sha256(Path(download.value.path()).read_bytes()).hexdigest() == expected

            page.goto("/")
            expect(page.locator("a", has_text="pdf").first).to_be_visible()
            shots.take(page, "my-exports")

            # The sensor launches it; the mail carries a link that downloads the attached file.
            delivered = wait_for_mail(smtp, subscribed, lambda m: m["To"] == USER and "sign-in" not in m["Subject"])
            (attached,) = list(delivered.iter_attachments())
            (link,) = re.findall(rf"{re.escape(portal.url)}/downloads/\S+", delivered.get_body(("plain",)).get_content())
            fetched = httpx.get(link)
            assert fetched.status_code == 200
            assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(attached.get_payload(decode=True)).digest()
            page.set_content(as_a_mail_client_shows_it(delivered))
            expect(page.get_by_alt_text("Burndown chart")).to_be_visible()
            assert page.get_by_alt_text("Burndown chart").evaluate("img => img.naturalWidth") > 0
            shots.take(page, "delivery-mail")
        except BaseException:
            print(f"dagster dev log tail:\n{stack['dev'].log_tail(40)}")
            raise
        finally:
            browser.close()
            for path in shots.publish():
                print(f"screenshot: {path}")


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-s"])
