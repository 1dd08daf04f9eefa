"""Code administration and member updates: card/code/unavailable, card/code/update,
card/user/getcardlist, card/membercard/updateuser.

Shapes follow the peers (wechatpy's ``invalid_code``, ``update_code``, ``get_card_list``,
``update_membercard``). Errcodes chosen where WeChat's own is undocumented: 47001 for malformed
bodies (missing card_id, non-integer amounts, a custom field value over 12 bytes, a record text
over 64 characters, a bonus or balance that would go below 0, updateuser on a card that is not a
MEMBER_CARD), 40056 for card/code/update on a card whose codes WeChat generates and for a
new_code that is already taken. ``updateuser`` pushes ``update_member_card`` (ModifyBonus,
ModifyBalance: ``add_*`` when given, else the difference an absolute value made); WeChat pushes
nothing for unavailable and update, and neither does the sandbox.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint
from flask.wrappers import Response

from bff.sandbox.cards import change_status, held_cards, invalid_code, is_custom, status_of
from bff.sandbox.core import WeChatError, format_error
from bff.sandbox.push import card_event, push_event
from bff.sandbox.web import WeChatCall, as_int, ok, wechat_api

bp = Blueprint("wx_manage", __name__)

CUSTOM_FIELD_BYTES = 12
RECORD_CHARS = 64
LISTED = ("NORMAL", "GIFTING")  # what stays in the user's card package


@wechat_api(bp, "/card/code/unavailable")
def code_unavailable(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card, record = call.code()
    extra = {"unavailable_at": repr(sb.clock.now())}
    if body.get("reason") is not None:
        extra["unavailable_reason"] = str(body["reason"])[:128]
    change_status(sb, card["card_id"], record["code"], "UNAVAILABLE", extra)
    return ok()


@wechat_api(bp, "/card/code/update")
def code_update(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card, record = call.code(card_id_required=True)
    new_code = body.get("new_code")
    if not isinstance(new_code, str) or not new_code.strip() or len(new_code) > 128:
        raise format_error("new_code is required")
    if not is_custom(card):
        raise WeChatError(40056, "invalid serial code: only custom codes can be changed")
    if status_of(card, record, sb.clock.now()) not in ("NORMAL",):
        raise WeChatError(40127, "invalid user-card status")
    card_id, old = card["card_id"], record["code"]
    if not sb.r.hsetnx(sb.keys.code(card_id, new_code), "card_id", card_id):
        raise WeChatError(40056, "invalid serial code: new_code is already used")
    pipe = sb.r.pipeline()
    pipe.hset(sb.keys.code(card_id, new_code), mapping={**record, "code": new_code,
                                                        "old_code": old})
    pipe.delete(sb.keys.code(card_id, old))
    pipe.srem(sb.keys.codeidx(old), card_id)
    pipe.sadd(sb.keys.codeidx(new_code), card_id)
    if record.get("openid"):
        pipe.srem(sb.keys.holdings(record["openid"]), f"{card_id} {old}")
        pipe.sadd(sb.keys.holdings(record["openid"]), f"{card_id} {new_code}")
    pipe.execute()
    return ok()


@wechat_api(bp, "/card/user/getcardlist")
def user_card_list(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    openid = body.get("openid")
    user = sb.r.hgetall(sb.keys.user(openid)) if isinstance(openid, str) and openid else {}
    if not user or call.appid != sb.config.oa_appid:
        raise WeChatError(40003, "invalid openid")
    now = sb.clock.now()
    found = [{"code": record["code"], "card_id": card["card_id"]}
             for card, record in held_cards(sb, openid, call.appid, body.get("card_id") or None)
             if status_of(card, record, now) in LISTED]
    return ok(card_list=found, has_share_card=False)


def _amount(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise format_error(f"{name} must be an integer")
    return as_int(value)


@wechat_api(bp, "/card/membercard/updateuser")
def member_update_user(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card, record = call.code(card_id_required=True)
    if card["card_type"] != "MEMBER_CARD":
        raise format_error("not a member card")
    if status_of(card, record, sb.clock.now()) != "NORMAL":
        raise WeChatError(40127, "invalid user-card status")
    amounts = {n: _amount(body, n) for n in ("add_bonus", "bonus", "add_balance", "balance")}
    extra: dict[str, str] = {}
    for name in ("record_bonus", "record_balance"):
        if body.get(name) is not None:
            if len(str(body[name])) > RECORD_CHARS:
                raise format_error(f"{name} is longer than {RECORD_CHARS} characters")
            extra[f"last_{name}"] = str(body[name])
    for i in (1, 2, 3):
        name = f"custom_field_value{i}"
        if body.get(name) is not None:
            if len(str(body[name]).encode("utf-8")) > CUSTOM_FIELD_BYTES:
                raise format_error(f"{name} is longer than {CUSTOM_FIELD_BYTES} bytes")
            extra[f"init_custom_field_value{i}"] = str(body[name])
    if body.get("background_pic_url") is not None:
        extra["background_pic_url"] = str(body["background_pic_url"])
    key = sb.keys.code(card["card_id"], record["code"])

    def apply(pipe: redis.client.Pipeline) -> tuple[int, int, int, int]:
        now = pipe.hgetall(key)
        if not now:
            raise invalid_code()
        results, modified = [], []
        for kind in ("bonus", "balance"):
            before = int(now.get(kind) or 0)
            add, absolute = amounts[f"add_{kind}"], amounts[kind]
            after = absolute if absolute is not None else before + (add or 0)
            if after < 0:
                raise format_error(f"{kind} would go below 0")
            results.append(after)
            modified.append(add if add is not None else after - before)
        pipe.multi()
        pipe.hset(key, mapping={"bonus": results[0], "balance": results[1], **extra})
        return results[0], results[1], modified[0], modified[1]

    bonus, balance, modify_bonus, modify_balance = sb.r.transaction(
        apply, key, value_from_callable=True)
    push_event(sb, card_event(sb, "update_member_card", record["openid"],
                              CardId=card["card_id"], UserCardCode=record["code"],
                              ModifyBonus=modify_bonus, ModifyBalance=modify_balance))
    return ok(result_bonus=bonus, result_balance=balance, openid=record["openid"])
