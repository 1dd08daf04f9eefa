"""Credentials and identities: cgi-bin/token, stable_token, getticket, sns/*, user/info."""

from __future__ import annotations

import base64
import math
import os
from typing import Any

import redis
from flask import Blueprint, request
from flask.wrappers import Response

from bff.sandbox import crypto
from bff.sandbox.core import Sandbox, WeChatError
from bff.sandbox.state import GC_TTL
from bff.sandbox.web import WeChatCall, as_bool, ok, sandbox, wechat_api, wechat_body

bp = Blueprint("wx_auth", __name__)

TOKEN_LIFETIME = 7200
TICKET_LIFETIME = 7200
STABLE_RENEW_BEFORE = 300  # WeChat hands out a new stable token 5 min before expiry
TICKET_RENEW_BEFORE = 600
LOGIN_CODE_LIFETIME = 300
TICKET_TYPES = ("wx_card", "jsapi")


def _check_app(sb: Sandbox, appid: Any, secret: Any, *, only: str | None = None) -> str:
    expected = sb.secret_of(appid) if isinstance(appid, str) else None
    if expected is None or (only is not None and appid != only):
        raise WeChatError(40013, "invalid appid")
    if secret != expected:
        raise WeChatError(40125, "invalid appsecret")
    return appid


def _store_token(pipe: Any, sb: Sandbox, token: str, appid: str, kind: str,
                 expires_at: float) -> None:
    key = sb.keys.token(token)
    pipe.hset(key, mapping={"appid": appid, "kind": kind, "expires_at": repr(expires_at)})
    pipe.expire(key, GC_TTL)


def classic_token(sb: Sandbox, appid: str) -> str:
    """A new token; the previous one stays valid ``token_overlap_seconds`` more."""
    now = sb.clock.now()
    token = crypto.token_string()
    pipe = sb.r.pipeline()
    _store_token(pipe, sb, token, appid, "classic", now + TOKEN_LIFETIME)
    pipe.execute()
    previous = sb.r.set(sb.keys.classic(appid), token, ex=GC_TTL, get=True)
    if previous:
        # Only the caller that swapped ``previous`` out touches it, so no race here.
        key = sb.keys.token(previous)
        expires_at = sb.r.hget(key, "expires_at")
        if expires_at is not None:
            cut = min(float(expires_at), now + sb.config.token_overlap_seconds)
            sb.r.hset(key, "expires_at", repr(cut))
    return token


def stable_token(sb: Sandbox, appid: str, force: bool) -> tuple[str, float]:
    """The same token while valid; a new one near expiry or on ``force``."""
    key = sb.keys.stable(appid)

    def swap(pipe: redis.client.Pipeline) -> tuple[str, float]:
        current = pipe.get(key)
        now = sb.clock.now()
        if current and not force:
            expires_at = pipe.hget(sb.keys.token(current), "expires_at")
            if expires_at and float(expires_at) - now > STABLE_RENEW_BEFORE:
                return current, float(expires_at)
        token = crypto.token_string()
        pipe.multi()
        _store_token(pipe, sb, token, appid, "stable", now + TOKEN_LIFETIME)
        pipe.set(key, token, ex=GC_TTL)
        if current and force:
            pipe.delete(sb.keys.token(current))
        return token, now + TOKEN_LIFETIME

    return sb.r.transaction(swap, key, value_from_callable=True)


def current_ticket(sb: Sandbox, appid: str, kind: str) -> tuple[str, float]:
    """The appid's api_ticket of ``kind``; the same one while it has 10 min left."""
    key = sb.keys.ticket(appid, kind)
    history = sb.keys.tickets(appid, kind)

    def renew(pipe: redis.client.Pipeline) -> tuple[str, float]:
        data = pipe.hgetall(key)
        now = sb.clock.now()
        if data and float(data["expires_at"]) - now > TICKET_RENEW_BEFORE:
            return data["ticket"], float(data["expires_at"])
        ticket = crypto.token_string(86)
        expires_at = now + TICKET_LIFETIME
        pipe.multi()
        pipe.hset(key, mapping={"ticket": ticket, "expires_at": repr(expires_at)})
        pipe.expire(key, GC_TTL)
        pipe.zadd(history, {ticket: expires_at})
        pipe.expire(history, GC_TTL)
        return ticket, expires_at

    return sb.r.transaction(renew, key, value_from_callable=True)


