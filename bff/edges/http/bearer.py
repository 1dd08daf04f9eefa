"""``Authorization: Bearer <token>``: the one parser of the header, for sessions and operators."""

from __future__ import annotations

from flask import request


def bearer_token() -> str | None:
    """The request's bearer token (surrounding spaces removed), or None when there is none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
