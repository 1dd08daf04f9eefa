"""One test vocabulary: a ``Story`` speaks for the user, the operator and WeChat.

WeChat is the sandbox, reached through its HTTP interface at ``wechat``: ``/sandbox`` on the
BFF's test client (the default), ``""`` on the standalone sandbox app's test client, or a base
URL on a ``requests.Session`` mounted on the sandbox. The steps that go through the BFF (login,
add-card signing, membership, operator endpoints) need the BFF's test client.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from bff.ground.config import SANDBOX_ADMIN_TOKEN, SANDBOX_APPID, SANDBOX_SECRET

ADMIN = {"Authorization": f"Bearer {SANDBOX_ADMIN_TOKEN}"}
MOBILE = "13912345678"
NAME = "李小龙"
FORM = {
    "USER_FORM_INFO_FLAG_MOBILE": MOBILE,
    "USER_FORM_INFO_FLAG_NAME": NAME,
    "USER_FORM_INFO_FLAG_SEX": "MALE",
    "USER_FORM_INFO_FLAG_BIRTHDAY": "1990-01-02",
}


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a session (or any bearer token)."""
    return {"Authorization": f"Bearer {token}"}


def card_ext_signature(*values: str) -> str:
    """WeChat's cardExt signature, written from its description, independently of bff."""
    return hashlib.sha1("".join(sorted(values)).encode()).hexdigest()


