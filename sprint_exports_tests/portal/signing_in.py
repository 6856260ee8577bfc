"""Signing in to a running portal as a reader does: the form, the mailed link (caught by aiosmtpd), the cookie.

`setting` is any dict with the running `portal` (a PortalServer) and its `smtp` server.
"""

from __future__ import annotations

import re
import time

import httpx


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def request_link(setting, client: httpx.Client, email: str) -> str:
    """Ask for a sign-in link for `email` (a known address) and return it from the mail that arrives."""
    before = len(setting["smtp"].messages)
    answer = client.post("/login", data={"email": email, "csrf_token": csrf_of(client.get("/login").text)})
    assert answer.status_code == 200 and "Check your mail" in answer.text, answer.text
    deadline = time.monotonic() + 20
    while len(setting["smtp"].messages) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    message = setting["smtp"].messages[-1]
    assert message["To"] == email
    return re.search(r"(http://\S+/login/\S+)", message.get_content()).group(1)


def sign_in(setting, email: str, portal=None) -> tuple[httpx.Client, str]:
    """Sign in by the mailed link; returns the signed-in client and the link."""
    client = httpx.Client(base_url=(portal or setting["portal"]).url)
    link = request_link(setting, client, email)
    followed = client.get(link)
    assert followed.status_code == 303 and followed.headers["location"] == "/"
    cookie = followed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie  # http portal URL
    return client, link
