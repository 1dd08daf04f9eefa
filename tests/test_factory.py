"""The app factory and its settings."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bff import create_app
from bff.ground.config import ConfigError, load_settings

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
    # not finite, or past what Redis or a request can use: every upstream call was a 500, every
    # login or push a 503
    ("BFF_READ_TIMEOUT", "nan"),
    ("BFF_CONNECT_TIMEOUT", "inf"),
    ("BFF_CONNECT_TIMEOUT", "-inf"),
    ("BFF_READ_TIMEOUT", "0"),
    ("BFF_SESSION_TTL", str(10**30)),
    ("BFF_PUSH_MAX_SKEW", str(10**20)),
    ("BFF_EVENT_DEDUP_TTL", str(10**20)),
    ("BFF_EVENT_RETENTION_DAYS", str(10**15)),
    ("BFF_MAX_BODY_BYTES", str(10**12)),
    ("BFF_MAX_RETRIES", "6"),
    ("BFF_WORKER_BLOCK_MS", str(10**12)),
    ("BFF_WORKER_CLAIM_IDLE", str(10**12)),
    ("BFF_WORKER_BATCH_SIZE", str(10**9)),
    ("BFF_WORKER_MAX_ATTEMPTS", str(10**9)),
])
def test_malformed_or_out_of_range_settings_stop_the_start_with_their_name(var, value):
    with pytest.raises(ConfigError, match=var):
        load_settings({**PRODUCTION_ENV, var: value})


def test_every_number_setting_has_a_stated_range():
    from bff.ground.config import FIELDS, RANGES, Settings
    numbers = {f.name for f in dataclasses.fields(Settings) if f.type in ("int", "float")}
    assert numbers == set(RANGES)
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = readme[readme.index("| variable | default | meaning |"):]
    for var, (name, _) in FIELDS.items():
        if name in RANGES:
            row = next(line for line in table.splitlines() if f"`{var}`" in line)
            low, high, _ = RANGES[name]
            assert f" {low:g} to {int(high) if high == int(high) else high}" in row, row


def test_overrides_are_checked_like_variables(redis_url):
    with pytest.raises(ConfigError, match="BFF_READ_TIMEOUT"):
        create_app({"sandbox": True, "redis_url": redis_url, "read_timeout": float("nan")})
    with pytest.raises(ConfigError, match="BFF_SESSION_TTL"):
        create_app({"sandbox": True, "redis_url": redis_url, "session_ttl": 2**63})


@pytest.mark.slow  # the installed script in a subprocess
def test_the_bff_command_refuses_to_start_naming_the_setting():
    bff = Path(sys.executable).parent / "bff"
    env = {**os.environ, "BFF_SANDBOX": "1", "BFF_READ_TIMEOUT": "nan"}
    done = subprocess.run([str(bff), "codes", "count", "pAnyCard"], env=env, timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "BFF_READ_TIMEOUT must be a finite number" in done.stderr


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
