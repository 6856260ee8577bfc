"""Sign-in, the SSO header, forms and templates of the portal, against a real uvicorn server and aiosmtpd.

Nothing here launches a run, so no `dagster dev`: the portal runs in this process beside a
demo tracker. Tests that count sign-in requests or move the clock get a portal of their own
(own database, own clock), so they neither use up nor see the shared portal's limits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import re
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from sprint_exports.portal import links, pages, signin
from sprint_exports.portal_db.database import utc_now
from sprint_exports_tests.dagster_dev import free_port
from sprint_exports_tests.portal.signing_in import csrf_of, request_link, sign_in
from sprint_exports_tests.portal_server import PortalServer
from sprint_exports_tests.portal_stack import portal_environment
from sprint_exports_tests.smtp_server import Behaviour, SmtpTestServer

SSO_HEADER = "X-Forwarded-Email"


@pytest.fixture(scope="module")
def setting(tmp_path_factory, demo_url):
    port = free_port()
    with portal_environment(tmp_path_factory.mktemp("forms"), demo_url, port) as environment, \
            PortalServer({}, port=port) as portal:
        yield {**environment, "portal": portal}


class Clock:
    """A clock the test moves forward; the portal asks it what "now" is."""

    def __init__(self):
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utc_now() + self.offset

    def advance(self, **delta) -> None:
        self.offset += dt.timedelta(**delta)


@contextlib.contextmanager
def own_portal(setting, name: str, clock=utc_now, **overrides):
    """A second portal beside the shared one, with its own database `<name>.sqlite`."""
    db_path = setting["base"] / f"{name}.sqlite"
    with PortalServer({"db_url": f"sqlite:///{db_path}", **overrides}, clock=clock) as portal:
        yield portal, create_engine(f"sqlite:///{db_path}")


def mails_to(setting, email: str, since: int, expected: int) -> int:
    """How many mails to `email` arrived since message `since`: sign-in mail goes out just after the
    answer, so wait for the `expected` ones, then a moment more for any that should not come."""
    def count() -> int:
        return sum(1 for message in setting["smtp"].messages[since:] if message["To"] == email)

    deadline = time.monotonic() + 10
    while count() < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return count()


def test_sign_in_requests_are_limited_per_address_and_per_client_and_answer_alike(setting):
    clock = Clock()
    with own_portal(setting, "limits", clock, per_address_limit=2, per_client_limit=6) as (portal, _):
        client = httpx.Client(base_url=portal.url)
        token = csrf_of(client.get("/login").text)

        def ask(email: str, mails_if_right: int) -> tuple[httpx.Response, int]:
            before = len(setting["smtp"].messages)
            answer = client.post("/login", data={"email": email, "csrf_token": token})
            return answer, mails_to(setting, email, before, mails_if_right)

        known = [ask("li.wei@example.com", expected) for expected in (1, 1, 0)]
        assert [(a.status_code, mails) for a, mails in known] == [(200, 1), (200, 1), (429, 0)]
        assert "Too many sign-in requests" in known[2][0].text
        unknown = [ask("nobody@example.com", 0) for _ in range(3)]
        assert [(a.status_code, mails) for a, mails in unknown] == [(200, 0), (200, 0), (429, 0)]
        # the answers never tell a tracker user from a stranger, refused or not
        assert [a.text for a, _ in unknown] == [a.text for a, _ in known]
        # six requests from this client so far were counted: a seventh is refused for a fresh address too
        assert [(a.status_code, mails) for a, mails in (ask("juergen@example.com", 1), ask("juergen@example.com", 1))] == [(200, 1)] * 2
        refused, mails = ask("ivan@example.com", 0)
        assert (refused.status_code, mails) == (429, 0) and refused.text == known[2][0].text
        clock.advance(minutes=16)  # the window has passed
        assert [(a.status_code, mails) for a, mails in (ask("ivan@example.com", 1), ask("li.wei@example.com", 1))] == [(200, 1)] * 2


def test_the_answer_does_not_wait_for_the_mail_server(setting, monkeypatch, tmp_path):
    """A known address answers as fast as an unknown one: the link is mailed after the answer."""
    stuck = SmtpTestServer(tmp_path, Behaviour(hold_after=0), tls=False, auth=False).start()
    try:
        monkeypatch.setenv("SMTP_PORT", str(stuck.port))  # a server that never answers DATA
        client = httpx.Client(base_url=setting["portal"].url, timeout=5)
        answer = client.post("/login", data={"email": "li.wei@example.com", "csrf_token": csrf_of(client.get("/login").text)})
        assert answer.status_code == 200 and "Check your mail" in answer.text
        assert stuck.behaviour.held.wait(10)  # the mail was on its way, and still is
        assert stuck.messages == []
    finally:
        stuck.stop()


def test_a_sign_in_link_works_for_15_minutes_and_is_stored_only_as_a_hash(setting):
    clock = Clock()
    with own_portal(setting, "expiry", clock) as (portal, db):
        client = httpx.Client(base_url=portal.url)
        early, late = (request_link(setting, client, "li.wei@example.com") for _ in range(2))
        tokens = [link.rsplit("/", 1)[1] for link in (early, late)]
        with db.connect() as connection:
            stored = set(connection.execute(text("SELECT token_hash FROM sign_in_links")).scalars())
        assert stored == {hashlib.sha256(token.encode()).hexdigest() for token in tokens}
        clock.advance(minutes=14, seconds=50)
        followed = httpx.get(early)
        assert followed.status_code == 303 and followed.headers["location"] == "/"
        clock.advance(seconds=20)  # 15 min 10 s after it was mailed
        expired = httpx.get(late)
        assert expired.status_code == 403 and "This sign-in link has expired" in expired.text
        assert "spx_session" not in expired.headers.get("set-cookie", "")


def test_the_sso_header_is_believed_only_from_a_trusted_peer(setting):
    header = {SSO_HEADER: "ana@example.com"}
    with own_portal(setting, "untrusted", auth_header=SSO_HEADER, trusted_proxies=("10.9.9.9",)) as (untrusted, _), \
            own_portal(setting, "trusted", auth_header=SSO_HEADER, trusted_proxies=("127.0.0.0/8",)) as (trusted, _):
        # from a peer not in SPRINT_EXPORTS_TRUSTED_PROXIES (the tests connect from 127.0.0.1) it is ignored
        assert httpx.get(f"{untrusted.url}/api/v1/exports/", headers=header).status_code == 401
        page = httpx.get(f"{untrusted.url}/", headers=header)
        assert page.status_code == 303 and page.headers["location"] == "/login"
        # from a trusted peer the header is the identity, for the API and the pages
        assert httpx.get(f"{trusted.url}/api/v1/exports/", headers=header).status_code == 200
        home = httpx.get(f"{trusted.url}/", headers={SSO_HEADER: "Ana@Example.com"})
        assert home.status_code == 200 and "ana@example.com" in home.text and "My exports" in home.text
        # ... but still only a tracker user, and nothing without it
        assert httpx.get(f"{trusted.url}/api/v1/exports/", headers={SSO_HEADER: "nobody@example.com"}).status_code == 401
        assert httpx.get(f"{trusted.url}/api/v1/exports/").status_code == 401
        # the proxy adds its header to a cross-site POST too, so changes need a token
        assert httpx.delete(f"{trusted.url}/api/v1/exports/schedule/1", headers=header).status_code == 401


def post_form(client: httpx.Client, page: str, action: str, fields: dict | list) -> httpx.Response:
    """Submit a form as its page offers it: with the CSRF token the page carries."""
    token = csrf_of(client.get(page).text)
    data: dict[str, list[str]] = {}
    for name, value in [*(fields.items() if isinstance(fields, dict) else fields), ("csrf_token", token)]:
        data.setdefault(name, []).append(value)
    return client.post(action, data=data)


def template_ids(page: str, name: str) -> list[int]:
    return [int(found) for found in re.findall(rf"{name} \(<code>user:(\d+)</code>", page)]


def make_template(client: httpx.Client, name: str) -> int:
    made = post_form(client, "/templates", "/templates", [
        ("name", name), ("section", "basic_info"), ("section", "issues"), ("column", "key"), ("column", "summary"),
        ("column", "status"), ("column_order", "status,key"), ("group_by", "none"), ("sort_by", "key")])
    assert made.status_code == 303, made.text
    (template_id,) = template_ids(client.get("/templates").text, name)
    return template_id


def test_every_form_without_its_csrf_token_is_refused_and_changes_nothing(setting):
    portal = setting["portal"]
    client, _ = sign_in(setting, "li.wei@example.com")
    made = post_form(client, "/subscriptions", "/subscriptions", [
        ("name", "CSRF target"), ("team", "Platform"), ("format", "csv"), ("preset", "weekly_monday"), ("timezone", "UTC")])
    assert made.status_code == 303, made.text
    subscription_id = int(re.findall(r'action="/subscriptions/(\d+)/delete"', client.get("/subscriptions").text)[-1])
    template_id = make_template(client, "csrf_target")
    filled = {"subscription_id": str(subscription_id), "template_id": str(template_id)}
    actions = {"/subscriptions/{subscription_id}/{action}": "delete", "/templates/{template_id}/{action}": "publish"}
    forms = sorted(route.path for router in (signin.router, pages.router, links.router) for route in router.routes
                   if "POST" in route.methods)  # every form the HTML side accepts (the API takes no forms)
    assert forms == ["/export", "/login", "/logout", "/subscriptions", "/subscriptions/{subscription_id}/{action}",
                     "/templates", "/templates/{template_id}/{action}", "/tokens"]
    fields = {"email": "li.wei@example.com", "sprint": "1", "format": "csv", "name": "forged", "cron": "* * * * *",
              "preset": "custom", "column": "key"}
    mails_before = len(setting["smtp"].messages)
    for form in forms:
        path = form.format(**filled, action=actions.get(form, ""))
        for token in (None, "forged", csrf_of(httpx.get(f"{portal.url}/login").text)):  # none, made up, another visitor's
            sent = fields if token is None else {**fields, "csrf_token": token}
            refused = client.post(path, data=sent)
            assert refused.status_code == 403 and "CSRF token is missing or wrong" in refused.text, (path, token)
    assert len(setting["smtp"].messages) == mails_before
    # with a valid token but nobody signed in, the pages' forms ask for sign-in and do nothing
    visitor = httpx.Client(base_url=portal.url)
    visitor_token = csrf_of(visitor.get("/login").text)
    for form in (form for form in forms if form not in ("/login", "/logout")):
        asked = visitor.post(form.format(**filled, action=actions.get(form, "")), data={**fields, "csrf_token": visitor_token})
        assert asked.status_code == 303 and asked.headers["location"] == "/login", form
    assert "CSRF target" in client.get("/subscriptions").text  # neither deleted nor paused
    assert client.get("/").status_code == 200  # still signed in: /logout did nothing
    page = client.get("/templates").text
    assert template_ids(page, "forged") == [] and "published" not in page
    assert "forged" not in client.get("/subscriptions").text and 'id="new-token"' not in client.get("/").text


def test_an_admin_publishes_a_template_for_everyone_and_only_an_admin(setting):
    owner, _ = sign_in(setting, "li.wei@example.com")
    reader, _ = sign_in(setting, "zoe@example.com")
    admin, _ = sign_in(setting, "ana@example.com")  # role admin in the tracker
    template_id = make_template(owner, "li_board")
    reference = f"user:{template_id}"

    def offered_to_zoe() -> tuple[bool, bool]:
        return (f'value="{reference}"' in reader.get("/export").text, f'value="{reference}"' in reader.get("/subscriptions").text)

    def zoe_subscribes() -> httpx.Response:
        return post_form(reader, "/subscriptions", "/subscriptions", [
            ("name", "Zoe with li_board"), ("team", "Payments"), ("format", "pdf"), ("template", reference),
            ("preset", "weekly_friday"), ("timezone", "Europe/Berlin")])

    assert offered_to_zoe() == (False, False)
    assert template_ids(reader.get("/templates").text, "li_board") == []
    assert zoe_subscribes().status_code == 404
    # a member may not publish, not even their own template
    refused = post_form(owner, "/templates", f"/templates/{template_id}/publish", {})
    assert refused.status_code == 403 and "Only admins may publish" in refused.text
    assert offered_to_zoe() == (False, False)
    # the admin sees everyone's templates and publishes li.wei's
    listed = admin.get("/templates").text
    assert template_ids(listed, "li_board") == [template_id] and f'action="/templates/{template_id}/publish"' in listed
    assert post_form(admin, "/templates", f"/templates/{template_id}/publish", {}).status_code == 303
    assert offered_to_zoe() == (True, True)
    assert "li_board (published)" in reader.get("/export").text
    assert zoe_subscribes().status_code == 303
    assert "Zoe with li_board" in reader.get("/subscriptions").text
    assert post_form(owner, "/templates", f"/templates/{template_id}/unpublish", {}).status_code == 403
    # unpublished, it is li.wei's alone again
    assert post_form(admin, "/templates", f"/templates/{template_id}/unpublish", {}).status_code == 303
    assert offered_to_zoe() == (False, False)
    assert f'value="{reference}"' in owner.get("/export").text
    assert post_form(admin, "/templates", "/templates/99999/publish", {}).status_code == 404


def test_every_answer_carries_the_security_headers_and_the_api_is_documented(setting):
    url = setting["portal"].url
    for path in ("/login", "/", "/api/v1/exports/", "/downloads/x/pdf"):
        headers = httpx.get(f"{url}{path}").headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"] and "script-src 'self'" in headers["content-security-policy"], path
        assert (headers["x-frame-options"], headers["referrer-policy"], headers["x-content-type-options"]) == ("DENY", "no-referrer", "nosniff")
    assert httpx.get(f"{url}/api/docs").status_code == 200
    unknown = httpx.get(f"{url}/api/v1/exports/x/nothing")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "Not Found: there is no GET /api/v1/exports/x/nothing"}
    assert httpx.put(f"{url}/api/v1/exports/schedule").json()["detail"].startswith("Method Not Allowed: there is no PUT")
    page = httpx.get(f"{url}/nothing")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html") and "there is no GET /nothing" in page.text
    paths = set(httpx.get(f"{url}/api/openapi.json").json()["paths"])
    assert paths == {"/api/v1/exports/", "/api/v1/exports/sprints/bulk", "/api/v1/exports/sprints/{sprint_id}",
                     "/api/v1/exports/schedule", "/api/v1/exports/schedule/{schedule_id}",
                     "/api/v1/exports/{export_id}/status", "/api/v1/exports/{export_id}/download"}


def test_a_new_sign_in_rotates_the_session_and_signing_out_ends_it(setting):
    client, _ = sign_in(setting, "li.wei@example.com")
    first = client.cookies["spx_session"]
    client.get(request_link(setting, client, "li.wei@example.com"))  # signing in again from the same browser
    second = client.cookies["spx_session"]
    assert second != first
    stale = httpx.get(f"{setting['portal'].url}/", cookies={"spx_session": first})
    assert stale.status_code == 303 and stale.headers["location"] == "/login"
    assert client.get("/").status_code == 200
    assert post_form(client, "/", "/logout", {}).status_code == 303
    after = httpx.get(f"{setting['portal'].url}/", cookies={"spx_session": second})
    assert after.status_code == 303 and after.headers["location"] == "/login"


def test_a_browser_session_reads_the_api_but_cannot_change_anything_through_it(setting):
    # a cross-site page can make the browser send its cookie with a POST, never an Authorization header
    with own_portal(setting, "api-session") as (portal, _):
        client, _ = sign_in(setting, "li.wei@example.com", portal)
        check_session_reads_but_cannot_write(client)


def check_session_reads_but_cannot_write(client: httpx.Client) -> None:
    assert client.get("/api/v1/exports/").status_code == 200
    before = client.get("/api/v1/exports/schedule").json()
    body = {"name": "forged", "teams": "all", "sprints": "latest", "formats": ["csv"], "template": "default",
            "cron": "0 9 * * 1", "timezone": "UTC"}
    forged = client.post("/api/v1/exports/schedule", json=body)
    assert forged.status_code == 401 and forged.json()["detail"].startswith("Authentication required")
    assert client.delete("/api/v1/exports/schedule/1").status_code == 401
    assert client.get("/api/v1/exports/schedule").json() == before


def test_the_cookies_are_secure_when_the_portal_url_is_https(setting):
    with own_portal(setting, "https", portal_url="https://portal.example.com") as (portal, _):
        # the test speaks plain http to the server behind the https URL, so it hands the Secure cookies back itself
        form = httpx.get(f"{portal.url}/login")
        csrf_cookie = form.headers["set-cookie"]
        assert csrf_cookie.startswith("spx_csrf=") and "Secure" in csrf_cookie and "HttpOnly" in csrf_cookie
        before = len(setting["smtp"].messages)
        asked = httpx.post(f"{portal.url}/login", data={"email": "li.wei@example.com", "csrf_token": csrf_of(form.text)},
                           headers={"Cookie": csrf_cookie.split(";")[0]})
        assert asked.status_code == 200 and mails_to(setting, "li.wei@example.com", before, 1) == 1
        link = re.search(r"(https://\S+/login/\S+)", setting["smtp"].messages[-1].get_content()).group(1)
        assert link.startswith("https://portal.example.com/login/")
        followed = httpx.get(link.replace("https://portal.example.com", portal.url))
        assert followed.status_code == 303
        cookie = followed.headers["set-cookie"]
        assert cookie.startswith("spx_session=") and "Secure" in cookie and "HttpOnly" in cookie


def test_a_token_made_on_the_page_is_shown_once_and_works(setting):
    client, _ = sign_in(setting, "juergen@example.com")
    made = post_form(client, "/", "/tokens", {"name": "page script"})
    token = re.search(r'<code id="new-token">([^<]+)</code>', made.text).group(1)
    assert 'id="new-token"' not in client.get("/").text  # shown once
    api = httpx.get(f"{setting['portal'].url}/api/v1/exports/schedule", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.json() == {"schedules": []}


def test_subscriptions_are_made_paused_resumed_and_deleted_on_the_page_and_admins_see_everyones(setting):
    owner, _ = sign_in(setting, "ivan@example.com")
    other, _ = sign_in(setting, "zoe@example.com")
    admin, _ = sign_in(setting, "dana@example.com")  # an admin of no team
    refused = post_form(owner, "/subscriptions", "/subscriptions", [
        ("name", "To Zoe"), ("team", "Platform"), ("format", "pdf"), ("preset", "daily"), ("recipients", "zoe@example.com")])
    assert refused.status_code == 403 and "zoe@example.com is not a member of Platform" in html.unescape(refused.text)
    bad_zone = post_form(owner, "/subscriptions", "/subscriptions", [
        ("name", "Nowhere"), ("format", "pdf"), ("preset", "daily"), ("timezone", "Mars/Olympus")])
    assert bad_zone.status_code == 422 and "'Mars/Olympus' is not an IANA time zone" in html.unescape(bad_zone.text)
    made = post_form(owner, "/subscriptions", "/subscriptions", [
        ("name", "Ivan weekly"), ("team", "Platform"), ("format", "csv"), ("preset", "custom"), ("cron", "30 7 * * 2"),
        ("timezone", "Asia/Tokyo")])
    assert made.status_code == 303
    page = owner.get("/subscriptions").text
    (subscription_id,) = re.findall(r'action="/subscriptions/(\d+)/pause"', page)
    assert "Ivan weekly" in page and "30 7 * * 2" in page and "Asia/Tokyo" in page
    assert "Ivan weekly" not in other.get("/subscriptions").text and "Ivan weekly" in admin.get("/subscriptions").text
    assert post_form(other, "/subscriptions", f"/subscriptions/{subscription_id}/pause", {}).status_code == 404
    assert post_form(owner, "/subscriptions", f"/subscriptions/{subscription_id}/pause", {}).status_code == 303
    assert f'action="/subscriptions/{subscription_id}/resume"' in owner.get("/subscriptions").text
    assert post_form(admin, "/subscriptions", f"/subscriptions/{subscription_id}/resume", {}).status_code == 303
    assert f'action="/subscriptions/{subscription_id}/pause"' in owner.get("/subscriptions").text
    assert post_form(owner, "/subscriptions", f"/subscriptions/{subscription_id}/delete", {}).status_code == 303
    assert "Ivan weekly" not in admin.get("/subscriptions").text


def test_a_template_form_is_checked_like_a_yaml_template(setting):
    client, _ = sign_in(setting, "soren@example.com")
    bad = post_form(client, "/templates", "/templates", [("name", "Not A Name"), ("column", "key")])
    assert bad.status_code == 422 and "Template form: name: must be lower-case letters" in bad.text
    assert template_ids(client.get("/templates").text, "Not A Name") == []
    template_id = make_template(client, "soren_board")
    assert "soren_board (<code>user:" in client.get("/templates").text and f'value="user:{template_id}"' in client.get("/export").text
