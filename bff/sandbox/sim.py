"""The simulator's user stories under ``/_sim/``: users, logins, cards, wx.addCard, activation."""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Blueprint, jsonify
from flask.wrappers import Response

from bff.sandbox import crypto
from bff.sandbox.api_auth import LOGIN_CODE_LIFETIME, valid_tickets
from bff.sandbox.api_catalogue import stock_running_low
from bff.sandbox.api_member import decrypt_card_id, store_activation_form
from bff.sandbox.card_rules import CARD_TYPES, DATE_TYPES, MAX_QUANTITY
from bff.sandbox.cards import (
    DEPOSIT_MODE,
    create_card,
    get_card,
    held_cards,
    is_custom,
    issue_code,
    supplies_codes,
)
from bff.sandbox.core import Sandbox, SimError, WeChatError
from bff.sandbox.forms import activation_form_of, check_filled_form
from bff.sandbox.push import card_event, push_event, summary
from bff.sandbox.state import DAY
from bff.sandbox.web import sandbox, sim_body, sim_field, user_request

bp = Blueprint("sim", __name__, url_prefix="/_sim")

CARD_EXT_MAX_SKEW = 600
NONCE_MAX = 32


def new_user(sb: Sandbox, *, unionid: bool = True, nickname: Any = None,
             sex: Any = 1) -> dict[str, str | None]:
    """A new simulated user: an OA openid, an MP openid and (by default) a unionid."""
    oa_openid, mp_openid = crypto.urlsafe_id("o"), crypto.urlsafe_id("o")
    union = crypto.urlsafe_id("o") if unionid else None
    pipe = sb.r.pipeline()
    pipe.hset(sb.keys.user(oa_openid), mapping={
        "oa_openid": oa_openid, "mp_openid": mp_openid, "unionid": union or "",
        "nickname": (nickname or f"沙盒用户{secrets.randbelow(10000):04d}")[:64],
        "sex": str(sex), "created_at": repr(sb.clock.now()),
    })
    for any_id in (oa_openid, mp_openid, union):
        if any_id:
            pipe.set(sb.keys.uidx(any_id), oa_openid)
    pipe.execute()
    return {"mp_openid": mp_openid, "oa_openid": oa_openid, "unionid": union}


@bp.post("/users")
def create_user() -> Response:
    body = sim_body()
    return jsonify(new_user(sandbox(), unionid=sim_field(body, "unionid", "bool", True),
                            nickname=sim_field(body, "nickname", "str", nullable=True),
                            sex=sim_field(body, "sex", "int", 1, choices=(0, 1, 2))))


def new_login_code(sb: Sandbox, user: dict[str, str], app: str) -> str:
    """A single-use login code of ``app`` ("miniprogram" or "h5") for ``user``."""
    code = crypto.numeric(12)
    key = sb.keys.login(code)
    pipe = sb.r.pipeline()
    pipe.hset(key, mapping={"oa_openid": user["oa_openid"], "app": app,
                            "expires_at": repr(sb.clock.now() + LOGIN_CODE_LIFETIME)})
    pipe.expire(key, DAY)
    pipe.execute()
    return code


@bp.post("/login-codes")
def create_login_code() -> Response:
    sb, body, user = user_request()
    app = sim_field(body, "app", "str", "miniprogram", choices=("miniprogram", "h5"))
    return jsonify(code=new_login_code(sb, user, app))


@bp.get("/login-codes/<code>")
def login_code_user(code: str) -> Response:
    """Whose login code this is (used or not): how /jsbridge.js on a page that came back from
    web authorization with ?code= knows which simulated user it plays."""
    sb = sandbox()
    data = sb.r.hgetall(sb.keys.login(code)) if len(code) <= 64 else {}
    user = sb.r.hgetall(sb.keys.user(data["oa_openid"])) if data else {}
    if not user:
        raise SimError("unknown login code", 404)
    return jsonify(app=data["app"], oa_openid=user["oa_openid"], mp_openid=user["mp_openid"])


@bp.post("/cards")
def create_sim_card() -> Response:
    body = sim_body()
    unknown = set(body) - set(SIM_CARD_FIELDS)
    if unknown:
        raise SimError(f"unknown fields: {', '.join(sorted(unknown))}", 422)
    card_type = sim_field(body, "card_type", "str", "GENERAL_COUPON", choices=CARD_TYPES)
    base_info = {
        "title": sim_field(body, "title", "str", f"Sandbox {card_type.lower()}"),
        "sku": {"quantity": sim_field(body, "quantity", "int", 100000, low=0, high=MAX_QUANTITY)},
        "get_limit": sim_field(body, "get_limit", "int", 0, low=0, high=MAX_QUANTITY),
        "use_custom_code": sim_field(body, "use_custom_code", "bool", False),
        "get_custom_code_mode": sim_field(body, "get_custom_code_mode", "str", nullable=True,
                                          choices=(DEPOSIT_MODE,)),
        "bind_openid": sim_field(body, "bind_openid", "bool", False),
        "date_info": sim_date_info(sim_field(body, "date_info", "object", {}, nullable=True)),
    }
    custom_url = sim_field(body, "custom_url", "str", nullable=True)
    if custom_url:
        base_info.update(custom_url_name="Use now", custom_url=custom_url[:128])
    sb = sandbox()
    return jsonify(card_id=create_card(sb, sb.config.oa_appid, card_type, base_info,
                                       approved=sim_field(body, "approved", "bool", True)))


