"""Production mode: no sandbox mounted, WeChat reached over real HTTP at BFF_WECHAT_API_BASE.

The WeChat here is a standalone sandbox on its own port, the way a deployment would see
api.weixin.qq.com; the app is built from BFF_* variables alone.
"""

from __future__ import annotations

import requests

from bff import create_app
from bff.ground import config as c
from tests.story import Story, bearer

PROD_ADMIN_TOKEN = "prod-admin-token-" + "x" * 16  # 32 characters, as production requires


def test_the_story_over_real_http_without_a_mounted_sandbox(redis_url, standalone_wechat,
                                                           monkeypatch):
    wechat = standalone_wechat
    env = {
        "BFF_APPID": c.SANDBOX_APPID, "BFF_SECRET": c.SANDBOX_SECRET,
        "BFF_MINIPROGRAM_APPID": c.SANDBOX_MP_APPID,
        "BFF_MINIPROGRAM_SECRET": c.SANDBOX_MP_SECRET,
        "BFF_PUSH_TOKEN": c.SANDBOX_PUSH_TOKEN, "BFF_PUSH_AES_KEY": c.SANDBOX_PUSH_AES_KEY,
        "BFF_REDIS_URL": redis_url, "BFF_ADMIN_TOKEN": PROD_ADMIN_TOKEN,
        "BFF_DATA_KEY": c.SANDBOX_DATA_KEY, "BFF_WECHAT_API_BASE": wechat,
        "BFF_SANDBOX": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = create_app().test_client()
    assert client.get("/readyz").get_json()["sandbox"] is False
    assert client.post("/sandbox/_sim/users", json={}).status_code == 404  # not mounted

    sandbox = Story(requests.Session(), wechat=wechat)  # WeChat, over a real socket
    user = sandbox.user()
    code = sandbox.login_code(user["mp_openid"])
    login = client.post("/v1/sessions/miniprogram", json={"code": code})
    assert login.status_code == 201, login.get_data(as_text=True)
    auth = bearer(login.get_json()["token"])
    card = sandbox.card(card_type="GROUPON")
    signed = client.post("/v1/cards/add-card", json={"cards": [{"card_id": card}]},
                         headers=auth)
    assert signed.status_code == 200, signed.get_data(as_text=True)
    entry = sandbox.add_card(user["mp_openid"], signed.get_json()["card_list"])["card_list"][0]
    assert entry["isSuccess"], entry
    decrypted = client.post("/v1/cards/codes/decrypt",
                            json={"encrypt_code": entry["code"]}, headers=auth)
    assert decrypted.status_code == 200, decrypted.get_data(as_text=True)
    assert decrypted.get_json()["card_id"] == card
    assert client.get("/v1/admin/events", headers=bearer(PROD_ADMIN_TOKEN)).status_code == 200
    assert sandbox.calls("cgi-bin/stable_token") == 1  # production default: stable_token

    # An operator's picture, uploaded through the service to the standalone sandbox, is one
    # a card may carry (the sandbox serves it under its own base, as WeChat's image host).
    import copy

    from bff.edges.http.openapi_docs import REQUEST_EXAMPLES

    admin = bearer(PROD_ADMIN_TOKEN)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    boundary = "bff-test-boundary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png \
        + f"\r\n--{boundary}--\r\n".encode()
    uploaded = client.post("/v1/admin/images", data=form, headers=admin,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    url = uploaded.get_json()["url"]
    assert url.startswith(wechat + "/")
    card_body = copy.deepcopy(REQUEST_EXAMPLES["CardCreate"])
    card_body["card"]["cash"]["base_info"]["logo_url"] = url
    created = client.post("/v1/admin/cards", json=card_body, headers=admin)
    assert created.status_code == 201, created.get_data(as_text=True)
    elsewhere = f"https://example.com/x/mmbiz.qpic.cn/mmbiz_png/{'0' * 32}/0"
    card_body["card"]["cash"]["base_info"]["logo_url"] = elsewhere  # not where WeChat is
    refused = client.post("/v1/admin/cards", json=card_body, headers=admin)
    assert refused.status_code == 422, refused.get_data(as_text=True)
