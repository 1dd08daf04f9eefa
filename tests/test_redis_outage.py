"""Redis stopped → 503 from /readyz *and* from the endpoints; recovery after."""

from __future__ import annotations

import pytest

from tests.redis_server import RedisServer
from tests.story import ADMIN, Story, bearer


@pytest.mark.slow
def test_endpoints_answer_503_while_redis_is_down_and_recover(redis_client):
    from bff import create_app

    server = RedisServer().start()
    try:
        client = create_app({"sandbox": True, "redis_url": server.url}).test_client()
        story = Story(client)
        user = story.user()
        token = story.login(user)
        card = story.card()
        auth = bearer(token)
        requests = [
            ("GET", "/v1/me", None, auth),
            ("DELETE", "/v1/sessions/current", None, auth),
            ("POST", "/v1/cards/add-card", {"cards": [{"card_id": card}]}, auth),
            ("POST", "/v1/cards/choose-card", {}, auth),
            ("POST", "/v1/jssdk/config", {"url": "http://localhost/page"}, auth),
            ("POST", "/v1/cards/codes/decrypt", {"encrypt_code": "abc"}, auth),
            ("GET", "/v1/cards/mine", None, auth),
            ("POST", "/v1/cards/codes/redeem", {"card_id": card, "code": "123"}, auth),
            ("POST", "/v1/membership/activation-plugin", {"card_id": card}, auth),
            ("GET", f"/v1/membership/cards/{card}", None, auth),
            ("GET", f"/v1/admin/cards/{card}/profile", None, ADMIN),
            ("PUT", f"/v1/admin/cards/{card}/profile", {"self_redeem": True}, ADMIN),
            ("POST", f"/v1/admin/cards/{card}/pool", {"codes": ["1234567890"]}, ADMIN),
            ("GET", "/readyz", None, {}),
            # the mounted sandbox shares the Redis: it answers like WeChat in trouble (-1, 503)
            ("POST", "/v1/sessions/miniprogram", {"code": "123456789012"}, {}),
        ]
        server.stop()
        for method, path, body, headers in requests:
            res = client.open(path, method=method, json=body, headers=headers)
            story.assert_error(res, 503)
            assert res.headers.get("Retry-After"), path
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200

        server.start()  # an empty Redis: old sessions are gone, new ones work
        assert client.get("/readyz").status_code == 200
        story.assert_error(client.get("/v1/me", headers=auth), 401)
        token = story.login(story.user())
        assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    finally:
        server.stop()
