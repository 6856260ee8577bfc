"""The export portal: sign-in, the REST API under /api/v1, pages, signed download links.

Importing this package loads nothing heavy; `sprint_exports.portal.app:create_app`
builds the ASGI application (uvicorn loads it by that name).
"""