@bp.post("/cards/<card_id>/review")
def review_card(card_id: str) -> Response:
    """WeChat's reviewer decides: ``{approve: bool, reason?}`` -> the card's status and the
    card_pass_check / card_not_pass_check push (with RefuseReason)."""
    sb = sandbox()
    body = sim_body()
    card = get_card(sb, card_id, sb.config.oa_appid)
    if card is None:
        raise SimError("unknown card", 404)
    if card["status"] == "CARD_STATUS_DELETE":
        raise SimError("the card is deleted", 409)
    if not isinstance(body.get("approve"), bool):
        raise SimError("approve must be true or false")
    reason = str(body.get("reason") or "")
    if body["approve"]:
        sb.r.hset(sb.keys.card(card_id), mapping={"status": "CARD_STATUS_VERIFY_OK",
                                                  "approved": "1", "refuse_reason": ""})
        fields = card_event(sb, "card_pass_check", crypto.gh_id(sb.config.oa_appid),
                            CardId=card_id)
    else:
        if not reason:
            raise SimError("a refusal gives its reason")
        sb.r.hset(sb.keys.card(card_id), mapping={"status": "CARD_STATUS_VERIFY_FAIL",
                                                  "refuse_reason": reason})
        fields = card_event(sb, "card_not_pass_check", crypto.gh_id(sb.config.oa_appid),
                            CardId=card_id, RefuseReason=reason)
    status = sb.r.hget(sb.keys.card(card_id), "status")
    return jsonify(status=status, pushed=[summary(push_event(sb, fields))])


SIM_CARD_FIELDS = ("card_type", "title", "quantity", "get_limit", "use_custom_code",
                   "get_custom_code_mode", "bind_openid", "date_info", "approved", "custom_url")


def sim_date_info(date_info: dict[str, Any]) -> dict[str, Any]:
    """``date_info`` as WeChat's card/create takes it, checked field by field."""
    if not date_info:
        return {}
    unknown = set(date_info) - {"type", "begin_timestamp", "end_timestamp", "fixed_term",
                                "fixed_begin_term"}
    if unknown:
        raise SimError(f"unknown date_info fields: {', '.join(sorted(unknown))}", 422)
    checked = {"type": sim_field(date_info, "type", "str", "DATE_TYPE_PERMANENT",
                                 choices=DATE_TYPES)}
    for name in ("begin_timestamp", "end_timestamp"):
        checked[name] = sim_field(date_info, name, "int", None, low=0, high=2**32 - 1)
    for name in ("fixed_term", "fixed_begin_term"):
        checked[name] = sim_field(date_info, name, "int", None, low=0, high=36500)
    return {k: v for k, v in checked.items() if v is not None}


def verify_card_ext(sb: Sandbox, card: dict[str, str], user: dict[str, str],
                    raw: Any) -> dict[str, str]:
    """Check a cardExt as WeChat does; returns the ``code`` and ``outer_str`` it carries."""
    def bad(why: str) -> WeChatError:
        return WeChatError(40080, f"invalid card ext: {why}")

    if not isinstance(raw, str):
        raise bad("cardExt must be a JSON string")
    try:
        ext = json.loads(raw)
    except ValueError:
        raise bad("not JSON") from None
    if not isinstance(ext, dict):
        raise bad("not a JSON object")
    for name in ("timestamp", "signature"):
        if ext.get(name) in (None, ""):
            raise bad(f"{name} missing")
    # nonce_str is optional (WeChat documents it so): the signature is over the fields present.
    timestamp, nonce = str(ext["timestamp"]), str(ext.get("nonce_str") or "")
    code, openid = str(ext.get("code") or ""), str(ext.get("openid") or "")
    if len(nonce) > NONCE_MAX:
        raise bad("nonce_str longer than 32")
    tickets = valid_tickets(sb, card["appid"], "wx_card")
    values = (timestamp, card["card_id"], code, openid, nonce)
    if not any(crypto.sorted_sha1(t, *values) == ext["signature"] for t in tickets):
        raise bad("signature mismatch")
    if not timestamp.isdigit() or abs(int(timestamp) - sb.clock.now()) > CARD_EXT_MAX_SKEW:
        raise bad("timestamp out of range")
    if card["bind_openid"] == "1" and openid != user["oa_openid"]:
        raise WeChatError(40003, "invalid openid: the card is bound to another openid")
    if openid and openid != user["oa_openid"]:
        raise WeChatError(40003, "invalid openid")
    if supplies_codes(card) and not code:
        raise bad("code required for a custom-code card")
    if code and not is_custom(card):
        raise bad("code given for a card with WeChat-generated codes")
    # Once only: the nonce with the timestamp, or without a nonce the signed values themselves.
    once = nonce or f"signature:{ext['signature']}"
    if not sb.r.set(sb.keys.nonce(card["card_id"], once, timestamp), "1", nx=True, ex=DAY):
        raise bad("nonce_str and timestamp already used")
    return {"code": code, "outer_str": str(ext.get("outer_str") or "")}


