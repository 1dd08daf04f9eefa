"""Operations endpoints and the one error shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]


def test_health_ready_docs(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["redis"] == "ok"
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")


def test_metrics_are_prometheus_text(client):
    client.get("/readyz")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    assert "bff_upstream_calls_total" in resp.get_data(as_text=True)


def _production(redis_url: str, **overrides):
    from bff import create_app
    from bff.ground import config as c

    return create_app({
        "sandbox": False, "redis_url": redis_url, "appid": c.SANDBOX_APPID,
        "secret": c.SANDBOX_SECRET, "miniprogram_appid": c.SANDBOX_MP_APPID,
        "miniprogram_secret": c.SANDBOX_MP_SECRET, "push_token": c.SANDBOX_PUSH_TOKEN,
        "push_aes_key": c.SANDBOX_PUSH_AES_KEY, "admin_token": "a" * 32,
        "data_key": c.SANDBOX_DATA_KEY, **overrides}).test_client()


def test_metrics_need_their_token_outside_sandbox_mode(story, redis_client, redis_url):
    """/metrics was public on the service port: call rates, errcodes and event counts."""
    story.assert_error(_production(redis_url).get("/metrics"), 404)  # no token: no /metrics
    client = _production(redis_url, metrics_token="scrape-" + "m" * 25)
    story.assert_error(client.get("/metrics"), 401)
    story.assert_error(client.get("/metrics", headers={"Authorization": "Bearer " + "a" * 32}),
                       401)  # the operators' token is not the metrics token
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-" + "m" * 25})
    assert ok.status_code == 200 and "bff_upstream_calls_total" in ok.get_data(as_text=True)


def test_metrics_in_sandbox_mode_are_open_unless_a_token_is_set(story, redis_client, redis_url):
    from bff import create_app

    assert create_app({"sandbox": True, "redis_url": redis_url}).test_client().get(
        "/metrics").status_code == 200
    client = create_app({"sandbox": True, "redis_url": redis_url,
                         "metrics_token": "t" * 32}).test_client()
    story.assert_error(client.get("/metrics"), 401)
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32}).status_code \
        == 200


def test_errors_share_one_shape(story, client, app):
    story.assert_error(client.get("/no/such/path"), 404)
    body = story.assert_error(client.delete("/healthz"), 405)
    assert "method" in body["message"].lower()
    app.config["MAX_CONTENT_LENGTH"] = 10
    story.assert_error(client.post("/v1/sessions/miniprogram", data="x" * 100,
                                   headers={"Content-Type": "application/json"}), 413)


def test_unexpected_failure_is_a_json_500_without_trace(story, fresh_app, app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret-value-should-not-leak")

    body = story.assert_error(client.get("/boom"), 500)
    assert "secret-value" not in json.dumps(body)


def test_wechat_failures_map_to_clear_statuses(story, fresh_app, app, client):
    from bff.ground.wechat.errors import Busy, QuotaExceeded, WeChatApiError, WeChatUnavailable

    cases = [
        (WeChatUnavailable(path="/x", reason="timeout"), 504, None),
        (WeChatUnavailable(path="/x", reason="connection"), 502, None),
        (QuotaExceeded(45011, "api minute-quota reach limit", "/x"), 429, 45011),
        (QuotaExceeded(45009, "reach max api daily quota limit", "/x"), 503, 45009),
        (Busy(-1, "system error", "/x"), 503, -1),
        (WeChatApiError(48001, "api unauthorized", "/x"), 502, 48001),
    ]
    for i, (exc, _, _) in enumerate(cases):
        def view(exc=exc):
            raise exc

        app.add_url_rule(f"/fail{i}", f"fail{i}", view)
    for i, (_, status, errcode) in enumerate(cases):
        resp = client.get(f"/fail{i}")
        body = story.assert_error(resp, status)
        assert body.get("errcode") == errcode
        if status in (429, 503, 504):
            assert resp.headers.get("Retry-After")


@pytest.mark.slow
def test_redis_outage_gives_503_and_recovers(story, redis_client):
    from bff import create_app

    server = RedisServer().start()
    try:
        app = create_app({"sandbox": True, "redis_url": server.url})
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        server.stop()
        story.assert_error(client.get("/readyz"), 503)
        assert client.get("/healthz").status_code == 200
        server.start()
        assert client.get("/readyz").status_code == 200
    finally:
        server.stop()


def test_openapi_file_matches_the_code(app):
    exported = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    with app.app_context():
        current = json.loads(json.dumps(app.extensions["bff_api"].spec.to_dict()))
    assert exported == current, (
        "openapi/openapi.json is stale: run "
        "`BFF_SANDBOX=1 .venv/bin/flask --app wsgi openapi write --format=json "
        "openapi/openapi.json`"
    )


def test_metrics_are_rendered_at_most_once_a_second(client, monkeypatch):
    """Rendering took a busy worker about 1 ms (prometheus-client formats every sample in
    Python): 32 scrapers at once had a p99 over 50 ms. A rendering is served for a second."""
    from bff.ground import metrics

    clock = [1000.0]
    monkeypatch.setattr(metrics.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(metrics, "_rendered", (float("-inf"), b""))
    child = metrics.labelled(metrics.LOCK_WAITS, "render-test")

    def waits() -> str:
        text = client.get("/metrics").get_data(as_text=True)
        line = next(ln for ln in text.splitlines()
                    if ln.startswith('bff_credential_lock_waits_total{kind="render-test"}'))
        return line.rsplit(" ", 1)[1]

    before = waits()
    child.inc()
    clock[0] += 0.5
    assert waits() == before  # the same second: the same text
    clock[0] += 0.5
    assert float(waits()) == float(before) + 1  # a second later: rendered again
