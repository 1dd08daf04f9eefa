"""``bff check``: a preflight of the settings, Redis and WeChat, one line per check.

Each check prints ``ok   <what>`` or ``FAIL <what>: <why>``, naming the variable to fix; the
exit status is 0 only when every check passes. It asks WeChat only what a running service
asks anyway: ``/cgi-bin/stable_token`` without ``force_refresh`` (the token the service already
holds, so nothing is invalidated) and ``/sns/jscode2session`` with a code that cannot be valid.
Against the sandbox (``BFF_SANDBOX=1``) it checks the same things.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click

from bff.ground.config import (
    FIELDS,
    SANDBOX_DEFAULTS,
    ConfigError,
    Settings,
    load_settings,
)

PUSH_TOKEN = re.compile(r"[A-Za-z0-9]{3,32}")  # WeChat's console: 3-32 letters and digits
AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")  # 32 bytes of base64 without its "=" padding
INVALID_CODE = "bff-check-not-a-login-code"  # jscode2session: 40029 once appid+secret pass
WHITELIST_IP = re.compile(r"invalid ip ([0-9a-fA-F.:]+)")  # 40164's errmsg names the caller


@dataclass(frozen=True)
class Result:
    ok: bool
    what: str
    why: str = ""

    def line(self) -> str:
        if self.ok:
            return f"ok   {self.what}"
        return f"FAIL {self.what}: {self.why}" if self.why else f"FAIL {self.what}"


def run_checks(environ: Mapping[str, str] | None = None) -> list[Result]:
    """Every check, in order; later checks use whatever settings could be read."""
    environ = os.environ if environ is None else environ
    results: list[Result] = []
    try:
        settings = load_settings(environ)
        results.append(Result(True, "settings are valid" + (
            " (sandbox mode: BFF_SANDBOX=1)" if settings.sandbox else "")))
    except ConfigError as e:
        results.append(Result(False, "settings", str(e)))
        settings = _lenient_settings(environ)
    redis_client, redis_result = _check_redis(settings)
    results.append(redis_result)
    results.extend(_check_wechat(settings, redis_client))
    results.extend(_check_push_keys(settings))
    results.append(_check_jssdk_hosts(settings))
    return results


@click.command("check")
def check() -> None:
    """Preflight: settings, Redis (and its persistence), the AppSecrets, the IP whitelist, the
    push Token and EncodingAESKey, BFF_JSSDK_HOSTS. Exit status 0 only when all pass."""
    results = run_checks()
    for result in results:
        click.echo(result.line())
    failed = sum(not r.ok for r in results)
    if failed:
        click.echo(f"{failed} of {len(results)} checks failed (docs/go-live.md)", err=True)
        sys.exit(1)


def _lenient_settings(environ: Mapping[str, str]) -> Settings:
    """The settings that do parse (each variable on its own), unvalidated: so that one bad
    variable does not hide what the other checks would say."""
    values: dict[str, Any] = {}
    for var, (name, parse) in FIELDS.items():
        if var in environ:
            try:
                values[name] = parse(environ[var])
            except ValueError:
                pass
    if values.get("sandbox"):
        for key, value in SANDBOX_DEFAULTS.items():
            if not values.get(key):
                values[key] = value
    return dataclasses.replace(Settings(), **values)


# -- Redis ---------------------------------------------------------------------------------------


def _check_redis(settings: Settings) -> tuple[Any, Result]:
    from bff.dev import _without_password
    from bff.ground import store

    if not settings.redis_url:
        if settings.sandbox:
            return _embedded(), Result(
                True, "Redis: none set, sandbox mode uses the embedded in-process store "
                "(nothing persists, nothing is shared)")
        return None, Result(False, "Redis", "BFF_REDIS_URL is not set")
    shown = _without_password(settings.redis_url)
    try:
        client = store.connect(settings.redis_url, allow_embedded=False)
        client.ping()
    except Exception as e:  # any failure to reach it is the answer
        return None, Result(False, f"Redis at {shown}",
                            f"unreachable ({type(e).__name__}); check BFF_REDIS_URL")
    return client, Result(True, f"Redis at {shown} answers; persistence: "
                                f"{_persistence(client)}")


def _embedded() -> Any:
    import fakeredis

    return fakeredis.FakeRedis(decode_responses=True, server=fakeredis.FakeServer())


def _persistence(client: Any) -> str:
    """AOF and RDB as the server reports them; "unknown" when it refuses to say (managed Redis
    often refuses CONFIG)."""
    try:
        aof = _one_node(client.config_get("appendonly")).get("appendonly")
        save = _one_node(client.config_get("save")).get("save")
        fsync = _one_node(client.config_get("appendfsync")).get("appendfsync")
    except Exception:  # CONFIG refused or renamed
        return _persistence_from_info(client)
    if aof is None and save is None:
        return _persistence_from_info(client)
    parts = [f"AOF on (appendfsync {fsync})" if aof == "yes" else "AOF off",
             f'RDB snapshots "{save}"' if save else "RDB snapshots off"]
    if aof != "yes" and not save:
        parts.append("nothing survives a restart: turn AOF on (docs/go-live.md)")
    return ", ".join(parts)


def _persistence_from_info(client: Any) -> str:
    try:
        info = _one_node(client.info("persistence"))
    except Exception:
        return "unknown (the server refuses CONFIG GET and INFO; ask its provider)"
    if "aof_enabled" not in info:
        return "unknown"
    aof = "AOF on" if str(info["aof_enabled"]) == "1" else "AOF off"
    return f"{aof} (INFO persistence; CONFIG GET refused, RDB schedule unknown)"


def _one_node(answer: Any) -> dict:
    """A cluster client may answer per node ({node: {...}}): the first node's answer."""
    if isinstance(answer, dict) and answer and all(isinstance(v, dict) for v in answer.values()):
        return next(iter(answer.values()))
    return answer if isinstance(answer, dict) else {}


