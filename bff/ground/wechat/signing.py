"""Signatures the front-ends pass to WeChat: cardExt (wx.addCard), cardSign, wx.config.

Pure functions; the tickets come from ``Credentials.ticket``. Each is WeChat's SHA-1 over the
sorted values (cardExt, cardSign) or the sorted ``key=value`` string (wx.config); see
https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html (appendices 1 and 4).
"""

from __future__ import annotations

import hashlib
import json
import secrets


def nonce_str(length: int = 16) -> str:
    """A random alphanumeric nonce (hex); WeChat accepts at most 32 characters.

    One ``token_hex`` (~1 us), not a ``secrets.choice`` per character (~25 us for 16): it is
    drawn on every signing request.
    """
    if not 1 <= length <= 32:
        raise ValueError("nonce length must be 1..32")
    return secrets.token_hex((length + 1) // 2)[:length]


def sha1_sorted_values(*values: object) -> str:
    """SHA-1 hex of the values as strings, sorted lexicographically and joined with nothing."""
    return hashlib.sha1("".join(sorted(str(v) for v in values)).encode("utf-8")).hexdigest()


# json.dumps(ext, ensure_ascii=False, separators=(",", ":")), without a new encoder per card
_CARD_EXT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def card_ext(
    *,
    api_ticket: str,
    card_id: str,
    timestamp: int | str,
    nonce_str: str,
    code: str = "",
    openid: str = "",
    outer_str: str | None = None,
    fixed_begintimestamp: int | None = None,
) -> str:
    """The cardExt JSON string for one card of ``wx.addCard``; signed with the wx_card ticket.

    card_id is signed but belongs in ``cardList[].cardId``; outer_str and fixed_begintimestamp
    travel unsigned.
    """
    signature = sha1_sorted_values(api_ticket, timestamp, card_id, code, openid, nonce_str)
    ext: dict[str, object] = {}
    if code:
        ext["code"] = code
    if openid:
        ext["openid"] = openid
    # A string: the JS-SDK documents a string, and the Mini Program accepts it too.
    ext["timestamp"] = str(timestamp)
    ext["nonce_str"] = nonce_str
    if fixed_begintimestamp is not None:
        ext["fixed_begintimestamp"] = fixed_begintimestamp
    if outer_str is not None:
        ext["outer_str"] = outer_str
    ext["signature"] = signature
    return _CARD_EXT_JSON.encode(ext)


def card_sign(
    *,
    api_ticket: str,
    appid: str,
    timestamp: int | str,
    nonce_str: str,
    location_id: str = "",
    card_id: str = "",
    card_type: str = "",
) -> str:
    """cardSign for ``wx.chooseCard``; a wrong one yields an empty list, not an error."""
    return sha1_sorted_values(api_ticket, appid, location_id, timestamp, nonce_str, card_id,
                              card_type)


def jsapi_signature(*, jsapi_ticket: str, nonce_str: str, timestamp: int | str, url: str) -> str:
    """The wx.config signature; keys in fixed ASCII order, URL unescaped and without #fragment."""
    url = url.split("#", 1)[0]
    plain = f"jsapi_ticket={jsapi_ticket}&noncestr={nonce_str}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(plain.encode("utf-8")).hexdigest()