def take_card(sb: Sandbox, card: dict[str, str], user: dict[str, str], *, code: str | None,
              outer_str: str, unionid_in_event: bool = True,
              source_scene: str = "SOURCE_SCENE_MINI_PROGRAM",
              outer_id: int = 0) -> tuple[str, dict[str, Any]]:
    """The user takes a card: the code is recorded, then ``user_get_card`` is pushed (with
    where it was taken: ``source_scene``, and a QR code's ``outer_id``)."""
    code = issue_code(sb, card, user["oa_openid"], code=code or None, outer_str=outer_str)
    fields = card_event(
        sb, "user_get_card", user["oa_openid"], CardId=card["card_id"], IsGiveByFriend=0,
        UserCardCode=code, FriendUserName="", OuterId=outer_id, OldUserCardCode="",
        OuterStr=outer_str, IsRestoreMemberCard=0, IsRecommendByFriend=0,
        UnionId=(user.get("unionid") or None) if unionid_in_event else None,
        SourceScene=source_scene,
    )
    pushed = summary(push_event(sb, fields))
    detail = stock_running_low(sb, card["card_id"])
    if detail is not None:
        push_event(sb, card_event(sb, "card_sku_remind", crypto.gh_id(sb.config.oa_appid),
                                  CardId=card["card_id"], Detail=detail))
    return code, pushed


@bp.post("/add-card")
def add_card() -> Response:
    sb, body, user = user_request()
    card_list = body.get("card_list")
    if not isinstance(card_list, list) or not card_list:
        raise SimError("card_list must be a non-empty list")
    answers, pushed = [], []
    for entry in card_list:
        entry = entry if isinstance(entry, dict) else {}
        card_id = entry.get("cardId")
        answer: dict[str, Any] = {"cardId": card_id, "cardExt": entry.get("cardExt")}
        try:
            card = get_card(sb, card_id, sb.config.oa_appid)
            if card is None:
                raise WeChatError(40073, "invalid card id")
            ext = verify_card_ext(sb, card, user, entry.get("cardExt"))
            code, push = take_card(sb, card, user, code=ext["code"], outer_str=ext["outer_str"],
                                   unionid_in_event=sim_field(body, "unionid_in_event", "bool",
                                                              True))
        except WeChatError as e:
            answer.update(isSuccess=False, errcode=e.errcode, errmsg=e.errmsg)
        else:
            encrypted = crypto.seal(sb.code_key(card["appid"]), code)
            answer.update(code=encrypted, isSuccess=True)
            pushed.append(push)
        answers.append(answer)
    return jsonify(card_list=answers, pushed=pushed)


@bp.post("/activation-form")
def activation_form() -> Response:
    sb, body, user = user_request()
    sealed, biz = body.get("encrypt_card_id"), body.get("biz")
    if not isinstance(sealed, str) or not isinstance(biz, str):
        raise SimError("encrypt_card_id and biz are required strings")
    if "%" in sealed or "%" in biz:
        raise SimError("encrypt_card_id/biz are still percent-encoded: decode them exactly once")
    if " " in sealed:
        raise SimError("encrypt_card_id has a space where a '+' was: decoded as a form value?")
    card_id = decrypt_card_id(sb, sealed)
    card = get_card(sb, card_id, sb.config.oa_appid) if card_id else None
    if card is None or card["card_type"] != "MEMBER_CARD":
        raise SimError("encrypt_card_id does not decrypt to a member card of this account")
    if biz != sb.biz:
        raise SimError("biz does not match the Official Account")
    outer_str = sim_field(body, "outer_str", "str", "", nullable=True)
    filled = body.get("fields") or {}, body.get("custom_fields") or {}
    form = activation_form_of(sb, card_id)
    if form is not None and all(isinstance(x, dict) for x in filled):
        check_filled_form(form, *filled)
    pushed = []
    held = [record for _, record in held_cards(sb, user["oa_openid"], sb.config.oa_appid, card_id)
            if record["status"] == "NORMAL"]
    if held:
        code = held[0]["code"]
    else:
        try:
            code, push = take_card(sb, card, user,
                                   code=crypto.numeric(12) if supplies_codes(card) else None,
                                   outer_str=outer_str)
        except WeChatError as e:
            raise SimError(f"the user cannot take the card: {e.errcode} {e.errmsg}", 409) from e
        pushed.append(push)
    fields = body.get("fields") or {}
    custom_fields = body.get("custom_fields") or {}
    if not isinstance(fields, dict) or not isinstance(custom_fields, dict):
        raise SimError("fields and custom_fields must be objects")
    ticket = store_activation_form(sb, card_id, code, user["oa_openid"], fields, custom_fields)
    return jsonify(activate_ticket=ticket, card_id=card_id, code=code,
                   encrypt_code=crypto.seal(sb.code_key(card["appid"]), code), pushed=pushed)
