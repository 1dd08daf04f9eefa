"""Member cards: activation URL, activate_ticket form data, activate, user info.

Errcodes chosen: 47001 for a missing or too long membership_number / init_custom_field_value
and for geturl on a card that is not a MEMBER_CARD; 72012 for an unknown or expired ticket.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from flask import Blueprint
from flask.wrappers import Response

from bff.sandbox import crypto, cube
from bff.sandbox.cards import status_of
from bff.sandbox.core import Sandbox, WeChatError, format_error
from bff.sandbox.state import load_json
from bff.sandbox.web import WeChatCall, as_int, ok, wechat_api

bp = Blueprint("wx_member", __name__)

ACTIVATE_TICKET_LIFETIME = 1800
CARD_ID_LEAD = b"\x01\x02"  # lead bytes: the base64 of an encrypt_card_id ends with "=="
ACTIVATION_BASE = "https://mp.weixin.qq.com/bizmall/activatemembercard"


def encrypt_card_id(sb: Sandbox, card_id: str) -> str:
    return crypto.seal(sb.code_key(sb.config.oa_appid), card_id, lead=CARD_ID_LEAD)


def decrypt_card_id(sb: Sandbox, sealed: str) -> str | None:
    return crypto.unseal(sb.code_key(sb.config.oa_appid), sealed, lead=len(CARD_ID_LEAD))


@wechat_api(bp, "/card/membercard/activate/geturl")
def activate_geturl(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card = call.member_card()
    outer_str = str(body.get("outer_str") or "")
    url = (f"{ACTIVATION_BASE}?action=preshow&&encrypt_card_id="
           f"{quote(encrypt_card_id(sb, card['card_id']), safe='')}"
           f"&outer_str={quote(outer_str, safe='')}&biz={quote(sb.biz, safe='')}"
           "#wechat_redirect")
    return ok(url=url)


@wechat_api(bp, "/card/membercard/activatetempinfo/get")
def activate_temp_info(call: WeChatCall) -> Response:
    ticket = call.body.get("activate_ticket")
    sb = call.sb
    data = sb.r.hgetall(sb.keys.activate_ticket(ticket)) if isinstance(ticket, str) else {}
    if not data or data["appid"] != call.appid or float(data["expires_at"]) <= sb.clock.now():
        raise WeChatError(72012, "activate_ticket has been expired")
    return ok(info=load_json(data.get("form"), {"common_field_list": [],
                                                "custom_field_list": []}))


@wechat_api(bp, "/card/membercard/activate")
def activate(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    number = body.get("membership_number")
    if isinstance(number, int) and not isinstance(number, bool):
        number = str(number)
    if not isinstance(number, str) or not number or len(number) > 20:
        raise format_error("membership_number is required, at most 20 characters")
    card, record = call.code()
    if status_of(card, record, sb.clock.now()) != "NORMAL":
        raise WeChatError(40127, "invalid user-card status")
    values: dict[str, Any] = {
        "activated": "1",
        "membership_number": number,
        "bonus": as_int(body.get("init_bonus"), 0),
        "balance": as_int(body.get("init_balance"), 0),
    }
    for name in ("init_bonus_record", "background_pic_url", "activate_begin_time",
                 "activate_end_time"):
        if body.get(name) is not None:
            values[name] = str(body[name])
    for i in (1, 2, 3):
        name = f"init_custom_field_value{i}"
        if body.get(name) is not None:
            if len(str(body[name]).encode("utf-8")) > 12:
                raise format_error(f"{name} is longer than 12 bytes")
            values[name] = str(body[name])
    pipe = sb.r.pipeline()
    pipe.hset(sb.keys.code(card["card_id"], record["code"]), mapping=values)
    pipe.hincrby(sb.keys.code(card["card_id"], record["code"]), "activations", 1)
    pipe.execute()
    if record.get("activated") != "1":
        cube.count(sb, card, "active", record.get("openid", ""))
    return ok()


@wechat_api(bp, "/card/membercard/userinfo/get")
def member_userinfo(call: WeChatCall) -> Response:
    sb = call.sb
    call.card()  # 40073 before 40056
    card, record = call.code()
    user = sb.r.hgetall(sb.keys.user(record["openid"]))
    form = load_json(record.get("form"), {"common_field_list": [], "custom_field_list": []})
    sex = user.get("sex", "0")
    for field in form.get("common_field_list", []):
        if field.get("name") == "USER_FORM_INFO_FLAG_SEX":
            sex = field.get("value", sex)
    return ok(
        openid=record["openid"],
        nickname=user.get("nickname", ""),
        membership_number=record.get("membership_number", ""),
        bonus=int(record.get("bonus", 0)),
        balance=int(record.get("balance", 0)),
        sex={"1": "MALE", "2": "FEMALE"}.get(str(sex), str(sex) if sex != "0" else "UNKNOWN"),
        user_info=form,
        user_card_status=status_of(card, record, sb.clock.now()),
        has_active=record.get("activated") == "1",
    )


def store_activation_form(sb: Sandbox, card_id: str, code: str, oa_openid: str,
                          fields: dict[str, Any], custom: dict[str, Any]) -> str:
    """Record what the user typed in the activation plug-in; returns the activate_ticket."""
    form = {
        "common_field_list": [{"name": k, "value": str(v)} for k, v in fields.items()],
        "custom_field_list": [
            {"name": k, "value": "" if isinstance(v, list) else str(v),
             "value_list": [str(x) for x in v] if isinstance(v, list) else []}
            for k, v in custom.items()
        ],
    }
    ticket = crypto.token_string(48)
    key = sb.keys.activate_ticket(ticket)
    pipe = sb.r.pipeline()
    pipe.hset(key, mapping={
        "appid": sb.config.oa_appid, "card_id": card_id, "code": code, "oa_openid": oa_openid,
        "form": json.dumps(form, ensure_ascii=False),
        "expires_at": repr(sb.clock.now() + ACTIVATE_TICKET_LIFETIME),
    })
    pipe.expire(key, 86400)
    pipe.hset(sb.keys.code(card_id, code), "form", json.dumps(form, ensure_ascii=False))
    pipe.execute()
    return ticket
