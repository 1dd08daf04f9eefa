"""``POST /wechat/events``'s direct route (``bff.edges.http.service_app``): a well-formed push is
acknowledged without Flask's request machinery, and gets the answer, the stream entry and the
request id the view gives; anything else is the view's, which answers it as before, once."""

from __future__ import annotations

import io

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.exceptions import SlotNotCoveredError
from werkzeug.wrappers import Request as WerkzeugRequest

from bff.edges.events import push as push_edge
from bff.edges.events.push import WeChatEvents
from bff.ground.metrics import EVENTS
from bff.ground.store import keys
from bff.ground.wechat.push import PushRefused
from tests.events.helpers import card_event, signed_request

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
                                  "not xml"])
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


def test_when_redis_fails_the_view_answers_503_without_trying_again_and_the_retry_is_taken(
        story, client, redis_client, view_calls, monkeypatch):
    """The view answers what the direct route found: the store's failure is not tried again
    (the client's own retries were spent), nor is the push verified twice."""
    real = push_edge.record_event
    attempts = []

    def failing_once(*a, **kw):
        attempts.append(1)
        if len(attempts) == 1:
            raise redis.ConnectionError("down")
        return real(*a, **kw)

    monkeypatch.setattr(push_edge, "record_event", failing_once)
    verified = []
    real_verify = push_edge.verify_push
    monkeypatch.setattr(push_edge, "verify_push",
                        lambda *a, **kw: verified.append(1) or real_verify(*a, **kw))
    url, body = signed_request(card_event("user_view_card", "o1", code="903"))
    story.assert_error(client.post(url, data=body, content_type="text/xml"), 503)
    assert attempts == [1] and verified == [1] and view_calls == [1]
    assert redis_client.xlen(keys.event_stream()) == 0
    # WeChat's retry of the very push gets through: its pair was not used up
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    assert redis_client.xlen(keys.event_stream()) == 1


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("failure", [SlotNotCoveredError("slot 1234 has no master (failover)"),
                                     RuntimeError("a bug in the bookkeeping")],
                         ids=["store", "bug"])
def test_a_failure_after_the_recording_is_still_success_counted_once(
        redis_client, settings_overrides, monkeypatch, direct, failure):
    """Found by an attacker's review: a failure after the event was recorded (here a plain
    push's receipt on a cluster in failover) went to the view, whose try was then a replay: 403,
    and the push counted as recorded and replayed."""
    from bff import create_app

    def failing_receipt(*_a, **_kw):
        raise failure

    monkeypatch.setattr(push_edge, "record_receipt", failing_receipt)
    app = create_app({**settings_overrides, "push_mode": "compat"})
    if not direct:
        monkeypatch.setattr(app, "direct_routes", {})  # the view alone
    client = app.test_client()
    recorded, replays = _counted("user_get_card", "recorded"), _counted("unknown", "replayed")
    url, body = signed_request(card_event("user_get_card", "oFAIL", code="9301"), safe=False)
    res = client.post(url, data=body, content_type="text/xml")
    assert res.status_code == 200 and res.get_data(as_text=True) == "success"
    assert redis_client.xlen(keys.event_stream()) == 1
    assert _counted("user_get_card", "recorded") == recorded + 1
    assert _counted("unknown", "replayed") == replays


def _both(app, redis_client, monkeypatch, send) -> tuple:
    """``send(client)`` answered by the direct route, then (Redis flushed) by the view alone:
    (status, body, headers but the request id, stream length) each."""
    client = app.test_client()

    def seen(res) -> tuple:
        headers = sorted((k, v) for k, v in res.headers.items() if k != "X-Request-Id")
        return (res.status_code, res.get_data(), headers,
                redis_client.xlen(keys.event_stream()))

    direct = seen(send(client))
    redis_client.flushdb()
    with monkeypatch.context() as m:
        m.setattr(app, "direct_routes", {})
        return direct, seen(send(client))


def test_cors_is_not_answered_on_wechats_server_url_by_either(redis_client, settings_overrides,
                                                              monkeypatch):
    """Found by an attacker's review: with BFF_CORS_ORIGINS set, the view's answer carried
    flask-cors's headers and the direct one none. WeChat's server URL answers no CORS now."""
    from bff import create_app

    app = create_app({**settings_overrides,
                      "cors_origins": ("https://shop.example", "https://h5.example")})
    xml = card_event("user_view_card", "oCORS", code="9101")

    def send(client):
        url, body = signed_request(xml)
        return client.post(url, data=body, content_type="text/xml",
                           headers={"Origin": "https://shop.example"})

    direct, by_view = _both(app, redis_client, monkeypatch, send)
    assert direct == by_view and direct[0] == 200
    assert not any(k.startswith("Access-Control") for k, _ in direct[2])
    other = app.test_client().get("/healthz", headers={"Origin": "https://shop.example"})
    assert other.headers["Access-Control-Allow-Origin"] == "https://shop.example"


