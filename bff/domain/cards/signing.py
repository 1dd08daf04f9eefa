"""Signatures for the front-ends: wx.addCard cardList, wx.chooseCard cardSign, wx.config.

Tickets come from ``Credentials.ticket`` (cached in process); profiles from ``get_profile``
(cached in process); the cardExt proof is an HMAC (nothing stored). Signing costs one Redis round
trip, the session's (pool cards add one script call each; bind_openid cards one identity read).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import redis

from bff.domain.catalogue import issuable_profile
from bff.domain.ownership import card_ext_outer_str, signing_proof_key
from bff.domain.pool import reserve_pool_code
from bff.domain.sessions.user import SessionUser
from bff.ground.config import Settings
from bff.ground.errors import Conflict, Forbidden, Unprocessable
from bff.ground.services import Services
from bff.ground.wechat import signing as wx_signing
from bff.ground.wechat.credentials import Credentials


def add_card(svc: Services, user: SessionUser, cards: list[dict]) -> list[dict]:
    """``[{cardId, cardExt}]``, each with its own nonce and timestamp, signed with wx_card.

    A Mini Program caller's ``outer_str`` carries the cardExt proof (``bff.domain.ownership``): the
    channel it sent, then ``~`` and an HMAC of its openid and the card, which WeChat hands
    back with the received code and which alone may link the caller to that code's owner.
    """
    r, settings, wechat = svc.redis, svc.settings, svc.wechat
    ticket = wechat.credentials.ticket("wx_card")
    out = []
    reserved: dict[str, str] = {}
    for item in cards:
        card_id = item["card_id"]
        profile = issuable_profile(r, wechat, card_id, tester=lambda: user.oa_openid)
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
            code = reserved.get(card_id) or _reserve(r, card_id, user)
            reserved[card_id] = code
        outer_str = item.get("outer_str")
        if user.mp_openid:
            outer_str = card_ext_outer_str(signing_proof_key(settings), user.mp_openid, card_id,
                                           outer_str or "")
        ext = wx_signing.card_ext(
            api_ticket=ticket, card_id=card_id, timestamp=int(time.time()),
            nonce_str=wx_signing.nonce_str(), code=code, openid=openid, outer_str=outer_str,
            fixed_begintimestamp=item.get("fixed_begintimestamp"),
        )
        out.append({"cardId": card_id, "cardExt": ext})
    return out


def _reserve(r: redis.Redis, card_id: str, user: SessionUser) -> str:
    """The caller's pool code of the card (the same one until a user receives it)."""
    holder = user.mp_openid or user.oa_openid or user.token_id
    got = reserve_pool_code(r, card_id, holder)
    if got.code is None:  # codes shown to someone are never given to another: none come back
        raise Conflict(f"card {card_id} has no codes left in its pool")
    return got.code


def choose_card(credentials: Credentials, settings: Settings, data: dict) -> dict:
    ticket = credentials.ticket("wx_card")
    nonce = wx_signing.nonce_str()
    timestamp = int(time.time())
    shop_id = data.get("shop_id", "")
    card_id = data.get("card_id", "")
    card_type = data.get("card_type", "")
    sign = wx_signing.card_sign(api_ticket=ticket, appid=settings.appid, location_id=shop_id,
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
    nonce = wx_signing.nonce_str()
    timestamp = int(time.time())
    sig = wx_signing.jsapi_signature(jsapi_ticket=ticket, nonce_str=nonce, timestamp=timestamp,
                                  url=clean)
    return {"appId": settings.appid, "timestamp": timestamp, "nonceStr": nonce,
            "signature": sig}
