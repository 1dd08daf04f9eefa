"""Where else users take cards: scanning a card QR code, and a landing page (``/_sim/``).

Both issue a code as WeChat does (review, stock, get_limit, code pools) and push
``user_get_card`` with the channel's ``OuterStr`` and ``SourceScene`` (``SOURCE_SCENE_QRCODE``
and the QR code's ``OuterId``; a landing page's scene as the sandbox names it).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, jsonify
from flask.wrappers import Response

from bff.sandbox import crypto
from bff.sandbox.cards import get_card
from bff.sandbox.core import Sandbox, SimError, WeChatError
from bff.sandbox.sim import take_card
from bff.sandbox.web import sim_field, user_request

bp = Blueprint("sim_channels", __name__, url_prefix="/_sim")

# card/landingpage/create's scene -> the user_get_card SourceScene the sandbox pushes
LANDING_SCENES = {
    "SCENE_NEAR_BY": "SOURCE_SCENE_NEARBY", "SCENE_MENU": "SOURCE_SCENE_MENU",
    "SCENE_QRCODE": "SOURCE_SCENE_QRCODE", "SCENE_ARTICLE": "SOURCE_SCENE_MP_MSG",
    "SCENE_H5": "SOURCE_SCENE_H5", "SCENE_IVR": "SOURCE_SCENE_IVR",
    "SCENE_CARD_CUSTOM_CELL": "SOURCE_SCENE_CARD_CUSTOM_CELL",
}


def _taken(sb: Sandbox, card: dict[str, str], user: dict[str, str], **options: Any
           ) -> dict[str, Any]:
    try:
        code, push = take_card(sb, card, user, **options)
    except WeChatError as e:
        raise SimError(f"the user cannot take the card: {e.errcode} {e.errmsg}", 409) from e
    return {"card_id": card["card_id"], "code": code,
            "encrypt_code": crypto.seal(sb.code_key(card["appid"]), code), "pushed": [push]}


def _card(sb: Sandbox, card_id: str) -> dict[str, str]:
    card = get_card(sb, card_id, sb.config.oa_appid)
    if card is None:
        raise SimError("the card no longer exists", 409)
    return card


@bp.post("/scan-qrcode")
def scan_qrcode() -> Response:
    """The user scans a card QR code (card/qrcode/create's ``ticket``) and takes its card
    (``card_id`` picks one of a QR_MULTIPLE_CARD code's cards; default its first). A QR code
    with ``is_unique_code`` or made with a ``code`` gives its card once; one made for an
    ``openid`` only to that user; an expired one nothing."""
    sb, body, user = user_request()
    ticket = sim_field(body, "ticket", "str")
    stored = sb.r.get(sb.keys.qrcode(ticket)) if ticket and len(ticket) <= 256 else None
    if stored is None:
        raise SimError("unknown QR code ticket", 404)
    qr = json.loads(stored)
    if qr["expires_at"] and sb.clock.now() > qr["expires_at"]:
        raise SimError("the QR code has expired", 409)
    wanted = sim_field(body, "card_id", "str", nullable=True)
    entries = [e for e in qr["cards"] if wanted in (None, e["card_id"])]
    if not entries:
        raise SimError("the QR code does not offer this card", 404)
    entry = entries[0]
    if entry["openid"] and entry["openid"] != user["oa_openid"]:
        raise SimError("the QR code was made for another user", 409)
    once = entry["is_unique_code"] or bool(entry["code"])
    used_key = sb.keys.qrcode_used(ticket, entry["card_id"])
    if once and not sb.r.set(used_key, user["oa_openid"], nx=True):
        raise SimError("the QR code has been used: it gives its card once", 409)
    try:
        return jsonify(_taken(sb, _card(sb, entry["card_id"]), user, code=entry["code"] or None,
                              outer_str=entry["outer_str"], source_scene="SOURCE_SCENE_QRCODE",
                              outer_id=int(entry["outer_id"] or 0)))
    except SimError:
        if once:
            sb.r.delete(used_key)
        raise


@bp.post("/take-from-landing-page")
def take_from_landing_page() -> Response:
    """The user takes ``card_id`` on a landing page (card/landingpage/create's ``page_id``, or
    its ``url``, whose ``outer_str`` query parameter, if any, is the channel)."""
    sb, body, user = user_request()
    page_id = sim_field(body, "page_id", "int", nullable=True)
    url = sim_field(body, "url", "str", nullable=True)
    outer_str = sim_field(body, "outer_str", "str", "", nullable=True)
    if url is not None:
        query = parse_qs(urlsplit(url).query)
        ids = query.get("page_id") or []
        if not ids or not ids[0].isdigit() or (page_id is not None and int(ids[0]) != page_id):
            raise SimError("the url is not a landing page's (no page_id)")
        page_id = int(ids[0])
        outer_str = outer_str or (query.get("outer_str") or [""])[0]
    if page_id is None:
        raise SimError("give page_id or url")
    stored = sb.r.get(sb.keys.landing_page(str(page_id)))
    if stored is None:
        raise SimError("unknown landing page", 404)
    page = json.loads(stored)
    card_id = sim_field(body, "card_id", "str", nullable=True) or page["card_ids"][0]
    if card_id not in page["card_ids"]:
        raise SimError("the landing page does not offer this card", 404)
    return jsonify(_taken(sb, _card(sb, card_id), user, code=None, outer_str=outer_str,
                          source_scene=LANDING_SCENES.get(page["scene"],
                                                          "SOURCE_SCENE_UNKNOW")))
