"""The catalogue: card/create, get, batchget, update, delete, modifystock; the member card's
activation form (activateuserform/set); card data (datacube).

Errcodes chosen where WeChat's own is undocumented: 40073 for an unknown (or another appid's)
card, 45031 for reducing stock below 0, 40122 for raising a deposit-mode card's stock above
its imported codes not yet issued, 40109 for a batchget count over 50, 47001 for an
activation form on a card that is not a member card or with a field WeChat does not know.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint
from flask.wrappers import Response

from bff.sandbox import card_rules, cube
from bff.sandbox.cards import DEPOSIT_MODE, create_card
from bff.sandbox.core import Sandbox, WeChatError, format_error
from bff.sandbox.forms import form_part
from bff.sandbox.state import load_json
from bff.sandbox.web import WeChatCall, as_int, ok, wechat_api

bp = Blueprint("wx_catalogue", __name__)

MAX_BATCH = 50
CARD_STATUSES = ("CARD_STATUS_NOT_VERIFY", "CARD_STATUS_VERIFY_FAIL", "CARD_STATUS_VERIFY_OK",
                 "CARD_STATUS_DELETE", "CARD_STATUS_DISPATCH")
SKU_REMIND_SECONDS = 12 * 3600
SKU_REMIND_TOTAL, SKU_REMIND_LEFT = 200, 100  # initial stock over 200, now at most 100


@wechat_api(bp, "/card/create")
def card_create(call: WeChatCall) -> Response:
    sb = call.sb
    card = call.body.get("card")
    card_type, detail = card_rules.check_card(card, sb.clock.now())
    card_id = create_card(sb, call.appid, card_type, detail["base_info"], definition=card,
                          approved=False)
    return ok(card_id=card_id)


def card_view(card: dict[str, str]) -> dict[str, Any]:
    """card/get's ``card``: the definition with the base_info WeChat adds (id, status, sku)."""
    definition = load_json(card.get("definition"), {}) or {}
    kind = card["card_type"].lower()
    detail = dict(definition.get(kind) or {})
    base = dict(detail.get("base_info") or {})
    base.update(id=card["card_id"], status=card["status"],
                sku={"quantity": int(card["quantity"]),
                     "total_quantity": int(card.get("total_quantity", card["quantity"]))})
    detail["base_info"] = base
    return {"card_type": card["card_type"], kind: detail}


@wechat_api(bp, "/card/get")
def card_get(call: WeChatCall) -> Response:
    card = call.card()
    return ok(card=card_view(card))


