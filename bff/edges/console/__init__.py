"""The operators' console at ``/console/``: static pages over the ``/v1/admin`` endpoints.

Served in production and sandbox mode alike, and entirely from this package (``static/``): no
CDN, no web font, no build step. The charting library is npm ``chart.js``, pinned in the root
``package.json`` and copied into ``static/vendor/`` by ``scripts/vendor-console.mjs``. The pages
sign in once with the operator token (``POST /v1/admin/session``) and then use only the
HttpOnly session cookie and its CSRF token; the token itself is never stored by the page.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, request, send_from_directory
from flask.wrappers import Response

STATIC = Path(__file__).parent / "static"

# Self only; no inline script or style; nothing may frame the console (clickjacking at the
# counter). blob: images are the logo preview of a file the operator picked.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
))

bp = Blueprint("console", __name__, url_prefix="/console")


def register_console(app: Flask) -> None:
    """Serve the console (production and sandbox mode). The lock-down headers go on every
    answer under /console, including those no console route made (a redirect, a 405)."""
    app.register_blueprint(bp)
    app.after_request(lock_down)


def lock_down(response: Response) -> Response:
    """Every console response carries the policy; pages are revalidated, never cached stale."""
    path = request.path  # one proxy lookup: this runs after every request of the service
    if path != "/console" and not path.startswith("/console/"):
        return response
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    # the counter may scan codes with the camera; nothing else is asked of the device
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/")
def index() -> Response:
    """The one page; its parts are ES modules that draw each section (``#/cards`` ...)."""
    return send_from_directory(STATIC, "index.html")


@bp.get("/<path:path>")
def asset(path: str) -> Response:
    return send_from_directory(STATIC, path)
