"""The user's side of member cards, driven through the app and its mounted sandbox."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.story import bearer as auth
from tests.story import sim

MOBILE = "13912345678"
NAME = "李小龙"
FORM = {
    "USER_FORM_INFO_FLAG_MOBILE": MOBILE,
    "USER_FORM_INFO_FLAG_NAME": NAME,
    "USER_FORM_INFO_FLAG_SEX": "MALE",
    "USER_FORM_INFO_FLAG_BIRTHDAY": "1990-01-02",
}
IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 10_3 like Mac OS X) AppleWebKit/603.1.30 "
             "(KHTML, like Gecko) Mobile/14E304 MicroMessenger/{v} NetType/WIFI Language/zh_CN")
ANDROID_UA = ("Mozilla/5.0 (Linux; Android 7.0; MI 5 Build/NRD90M) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Version/4.0 Chrome/57.0 Mobile Safari/537.36 "
              "MicroMessenger/{v} NetType/WIFI Language/zh_CN")


class Story:
    """Short ways to act as users, WeChat and the Mini Program."""

    def __init__(self, client: FlaskClient) -> None:
        self.c = client

    def sim(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return sim(self.c, path, body)

    def user(self, unionid: bool = True) -> dict[str, Any]:
        return self.sim("users", {"unionid": unionid})

    def login(self, user: dict[str, Any]) -> str:
        code = self.sim("login-codes", {"user": user["mp_openid"], "app": "miniprogram"})["code"]
        answer = self.c.post("/v1/sessions/miniprogram", json={"code": code})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["token"]

    def member_card(self, **body: Any) -> str:
        return self.sim("cards", {"card_type": "MEMBER_CARD", **body})["card_id"]

    def plugin(self, token: str, card_id: str, **body: Any):
        return self.c.post("/v1/membership/activation-plugin", headers=auth(token),
                           json={"card_id": card_id, **body})

    def fill_form(self, user: dict[str, Any], extra: dict[str, Any],
                  fields: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
        """The user fills in WeChat's activation plug-in; its return data."""
        return self.sim("activation-form", {
            "user": user["oa_openid"], **extra,
            "fields": FORM if fields is None else fields, **body})

    def activate(self, token: str, returned: dict[str, Any], **override: Any):
        body = {"activate_ticket": returned["activate_ticket"], "card_id": returned["card_id"],
                "code": returned["code"], **override}
        body = {k: v for k, v in body.items() if v is not None}
        return self.c.post("/v1/membership/activate", headers=auth(token), json=body)

    def activate_at_once(self, app, member: dict[str, Any], n: int) -> list[tuple[int, Any]]:
        """``n`` clients post the member's activation together; (status, body) of each."""
        answers: list[tuple[int, Any]] = []
        start = threading.Barrier(n)

        def activate() -> None:
            client = app.test_client()
            start.wait()
            answer = client.post("/v1/membership/activate", headers=auth(member["token"]), json={
                "activate_ticket": member["returned"]["activate_ticket"],
                "card_id": member["card_id"], "code": member["returned"]["code"]})
            answers.append((answer.status_code, answer.get_json()))

        threads = [threading.Thread(target=activate) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return answers

    def calls(self, path: str) -> int:
        calls = self.c.get("/sandbox/_sim/calls").get_json()
        return int(calls.get(path.strip("/"), 0)) + int(calls.get("/" + path.strip("/"), 0))

    def fault(self, path: str, **body: Any) -> None:
        self.sim("faults", {"path": path, **body})

    def new_member(self, token_user: tuple[str, dict[str, Any]] | None = None,
                   card_id: str | None = None) -> dict[str, Any]:
        """A logged-in user who opened the plug-in and filled the form (not yet activated)."""
        user = token_user[1] if token_user else self.user()
        token = token_user[0] if token_user else self.login(user)
        card_id = card_id or self.member_card()
        extra = self.plugin(token, card_id).get_json()["extraData"]
        returned = self.fill_form(user, extra)
        return {"user": user, "token": token, "card_id": card_id, "returned": returned}


@pytest.fixture
def story(client: FlaskClient) -> Story:
    return Story(client)