@pytest.mark.parametrize("variant", [
    {"content_type": "application/json"}, {"content_type": "text/xml\xa0"},
    {"length": lambda n: f"+{n}"}, {"length": lambda n: f"0_{n}"},
    {"length": lambda n: f"{n}\x0b"}, {"length": lambda n: f"\x0c{n}"},
    {"length": lambda n: str(n), "chunked": True},
], ids=["json", "xml and NBSP", "plus", "underscore", "trailing VT", "leading FF",
        "chunked with a length"])
def test_a_request_werkzeug_reads_otherwise_is_answered_as_the_view_answers_it(
        app, redis_client, monkeypatch, variant):
    """Found by an attacker's review: the direct route took any media type and read
    Content-Length with int(); it now reads both as werkzeug does, or leaves them to the view."""
    xml = card_event("user_view_card", "oLEN", code="9103")

    def send(client):
        url, body = signed_request(xml)
        environ = {"CONTENT_LENGTH": variant.get("length", str)(len(body))}
        if variant.get("chunked"):
            environ.update(HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input_terminated": True})
        return client.post(url, input_stream=io.BytesIO(body + b"<junk/>"),
                           content_type=variant.get("content_type", "text/xml"),
                           environ_overrides=environ)

    direct, by_view = _both(app, redis_client, monkeypatch, send)
    assert direct[0] == by_view[0] and direct[3] == by_view[3]


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


def test_a_direct_route_that_fails_is_logged_and_flask_answers(client, redis_client,
                                                              monkeypatch, caplog):
    def broken(*_a, **_kw):
        raise KeyError("a bug")

    monkeypatch.setattr(push_edge, "_store", broken)
    monkeypatch.setattr(push_edge, "acknowledge_directly", broken)
    url, body = signed_request(card_event("user_view_card", "o1", code="905"))
    with caplog.at_level("WARNING", logger="bff.edges.http.service_app"):
        res = client.post(url, data=body, content_type="text/xml")
    assert res.status_code == 500 and res.get_json()["request_id"]  # the one error shape
    assert "a direct route failed (KeyError)" in caplog.text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "=", "&", "%", "%41", "%zz", "+", ";", " ", "é",
                                 "signature", "nonce=1"]), max_size=12).map("".join))
def test_the_query_is_read_as_werkzeugs_args(query):
    """What ``_query`` reads (split by hand when nothing needs decoding) is what the view's
    ``request.args.to_dict()`` reads."""
    environ = {"QUERY_STRING": query.encode().decode("latin-1")}
    if not query.isascii():  # raw bytes: refused, where werkzeug's strict decoding may raise
        with pytest.raises(PushRefused):
            push_edge._query(environ)
        return
    assert push_edge._query(environ) == WerkzeugRequest(environ).args.to_dict()


def test_a_push_that_moves_a_code_takes_it_off_the_old_index_in_the_same_round_trip(
        redis_client, settings_overrides, monkeypatch):
    """A receipt naming another owner took the code off the previous owner's index in a round
    trip of its own, through redis-py's pool: 3,700 acknowledgements a second fell to 2,200
    when every push moved a code (the independent benchmark's second round, its codes again).
    It now goes out with the request's commands, shared with concurrent requests."""
    from bff import create_app

    app = create_app({**settings_overrides, "push_mode": "safe"})
    client = app.test_client()
    earlier = card_event("user_get_card", "oOLD", code="902", create_time=1_700_000_000)
    url, body = signed_request(earlier)
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    assert redis_client.smembers(keys.holdings_of("oa", "oOLD")) == {"902"}

    alone = []
    # a command sent by itself: redis-py's client (a cluster's too; its pipeline queues by a
    # method of its own)
    for cls in (redis.Redis, redis.cluster.RedisCluster):
        def counted(self, *args, _real=cls.execute_command, **options):
            alone.append(args[0])
            return _real(self, *args, **options)

        monkeypatch.setattr(cls, "execute_command", counted)
    later = card_event("user_get_card", "oNEW", code="902", create_time=1_700_000_100)
    url, body = signed_request(later)
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    assert alone == []  # nothing sent outside the coalesced round trips
    monkeypatch.undo()
    assert redis_client.smembers(keys.holdings_of("oa", "oOLD")) == set()
    assert redis_client.smembers(keys.holdings_of("oa", "oNEW")) == {"902"}
    assert redis_client.hget(keys.holding("902"), "oa_openid") == "oNEW"
