"""Issuing: card QR codes, landing pages (gallery), article HTML and the test whitelist.

Input arrives validated by ``bff.edges.admin.schemas``; this module builds WeChat's bodies and
calls it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import redis

from bff.domain.catalogue import UNKNOWN_CARD, ensure_issuable_id
from bff.ground.errors import NotFound, Refusals, Unprocessable, refusals
from bff.ground.store import keys
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import ErrCode

# A required field missing for this card (a custom-code card's code, a bound card's openid),
# or a card the request cannot offer (a gallery of custom codes never imported).
FIELD_REFUSALS = (41011, 47001)

QR_CARD_FIELDS = ("card_id", "code", "openid", "is_unique_code", "outer_str")
QR_MULTIPLE_FIELDS = ("card_id", "code", "outer_str")


# WeChat refusals caused by the operator's input say so (40073 and 40003 → 404); otherwise
# they would surface as 502 "WeChat refused the request", which reads as an outage and pages
# whoever watches 5xx.
OPERATOR_REFUSALS: Refusals = {
    **UNKNOWN_CARD,
    ErrCode.INVALID_OPENID: (NotFound, "no such user: an openid is not an openid of this "
                                       "Official Account"),
    **{errcode: (Unprocessable, "WeChat refused the request for this card: {errmsg}")
       for errcode in FIELD_REFUSALS},
}


def qrcode_body(cards: list[dict[str, Any]], expire_seconds: int | None = None) -> dict[str, Any]:
    """WeChat's ``card/qrcode/create`` body: QR_CARD for one card, QR_MULTIPLE_CARD for 2–5."""
    if len(cards) == 1:
        card = {k: cards[0][k] for k in QR_CARD_FIELDS if k in cards[0]}
        body: dict[str, Any] = {"action_name": "QR_CARD", "action_info": {"card": card}}
    else:
        card_list = [{k: c[k] for k in QR_MULTIPLE_FIELDS if k in c} for c in cards]
        body = {"action_name": "QR_MULTIPLE_CARD",
                "action_info": {"multiple_card": {"card_list": card_list}}}
    if expire_seconds is not None:
        body["expire_seconds"] = expire_seconds
    return body


def create_qrcode(r: redis.Redis, wechat: WeChatApi, cards: list[dict[str, Any]],
                  expire_seconds: int | None = None) -> dict[str, Any]:
    """``{ticket, url, show_qrcode_url, expire_seconds, image_url}``; 409 for a card that
    cannot be issued (not yet reviewed, refused, deleted)."""
    for card in cards:
        # A QR code made for one tester's openid may offer a card still in review.
        ensure_issuable_id(r, wechat, card["card_id"], tester=card.get("openid"))
    with refusals(OPERATOR_REFUSALS):
        answer = wechat.qrcode_create(qrcode_body(cards, expire_seconds))
    url = str(answer.get("url", "")).strip()
    return {
        "ticket": answer.get("ticket"),
        "url": url,
        "show_qrcode_url": str(answer.get("show_qrcode_url", "")).strip(),
        "expire_seconds": answer.get("expire_seconds", expire_seconds),
        "image_url": "/v1/admin/qrcodes/image?" + urlencode({"url": url, "format": "png"}),
    }


def create_landing_page(r: redis.Redis, wechat: WeChatApi, data: dict[str, Any]
                        ) -> dict[str, Any]:
    """``{url, page_id}`` of a new gallery page; 409 for a card that cannot be issued."""
    for card in data["card_list"]:
        ensure_issuable_id(r, wechat, card["card_id"])
    body = {
        "banner": data["banner"],
        "page_title": data["page_title"],
        "can_share": data["can_share"],
        "scene": data["scene"],
        "card_list": [{"card_id": c["card_id"], "thumb_url": c["thumb_url"]}
                      for c in data["card_list"]],
    }
    with refusals(OPERATOR_REFUSALS):
        answer = wechat.landingpage_create(body)
    return {"url": answer.get("url"), "page_id": answer.get("page_id")}


def article_html(wechat: WeChatApi, card_id: str) -> dict[str, Any]:
    with refusals(OPERATOR_REFUSALS):
        return {"content": wechat.mpnews_gethtml(card_id).get("content", "")}


def set_whitelist(r: redis.Redis, wechat: WeChatApi, openids: list[str],
                  usernames: list[str]) -> dict[str, Any]:
    """Replace the whole test whitelist (the schema has checked the 10-user limit), then keep
    what WeChat accepted: issuing a card in review to a tester reads it from Redis."""
    openids = list(dict.fromkeys(openids))
    usernames = list(dict.fromkeys(usernames))
    with refusals(OPERATOR_REFUSALS):
        wechat.testwhitelist_set(openids, usernames)
    whitelist = {"openid": openids, "username": usernames}
    r.set(keys.test_whitelist(), json.dumps(whitelist))
    return whitelist
