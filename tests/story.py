"""Story helpers every test area shares: the operator header, the simulator, call counts."""

from __future__ import annotations

from typing import Any

from bff.config import SANDBOX_ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {SANDBOX_ADMIN_TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sim(client, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST to the mounted sandbox's ``/_sim/<path>``; its JSON answer (must be a 200)."""
    res = client.post(f"/sandbox/_sim/{path}", json=body or {})
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.json


def calls(client) -> dict[str, int]:
    """Upstream calls the sandbox has counted, by WeChat path without slashes."""
    return {k.strip("/"): v for k, v in client.get("/sandbox/_sim/calls").json.items()}
