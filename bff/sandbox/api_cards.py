"""Code decrypt/get/consume/deposit/check, QR codes, landing pages, HTML, test whitelist.
A consume pushes ``user_consume_card`` (ConsumeSource ``FROM_API``), as WeChat does.

Errcodes chosen where WeChat's own is undocumented: 47001 for malformed bodies (bad scene, bad
action_name), 40073 for unknown card ids, 40109 for too many codes / QR cards / whitelist
users, 40079 for an expire_seconds outside 60-1800, 41011 for a field the seed marks required
(a custom-code card's code, a bind_openid card's openid, the landing page's fields), 40078 for
a unique-code QR code of a card that has not passed review or has no stock left, 40079 for
consuming a code whose validity has not begun (a time range starting later, a
fixed_begin_term not over), 47001 for mpnews/gethtml of a custom-code card with no imported
codes.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from urllib.parse import quote

from flask import Blueprint, g
from flask.wrappers import Response

from bff.sandbox import crypto
from bff.sandbox.cards import (
    card_or_fail,
    change_status,
    invalid_code,
    is_custom,
    not_yet_valid,
    status_of,
    supplies_codes,
    validity,
)
from bff.sandbox.core import Sandbox, WeChatError, format_error
from bff.sandbox.push import card_event, push_event
from bff.sandbox.web import WeChatCall, as_bool, as_int, ok, wechat_api

bp = Blueprint("wx_cards", __name__)

MAX_CODES = 100
MAX_QR_CARDS = 5
MAX_WHITELIST = 10
QR_KEEP_SECONDS = 30 * 86400  # a permanent QR code's record (the sandbox forgets it then)
SCENES = ("SCENE_NEAR_BY", "SCENE_MENU", "SCENE_QRCODE", "SCENE_ARTICLE", "SCENE_H5",
          "SCENE_IVR", "SCENE_CARD_CUSTOM_CELL")
BAD_STATUS = ("DELETE", "GIFTING", "GIFT_SUCC", "GIFT_TIMEOUT", "UNAVAILABLE", "EXPIRE")


def _code_list(body: dict[str, Any]) -> list[Any]:
    codes = body.get("code")
    if not isinstance(codes, list):
        raise format_error()
    if len(codes) > MAX_CODES:
        raise WeChatError(40109, "too many codes, at most 100 per call")
    return codes


@wechat_api(bp, "/card/code/decrypt")
def code_decrypt(call: WeChatCall) -> Response:
    sealed = call.body.get("encrypt_code")
    if not isinstance(sealed, str) or not sealed:
        raise invalid_code()
    read = g.get("sandbox_code_key")  # read with the call's bookkeeping (app.py)
    key = read[1] if read and read[0] == call.appid else call.sb.code_key(call.appid)
    code = crypto.unseal(key, sealed)
    if code is None:
        # WeChat decodes a still percent-encoded value into a wrong code, without error.
        code = crypto.garbled(key, sealed)
    if code is None:
        raise invalid_code()
    return ok(code=code)


@wechat_api(bp, "/card/code/get")
def code_get(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card, record = call.code()
    status = status_of(card, record, sb.clock.now())
    # WeChat's clients (wechatpy, WxJava) send check_consume only when false: absent means true.
    if as_bool(body.get("check_consume", True)):
        if status == "CONSUMED":
            raise WeChatError(40099, "invalid code, this code has consumed.")
        if status in BAD_STATUS:
            raise WeChatError(40127, "invalid user-card status")
    begin, end = validity(card, record)
    return ok(
        card={"card_id": card["card_id"], "begin_time": begin, "end_time": end,
              "code": record["code"]},
        openid=record["openid"],
        can_consume=status == "NORMAL" and not not_yet_valid(card, record, sb.clock.now()),
        user_card_status=status,
        outer_str=record.get("outer_str", ""),
    )


@wechat_api(bp, "/card/code/consume")
def code_consume(call: WeChatCall) -> Response:
    sb = call.sb
    card, record = call.code()
    now = sb.clock.now()
    if status_of(card, record, now) == "EXPIRE":
        raise WeChatError(40127, "invalid user-card status")
    if not_yet_valid(card, record, now):
        raise WeChatError(40079, "invalid time: the code is not valid yet (its begin_time is "
                                 "later)")
    change_status(sb, card["card_id"], record["code"], "CONSUMED",
                  {"consumed_at": repr(now), "consume_source": "FROM_API"})
    sb.r.hincrby(sb.keys.code(card["card_id"], record["code"]), "consumes", 1)
    # WeChat pushes user_consume_card for every consumption, FROM_API included.
    push_event(sb, card_event(
        sb, "user_consume_card", record["openid"], CardId=card["card_id"],
        UserCardCode=record["code"], ConsumeSource="FROM_API", LocationName="", StaffOpenId="",
        VerifyCode="", RemarkAmount="", OuterStr=record.get("outer_str", "")))
    return ok(card={"card_id": card["card_id"]}, openid=record["openid"])


@wechat_api(bp, "/card/code/deposit")
def code_deposit(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card = call.card()
    codes = _code_list(body)
    succ, duplicate, fail = [], [], []
    for code in codes:
        if not isinstance(code, str) or not code.strip() or len(code) > 128:
            fail.append(code)
        elif sb.r.sadd(sb.keys.deposit(card["card_id"]), code):
            sb.r.rpush(sb.keys.pool(card["card_id"]), code)
            succ.append(code)
        else:
            duplicate.append(code)
    return ok(succ_code=succ, duplicate_code=duplicate, fail_code=fail)


@wechat_api(bp, "/card/code/getdepositcount")
def code_deposit_count(call: WeChatCall) -> Response:
    sb = call.sb
    card = call.card()
    return ok(count=sb.r.scard(sb.keys.deposit(card["card_id"])))


@wechat_api(bp, "/card/code/checkcode")
def code_check(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card = call.card()
    codes = [c for c in _code_list(body) if isinstance(c, str)]
    found = sb.r.smismember(sb.keys.deposit(card["card_id"]), codes) if codes else []
    return ok(exist_code=[c for c, f in zip(codes, found, strict=True) if f],
              not_exist_code=[c for c, f in zip(codes, found, strict=True) if not f])


@wechat_api(bp, "/card/qrcode/create")
def qrcode_create(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    expire = as_int(body.get("expire_seconds"))
    if expire is not None and not 60 <= expire <= 1800:
        raise WeChatError(40079, "invalid time, expire_seconds must be 60-1800")
    info = body.get("action_info") if isinstance(body.get("action_info"), dict) else {}
    if body.get("action_name") == "QR_CARD":
        entries = [info.get("card")]
    elif body.get("action_name") == "QR_MULTIPLE_CARD":
        multiple = info.get("multiple_card") or {}
        entries = multiple.get("card_list") if isinstance(multiple, dict) else None
        if not isinstance(entries, list) or not entries:
            raise format_error()
        if len(entries) > MAX_QR_CARDS:
            raise WeChatError(40109, "too many cards, at most 5 per QR code")
    else:
        raise format_error()
    for entry in entries:
        if not isinstance(entry, dict):
            raise format_error()
        card = card_or_fail(sb, entry.get("card_id"), call.appid)
        _qr_entry_fields(card, entry)
    ticket = base64.b64encode(b"\x81\x0f" + os.urandom(46)).decode("ascii")
    remember_qrcode(sb, ticket, entries, expire)
    answer: dict[str, Any] = {
        "ticket": ticket,
        "url": "http://weixin.qq.com/q/" + crypto.urlsafe_id("0", 22),
        "show_qrcode_url": "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="
                           + quote(ticket, safe=""),
    }
    if expire is not None:
        answer["expire_seconds"] = expire
    return ok(**answer)


def remember_qrcode(sb: Sandbox, ticket: str, entries: list[dict[str, Any]],
                    expire: int | None) -> None:
    """What a scan of the QR code gives (``/_sim/scan-qrcode``): its cards as created."""
    cards = [{"card_id": e["card_id"], "code": str(e.get("code") or ""),
              "openid": str(e.get("openid") or ""),
              "is_unique_code": as_bool(e.get("is_unique_code", False)),
              "outer_str": str(e.get("outer_str") or ""),
              "outer_id": as_int(e.get("outer_id"), 0)} for e in entries]
    expires_at = sb.clock.now() + expire if expire is not None else 0
    sb.r.set(sb.keys.qrcode(ticket), json.dumps({"cards": cards, "expires_at": expires_at}),
             ex=(expire or 0) + QR_KEEP_SECONDS)


def _required(name: str) -> WeChatError:
    return WeChatError(41011, f"missing required field: {name}")


def _qr_entry_fields(card: dict[str, str], entry: dict[str, Any]) -> None:
    """What WeChat's ``card/qrcode/create`` requires of a QR code's card: the code of a
    custom-code card (one not served from deposited codes), the openid of a bind_openid card;
    a unique-code QR code only for an approved card with stock."""
    if supplies_codes(card) and not entry.get("code"):
        raise _required("code (the card uses custom codes)")
    outer_id = entry.get("outer_id")
    if outer_id is not None and (isinstance(outer_id, bool) or not isinstance(outer_id, int)
                                 or not 0 <= outer_id <= 2**32 - 1):
        raise format_error("outer_id must be an integer")  # WeChat's own scene number
    if card.get("bind_openid") == "1" and not entry.get("openid"):
        raise _required("openid (the card is bound to an openid)")
    if as_bool(entry.get("is_unique_code", False)) and (
            card.get("status") not in ("CARD_STATUS_VERIFY_OK", "CARD_STATUS_DISPATCH")
            or int(card.get("quantity") or 0) <= 0):
        raise WeChatError(40078, "invalid card status: a unique-code QR code needs an "
                                 "approved card with stock")


@wechat_api(bp, "/card/landingpage/create")
def landing_page_create(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    for name in ("banner", "page_title", "can_share", "scene", "card_list"):
        if body.get(name) in (None, "", []):
            raise _required(name)
    if body.get("scene") not in SCENES:
        raise format_error()
    card_list = body.get("card_list")
    if not isinstance(card_list, list):
        raise format_error()
    for entry in card_list:
        if not isinstance(entry, dict):
            raise format_error()
        for name in ("card_id", "thumb_url"):
            if not entry.get(name):
                raise _required(f"card_list.{name}")
        card = card_or_fail(sb, entry.get("card_id"), call.appid)
        if supplies_codes(card):
            # WeChat's landing page (card/landingpage/create) offers WeChat's codes, or custom
            # codes imported first.
            raise format_error()
    page_id = sb.r.incr(sb.keys.page_seq)
    scene = SCENES.index(body["scene"]) + 1
    url = (f"https://mp.weixin.qq.com/bizmall/cardlandingpage?biz={quote(sb.biz, safe='')}"
           f"&page_id={page_id}&scene={scene}#wechat_redirect")
    sb.r.set(sb.keys.landing_page(str(page_id)), json.dumps({
        "card_ids": [e["card_id"] for e in card_list], "scene": body["scene"], "url": url}))
    return ok(url=url, page_id=page_id)


@wechat_api(bp, "/card/mpnews/gethtml")
def mpnews_html(call: WeChatCall) -> Response:
    sb = call.sb
    card = call.card()
    if is_custom(card) and not sb.r.scard(sb.keys.deposit(card["card_id"])):
        # WeChat: a card with custom codes goes into an article only once codes are imported.
        raise format_error("a custom-code card needs imported codes (card/code/deposit)")
    src = (f"http://mp.weixin.qq.com/bizmall/appmsgcard?action=show&biz={quote(sb.biz, safe='')}"
           f"&cardid={card['card_id']}&wechat_card_js=1#wechat_redirect")
    return ok(content=f'<iframe class="res_iframe card_iframe js_editor_card" '
                      f'data-src="{src}"></iframe>')


@wechat_api(bp, "/card/testwhitelist/set")
def test_whitelist(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    openids = body.get("openid") or []
    usernames = body.get("username") or []
    if not isinstance(openids, list) or not isinstance(usernames, list):
        raise format_error()
    if len(openids) + len(usernames) > MAX_WHITELIST:
        raise WeChatError(40109, "too many users, at most 10 in the test whitelist")
    for openid in openids:
        if call.appid != sb.config.oa_appid or not isinstance(openid, str) \
                or not sb.r.exists(sb.keys.user(openid)):
            raise WeChatError(40003, "invalid openid")
    sb.r.set(sb.keys.whitelist, json.dumps({"openid": openids, "username": usernames}))
    return ok()


# WeChat's card colours with their values, as card/getcolors lists them (card/create also
# accepts Color101 and Color102, which this list does not show).
COLOR_VALUES = (
    ("Color010", "#63b359"), ("Color020", "#2c9f67"), ("Color030", "#509fc9"),
    ("Color040", "#5885cf"), ("Color050", "#9062c0"), ("Color060", "#d09a45"),
    ("Color070", "#e4b138"), ("Color080", "#ee903c"), ("Color081", "#f08500"),
    ("Color082", "#a9d92d"), ("Color090", "#dd6549"), ("Color100", "#cc463d"),
)


@wechat_api(bp, "/card/getcolors", method="GET")
def get_colors(call: WeChatCall) -> Response:
    return ok(colors=[{"name": name, "value": value} for name, value in COLOR_VALUES])