@wechat_api(bp, "/card/batchget")
def card_batchget(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    offset, count = as_int(body.get("offset"), 0), as_int(body.get("count"), 0)
    if offset is None or count is None or offset < 0 or count < 1:
        raise format_error("offset must be >= 0 and count >= 1")
    if count > MAX_BATCH:
        raise WeChatError(40109, "too many cards: count is at most 50")
    wanted = body.get("status_list")
    if wanted is not None and (not isinstance(wanted, list)
                               or any(s not in CARD_STATUSES for s in wanted)):
        raise format_error("status_list holds CARD_STATUS_* values")
    ids = sb.r.zrange(sb.keys.card_index(call.appid), 0, -1)
    pipe = sb.r.pipeline(transaction=False)
    for card_id in ids:
        pipe.hget(sb.keys.card(card_id), "status")
    statuses = pipe.execute()
    if wanted:
        matching = [c for c, s in zip(ids, statuses, strict=True) if s in wanted]
    else:  # WeChat leaves deleted cards out unless asked for them
        matching = [c for c, s in zip(ids, statuses, strict=True) if s != "CARD_STATUS_DELETE"]
    return ok(card_id_list=matching[offset:offset + count], total_num=len(matching))


@wechat_api(bp, "/card/update")
def card_update(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card = call.card()
    if card["status"] == "CARD_STATUS_DELETE":
        raise WeChatError(40078, "invalid card status: the card is deleted")
    kind = card["card_type"].lower()
    change = body.get(kind)
    send_check = card_rules.check_update(card["card_type"], change, sb.clock.now())
    definition = load_json(card.get("definition"), {}) or {}
    detail = definition.setdefault(kind, {})
    base = detail.setdefault("base_info", {})
    if "get_custom_code_mode" in (change.get("base_info") or {}):
        card_rules.check_deposit_mode({**base, **change["base_info"]}, int(card["quantity"]),
                                      sb.r.scard(sb.keys.deposit(card["card_id"])))
    base.update(change.get("base_info") or {})
    detail.update({k: v for k, v in change.items() if k != "base_info"})
    card_rules.check_links(detail)  # a page path needs its Mini Program, on the changed card
    mapping: dict[str, Any] = {"definition": json.dumps(definition, ensure_ascii=False)}
    if "title" in base:
        mapping["title"] = str(base["title"])
    if "get_custom_code_mode" in (change.get("base_info") or {}):
        mapping["get_custom_code_mode"] = str(base["get_custom_code_mode"])
    if "get_limit" in (change.get("base_info") or {}):
        mapping["get_limit"] = int(base["get_limit"])
    date_info = (change.get("base_info") or {}).get("date_info")
    if isinstance(date_info, dict) and date_info.get("type") == "DATE_TYPE_FIX_TIME_RANGE":
        mapping["end_time"] = int(date_info["end_timestamp"])
    if send_check:
        mapping["status"] = "CARD_STATUS_NOT_VERIFY"
    sb.r.hset(sb.keys.card(card["card_id"]), mapping=mapping)
    return ok(send_check=send_check)


@wechat_api(bp, "/card/delete")
def card_delete(call: WeChatCall) -> Response:
    sb = call.sb
    card = call.card()
    sb.r.hset(sb.keys.card(card["card_id"]), "status", "CARD_STATUS_DELETE")
    return ok()


@wechat_api(bp, "/card/modifystock")
def modify_stock(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card = call.card()
    increase = as_int(body.get("increase_stock_value"), 0) or 0
    reduce = as_int(body.get("reduce_stock_value"), 0) or 0
    if increase < 0 or reduce < 0:
        raise format_error("stock values are positive")
    key = sb.keys.card(card["card_id"])
    left = sb.r.hincrby(key, "quantity", increase - reduce)
    if left < 0:
        sb.r.hincrby(key, "quantity", reduce - increase)
        raise WeChatError(45031, "stock is not enough")
    if increase > reduce and card.get("get_custom_code_mode") == DEPOSIT_MODE \
            and left > sb.r.llen(sb.keys.pool(card["card_id"])):
        sb.r.hincrby(key, "quantity", reduce - increase)
        raise WeChatError(40122, "invalid quantity: more stock than imported codes left")
    sb.r.hincrby(key, "total_quantity", increase - reduce)
    return ok()


def stock_running_low(sb: Sandbox, card_id: str) -> str | None:
    """The card_sku_remind Detail when a user's take left the stock low, at most every 12 h.

    WeChat's rule: a card whose initial stock was over 200 and now has at most 100 left.
    """
    quantity, total = sb.r.hmget(sb.keys.card(card_id), "quantity", "initial_quantity")
    left, total_n = int(quantity or 0), int(total or 0)
    if total_n <= SKU_REMIND_TOTAL or left > SKU_REMIND_LEFT:
        return None
    if not sb.r.set(sb.keys.sku_remind(card_id), "1", nx=True, ex=SKU_REMIND_SECONDS):
        return None
    return f"the card's quantity is equal to {left}" if left == 0 else \
        f"the card's quantity is less than {SKU_REMIND_LEFT + 1}: {left} left"


@wechat_api(bp, "/card/membercard/activateuserform/set")
def activation_form_set(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    card = call.member_card("the activation form is for member cards")
    form: dict[str, Any] = {}
    for name in ("service_statement", "bind_old_card"):
        link = body.get(name)
        if link is None:
            continue
        if not isinstance(link, dict) or not link.get("name") or not link.get("url"):
            raise WeChatError(41011, f"missing required field: {name}.name / {name}.url")
        form[name] = {"name": str(link["name"]), "url": str(link["url"])}
    for part in ("required_form", "optional_form"):
        if body.get(part) is not None:
            form[part] = form_part(body[part], part)
    sb.r.set(sb.keys.activation_form(card["card_id"]), json.dumps(form, ensure_ascii=False))
    return ok()


@wechat_api(bp, "/datacube/getcardbizuininfo")
def cube_summary(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    days = cube.date_range(sb, body)
    cards = cube.cards_of(sb, call.appid, cube.cond_source(body))
    return ok(list=cube.summary_rows(sb, cards, days))


@wechat_api(bp, "/datacube/getcardcardinfo")
def cube_cards(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    days = cube.date_range(sb, body)
    cards = [c for c in cube.cards_of(sb, call.appid, cube.cond_source(body))
             if c["card_type"] in cube.CARD_TYPE_NUMBER]
    if body.get("card_id"):
        cards = [c for c in cards if c["card_id"] == body["card_id"]]
    return ok(list=cube.card_rows(sb, cards, days))


@wechat_api(bp, "/datacube/getcardmembercardinfo")
def cube_members(call: WeChatCall) -> Response:
    sb, body = call.sb, call.body
    days = cube.date_range(sb, body)
    cards = cube.cards_of(sb, call.appid, cube.cond_source(body), "MEMBER_CARD")
    return ok(list=cube.member_rows(sb, cards, days))
