"""The ASGI application: `create_app()` (uvicorn: `sprint_exports.portal.app:create_app --factory`).

Every response gets security headers: a CSP without inline script, no
framing (frame-ancestors 'none'), nosniff, and no referrer. Errors from the API
are JSON `{"detail": "..."}` with a message string; errors on pages are a page
that says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from sprint_exports.portal import api, links, pages, signin
from sprint_exports.portal.config import PortalConfig
from sprint_exports.portal.rendering import render
from sprint_exports.portal.state import PortalState
from sprint_exports.portal_db.database import open_portal_db, utc_now
from sprint_exports.source.database import connect

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(config: PortalConfig | None = None, clock: Callable[[], dt.datetime] = utc_now) -> FastAPI:
    """The portal; `clock` is "now" for sign-in links (a test passes one it can move forward)."""
    config = config or PortalConfig()
    app = FastAPI(title="Sprint exports portal", version="1", docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.portal = PortalState(config=config, db=open_portal_db(config.db_url), tracker=connect(), clock=clock)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for router in (signin.router, api.router, links.router, pages.router):
        app.include_router(router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path == "/api/docs":  # Swagger UI loads its script and styles from a CDN
            del response.headers["Content-Security-Policy"]
        return response

    @app.exception_handler(pages.SignInRequired)
    async def sign_in_first(request: Request, error: pages.SignInRequired):
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, error: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        return JSONResponse({"detail": f"Invalid request: {problems}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)  # Starlette's: also the router's own 404 and 405
    async def http_error(request: Request, error: StarletteHTTPException):
        detail = error.detail
        if error.status_code in (404, 405) and detail in ("Not Found", "Method Not Allowed"):
            detail = f"{detail}: there is no {request.method} {request.url.path}"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)
        return render(request, "refused.html", status_code=error.status_code, reason=str(detail))

    return app
