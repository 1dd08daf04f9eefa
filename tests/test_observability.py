"""One request followed everywhere: request ids, JSON logs without secrets, one trace."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable

import pytest

from bff.domain.events.worker import process_pending
from bff.edges.http import tracing
from bff.ground import observability
from bff.ground.config import (
    SANDBOX_ADMIN_TOKEN,
    SANDBOX_MP_SECRET,
    SANDBOX_SECRET,
    ConfigError,
    load_settings,
)
from bff.ground.store import keys
from tests.story import bearer

HEX32 = re.compile(r"[0-9a-f]{32}")


def test_the_callers_id_is_echoed_in_the_header_and_the_error_body(client):
    res = client.get("/v1/me", headers={"X-Request-Id": "req-42.a:b_C"})
    assert res.status_code == 401
    assert res.headers["X-Request-Id"] == "req-42.a:b_C"
    assert res.json["request_id"] == "req-42.a:b_C"
    ok = client.get("/healthz", headers={"X-Request-Id": "ok-1"})
    assert ok.headers["X-Request-Id"] == "ok-1"


@pytest.mark.parametrize("given", ["", "a" * 129, "two words", "x\u00e9", "a;b", "<script>"])
def test_an_insane_or_missing_id_is_replaced_by_a_generated_one(client, given):
    headers = {"X-Request-Id": given} if given else {}
    res = client.post("/v1/cards/add-card", json={}, headers=headers)
    assert res.status_code == 401
    rid = res.headers["X-Request-Id"]
    assert HEX32.fullmatch(rid) and res.json["request_id"] == rid
    other = client.post("/v1/cards/add-card", json={}, headers=headers)
    assert other.headers["X-Request-Id"] != rid  # one per request


def test_every_error_shape_carries_the_id(client):
    for res in (client.get("/no/such/path", headers={"X-Request-Id": "r404"}),
                client.delete("/healthz", headers={"X-Request-Id": "r405"}),
                client.post("/v1/sessions/miniprogram", data="{", headers={
                    "X-Request-Id": "r400", "Content-Type": "application/json"})):
        rid = res.headers["X-Request-Id"]
        assert res.json["request_id"] == rid and rid.startswith("r4"), res.json


def test_the_spec_documents_request_id_in_the_error_shape(client):
    spec = client.get("/openapi.json").json
    props = spec["components"]["schemas"]["Error"]["properties"]
    assert {"code", "status", "message", "errors", "errcode", "request_id"} <= set(props)


def log_in_under(story, request_id: str, forget: Callable[[], object]) -> tuple[dict, str, str]:
    """A Mini Program login sent with ``request_id``, after ``forget`` dropped what the setup
    recorded; (user, login code, session token)."""
    user = story.user()
    code = story.login_code(user)
    forget()
    res = story.client.post("/v1/sessions/miniprogram", json={"code": code},
                            headers={"X-Request-Id": request_id})
    assert res.status_code == 201
    return user, code, res.json["token"]


def test_every_log_line_of_a_request_carries_its_id_wechat_calls_included(story, client, caplog):
    caplog.set_level(logging.DEBUG)
    log_in_under(story, "login-1", caplog.clear)
    ours = [r for r in caplog.records if r.name.startswith("bff")]
    assert any("path=/sns/jscode2session" in r.getMessage() for r in ours)
    assert ours and {r.request_id for r in ours} == {"login-1"}
    client.get("/healthz")
    assert observability.current_request_id() is None  # reset after each request


def test_log_format_is_validated():
    with pytest.raises(ConfigError, match="BFF_LOG_FORMAT"):
        load_settings(environ={"BFF_SANDBOX": "1", "BFF_LOG_FORMAT": "xml"})
    settings = load_settings(environ={"BFF_SANDBOX": "1", "BFF_LOG_FORMAT": "JSON"})
    assert settings.log_format == "json"


@pytest.fixture
def json_lines():
    """Every log record of the test, formatted as BFF_LOG_FORMAT=json formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.formatter_for("json"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("bff").setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_json_logs_one_object_per_line_with_ids_and_no_secret(story, app, client, redis_client,
                                                              json_lines):
    user = story.user()
    token = story.login(user)
    card_id = story.sim("cards", {"card_type": "GROUPON"})["card_id"]
    signed = client.post("/v1/cards/add-card", json={"cards": [{"card_id": card_id}]},
                         headers={**bearer(token), "X-Request-Id": "sign-1"})
    assert signed.status_code == 200
    taken = story.sim("add-card", {"user": user["mp_openid"],
                                   "card_list": signed.json["card_list"]})
    encrypt_code = taken["card_list"][0]["code"]
    code = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                       headers=bearer(token)).json["code"]
    # A member card with a form: personal fields travel through the plug-in, an event, the worker
    member_card = story.sim("cards", {"card_type": "MEMBER_CARD"})["card_id"]
    extra = client.post("/v1/membership/activation-plugin", json={"card_id": member_card},
                        headers=bearer(token)).json["extraData"]
    form = story.sim("activation-form", {
        "user": user["oa_openid"], "encrypt_card_id": extra["encrypt_card_id"],
        "biz": extra["biz"], "fields": {"USER_FORM_INFO_FLAG_MOBILE": "13800000000",
                                        "USER_FORM_INFO_FLAG_NAME": "Li Lei"}})
    pushed = story.sim("events", {"Event": "submit_membercard_user_info",
                                  "FromUserName": user["oa_openid"], "CardId": member_card,
                                  "UserCardCode": form["code"]})
    assert pushed["delivered"]
    assert process_pending(app).get("dead") is None

    lines = json_lines()
    ours = [line for line in lines if line["logger"].startswith("bff")
            and not line["logger"].startswith("bff.sandbox")]
    assert ours and all({"time", "level", "logger", "message", "request_id"} <= set(line)
                        for line in lines)
    sign_lines = [line for line in ours if line["request_id"] == "sign-1"]
    assert sign_lines, "the add-card request logged nothing"
    # The pushed event: recorded under its push request's id, handled under event:<stream id>.
    recorded = [line for line in ours if "recorded as stream entry" in line["message"]]
    entry_id = recorded[-1]["message"].rsplit(" ", 1)[1]
    push_id = recorded[-1]["request_id"]
    stored = redis_client.xrange(keys.event_stream(), entry_id, entry_id)[0][1]
    assert stored["request_id"] == push_id and HEX32.fullmatch(push_id)
    worker = [line for line in ours if line["request_id"] == f"event:{entry_id}"]
    assert any(f"pushed in request {push_id}" in line["message"] for line in worker)
    assert any("path=/card/membercard/userinfo/get" in line["message"] for line in worker)

    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in ours)
    secrets_ = (token, encrypt_code, code, user["oa_openid"], user["mp_openid"],
                user["unionid"], "13800000000", "Li Lei", SANDBOX_SECRET, SANDBOX_MP_SECRET,
                SANDBOX_ADMIN_TOKEN, "access_token=")
    for secret in secrets_:
        assert secret not in text, secret


