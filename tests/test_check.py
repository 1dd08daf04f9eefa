"""``bff check``: one ok/FAIL line per check, naming what to fix; exit 0 only when all pass.

WeChat is a standalone sandbox on a free port (as api.weixin.qq.com is to a deployment), or the
in-process one of sandbox mode; Redis is the test Redis, or a port nothing listens on.
"""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner
from redis.exceptions import ResponseError

from bff.check import _persistence, check, run_checks
from bff.ground import config as c
from tests.redis_server import free_port
from tests.story import Story


@pytest.fixture
def env(redis_url: str, standalone_wechat: str) -> dict[str, str]:
    """Production-shaped settings (no sandbox defaults) against the standalone sandbox."""
    return {
        "BFF_APPID": c.SANDBOX_APPID, "BFF_SECRET": c.SANDBOX_SECRET,
        "BFF_MINIPROGRAM_APPID": c.SANDBOX_MP_APPID,
        "BFF_MINIPROGRAM_SECRET": c.SANDBOX_MP_SECRET,
        "BFF_PUSH_TOKEN": c.SANDBOX_PUSH_TOKEN, "BFF_PUSH_AES_KEY": c.SANDBOX_PUSH_AES_KEY,
        "BFF_REDIS_URL": redis_url, "BFF_ADMIN_TOKEN": "check-admin-token-" + "x" * 16,
        "BFF_DATA_KEY": c.SANDBOX_DATA_KEY, "BFF_WECHAT_API_BASE": standalone_wechat,
        "BFF_JSSDK_HOSTS": "h5.example.com",
    }


def lines(environ: dict[str, str]) -> list[str]:
    return [r.line() for r in run_checks(environ)]


def failures(environ: dict[str, str]) -> list[str]:
    return [line for line in lines(environ) if not line.startswith("ok   ")]


def test_every_check_passes_against_the_sandbox_and_the_command_exits_0(env, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    done = CliRunner().invoke(check, [])
    assert done.exit_code == 0, done.output
    printed = done.output.splitlines()
    assert all(line.startswith("ok   ") for line in printed), done.output
    assert any("persistence: " in line for line in printed), done.output
    assert any("BFF_SECRET" in line for line in printed)
    assert any("BFF_MINIPROGRAM_SECRET" in line for line in printed)
    assert any("h5.example.com" in line for line in printed)


def test_sandbox_mode_with_its_own_wechat_passes(redis_client, redis_url):
    assert failures({"BFF_SANDBOX": "1", "BFF_REDIS_URL": redis_url}) == []


def test_a_wrong_appsecret_is_refused_by_the_sandbox_and_named(env):
    failed = failures({**env, "BFF_SECRET": "not-the-secret-of-this-account-00"})
    assert len(failed) == 2, failed  # the secret, and the whitelist it hides
    assert "BFF_SECRET" in failed[0] and "40125" in failed[0]


def test_a_wrong_miniprogram_secret_is_named(env):
    [failed] = failures({**env, "BFF_MINIPROGRAM_SECRET": "not-the-mp-secret-0000000000000"})
    assert failed.startswith("FAIL Mini Program") and "BFF_MINIPROGRAM_SECRET" in failed
    assert "40125" in failed


def test_an_ip_off_the_whitelist_is_named(env, standalone_wechat):
    wechat = Story(requests.Session(), wechat=standalone_wechat)
    wechat.fault("/cgi-bin/stable_token", errcode=40164)
    failed = failures(env)
    assert any("IP whitelist" in line and "127.0.0.1" in line and "40164" in line
               for line in failed), failed


def test_a_malformed_aes_key_is_a_fail_line_not_a_traceback(env, monkeypatch):
    bad = {**env, "BFF_PUSH_AES_KEY": c.SANDBOX_PUSH_AES_KEY[:-1] + "="}
    failed = failures(bad)
    assert failed[0].startswith("FAIL settings: ") and "BFF_PUSH_AES_KEY" in failed[0]
    assert any(line.startswith("FAIL BFF_PUSH_AES_KEY") for line in failed), failed
    assert len(failed) == 2, failed  # Redis and WeChat still checked, and fine

    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    done = CliRunner().invoke(check, [])
    assert done.exit_code == 1
    assert "Traceback" not in done.output


def test_a_push_token_of_the_wrong_shape_is_named(env):
    [failed] = failures({**env, "BFF_PUSH_TOKEN": "has-dashes"})
    assert failed.startswith("FAIL BFF_PUSH_TOKEN")


def test_unreachable_redis_is_a_fail_line(env):
    url = f"redis://127.0.0.1:{free_port()}/0"
    [failed] = failures({**env, "BFF_REDIS_URL": url})
    assert failed.startswith(f"FAIL Redis at {url}: unreachable") and "BFF_REDIS_URL" in failed


def test_missing_jssdk_hosts_fail_outside_sandbox_mode(env):
    [failed] = failures({k: v for k, v in env.items() if k != "BFF_JSSDK_HOSTS"})
    assert failed.startswith("FAIL BFF_JSSDK_HOSTS")


def test_no_settings_at_all_is_every_check_failing_without_a_traceback():
    printed = lines({})
    assert printed[0].startswith("FAIL settings: missing required setting(s): BFF_APPID")
    assert all(line.startswith("FAIL ") for line in printed), printed


class ManagedRedis:
    """A managed Redis: CONFIG is refused, INFO persistence answers."""

    def config_get(self, name: str) -> dict:
        raise ResponseError("unknown command 'CONFIG'")

    def info(self, section: str) -> dict:
        return {"aof_enabled": 1}


class SilentRedis(ManagedRedis):
    def info(self, section: str) -> dict:
        raise ResponseError("unknown command 'INFO'")


def test_persistence_is_reported_or_unknown(redis_client):
    assert _persistence(redis_client).startswith(("AOF on", "AOF off"))
    assert _persistence(ManagedRedis()).startswith("AOF on (INFO persistence")
    assert _persistence(SilentRedis()).startswith("unknown")
