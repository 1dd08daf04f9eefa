"""Logging in (Mini Program and H5), identity links from login, and ``/v1/me``."""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis

from bff.domain.identity import IdentityConflict, find_identity, link_openids
from bff.domain.sessions.store import create_session, seal_session_key
from bff.domain.sessions.user import SessionUser
from bff.ground.errors import Conflict, Forbidden, TooManyRequests, Unauthorized
from bff.ground.services import Services
from bff.ground.wechat.errors import ErrCode, WeChatApiError

log = logging.getLogger(__name__)


def _translate_login_error(e: WeChatApiError) -> Exception:
    if e.errcode == ErrCode.INVALID_CODE:
        return Unauthorized("the login code is invalid or expired; call wx.login again",
                            errcode=e.errcode)
    if e.errcode == ErrCode.CODE_BEEN_USED:
        return Conflict("the login code was already used; call wx.login again",
                        errcode=e.errcode)
    if e.errcode == ErrCode.CODE_BLOCKED:
        return Forbidden("WeChat blocked this login code (risky user)", errcode=e.errcode)
    if e.errcode == ErrCode.MINUTE_QUOTA:
        return TooManyRequests("too many logins this minute; try again shortly",
                               errcode=e.errcode, retry_after=60)
    return e


def _link(r: redis.Redis, source: str, **ids: str | None) -> None:
    if sum(1 for v in ids.values() if v) < 2:
        return
    try:
        link_openids(r, source=source, **ids)
    except IdentityConflict:
        pass  # refused, logged and counted by link_openids; the login itself still succeeds


def _exchange(exchange: Callable[[str], dict], code: str) -> tuple[dict, str, str | None]:
    """WeChat's answer to a login code, its openid and unionid (login errors translated)."""
    try:
        answer = exchange(code)
    except WeChatApiError as e:
        raise _translate_login_error(e) from None
    return answer, answer["openid"], answer.get("unionid") or None


def login_miniprogram(svc: Services, code: str) -> tuple[str, dict]:
    """jscode2session → a new session; returns (token, the record's public fields)."""
    r, settings, wechat = svc.redis, svc.settings, svc.wechat
    answer, mp_openid, unionid = _exchange(wechat.jscode2session, code)
    _link(r, "jscode2session", unionid=unionid, mp_openid=mp_openid)
    sealed = None
    if answer.get("session_key"):
        sealed = seal_session_key(settings, answer["session_key"])
    # Only what this login proved: the OA openid (and a linked unionid) are read from the
    # identity links on each request, so removing a link reaches this session at once.
    token, _ = create_session(r, ttl=settings.session_ttl, now=svc.clock(), mp_openid=mp_openid,
                              unionid=unionid, sealed_session_key=sealed)
    return token, {"openid": mp_openid, "expires_in": settings.session_ttl}


def login_h5(svc: Services, code: str) -> tuple[str, dict]:
    """Web authorization (sns/oauth2/access_token) → a session for the OA openid."""
    r, settings = svc.redis, svc.settings
    _, oa_openid, unionid = _exchange(svc.wechat.oauth2_access_token, code)
    _link(r, "h5_login", unionid=unionid, oa_openid=oa_openid)
    token, _ = create_session(r, ttl=settings.session_ttl, now=svc.clock(), oa_openid=oa_openid,
                              unionid=unionid)
    return token, {"openid": oa_openid, "expires_in": settings.session_ttl}


def me(r: redis.Redis, user: SessionUser) -> dict:
    """What is known of the caller's identity (nulls where unknown)."""
    ident = user.linked_identity()
    if ident is None and user.oa_openid:
        ident = find_identity(r, oa_openid=user.oa_openid)
    return {
        "miniprogram_openid": (ident and ident.miniprogram_openid) or user.mp_openid,
        "official_account_openid": (ident and ident.official_account_openid) or user.oa_openid,
        "unionid": (ident and ident.unionid) or user.unionid,
        "linked_by": ident.linked_by if ident else None,
    }
