"""What users do with a card they hold (delete, gift, redeem) and arbitrary pushed events."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify
from flask.wrappers import Response

from bff.sandbox import crypto
from bff.sandbox.cards import change_status, fresh_code, not_yet_valid, record_holding
from bff.sandbox.core import Sandbox, SimError, WeChatError
from bff.sandbox.push import card_event, push_event, summary
from bff.sandbox.web import sandbox, sim_body, sim_field

bp = Blueprint("sim_actions", __name__, url_prefix="/_sim")
XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _held(sb: Sandbox, oa_openid: str, code: str, card_id: Any) -> dict[str, str]:
    """The user's record of ``code`` (``card_id`` narrows it when codes repeat across cards)."""
    for entry in sb.r.smembers(sb.keys.holdings(oa_openid)):
        held_card, _, held_code = entry.partition(" ")
        if held_code == code and (not card_id or card_id == held_card):
            record = sb.r.hgetall(sb.keys.code(held_card, code))
            if record and record.get("openid") == oa_openid:
                return record
    raise SimError("the user does not hold this code", 404)


def _change(sb: Sandbox, record: dict[str, str], to: str, extra: dict[str, Any] | None = None
            ) -> None:
    try:
        change_status(sb, record["card_id"], record["code"], to, extra)
    except WeChatError as e:
        raise SimError(f"the code cannot change state: {e.errcode} {e.errmsg}", 409) from e


@bp.post("/users/<oa_openid>/cards/<code>/delete")
def delete_card(oa_openid: str, code: str) -> Response:
    sb = sandbox()
    body = sim_body()
    record = _held(sb, oa_openid, code, sim_field(body, "card_id", "str"))
    if record["status"] in ("DELETE", "GIFT_SUCC"):
        raise SimError("the code is already deleted or given away", 409)
    sb.r.hset(sb.keys.code(record["card_id"], code), "status", "DELETE")
    fields = card_event(sb, "user_del_card", oa_openid, CardId=record["card_id"],
                        UserCardCode=code)
    return jsonify(status="DELETE", pushed=[summary(push_event(sb, fields))])


@bp.post("/users/<oa_openid>/cards/<code>/gift")
def gift_card(oa_openid: str, code: str) -> Response:
    sb = sandbox()
    body = sim_body()
    record = _held(sb, oa_openid, code, sim_field(body, "card_id", "str"))
    receiver = sb.user_or_fail(body.get("to"))
    if receiver["oa_openid"] == oa_openid:
        raise SimError("a user cannot give a card to themselves")
    card = sb.r.hgetall(sb.keys.card(record["card_id"]))
    _change(sb, record, "GIFT_SUCC", {"gifted_to": receiver["oa_openid"]})
    new_code = fresh_code(sb, card)
    record_holding(sb, card["card_id"], new_code, receiver["oa_openid"],
                   record.get("outer_str", ""))
    gifting = card_event(sb, "user_gifting_card", oa_openid, CardId=card["card_id"],
                         UserCardCode=code, IsReturnBack=0,
                         FriendUserName=receiver["oa_openid"], IsChatRoom=0)
    getting = card_event(sb, "user_get_card", receiver["oa_openid"], CardId=card["card_id"],
                         IsGiveByFriend=1, UserCardCode=new_code, FriendUserName=oa_openid,
                         OuterId=0, OldUserCardCode=code, OuterStr=record.get("outer_str", ""),
                         IsRestoreMemberCard=0, IsRecommendByFriend=0,
                         UnionId=receiver.get("unionid") or None,
                         SourceScene="SOURCE_SCENE_GIFT")
    pushed = [summary(push_event(sb, gifting)), summary(push_event(sb, getting))]
    return jsonify(card_id=card["card_id"], old_code=code, code=new_code,
                   encrypt_code=crypto.seal(sb.code_key(card["appid"]), new_code),
                   to=receiver["oa_openid"], pushed=pushed)


@bp.post("/users/<oa_openid>/cards/<code>/consume")
def consume_card(oa_openid: str, code: str) -> Response:
    sb = sandbox()
    body = sim_body()
    record = _held(sb, oa_openid, code, sim_field(body, "card_id", "str"))
    source = sim_field(body, "consume_source", "str", "FROM_MOBILE_HELPER")
    location = sim_field(body, "location_name", "str", "")
    staff = sim_field(body, "staff_openid", "str", "")
    if not_yet_valid(sb.r.hgetall(sb.keys.card(record["card_id"])), record, sb.clock.now()):
        raise SimError("the code is not valid yet: it cannot be consumed before its begin_time",
                       409)
    _change(sb, record, "CONSUMED", {"consumed_at": repr(sb.clock.now()),
                                     "consume_source": source})
    fields = card_event(
        sb, "user_consume_card", oa_openid, CardId=record["card_id"], UserCardCode=code,
        ConsumeSource=source, LocationName=location,
        StaffOpenId=staff, VerifyCode="", RemarkAmount="",
        OuterStr=record.get("outer_str", ""),
    )
    return jsonify(status="CONSUMED", pushed=[summary(push_event(sb, fields))])


@bp.post("/events")
def push_any_event() -> Response:
    """Push an arbitrary event: the body's fields become the XML's elements."""
    sb = sandbox()
    body = sim_body()
    if not body:
        raise SimError("give the event's fields, e.g. {\"Event\": \"user_view_card\", ...}")
    for name, value in body.items():
        if not XML_NAME.fullmatch(name):
            raise SimError(f"{name!r} is not an XML element name", 422)
        if not isinstance(value, str | int | float | bool | None):
            raise SimError(f"{name} must be a string, number, boolean or null", 422)
    extra = {k: v for k, v in body.items() if k not in ("FromUserName", "Event")}
    fields = card_event(sb, str(body.get("Event", "")), str(body.get("FromUserName", "")))
    fields.update(extra)  # not as keywords: an element may be named like a parameter
    return jsonify(summary(push_event(sb, fields)) | {"fields": fields})
