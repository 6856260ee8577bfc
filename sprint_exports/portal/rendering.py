"""Server-rendered pages: Jinja2 with autoescaping, and the CSRF token every form carries.

CSRF is a signed double submit: the browser holds a random `spx_csrf` cookie
(HttpOnly, SameSite=Lax) and each form a hidden `csrf_token`, the HMAC of that
cookie. A forged cross-site form cannot read the cookie, so it cannot make the
field; a form without it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from sprint_exports.portal.keys import csrf_token, csrf_valid, new_secret
from sprint_exports.portal.state import state_of

CSRF_COOKIE = "spx_csrf"
CSRF_FIELD = "csrf_token"

jinja = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))


def render(request: Request, name: str, status_code: int = 200, user: str | None = None, **context) -> HTMLResponse:
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = cookie is None or len(cookie) > 100
    if fresh:
        cookie = new_secret()
    html = jinja.get_template(name).render(user=user, csrf_field=CSRF_FIELD, csrf=csrf_token(cookie), **context)
    response = HTMLResponse(html, status_code=status_code)
    if fresh:
        response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="lax", secure=state_of(request).config.secure_cookies)
    return response


@dataclass(frozen=True)
class PostedForm:
    """A posted form whose CSRF token matched; only text fields count (an uploaded file is no value)."""

    data: FormData

    def field(self, name: str, default: str = "") -> str:
        value = self.data.get(name)
        return value if isinstance(value, str) else default

    def values(self, name: str) -> list[str]:
        return [value for value in self.data.getlist(name) if isinstance(value, str)]


async def check_csrf(request: Request) -> PostedForm:
    """The posted form, after its CSRF token matched the cookie (403 otherwise)."""
    form = PostedForm(await request.form())
    if not csrf_valid(request.cookies.get(CSRF_COOKIE), form.field(CSRF_FIELD) or None):
        raise HTTPException(status_code=403, detail="The form's CSRF token is missing or wrong: reload the page and try again")
    return form