# -- WeChat --------------------------------------------------------------------------------------


def _check_wechat(settings: Settings, redis_client: Any) -> list[Result]:
    from bff.ground.wechat.client import WeChatClient

    oa = "Official Account AppSecret (BFF_SECRET) gets an access token"
    whitelist = "this server's IP is on the Official Account's IP whitelist"
    mp = "Mini Program AppSecret (BFF_MINIPROGRAM_SECRET) is accepted by jscode2session"
    try:
        session, base = _transport(settings, redis_client)
    except Exception as e:
        why = f"not checked: the sandbox could not be set up ({type(e).__name__})"
        return [Result(False, oa, why), Result(False, whitelist, why), Result(False, mp, why)]
    client = WeChatClient(base, session=session, connect_timeout=settings.connect_timeout,
                          read_timeout=settings.read_timeout, max_retries=0)
    where = "the sandbox" if settings.sandbox else base
    return [*_check_token(client, settings, where, oa, whitelist),
            _check_miniprogram(client, settings, where, mp)]


def _check_token(client: Any, settings: Settings, where: str, oa: str,
                 whitelist: str) -> list[Result]:
    from bff.ground.wechat.errors import WeChatApiError, WeChatError

    if not (settings.appid and settings.secret):
        why = "not checked: BFF_APPID and BFF_SECRET are needed"
        return [Result(False, oa, why), Result(False, whitelist, why)]
    try:
        client.request("POST", "/cgi-bin/stable_token", token=False, json={
            "grant_type": "client_credential", "appid": settings.appid,
            "secret": settings.secret, "force_refresh": False})
    except WeChatApiError as e:
        return _token_refused(e, oa, whitelist)
    except WeChatError as e:
        why = f"{where} could not be reached ({e.errmsg}); check BFF_WECHAT_API_BASE"
        return [Result(False, oa, why), Result(False, whitelist, "not checked")]
    return [Result(True, f"{oa} from {where}"), Result(True, whitelist)]


def _check_miniprogram(client: Any, settings: Settings, where: str, mp: str) -> Result:
    from bff.ground.wechat.errors import WeChatApiError, WeChatError

    if not (settings.miniprogram_appid and settings.miniprogram_secret):
        return Result(False, mp, "not checked: BFF_MINIPROGRAM_APPID and "
                                 "BFF_MINIPROGRAM_SECRET are needed")
    try:
        client.request("GET", "/sns/jscode2session", token=False, idempotent=False, params={
            "appid": settings.miniprogram_appid, "secret": settings.miniprogram_secret,
            "js_code": INVALID_CODE, "grant_type": "authorization_code"})
    except WeChatApiError as e:
        return _jscode_refused(e, mp)
    except WeChatError as e:
        return Result(False, mp, f"{where} could not be reached ({e.errmsg})")
    return Result(True, mp)  # WeChat never accepts that code; if it did, the pair passed