class Story:
    """Short ways to act as users, the operator, the Mini Program and WeChat."""

    def __init__(self, client: FlaskClient | requests.Session, *, wechat: str = "/sandbox",
                 appid: str = SANDBOX_APPID, secret: str = SANDBOX_SECRET) -> None:
        self.client = client
        self.wechat = wechat
        self.appid, self.secret = appid, secret

    @property
    def app(self) -> Flask:
        assert isinstance(self.client, FlaskClient), "needs a test client"
        return self.client.application

    # -- WeChat's side: the sandbox and its simulator ---------------------------------------

    def _send(self, method: str, path: str, body: Any = None,
              query: dict[str, Any] | None = None) -> tuple[int, Any, str]:
        """(status, JSON, text) of a request to the sandbox, whatever the transport."""
        url = self.wechat + path
        if isinstance(self.client, requests.Session):
            res = self.client.request(method, url, json=body, params=query, timeout=5)
            return res.status_code, res.json() if res.content else None, res.text
        answer = self.client.open(url, method=method, json=body, query_string=query)
        return answer.status_code, answer.get_json(silent=True), answer.get_data(as_text=True)

    def sim(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST to the simulator's ``/_sim/<path>``; its JSON answer (must be a 200)."""
        status, answer, text = self._send("POST", f"/_sim/{path}", body or {})
        assert status == 200, text
        return answer

    def calls(self, path: str | None = None) -> Any:
        """Upstream calls the sandbox counted: all, by WeChat path without slashes, or one."""
        counted = self._send("GET", "/_sim/calls")[1]
        return counted if path is None else counted.get(path.strip("/"), 0)

    def fault(self, path: str, **spec: Any) -> None:
        """WeChat misbehaves on ``path`` (``errcode``, ``http_status``, ``latency_ms``...)."""
        self.sim("faults", {"path": path, **spec})

    def token(self, appid: str | None = None, secret: str | None = None) -> str:
        """An access token, fetched as any WeChat client does."""
        answer = self._send("GET", "/cgi-bin/token", query={
            "grant_type": "client_credential", "appid": appid or self.appid,
            "secret": secret or self.secret})[1]
        return answer["access_token"]

    def call(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """A WeChat API call with an access token; WeChat's JSON answer."""
        return self._send("POST", path, body, query={"access_token": token})[1]

    def decrypt(self, token: str, encrypt_code: str) -> dict[str, Any]:
        return self.call("/card/code/decrypt", token, {"encrypt_code": encrypt_code})

    def user(self, **body: Any) -> dict[str, Any]:
        """A new WeChat user: OA and MP openids and (unless ``unionid=False``) a unionid."""
        return self.sim("users", body)

    def card(self, **options: Any) -> str:
        """A card WeChat knows (a general coupon unless ``card_type`` says otherwise)."""
        return self.sim("cards", {"card_type": "GENERAL_COUPON", **options})["card_id"]

    def member_card(self, **options: Any) -> str:
        return self.card(**{"card_type": "MEMBER_CARD", **options})

    def deposit_card(self) -> str:
        """A groupon whose codes the operator deposits (no stock until imported)."""
        return self.card(card_type="GROUPON", use_custom_code=True, quantity=0,
                         get_custom_code_mode="GET_CUSTOM_CODE_MODE_DEPOSIT")

    def wx_card_ticket(self) -> str:
        return self._send("GET", "/_sim/tickets")[1]["wx_card"]

    def card_ext(self, card_id: str, *, code: str = "", openid: str = "",
                 ticket: str | None = None, timestamp: int | None = None,
                 nonce: str | None = None, **extra: Any) -> str:
        """A cardExt signed here from the wx_card ticket, as WeChat documents it."""
        ticket = ticket if ticket is not None else self.wx_card_ticket()
        timestamp = timestamp if timestamp is not None else int(time.time())
        nonce = nonce or hashlib.md5(str(time.perf_counter_ns()).encode()).hexdigest()[:16]
        ext: dict[str, Any] = {"timestamp": str(timestamp), "nonce_str": nonce, **extra}
        if code:
            ext["code"] = code
        if openid:
            ext["openid"] = openid
        ext["signature"] = card_ext_signature(ticket, str(timestamp), card_id, code, openid,
                                              nonce)
        return json.dumps(ext)

    def add_card(self, user: dict[str, Any] | str, cards: str | list[dict[str, Any]],
                 card_ext: str | None = None, **body: Any) -> dict[str, Any]:
        """The user's wx.addCard: one card (a cardExt signed here unless given) or a card_list
        as the BFF signed it; WeChat's whole answer."""
        if isinstance(cards, str):
            cards = [{"cardId": cards,
                      "cardExt": card_ext if card_ext is not None else self.card_ext(cards)}]
        openid = user["oa_openid"] if isinstance(user, dict) else user
        return self.sim("add-card", {"user": openid, "card_list": cards, **body})

    # -- the user's side, through the BFF --------------------------------------------------

    def login_code(self, user: dict[str, Any] | str, app: str = "miniprogram") -> str:
        """A wx.login (or H5 authorisation) code for the user (a dict, or any of its ids)."""
        any_id = user["oa_openid"] if isinstance(user, dict) else user
        return self.sim("login-codes", {"user": any_id, "app": app})["code"]

    def login(self, user: dict[str, Any], app: str = "miniprogram") -> str:
        """The user logs in from the Mini Program (or an H5 page); the session token."""
        path = "/v1/sessions/miniprogram" if app == "miniprogram" else "/v1/sessions/h5"
        answer = self.client.post(path, json={"code": self.login_code(user, app)})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["token"]

    def sign(self, token: str, *cards: dict[str, Any]) -> Any:
        """The BFF's add-card: cardExts for ``cards``; the response."""
        return self.client.post("/v1/cards/add-card", json={"cards": list(cards)},
                                headers=bearer(token))

    def take(self, card_id: str, user: dict[str, Any] | None = None, *,
             signed_by: str = "bff", token: str | None = None, outer_str: str | None = None,
             code: str = "", **body: Any) -> tuple[dict[str, Any], str]:
        """A user (a new one unless given) takes ``card_id``; (user, encrypt_code).

        ``signed_by="bff"``: the user logs in (unless ``token``) and the BFF's add-card signs
        the cardExt. ``signed_by="ticket"``: the cardExt is signed here from the wx_card
        ticket (``code`` for a custom code), as an operator's own page would.
        """
        user = user or self.user()
        if signed_by == "bff":
            item: dict[str, Any] = {"card_id": card_id}
            if outer_str is not None:
                item["outer_str"] = outer_str
            signed = self.sign(token or self.login(user), item)
            assert signed.status_code == 200, signed.get_json()
            cards: str | list[dict[str, Any]] = signed.get_json()["card_list"]
            card_ext = None
        else:
            assert signed_by == "ticket" and outer_str is None and token is None
            cards, card_ext = card_id, self.card_ext(card_id, code=code)
        [entry] = self.add_card(user, cards, card_ext, **body)["card_list"]
        assert entry["isSuccess"], entry
        return user, entry["code"]

    def take_and_open(self, card_id: str, user: dict[str, Any], **options: Any) -> str:
        """The user takes ``card_id`` through the BFF and opens it there; the real code."""
        token = self.login(user)
        return self.my_code(token, self.take(card_id, user, token=token, **options)[1])

    def my_code(self, token: str, encrypt_code: str) -> str:
        """The user opens a card: the BFF decrypts the code; the real code."""
        answer = self.client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                                  headers=bearer(token))
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()["code"]

    def redeem(self, token: str, key: str | None = None, **body: Any) -> Any:
        """The user redeems a code of theirs (``key``: its Idempotency-Key); the response."""
        headers = {**bearer(token), **({"Idempotency-Key": key} if key else {})}
        return self.client.post("/v1/cards/codes/redeem", json=body, headers=headers)

    def code_of(self, encrypt_code: str) -> str:
        """The real code, asked of WeChat through the BFF's client (as the back office can)."""
        with self.app.app_context():
            return self.app.extensions["bff"].wechat.code_decrypt(encrypt_code)["code"]

    # -- member cards ----------------------------------------------------------------------

    def plugin(self, token: str, card_id: str, **body: Any) -> Any:
        return self.client.post("/v1/membership/activation-plugin", headers=bearer(token),
                                json={"card_id": card_id, **body})

    def fill_form(self, user: dict[str, Any], extra: dict[str, Any],
                  fields: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
        """The user fills in WeChat's activation plug-in; its return data."""
        return self.sim("activation-form", {
            "user": user["oa_openid"], **extra,
            "fields": FORM if fields is None else fields, **body})

    def activate(self, token: str, returned: dict[str, Any], **override: Any) -> Any:
        body = {"activate_ticket": returned["activate_ticket"], "card_id": returned["card_id"],
                "code": returned["code"], **override}
        body = {k: v for k, v in body.items() if v is not None}
        return self.client.post("/v1/membership/activate", headers=bearer(token), json=body)

    def activate_at_once(self, member: dict[str, Any], n: int) -> list[tuple[int, Any]]:
        """``n`` clients post the member's activation together; (status, body) of each."""
        answers: list[tuple[int, Any]] = []
        start = threading.Barrier(n)

        def activate() -> None:
            client = self.app.test_client()
            start.wait()
            answer = client.post("/v1/membership/activate", headers=bearer(member["token"]),
                                 json={"activate_ticket": member["returned"]["activate_ticket"],
                                       "card_id": member["card_id"],
                                       "code": member["returned"]["code"]})
            answers.append((answer.status_code, answer.get_json()))

        threads = [threading.Thread(target=activate) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return answers

    def new_member(self, token_user: tuple[str, dict[str, Any]] | None = None,
                   card_id: str | None = None) -> dict[str, Any]:
        """A logged-in user who opened the plug-in and filled the form (not yet activated)."""
        user = token_user[1] if token_user else self.user()
        token = token_user[0] if token_user else self.login(user)
        card_id = card_id or self.member_card()
        extra = self.plugin(token, card_id).get_json()["extraData"]
        returned = self.fill_form(user, extra)
        return {"user": user, "token": token, "card_id": card_id, "returned": returned}

    # -- the operator's side ---------------------------------------------------------------

    def put_profile(self, card_id: str, **profile: Any) -> dict[str, Any]:
        answer = self.client.put(f"/v1/admin/cards/{card_id}/profile", json=profile,
                                 headers=ADMIN)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def operator(self, name: str, role: str) -> dict[str, str]:
        """A new operator account (``bff operators add``): its Authorization header."""
        res = self.app.test_cli_runner().invoke(args=["operators", "add", name, "--role", role])
        assert res.exit_code == 0, res.output
        return bearer(json.loads(res.stdout)["token"])

    def sign_in(self, token: str) -> dict[str, Any]:
        """Open a console session on this client (its cookie jar); the answer's JSON."""
        res = self.client.post("/v1/admin/session", json={"token": token})
        assert res.status_code == 201, res.get_data(as_text=True)
        return res.json

    def create_card(self, card: dict[str, Any]) -> str:
        """The operator creates a card through the BFF; its card_id."""
        answer = self.client.post("/v1/admin/cards", json=card, headers=ADMIN)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["card_id"]

    def upload_image(self, data: bytes, filename: str = "image.png") -> Any:
        """The operator uploads a card image (POST /v1/admin/images); the response. The
        multipart body is built here (the test client would spool a large one to a file)."""
        boundary = "bff-test-boundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        return self.client.post("/v1/admin/images", data=body, headers=ADMIN,
                                content_type=f"multipart/form-data; boundary={boundary}")

    def admin_card(self, card_id: str) -> dict[str, Any]:
        """The card as the operator reads it through the BFF."""
        answer = self.client.get(f"/v1/admin/cards/{card_id}", headers=ADMIN)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def review(self, card_id: str, approve: bool = True, reason: str | None = None) -> None:
        """WeChat's reviewer decides; its push is handled as the worker would."""
        body: dict[str, Any] = {"approve": approve}
        if reason:
            body["reason"] = reason
        pushed = self.sim(f"cards/{card_id}/review", body)["pushed"]
        assert pushed[0]["delivered"], pushed
        self.handle_events()

    def channel_stats(self, card_id: str) -> dict[str, dict[str, int]]:
        """The operator's channel statistics of a card, by outer_str."""
        answer = self.client.get("/v1/admin/stats/channels", query_string={"card_id": card_id},
                                 headers=ADMIN)
        assert answer.status_code == 200, answer.get_json()
        return {r["outer_str"]: {k: r[k] for k in ("received", "consumed", "deleted", "gifted")}
                for r in answer.get_json()["rows"]}

    def handle_events(self) -> dict[str, int]:
        """The worker's drain of pending pushes, in-process; its counts."""
        from bff.edges.events import process_pending

        return process_pending(self.app)

    # -- answers ---------------------------------------------------------------------------

    @staticmethod
    def assert_error(response: Any, status: int, *, message: str | None = None,
                     errcode: int | None = None) -> dict[str, Any]:
        """``response`` is the one error shape (bff/ground/errors.py) with ``status``; its JSON."""
        text = response.get_data(as_text=True)
        assert response.status_code == status, text
        body = response.get_json()
        assert body["code"] == status
        assert isinstance(body["status"], str) and body["status"]
        assert isinstance(body["message"], str) and body["message"]
        assert "Traceback" not in text
        if message is not None:
            assert message in body["message"], body
        if errcode is not None:
            assert body.get("errcode") == errcode, body
        return body


@pytest.fixture
def story(client: FlaskClient) -> Story:
    """The story told through the BFF's test client and its mounted sandbox."""
    return Story(client)


@pytest.fixture
def member(app: Flask, story: Story) -> dict[str, Any]:
    """An activated member (the user filled WeChat's form; the Mini Program activated), whose
    pushes so far are handled: ``new_member``'s fields and the card's ``code``."""
    from bff.edges.events import process_pending

    m = story.new_member()
    assert story.activate(m["token"], m["returned"]).status_code == 200
    process_pending(app)
    return {**m, "code": m["returned"]["code"]}
