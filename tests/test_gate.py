"""The request gate (bff/edges/http/request_guard.py): authentication before the body.

For every operation that needs credentials and takes a JSON body, a caller without credentials
gets 401, whatever it sends: no 415 for a missing body and no 422 that would describe the
endpoint's schema."""

from __future__ import annotations

import re

import pytest

from tests.story import ADMIN

pytestmark = pytest.mark.redis


def _guarded_json_operations(app) -> list[tuple[str, str]]:
    spec = app.extensions["bff_api"].spec.to_dict()
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "patch", "delete") or not op.get("security"):
                continue
            body = op.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                concrete = re.sub(r"\{[^}]+\}", "pAbCdEfGhIjKlMnOpQrStUvWxYz1", path)
                found.append((method, concrete))
    return found


def test_every_guarded_operation_answers_401_before_anything_about_its_body(app, client):
    operations = _guarded_json_operations(app)
    assert len(operations) > 20
    for method, path in operations:
        for kwargs in ({}, {"data": "x", "content_type": "text/plain"}, {"json": {"junk": 1}}):
            answer = getattr(client, method)(path, **kwargs)
            assert answer.status_code in (401, 404), (method, path, kwargs, answer.status_code)
            if answer.status_code == 401:
                assert "errors" not in answer.get_json()


def test_with_credentials_a_missing_body_is_a_415(client):
    answer = client.put("/v1/admin/test-whitelist", headers=ADMIN)
    assert answer.status_code == 415