# -- tracing --------------------------------------------------------------------------------


def test_tracing_is_off_unless_the_otel_variables_ask_for_it():
    assert tracing.wanted({}) is None
    assert tracing.wanted({"OTEL_SERVICE_NAME": "bff"}) is None
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) == "otlp"
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"}) == "console"
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "none",
                           "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) is None
    assert tracing.wanted({"OTEL_SDK_DISABLED": "true",
                           "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) is None


@pytest.fixture
def spans(fresh_app):
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = fresh_app  # instrumented: an app of its own
    assert tracing.init_app(app, tracer_provider=provider)
    try:
        yield exporter
    finally:
        tracing.uninstrument_libraries()
        FlaskInstrumentor().uninstrument_app(app)


def test_request_redis_and_wechat_are_one_trace_without_secrets(story, app, client, spans):
    user, code, token = log_in_under(story, "traced-1", spans.clear)
    finished = spans.get_finished_spans()
    [server] = [s for s in finished if s.kind.name == "SERVER"]
    assert server.attributes["bff.request_id"] == "traced-1"
    # the cluster client's spans carry the statement but no db.system attribute
    redis_spans = [s for s in finished if s.attributes.get("db.system") == "redis"
                   or s.attributes.get("db.system.name") == "redis"
                   or "db.statement" in s.attributes]
    wechat = [s for s in finished if s.kind.name == "CLIENT" and s not in redis_spans]
    assert redis_spans and wechat
    by_id = {s.context.span_id: s for s in finished}

    def root_of(span):
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
        return span

    for span in redis_spans + wechat:
        assert span.context.trace_id == server.context.trace_id
        assert root_of(span) is server
    dump = json.dumps([dict(s.attributes) for s in finished])
    for secret in (SANDBOX_MP_SECRET, code, token, user["mp_openid"]):
        assert secret not in dump, secret
    assert any("/sns/jscode2session" in v for s in wechat for v in s.attributes.values()
               if isinstance(v, str))
