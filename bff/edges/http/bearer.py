"""``Authorization: Bearer <token>``: the one parser of the header, for sessions and operators."""

from __future__ import annotations

from flask import request


def bearer_token(environ: dict | None = None) -> str | None:
    """The request's (or ``environ``'s) bearer token (surrounding spaces removed), or None when
    there is none."""
    # what request.headers.get("Authorization", "") reads, without building the headers view
    environ = request.environ if environ is None else environ
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
