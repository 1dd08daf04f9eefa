"""Parameters of WeChat's card activation plug-in, from ``/card/membercard/activate/geturl``.

WeChat answers with a URL such as
``https://mp.weixin.qq.com/bizmall/activatemembercard?action=preshow&&encrypt_card_id=3%2Bm9%2B
&outer_str=guide&biz=MzU2ODQzMDM1MQ%3D%3D#wechat_redirect``. The plug-in wants each value
percent-decoded exactly once; ``+`` is base64 data, not a space, so ``parse_qs`` and
``unquote_plus`` are wrong here and the query is split by hand.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import redis

from bff.catalogue import ensure_issuable_id
from bff.errors import DomainError, NotFound, Unprocessable
from bff.single_flight import filled
from bff.store import keys
from bff.wechat.errors import ErrCode, WeChatApiError

if TYPE_CHECKING:
    from bff.wechat.api import WeChatApi

PLUGIN_APPID = "wxeb490c6f9b154ef9"
CACHE_SECONDS = 300
EXTRA_FIELDS = ("encrypt_card_id", "outer_str", "biz")


class BadUpstreamAnswer(DomainError):
    status = 502


def query_values(url: str) -> dict[str, str]:
    """The query of ``url`` (fragment dropped, empty parts skipped), each value decoded once."""
    without_fragment = url.split("#", 1)[0]
    _, _, query = without_fragment.partition("?")
    values: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue  # WeChat writes "?action=preshow&&encrypt_card_id=..."
        name, _, value = part.partition("=")
        values.setdefault(unquote(name), unquote(value))
    return values


def plugin_parameters(url: str, outer_str: str | None) -> dict[str, Any]:
    """``{appId, extraData: {encrypt_card_id, outer_str, biz}, url}`` from a geturl answer."""
    values = query_values(url)
    missing = [name for name in ("encrypt_card_id", "biz") if not values.get(name)]
    if missing:
        raise BadUpstreamAnswer(
            "WeChat's activation URL lacks " + ", ".join(missing) + "; try again later"
        )
    extra = {
        "encrypt_card_id": values["encrypt_card_id"],
        "outer_str": values.get("outer_str", outer_str or ""),
        "biz": values["biz"],
    }
    return {"appId": PLUGIN_APPID, "extraData": extra, "url": url}


def _cache_key(card_id: str, outer_str: str | None) -> str:
    # None (not sent) and "" (sent empty) are different requests upstream.
    digest = hashlib.sha256(json.dumps(outer_str).encode()).hexdigest()[:32]
    return keys.activation_plugin(card_id, digest)


def activation_plugin(
    r: redis.Redis, wechat: WeChatApi, card_id: str, outer_str: str | None = None
) -> dict[str, Any]:
    """The plug-in's launch parameters for ``card_id``; cached a few minutes per outer_str.

    409 for a card that cannot be issued (the plug-in gives the user the card).
    """
    ensure_issuable_id(r, wechat, card_id)

    def ask() -> tuple[str, int]:
        try:
            answer = wechat.membercard_activate_geturl(card_id, outer_str)
        except WeChatApiError as e:
            if e.errcode == ErrCode.INVALID_CARD_ID:
                raise NotFound("WeChat knows no card with this card_id",
                               errcode=e.errcode) from None
            if e.errcode == ErrCode.DATA_FORMAT_ERROR:
                raise Unprocessable("this card is not a member card (only member cards have an "
                                    "activation plug-in)", errcode=e.errcode) from None
            raise
        result = plugin_parameters(str(answer.get("url") or ""), outer_str)
        return json.dumps(result), CACHE_SECONDS

    # one geturl per (card, outer_str) however many users open the plug-in at once
    return json.loads(filled(r, _cache_key(card_id, outer_str), ask))
