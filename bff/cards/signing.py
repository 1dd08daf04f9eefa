"""Signatures for the front-ends: wx.addCard cardList, wx.chooseCard cardSign, wx.config.

Tickets come from ``Credentials.ticket`` (cached in process); profiles from ``get_profile``
(cached in process), so signing costs one Redis round trip for the session and, for a Mini
Program user with neither a known OA openid nor a unionid, one pipelined write of the pending
claims (pool cards add one script call each).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import redis

from bff.catalogue import ensure_issuable
from bff.config import Settings
from bff.errors import Conflict, Forbidden, Unprocessable
from bff.profiles import get_profile, reserve_pool_code
from bff.sessions.auth import SessionUser
from bff.store import keys
from bff.wechat import signing
from bff.wechat.credentials import Credentials

PENDING_CLAIM_TTL = 300  # seconds an add-card signature lets its decrypt link the openids


def add_card(
    r: redis.Redis, credentials: Credentials, user: SessionUser, cards: list[dict]
) -> list[dict]:
    """``[{cardId, cardExt}]``, each with its own nonce and timestamp, signed with wx_card."""
    ticket = credentials.ticket("wx_card")
    out = []
    pending: list[tuple[str, str, int]] = []
    for item in cards:
        card_id = item["card_id"]
        profile = get_profile(r, card_id)
        ensure_issuable(profile)
        openid = ""
        if profile.bind_openid:
            openid = user.oa_openid or ""
            if not openid:
                raise Conflict(
                    f"card {card_id} is bound to the user's Official Account openid, which is "
                    "not known yet: log in through the Official Account (H5) or receive a card "
                    "that is not bound first")
        code = ""
        if profile.code_mode == "pool":
            holder = user.mp_openid or user.oa_openid or user.token_id
            code = reserve_pool_code(r, card_id, holder) or ""
            if not code:
                raise Conflict(f"card {card_id} has no codes left in its pool")
        nonce = signing.nonce_str()
        timestamp = int(time.time())
        ext = signing.card_ext(
            api_ticket=ticket, card_id=card_id, timestamp=timestamp, nonce_str=nonce,
            code=code, openid=openid, outer_str=item.get("outer_str"),
            fixed_begintimestamp=item.get("fixed_begintimestamp"),
        )
        out.append({"cardId": card_id, "cardExt": ext})
        pending.append((card_id, nonce, timestamp))
    # Only a user with neither a known OA openid nor a unionid needs the shared code to be
    # linked (with a unionid, /cgi-bin/user/info links them): one round trip saved otherwise.
    if user.mp_openid and not user.unionid and not user.known_oa_openid():
        _remember_pending(r, user.mp_openid, pending)
    return out


def _remember_pending(r: redis.Redis, mp_openid: str, pending: list[tuple[str, str, int]]) -> None:
    pipe = r.pipeline(transaction=False)
    for card_id, nonce, timestamp in pending:
        key = keys.pending_claim(mp_openid, card_id)
        pipe.zadd(key, {nonce: timestamp})
        pipe.expire(key, PENDING_CLAIM_TTL)
    pipe.execute()


_TAKE_PENDING = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local got = redis.call('ZPOPMIN', KEYS[1])
if #got == 0 then return false end
return got[2]
"""


def take_pending_claim(r: redis.Redis, mp_openid: str, card_id: str) -> int | None:
    """Use up one recent add-card signature of this user for this card; its time, or None."""
    oldest = int(time.time()) - PENDING_CLAIM_TTL
    got = r.eval(_TAKE_PENDING, 1, keys.pending_claim(mp_openid, card_id), oldest)
    return int(float(got)) if got else None


def choose_card(credentials: Credentials, settings: Settings, data: dict) -> dict:
    ticket = credentials.ticket("wx_card")
    nonce = signing.nonce_str()
    timestamp = int(time.time())
    shop_id = data.get("shop_id", "")
    card_id = data.get("card_id", "")
    card_type = data.get("card_type", "")
    sign = signing.card_sign(api_ticket=ticket, appid=settings.appid, location_id=shop_id,
                             timestamp=timestamp, nonce_str=nonce, card_id=card_id,
                             card_type=card_type)
    return {"shopId": shop_id, "cardType": card_type, "cardId": card_id,
            "timestamp": str(timestamp), "nonceStr": nonce, "signType": "SHA1",
            "cardSign": sign}


def page_url(url: str, allowed_hosts: tuple[str, ...]) -> str:
    """The URL to sign: http(s), on an allowed host, without its #fragment."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        raise Unprocessable("url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise Unprocessable("url must be an absolute http(s) URL")
    if host not in allowed_hosts:
        raise Forbidden("this page's host is not allowed to use the JS-SDK (BFF_JSSDK_HOSTS)")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def jssdk_config(credentials: Credentials, settings: Settings, url: str) -> dict:
    clean = page_url(url, settings.jssdk_hosts)
    ticket = credentials.ticket("jsapi")
    nonce = signing.nonce_str()
    timestamp = int(time.time())
    sig = signing.jsapi_signature(jsapi_ticket=ticket, nonce_str=nonce, timestamp=timestamp,
                                  url=clean)
    return {"appId": settings.appid, "timestamp": timestamp, "nonceStr": nonce,
            "signature": sig}
