"""What users do with the messages they received: read their inbox, open a card message and
take its card (``user_get_card`` is pushed, as when a user takes a card anywhere else)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify
from flask.wrappers import Response

from bff.sandbox import crypto
from bff.sandbox.cards import get_card
from bff.sandbox.core import Sandbox, SimError, WeChatError
from bff.sandbox.sim import take_card
from bff.sandbox.web import sandbox, sim_field, user_request

bp = Blueprint("sim_messages", __name__, url_prefix="/_sim")


def inbox(sb: Sandbox, oa_openid: str) -> list[dict[str, Any]]:
    """The user's messages, oldest first (``msg_id``, ``msgtype``, ``card_id``, ``at``, ``via``:
    mass, preview or custom)."""
    return [json.loads(m) for m in sb.r.lrange(sb.keys.inbox(oa_openid), 0, -1)]


@bp.get("/users/<openid>/messages")
def user_messages(openid: str) -> Response:
    sb = sandbox()
    user = sb.user_or_fail(openid)
    return jsonify(messages=inbox(sb, user["oa_openid"]))


@bp.post("/take-from-message")
def take_from_message() -> Response:
    """``{user, msg_id}``: the user opens a card message they received and takes the card."""
    sb, body, user = user_request()
    msg_id = sim_field(body, "msg_id", "str")
    if not msg_id:
        raise SimError("msg_id is required", 422)
    message = next((m for m in inbox(sb, user["oa_openid"]) if m["msg_id"] == msg_id), None)
    if message is None:
        raise SimError("the user received no message with this msg_id", 404)
    if message.get("msgtype") != "wxcard" or not message.get("card_id"):
        raise SimError("that message offers no card", 409)
    card = get_card(sb, message["card_id"])
    if card is None:
        raise SimError("the message's card no longer exists", 409)
    try:
        code, pushed = take_card(sb, card, user, code=None, outer_str="")
    except WeChatError as e:
        raise SimError(f"the user cannot take the card: {e.errcode} {e.errmsg}", 409) from e
    return jsonify(card_id=card["card_id"], code=code,
                   encrypt_code=crypto.seal(sb.code_key(card["appid"]), code), pushed=[pushed])
