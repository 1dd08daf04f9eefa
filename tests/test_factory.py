"""The app factory and its settings."""

from __future__ import annotations

import pytest

from bff import create_app
from bff.config import ConfigError, load_settings

PRODUCTION_ENV = {
    "BFF_APPID": "wx0000000000000001",
    "BFF_SECRET": "s" * 32,
    "BFF_MINIPROGRAM_APPID": "wx0000000000000002",
    "BFF_MINIPROGRAM_SECRET": "m" * 32,
    "BFF_PUSH_TOKEN": "pushtoken",
    "BFF_PUSH_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "BFF_REDIS_URL": "redis://127.0.0.1:6379/0",
    "BFF_ADMIN_TOKEN": "admin-token-" + "a" * 21,
    "BFF_DATA_KEY": "c2FuZGJveC1kYXRhLWtleS0zMi1ieXRlcy1sb25nISE=",
}


def test_production_settings_load():
    s = load_settings(PRODUCTION_ENV)
    assert s.sandbox is False
    assert s.wechat_api_base == "https://api.weixin.qq.com"
    assert "s" * 32 not in repr(s)  # secrets stay out of reprs and logs


@pytest.mark.parametrize("missing", ["BFF_SECRET", "BFF_PUSH_AES_KEY", "BFF_DATA_KEY",
                                     "BFF_ADMIN_TOKEN", "BFF_REDIS_URL"])
def test_missing_secret_stops_the_start_with_its_name(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


def test_sandbox_mode_needs_no_secret():
    s = load_settings({"BFF_SANDBOX": "1"})
    assert s.appid and s.secret and s.redis_url == ""


def test_factory_honours_overrides(redis_client, redis_url):
    app = create_app({"sandbox": True, "redis_url": redis_url, "jssdk_hosts": ("example.com",)})
    assert app.extensions["bff"].settings.jssdk_hosts == ("example.com",)


def test_embedded_store_in_sandbox_mode_without_redis(monkeypatch, caplog):
    monkeypatch.delenv("BFF_REDIS_URL", raising=False)
    app = create_app({"sandbox": True})
    assert "embedded" in caplog.text
    assert app.test_client().get("/readyz").status_code == 200


@pytest.mark.parametrize(("var", "value"), [
    # malformed
    ("BFF_PUSH_AES_KEY", "tooshort"),
    ("BFF_DATA_KEY", "bm90IDMyIGJ5dGVz"),
    ("BFF_REDIS_URL", "http://redis"),
    ("BFF_SANDBOX", "maybe"),
    ("BFF_READ_TIMEOUT", "soon"),
    ("BFF_TOKEN_MODE", "fast"),
    # out of range
    ("BFF_EVENT_DEDUP_TTL", "0"),  # every push was a misleading 503
    ("BFF_MAX_BODY_BYTES", "0"),  # every request was a 413
    ("BFF_MAX_BODY_BYTES", "1023"),
    ("BFF_SESSION_TTL", "-5"),
    ("BFF_PUSH_MAX_SKEW", "0"),
    ("BFF_EVENT_RETENTION_DAYS", "0"),
    ("BFF_WORKER_CLAIM_IDLE", "0"),
    ("BFF_WORKER_BATCH_SIZE", "0"),
    ("BFF_WORKER_MAX_ATTEMPTS", "0"),
    ("BFF_LOG_LEVEL", "LOUD"),
])
def test_malformed_or_out_of_range_settings_stop_the_start_with_their_name(var, value):
    with pytest.raises(ConfigError, match=var):
        load_settings({**PRODUCTION_ENV, var: value})


def test_smallest_allowed_values_load():
    s = load_settings({**PRODUCTION_ENV, "BFF_MAX_BODY_BYTES": "1024", "BFF_EVENT_DEDUP_TTL": "1",
                       "BFF_PUSH_MAX_SKEW": "1"})
    assert s.max_body_bytes == 1024 and s.event_dedup_ttl == 1


def test_short_admin_token_is_refused_outside_sandbox_mode():
    with pytest.raises(ConfigError, match="BFF_ADMIN_TOKEN must be at least 32"):
        load_settings({**PRODUCTION_ENV, "BFF_ADMIN_TOKEN": "x" * 31})
    assert load_settings({"BFF_SANDBOX": "1", "BFF_ADMIN_TOKEN": "short"}).admin_token == "short"


@pytest.mark.parametrize("var", ["BFF_SECRET", "BFF_MINIPROGRAM_SECRET", "BFF_PUSH_TOKEN",
                                 "BFF_PUSH_AES_KEY", "BFF_ADMIN_TOKEN", "BFF_DATA_KEY",
                                 "BFF_REDIS_URL"])
@pytest.mark.parametrize("pad", [" {} ", "{}\n", "\t{}"])
def test_whitespace_around_a_secret_is_refused_by_name(var, pad):
    with pytest.raises(ConfigError, match=f"{var} has whitespace around it"):
        load_settings({**PRODUCTION_ENV, var: pad.format(PRODUCTION_ENV[var])})
