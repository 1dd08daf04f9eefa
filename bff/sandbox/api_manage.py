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

from bff.sandbox.cards import change_status, find_code, invalid_code, is_custom, status_of
from bff.sandbox.core import WeChatError
from bff.sandbox.push import card_event, push_event
from bff.sandbox.web import as_int, ok, require_token, sandbox, wechat_body

bp = Blueprint("wx_manage", __name__)

CUSTOM_FIELD_BYTES = 12
RECORD_CHARS = 64
LISTED = ("NORMAL", "GIFTING")  # what stays in the user's card package


def _format_error(what: str) -> WeChatError:
    return WeChatError(47001, f"data format error: {what}")


@bp.post("/card/code/unavailable")
def code_unavailable() -> Response:
    appid = require_token()
    body = wechat_body()
    sb = sandbox()
    card, record = find_code(sb, appid, body.get("code"), body.get("card_id"))
    extra = {"unavailable_at": repr(sb.clock.now())}
    if body.get("reason") is not None:
        extra["unavailable_reason"] = str(body["reason"])[:128]
    change_status(sb, card["card_id"], record["code"], "UNAVAILABLE", extra)
    return ok()


@bp.post("/card/code/update")
def code_update() -> Response:
    appid = require_token()
    body = wechat_body()
    sb = sandbox()
    if not body.get("card_id"):
        raise _format_error("card_id is required")
    card, record = find_code(sb, appid, body.get("code"), body.get("card_id"))
    new_code = body.get("new_code")
    if not isinstance(new_code, str) or not new_code.strip() or len(new_code) > 128:
        raise _format_error("new_code is required")
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


@bp.post("/card/user/getcardlist")
def user_card_list() -> Response:
    appid = require_token()
    body = wechat_body()
    sb = sandbox()
    openid = body.get("openid")
    user = sb.r.hgetall(sb.keys.user(openid)) if isinstance(openid, str) and openid else {}
    if not user or appid != sb.config.oa_appid:
        raise WeChatError(40003, "invalid openid")
    only = body.get("card_id") or None
    now = sb.clock.now()
    found = []
    for entry in sorted(sb.r.smembers(sb.keys.holdings(openid))):
        card_id, _, code = entry.partition(" ")
        if only and card_id != only:
            continue
        card = sb.r.hgetall(sb.keys.card(card_id))
        record = sb.r.hgetall(sb.keys.code(card_id, code))
        if card and record and record.get("openid") == openid \
                and status_of(card, record, now) in LISTED:
            found.append({"code": code, "card_id": card_id})
    return ok(card_list=found, has_share_card=False)


def _amount(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _format_error(f"{name} must be an integer")
    return as_int(value)


@bp.post("/card/membercard/updateuser")
def member_update_user() -> Response:
    appid = require_token()
    body = wechat_body()
    sb = sandbox()
    if not body.get("card_id"):
        raise _format_error("card_id is required")
    card, record = find_code(sb, appid, body.get("code"), body.get("card_id"))
    if card["card_type"] != "MEMBER_CARD":
        raise _format_error("not a member card")
    if status_of(card, record, sb.clock.now()) != "NORMAL":
        raise WeChatError(40127, "invalid user-card status")
    amounts = {n: _amount(body, n) for n in ("add_bonus", "bonus", "add_balance", "balance")}
    extra: dict[str, str] = {}
    for name in ("record_bonus", "record_balance"):
        if body.get(name) is not None:
            if len(str(body[name])) > RECORD_CHARS:
                raise _format_error(f"{name} is longer than {RECORD_CHARS} characters")
            extra[f"last_{name}"] = str(body[name])
    for i in (1, 2, 3):
        name = f"custom_field_value{i}"
        if body.get(name) is not None:
            if len(str(body[name]).encode("utf-8")) > CUSTOM_FIELD_BYTES:
                raise _format_error(f"{name} is longer than {CUSTOM_FIELD_BYTES} bytes")
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
                raise _format_error(f"{kind} would go below 0")
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