def _token_refused(e: Any, oa: str, whitelist: str) -> list[Result]:
    said = f"errcode {e.errcode}: {e.errmsg}"
    if e.errcode == 40164:
        found = WHITELIST_IP.search(e.errmsg)
        ip = found.group(1) if found else "this server's egress IP"
        return [Result(False, oa, "not known until the IP whitelist lets the call through"),
                Result(False, whitelist, f"WeChat saw the call from {ip}, which is not on it "
                       f"({said}); add {ip} in the Official Account's console (docs/go-live.md)")]
    if e.errcode in (40001, 40125, 40243):
        why = f"WeChat refused BFF_SECRET for BFF_APPID ({said})"
    elif e.errcode == 40013:
        why = f"WeChat does not know BFF_APPID ({said})"
    else:
        why = f"WeChat refused the token call ({said})"
    return [Result(False, oa, why),
            Result(False, whitelist, "not known until the token call is accepted")]


def _jscode_refused(e: Any, mp: str) -> Result:
    said = f"errcode {e.errcode}: {e.errmsg}"
    if e.errcode in (40029, 40163):  # the pair passed; only the (made-up) code was refused
        return Result(True, mp)
    if e.errcode in (40125, 40001, 40243):
        return Result(False, mp, f"WeChat refused BFF_MINIPROGRAM_SECRET ({said})")
    if e.errcode == 40013:
        return Result(False, mp, "WeChat refused the pair BFF_MINIPROGRAM_APPID and "
                                 f"BFF_MINIPROGRAM_SECRET ({said})")
    return Result(False, mp, f"WeChat refused the call ({said})")


def _transport(settings: Settings, redis_client: Any) -> tuple[Any, str]:
    """The session and base URL the service would use: in sandbox mode with no explicit base,
    an in-process sandbox; else plain HTTP to ``BFF_WECHAT_API_BASE``."""
    if settings.sandbox:
        from flask import Flask

        from bff import _wechat_transport

        # the sandbox's state (tokens it issued) lives in the store; without one, its own
        return _wechat_transport(Flask("bff.check"), settings, redis_client or _embedded())
    return None, settings.wechat_api_base


# -- push keys and JS-SDK hosts -------------------------------------------------------------------


def _check_push_keys(settings: Settings) -> list[Result]:
    results = []
    token = "BFF_PUSH_TOKEN is a Token WeChat's console accepts (3-32 letters and digits)"
    if PUSH_TOKEN.fullmatch(settings.push_token or ""):
        results.append(Result(True, token))
    elif not settings.push_token:
        results.append(Result(False, token, "BFF_PUSH_TOKEN is missing"))
    else:
        results.append(Result(False, token, f"BFF_PUSH_TOKEN has {len(settings.push_token)} "
                                            "characters, or others than A-Z a-z 0-9"))
    for var, value in (("BFF_PUSH_AES_KEY", settings.push_aes_key),
                       ("BFF_PUSH_AES_KEY_PREVIOUS", settings.push_aes_key_previous)):
        if var.endswith("PREVIOUS") and not value:
            continue
        what = f"{var} is an EncodingAESKey (43 characters of base64 without padding)"
        problem = _aes_key_problem(value)
        results.append(Result(True, what) if problem is None
                       else Result(False, what, f"{var} {problem}"))
    return results


def _aes_key_problem(value: str) -> str | None:
    if not value:
        return "is missing"
    if not AES_KEY.fullmatch(value):
        return f"has {len(value)} characters, or others than A-Z a-z 0-9 + /"
    try:
        if len(base64.b64decode(value + "=", validate=True)) != 32:
            return "does not decode to 32 bytes"
    except (binascii.Error, ValueError):
        return "is not base64"
    return None


def _check_jssdk_hosts(settings: Settings) -> Result:
    what = "BFF_JSSDK_HOSTS names the hosts of the H5 pages (the JS-SDK safe domains)"
    if settings.jssdk_hosts:
        return Result(True, f"{what}: {', '.join(settings.jssdk_hosts)}")
    return Result(False, what, "BFF_JSSDK_HOSTS is not set: no page gets a wx.config signature")
