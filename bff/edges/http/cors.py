"""CORS for H5 pages on the merchant's own domains: an exact allow-list, never credentials.

The session travels as ``Authorization: Bearer``, never as a cookie, so credentials stay off;
``Retry-After`` and ``X-Request-Id`` are exposed so a page's script can read them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask import Flask
from flask_cors import CORS

ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"]
EXPOSED_HEADERS = ["Retry-After", "X-Request-Id"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
NOT_WECHAT = re.compile(r"/(?!wechat/)")  # matched at the start of the path


def allow_origins(app: Flask, origins: Sequence[str]) -> None:
    """Answer CORS for exactly ``origins`` (validated by bff.ground.config) on every path of
    ``app`` but WeChat's server URL (``/wechat/``): WeChat's servers call it, never a page, and
    its pushes are acknowledged below Flask's hooks (bff.edges.events.push)."""
    if not origins:
        return
    CORS(
        app,
        resources=[NOT_WECHAT],
        origins=list(origins),  # plain strings without regex characters: compared exactly
        supports_credentials=False,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        methods=METHODS,
        max_age=600,
        vary_header=True,
        # Only to a request with an Origin (a page's): an answer to a Mini Program or a server
        # carries none, whether Flask or a direct route (bff.edges.http.service_app) answers.
        always_send=False,
    )
