"""Schemathesis over every operation of the spec: no 5xx, and every answer as documented.

The app runs in sandbox mode on the test Redis. Each operation is called with the credentials its
security scheme names: a real session token from a sandbox login (``sessionAuth``) or the
operator token (``adminAuth``). All of schemathesis's checks are on (positive and negative
generation, status codes, content types, response schemas, ignored auth, ...). The operations come
from the spec, so endpoints added later are fuzzed without touching this file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings

from bff.config import SANDBOX_ADMIN_TOKEN

ROOT = Path(__file__).resolve().parent.parent

# Examples per operation and generation mode: enough to reach every schema branch, bounded so the
# run stays within a few minutes on 2 cores (override: BFF_FUZZ_EXAMPLES).
EXAMPLES = 25

CONFIG = schemathesis.Config.from_dict({
    "generation": {"mode": "all", "max-examples": EXAMPLES},
})


@pytest.fixture(scope="module")
def fuzz_app(redis_url: str):
    from bff import create_app

    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    app = create_app({"sandbox": True, "redis_url": redis_url})
    app.config["TESTING"] = True
    yield app
    r.flushdb()
    r.close()


@pytest.fixture(scope="module")
def fuzz_user(fuzz_app) -> dict[str, str]:
    """A simulated WeChat user (with a unionid) the session tokens belong to."""
    res = fuzz_app.test_client().post("/sandbox/_sim/users", json={"unionid": True})
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.json


def session_token(app, user: dict[str, str]) -> str:
    """A fresh Mini Program session for ``user``: the fuzzer may revoke the previous one."""
    client = app.test_client()
    code = client.post("/sandbox/_sim/login-codes",
                       json={"user": user["oa_openid"], "app": "miniprogram"}).json["code"]
    res = client.post("/v1/sessions/miniprogram", json={"code": code})
    assert res.status_code == 201, res.get_data(as_text=True)
    return res.json["token"]


# The exported spec: tests/test_ops.py proves it is the one the code generates.
schema = schemathesis.openapi.from_path(ROOT / "openapi" / "openapi.json", config=CONFIG)


def credentials(case, app, user: dict[str, str]) -> dict[str, str]:
    """The Authorization header for the security scheme the operation declares, if any."""
    schemes = {name for req in case.operation.definition.raw.get("security", []) for name in req}
    if "adminAuth" in schemes or (schemes and case.operation.path.startswith("/v1/admin")):
        return {"Authorization": f"Bearer {SANDBOX_ADMIN_TOKEN}"}
    if schemes:
        return {"Authorization": f"Bearer {session_token(app, user)}"}
    return {}


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, fuzz_app, fuzz_user) -> None:
    case.operation.app = case.operation.schema.app = fuzz_app  # auth probes too
    headers = credentials(case, fuzz_app, fuzz_user)
    case.call_and_validate(headers=headers)
