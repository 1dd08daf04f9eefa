"""Parameters of WeChat's card activation plug-in, from ``/card/membercard/activate/geturl``.

WeChat answers with a URL such as
``https://mp.weixin.qq.com/bizmall/activatemembercard?action=preshow&&encrypt_card_id=3%2Bm9%2B
&outer_str=guide&biz=MzU2ODQzMDM1MQ%3D%3D#wechat_redirect``. The plug-in wants each value
percent-decoded exactly once; ``+`` is base64 data, not a space, so ``parse_qs`` and
``unquote_plus`` are wrong here and the query is split by hand.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import redis

from bff.domain.catalogue import ensure_issuable_id
from bff.domain.single_flight import filled
from bff.ground.errors import DomainError, NotFound, Unprocessable
from bff.ground.store import keys
from bff.ground.wechat.errors import ErrCode, WeChatApiError

if TYPE_CHECKING:
    from bff.ground.wechat.api import WeChatApi

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


def _cache_key(card_id: str) -> str:
    return keys.activation_plugin(card_id, "url")


def with_channel(params: dict[str, Any], outer_str: str) -> dict[str, Any]:
    """The plug-in's parameters with the caller's channel: ``outer_str`` is not signed or
    sealed in WeChat's URL (it rides in the query as plain text), so it is set here instead of
    asking WeChat again for each channel a caller names."""
    head, hash_, fragment = params["url"].partition("#")
    base, _, query = head.partition("?")
    channel = "outer_str=" + quote(outer_str, safe="")
    parts = [channel if p.startswith("outer_str=") else p for p in query.split("&")]
    if channel not in parts:
        parts.append(channel)
    url = f"{base}?{'&'.join(parts)}{hash_}{fragment}"
    return {**params, "extraData": {**params["extraData"], "outer_str": outer_str}, "url": url}


def activation_plugin(
    r: redis.Redis, wechat: WeChatApi, card_id: str, outer_str: str | None = None
) -> dict[str, Any]:
    """The plug-in's launch parameters for ``card_id`` and the caller's channel.

    WeChat is asked once per card every few minutes (``activate/geturl`` without a channel),
    however many users open the plug-in at once and whatever channel each names: a caller
    choosing a new ``outer_str`` per request cannot make WeChat calls. 409 for a card that
    cannot be issued (the plug-in gives the user the card).
    """
    ensure_issuable_id(r, wechat, card_id)

    def ask() -> tuple[str, int]:
        try:
            answer = wechat.membercard_activate_geturl(card_id, "")
        except WeChatApiError as e:
            if e.errcode == ErrCode.INVALID_CARD_ID:
                raise NotFound("WeChat knows no card with this card_id",
                               errcode=e.errcode) from None
            if e.errcode == ErrCode.DATA_FORMAT_ERROR:
                raise Unprocessable("this card is not a member card (only member cards have an "
                                    "activation plug-in)", errcode=e.errcode) from None
            raise
        result = plugin_parameters(str(answer.get("url") or ""), "")
        return json.dumps(result), CACHE_SECONDS

    return with_channel(json.loads(filled(r, _cache_key(card_id), ask)), outer_str or "")
