"""Signed download links: `/downloads/<run>/<format>?sprint=&user=&expires=&sig=`.

The signature (keys.py) binds the link to a run, format, sprint, user and
expiry. A link works for the person it was made for: from their mailbox
without signing in, or in their own session; signed in as anyone else, or
after its expiry, it is refused with a page that says why. The access
policy is asked again at download time, so a link dies with the access.

`/exports/<run>/<format>?sprint=` is the plain, unsigned page of one file
(the `download_url` entry of an export materialization in the Dagster UI): it
asks for sign-in and then serves the file only if the policy allows it.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from sprint_exports.portal.downloads import DownloadProblem, file_response, run_entries
from sprint_exports.portal.identity import page_user
from sprint_exports.portal.keys import verify_download
from sprint_exports.portal.rendering import render

router = APIRouter(include_in_schema=False)


def _refuse(request: Request, status_code: int, reason: str, user: str | None):
    response = render(request, "refused.html", status_code=status_code, reason=reason, user=user)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/downloads/{run_id}/{format_name}")
def follow_download_link(request: Request, run_id: str, format_name: str, user: str = "", expires: int = 0,
                         sig: str = "", sprint: int | None = None):
    signed_in = page_user(request)
    if not sig or not verify_download(run_id, format_name, sprint, user, expires, sig):
        return _refuse(request, 403, "This download link is not valid: it was changed or cut short.", signed_in)
    if signed_in is not None and signed_in != user:
        return _refuse(request, 403, f"This download link was made for another person, not for {signed_in}. "
                       "Ask them to share the file, or find it under My exports.", signed_in)
    if expires <= time.time():
        return _refuse(request, 410, "This download link has expired. Sign in and find the export under My exports "
                       "for a fresh link.", signed_in)
    try:
        return file_response(request.app.state.portal, user, run_entries(request.app.state.portal, user, run_id,
                                                                         format_name, sprint), "link")
    except DownloadProblem as problem:
        return _refuse(request, problem.status_code, problem.detail, signed_in)


@router.get("/exports/{run_id}/{format_name}")
def download_page(request: Request, run_id: str, format_name: str, sprint: int | None = None):
    signed_in = page_user(request)
    if signed_in is None:
        return RedirectResponse("/login", status_code=303)
    try:
        return file_response(request.app.state.portal, signed_in, run_entries(request.app.state.portal, signed_in, run_id,
                                                                              format_name, sprint), "page")
    except DownloadProblem as problem:
        return _refuse(request, problem.status_code, problem.detail, signed_in)
