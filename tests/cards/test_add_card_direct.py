"""``POST /v1/cards/add-card``'s direct route (``bff.edges.http.service_app``): a caller with a
live session and a well-formed body is signed for without Flask's request machinery, with the
answer the view gives; anything else is the view's, and what the signing raised is answered by
the view once, without signing or charging the quota again."""

from __future__ import annotations

import json

import pytest

from bff.domain.cards import signing
from bff.edges.http.fast_path import FastJsonView

pytestmark = pytest.mark.redis


@pytest.fixture
def view_calls(monkeypatch):
    """add-card's requests that reached the view (the direct route answered the others)."""
    calls = []
    real = FastJsonView.dispatch_request

    def counted(self, **kwargs):
        calls.append(1)
        return real(self, **kwargs)

    monkeypatch.setattr(FastJsonView, "dispatch_request", counted)
    return calls


@pytest.fixture
def direct_answers(app, monkeypatch):
    """Whether the direct route answered each add-card request (False: it left it to Flask)."""
    answered = []
    key = ("POST", "/v1/cards/add-card")
    real = app.direct_routes[key]

    def recorded(environ):
        answer = real(environ)
        answered.append(answer is not None)
        return answer

    monkeypatch.setitem(app.direct_routes, key, recorded)
    return answered


@pytest.fixture
def signings(monkeypatch):
    calls = []
    real = signing.add_card
    monkeypatch.setattr(signing, "add_card", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    return calls


def _seen(res) -> tuple:
    body = res.get_json()
    exts = [(c["cardId"], sorted(json.loads(c["cardExt"]))) for c in body.get("card_list", [])]
    headers = sorted((k, v) for k, v in res.headers.items()
                     if k not in ("X-Request-Id", "Content-Length"))
    return res.status_code, headers, sorted(body), exts, res.get_data().endswith(b"\n")


def test_a_signed_card_is_answered_directly_as_the_view_answers_it(story, app, view_calls,
                                                                   signings, monkeypatch):
    card_id = story.card()
    user = story.user()
    token = story.login(user)
    item = {"card_id": card_id, "outer_str": "shop", "fixed_begintimestamp": 1700000000}
    direct = story.client.post("/v1/cards/add-card", json={"cards": [item]},
                               headers={"Authorization": f"Bearer {token}",
                                        "X-Request-Id": "sign-1"})
    assert direct.status_code == 200 and view_calls == [] and signings == [1]
    assert direct.headers["X-Request-Id"] == "sign-1"
    assert story.add_card(user, direct.get_json()["card_list"])["card_list"][0]["isSuccess"]

    monkeypatch.setattr(app, "direct_routes", {})  # the view alone
    by_view = story.sign(token, item)
    assert view_calls == [1] and signings == [1, 1]
    assert _seen(direct) == _seen(by_view)


@pytest.mark.parametrize("case", ["no session", "a revoked session", "a query string",
                                  "an origin", "a body the fast load refuses", "text/plain"])
def test_what_the_direct_route_does_not_take_the_view_answers(story, client, direct_answers,
                                                              signings, case):
    card_id = story.card()
    token = story.login(story.user())
    headers = {"Authorization": f"Bearer {token}"}
    path, body, kind, status = "/v1/cards/add-card", {"cards": [{"card_id": card_id}]}, \
        "application/json", 200
    if case == "no session":
        headers, status = {}, 401
    elif case == "a revoked session":
        assert client.delete("/v1/sessions/current", headers=headers).status_code == 204
        status = 401
    elif case == "a query string":
        path += "?x=1"
    elif case == "an origin":
        headers["Origin"] = "https://h5.merchant.example"
    elif case == "a body the fast load refuses":
        body, status = {"cards": [{"card_id": "p1"}]}, 422
    elif case == "text/plain":
        kind, status = "text/plain", 415
    res = client.post(path, data=json.dumps(body), content_type=kind, headers=headers)
    assert res.status_code == status, res.get_data(as_text=True)
    assert direct_answers == [False]  # Flask answered it
    assert signings == ([1] if status == 200 else [])
    if status != 200:
        story.assert_error(res, status)


def test_a_refused_signing_is_answered_by_the_view_once_and_charged_once(story, app, client,
                                                                         redis_client,
                                                                         view_calls, signings,
                                                                         monkeypatch):
    token = story.login(story.user())

    def refusals() -> list[int]:
        return [int(redis_client.get(k)) for k in
                redis_client.scan_iter(match="bff:limits*user-failures*")]

    unknown = story.sign(token, {"card_id": "p" + "9" * 27})  # WeChat is asked: 404
    story.assert_error(unknown, 404)
    assert signings == [1] and view_calls == [1]  # signed once, the view raised what it found
    direct_charges = refusals()
    assert direct_charges and set(direct_charges) == {1}  # one charge in each budget

    redis_client.delete(*redis_client.scan_iter(match="bff:limits*"))
    monkeypatch.setattr(app, "direct_routes", {})
    by_view = story.sign(token, {"card_id": "p" + "8" * 27})  # (the first is cached as unknown)
    assert _seen(by_view)[:3] == _seen(unknown)[:3]
    assert refusals() == direct_charges


def test_cors_headers_go_to_pages_only_whoever_answers(redis_client, settings_overrides,
                                                      monkeypatch):
    """flask-cors sends its headers only to a request with an Origin (always_send off): a
    Mini Program's add-card, answered directly, has none, as the view's had none."""
    from bff import create_app
    from tests.story import Story

    origin = "https://h5.merchant.example"
    app = create_app({**settings_overrides, "cors_origins": (origin,)})
    story = Story(app.test_client())
    card_id = story.card()
    token = story.login(story.user())
    mini = story.sign(token, {"card_id": card_id})
    assert mini.status_code == 200 and not any(k.startswith("Access-Control")
                                               for k in mini.headers.keys())
    page = story.client.post("/v1/cards/add-card", json={"cards": [{"card_id": card_id}]},
                             headers={"Authorization": f"Bearer {token}", "Origin": origin})
    assert page.status_code == 200 and page.headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize("content_type", ["application/json\xa0", "application/json\x85",
                                          "\xa0application/json",
                                          "application/json\xa0; charset=utf-8"])
def test_a_media_type_flask_refuses_is_not_signed_directly(story, app, client, signings,
                                                           monkeypatch, content_type):
    """Found by an attacker's review: str.strip() took NBSP and NEL off the media type, which
    werkzeug keeps (gunicorn passes such bytes in a header): signed directly, 415 by Flask."""
    card_id = story.card()
    token = story.login(story.user())
    kw = dict(data=json.dumps({"cards": [{"card_id": card_id}]}),
              headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    direct = client.post("/v1/cards/add-card", **kw)
    with monkeypatch.context() as m:
        m.setattr(app, "direct_routes", {})  # the view alone
        by_view = client.post("/v1/cards/add-card", **kw)
    story.assert_error(by_view, 415)
    assert direct.status_code == by_view.status_code and signings == []


def test_every_media_type_is_read_as_werkzeug_reads_it():
    from werkzeug.wrappers import Request

    from bff.edges.http.service_app import media_type

    for code in range(256):
        for value in (f"application/json{chr(code)}", f"{chr(code)}text/xml",
                      f"Application/JSON;{chr(code)}charset=utf-8"):
            environ = {"CONTENT_TYPE": value}
            assert media_type(environ) == Request(environ).mimetype, repr(value)
