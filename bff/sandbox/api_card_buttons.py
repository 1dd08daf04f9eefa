"""WeChat's own buttons on a card and online redemption marks: ``card/selfconsumecell/set``,
``card/paycell/set``, ``card/code/mark``.

The cells are stored on the card (card/get shows them in ``base_info``, as WeChat does). A mark
holds a code for one openid while that user's order uses it: another openid cannot mark it
until it is released (``is_mark: false`` by the same openid) or the code is redeemed.
Errcodes chosen where WeChat's own is undocumented: 40145 for a code marked by another openid,
40003 for an openid the Official Account does not know, 47001 for a body WeChat cannot use.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint
from flask.wrappers import Response

from bff.sandbox.core import WeChatError, format_error
from bff.sandbox.state import load_json
from bff.sandbox.web import WeChatCall, ok, wechat_api

bp = Blueprint("wx_card_buttons", __name__)


def _flag(body: dict[str, Any], name: str, required: bool = False) -> bool:
    value = body.get(name)
    if value is None and not required:
        return False
    if not isinstance(value, bool):
        raise format_error(f"{name} must be true or false")
    return value


def _set_base(call: WeChatCall, values: dict[str, Any]) -> None:
    """Write ``values`` into the card's base_info (what card/get shows)."""
    sb, card = call.sb, call.card()
    if card["status"] == "CARD_STATUS_DELETE":
        raise WeChatError(40078, "invalid card status: the card is deleted")
    definition = load_json(card.get("definition"), {}) or {}
    kind = card["card_type"].lower()
    definition.setdefault(kind, {}).setdefault("base_info", {}).update(values)
    sb.r.hset(sb.keys.card(card["card_id"]), "definition",
              json.dumps(definition, ensure_ascii=False))


@wechat_api(bp, "/card/selfconsumecell/set")
def self_consume_cell(call: WeChatCall) -> Response:
    body = call.body
    is_open = _flag(body, "is_open", required=True)
    _set_base(call, {"self_consume_cell": {
        "is_open": is_open, "need_verify_cod": _flag(body, "need_verify_cod"),
        "need_remark_amount": _flag(body, "need_remark_amount")}})
    return ok()


@wechat_api(bp, "/card/paycell/set")
def pay_cell(call: WeChatCall) -> Response:
    _set_base(call, {"pay_info": {"swipe_card": {"is_swipe_card": _flag(
        call.body, "is_open", required=True)}}})
    return ok()


@wechat_api(bp, "/card/code/mark")
def code_mark(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    is_mark = _flag(body, "is_mark", required=True)
    openid = body.get("openid")
    if not isinstance(openid, str) or not openid:
        raise WeChatError(41011, "missing required field: openid")
    if not call.sb.r.exists(call.sb.keys.user(openid)):
        raise WeChatError(40003, "invalid openid")
    card, record = call.code(card_id_required=True)
    if record.get("status") == "CONSUMED":
        raise WeChatError(40099, "invalid code, this code has consumed.")
    if record.get("status", "NORMAL") != "NORMAL":
        raise WeChatError(40127, "invalid user-card status")
    key = sb.keys.code(card["card_id"], record["code"])
    marked_by = record.get("marked_by") or ""
    if marked_by and marked_by != openid:
        raise WeChatError(40145, "the code has been marked by another user")
    sb.r.hset(key, "marked_by", openid if is_mark else "")
    return ok()