def valid_tickets(sb: Sandbox, appid: str, kind: str) -> list[str]:
    return sb.r.zrangebyscore(sb.keys.tickets(appid, kind), f"({sb.clock.now()}", "+inf")


def consume_login_code(sb: Sandbox, code: Any, app: str) -> dict[str, str]:
    """Single use, 5-minute codes from ``/_sim/login-codes``."""
    key = sb.keys.login(code) if isinstance(code, str) and code else None
    data = sb.r.hgetall(key) if key else {}
    if not data or data.get("app") != app or float(data["expires_at"]) <= sb.clock.now():
        raise WeChatError(40029, "invalid code")
    if not sb.r.hsetnx(key, "used", "1"):
        raise WeChatError(40163, "code been used")
    user = sb.r.hgetall(sb.keys.user(data["oa_openid"]))
    if not user:
        raise WeChatError(40029, "invalid code")
    return user


def _seconds_left(sb: Sandbox, expires_at: float) -> int:
    return max(1, math.ceil(expires_at - sb.clock.now()))


@bp.get("/cgi-bin/token")
def get_token() -> Response:
    sb = sandbox()
    if request.args.get("grant_type") != "client_credential":
        raise WeChatError(40002, "invalid grant_type")
    appid = _check_app(sb, request.args.get("appid"), request.args.get("secret"))
    return ok(access_token=classic_token(sb, appid), expires_in=TOKEN_LIFETIME)


@bp.post("/cgi-bin/stable_token")
def post_stable_token() -> Response:
    sb = sandbox()
    body = wechat_body()
    if body.get("grant_type") != "client_credential":
        raise WeChatError(40002, "invalid grant_type")
    appid = _check_app(sb, body.get("appid"), body.get("secret"))
    token, expires_at = stable_token(sb, appid, as_bool(body.get("force_refresh", False)))
    return ok(access_token=token, expires_in=_seconds_left(sb, expires_at))


@wechat_api(bp, "/cgi-bin/ticket/getticket", method="GET")
def get_ticket(call: WeChatCall) -> Response:
    kind = call.request.args.get("type", "jsapi")
    if kind not in TICKET_TYPES:
        raise WeChatError(40097, "invalid args")
    ticket, expires_at = current_ticket(call.sb, call.appid, kind)
    return ok(ticket=ticket, expires_in=_seconds_left(call.sb, expires_at))


def _login_user(appid: str, code_arg: str, app: str) -> dict[str, str]:
    """The user behind a login code of ``app``, once ``appid`` and its secret check out."""
    sb = sandbox()
    args = request.args
    _check_app(sb, args.get("appid"), args.get("secret"), only=appid)
    if args.get("grant_type", "authorization_code") != "authorization_code":
        raise WeChatError(40002, "invalid grant_type")
    return consume_login_code(sb, args.get(code_arg), app)


def _about(user: dict[str, str], **answer: Any) -> Response:
    """An answer about ``user``: WeChat adds the unionid when the user has one."""
    if user.get("unionid"):
        answer["unionid"] = user["unionid"]
    return ok(**answer)


@bp.get("/sns/jscode2session")
def jscode2session() -> Response:
    user = _login_user(sandbox().config.mp_appid, "js_code", "miniprogram")
    return _about(user, openid=user["mp_openid"],
                  session_key=base64.b64encode(os.urandom(16)).decode("ascii"))


@bp.get("/sns/oauth2/access_token")
def oauth2_access_token() -> Response:
    user = _login_user(sandbox().config.oa_appid, "code", "h5")
    return _about(user, access_token=crypto.token_string(), expires_in=TOKEN_LIFETIME,
                  refresh_token=crypto.token_string(), openid=user["oa_openid"],
                  scope="snsapi_base")


@wechat_api(bp, "/cgi-bin/user/info", method="GET", oa_only=True)
def user_info(call: WeChatCall) -> Response:
    sb = call.sb
    openid = call.request.args.get("openid") or ""
    user = sb.r.hgetall(sb.keys.user(openid)) if openid else {}
    if not user:
        raise WeChatError(40003, "invalid openid")
    return _about(
        user, subscribe=1, openid=user["oa_openid"], nickname=user.get("nickname", ""),
        sex=int(user.get("sex", 0)), language=call.request.args.get("lang", "zh_CN"),
        city="", province="", country="", headimgurl="",
        subscribe_time=int(float(user.get("created_at", 0))),
        remark="", groupid=0, tagid_list=[],
        subscribe_scene="ADD_SCENE_OTHERS", qr_scene=0, qr_scene_str="",
    )
