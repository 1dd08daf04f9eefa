"""``POST /wechat/events``'s direct route (``bff.edges.http.service_app``): a well-formed push is
acknowledged without Flask's request machinery, and gets the answer, the stream entry and the
request id the view gives; anything else is the view's, which answers it as before, once."""

from __future__ import annotations

import io

import pytest
import redis

from bff.edges.events import push as push_edge
from bff.edges.events.push import WeChatEvents
from bff.ground.metrics import EVENTS
from bff.ground.store import keys
from tests.events.helpers import card_event, push, signed_request

pytestmark = pytest.mark.redis


@pytest.fixture
def view_calls(monkeypatch):
    """The view's POSTs (the direct route answered the others)."""
    calls = []
    real = WeChatEvents.post

    def counted(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(WeChatEvents, "post", counted)
    return calls


def _entry(redis_client) -> dict:
    [(_, values)] = redis_client.xrange(keys.event_stream())
    return {k: v for k, v in values.items() if k not in ("received_at", "request_id")}


def _counted(event: str, outcome: str) -> float:
    return EVENTS.labels(event, outcome)._value.get()


@pytest.mark.parametrize("safe", [True, False])
def test_a_push_is_answered_directly_as_the_view_answers_it(redis_client, settings_overrides,
                                                            view_calls, monkeypatch, safe):
    from bff import create_app

    app = create_app({**settings_overrides, "push_mode": "compat"})
    client = app.test_client()
    xml = card_event("user_get_card", "oDIRECT", code="901", OuterStr="s")
    url, body = signed_request(xml, safe=safe)
    before = _counted("user_get_card", "recorded")
    direct = client.post(url, data=body, content_type="text/xml",
                         headers={"X-Request-Id": "push-1"})
    assert view_calls == [] and _counted("user_get_card", "recorded") == before + 1
    entry = _entry(redis_client)
    [(_, values)] = redis_client.xrange(keys.event_stream())
    assert values["request_id"] == "push-1"  # the stream names the request that brought it
    holding = redis_client.hgetall(keys.holding("901"))
    redis_client.flushdb()

    monkeypatch.setattr(app, "direct_routes", {})  # the view alone
    url, body = signed_request(xml, safe=safe)
    by_view = client.post(url, data=body, content_type="text/xml",
                          headers={"X-Request-Id": "push-1"})
    assert view_calls == [1]
    assert (direct.status, direct.get_data()) == (by_view.status, by_view.get_data())
    assert sorted(direct.headers.items()) == sorted(by_view.headers.items())
    assert _entry(redis_client) == entry
    assert redis_client.hgetall(keys.holding("901")).keys() == holding.keys()


@pytest.mark.parametrize("case", ["bad signature", "replay", "user message", "chunked",
                                  "origin", "not xml"])
def test_what_the_direct_route_does_not_answer_the_view_answers_once(
        story, client, redis_client, view_calls, case):
    xml = card_event("user_view_card", "o1", code="902")
    url, body = signed_request(xml)
    kw: dict = {"content_type": "text/xml"}
    expected = 200
    if case == "bad signature":
        url = url.replace("msg_signature=", "msg_signature=0")
        expected = 403
    elif case == "replay":
        assert client.post(url, data=body, **kw).status_code == 200
        view_calls.clear()
        expected = 403
    elif case == "user message":
        url, body = signed_request("<xml><ToUserName>gh</ToUserName><FromUserName>o1"
                                   "</FromUserName><CreateTime>1</CreateTime><MsgType>text"
                                   "</MsgType><Content>hi</Content></xml>")
    elif case == "chunked":
        kw.update(input_stream=io.BytesIO(body), environ_overrides={
            "wsgi.input_terminated": True, "CONTENT_LENGTH": ""})
        body = None
    elif case == "origin":
        kw["headers"] = {"Origin": "https://shop.example"}
    elif case == "not xml":
        url, body = signed_request(xml, raw_body=b"<xml><a>")
        expected = 400
    rejected = _counted("unknown", "replayed" if case == "replay" else "rejected")
    res = client.post(url, data=body, **kw) if body is not None else client.post(url, **kw)
    assert view_calls == [1]  # the view saw it, and only once
    if expected == 200:
        assert res.get_data(as_text=True) == "success"
    else:
        story.assert_error(res, expected)  # the one error shape, with the request id
        assert _counted("unknown", "replayed" if case == "replay" else "rejected") == (
            rejected + 1)
    assert redis_client.xlen(keys.event_stream()) == (
        0 if case in ("bad signature", "user message", "not xml") else 1)


def test_when_redis_fails_the_view_answers_503_and_the_event_is_not_lost(
        story, app, client, redis_client, view_calls, monkeypatch):
    real = push_edge.record_event
    failures = []

    def failing_once(*a, **kw):
        if not failures:
            failures.append(1)
            raise redis.ConnectionError("down")
        return real(*a, **kw)

    monkeypatch.setattr(push_edge, "record_event", failing_once)
    res = push(client, card_event("user_view_card", "o1", code="903"))
    # the direct attempt failed, the view's went through: one entry, the pair used up once
    assert failures == [1] and view_calls == [1]
    assert res.get_data(as_text=True) == "success"
    assert redis_client.xlen(keys.event_stream()) == 1

    monkeypatch.setattr(push_edge, "record_event",
                        lambda *a, **kw: (_ for _ in ()).throw(redis.ConnectionError("down")))
    url, body = signed_request(card_event("user_view_card", "o1", code="904"))
    story.assert_error(client.post(url, data=body, content_type="text/xml"), 503)
    monkeypatch.setattr(push_edge, "record_event", real)
    # WeChat's retry of the very push gets through: its pair was not used up
    assert client.post(url, data=body, content_type="text/xml").status_code == 200


def test_tracing_turns_the_direct_routes_off(app):
    from opentelemetry.sdk.trace import TracerProvider

    from bff import create_app
    from bff.edges.http import tracing

    traced = create_app({"sandbox": True, "redis_url": app.extensions["bff"].settings.redis_url})
    assert traced.direct_routes
    try:
        assert tracing.init_app(traced, tracer_provider=TracerProvider())
        assert traced.direct_routes == {}
    finally:
        tracing.uninstrument_libraries()
