"""Cards and codes: creation, lookup, issuing (stock, get_limit, code pools) and status changes.

Read-modify-write steps are atomic with plain commands (no scripts, so the sandbox runs on any
Redis-compatible store): counters use HINCRBY with compensation, code reservations HSETNX /
LPOP / LREM, status changes WATCH/MULTI.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from bff.sandbox import crypto, cube
from bff.sandbox.core import Sandbox, WeChatError, format_error
from bff.sandbox.state import load_json

DEPOSIT_MODE = "GET_CUSTOM_CODE_MODE_DEPOSIT"
STATUSES = ("NORMAL", "CONSUMED", "EXPIRE", "GIFTING", "GIFT_SUCC", "GIFT_TIMEOUT", "DELETE",
            "UNAVAILABLE")
YEAR = 365 * 86400


def invalid_code() -> WeChatError:
    return WeChatError(40056, "invalid serial code")


def whole(value: Any, default: int) -> int:
    """A non-negative 32-bit integer field of a WeChat body (a number or its digits)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise format_error()
    try:
        number = int(value)
    except ValueError:
        raise format_error() from None
    if not 0 <= number <= 2**32 - 1:
        raise format_error()
    return number


def create_card(sb: Sandbox, appid: str, card_type: str, base_info: dict[str, Any], *,
                definition: dict[str, Any] | None = None, approved: bool = True,
                cond_source: int = 1) -> str:
    """Store a card from its ``base_info``; returns the new card_id.

    ``definition`` is the whole ``card`` object as created (card/get returns it); a card made
    through card/create waits for review (``approved=False``), one made by the simulator has
    passed it. ``cond_source``: 1 created through the API, 0 in the MP console (datacube).
    """
    now = sb.clock.now()
    sku = base_info.get("sku") or {}
    date_info = base_info.get("date_info") or {}
    if not isinstance(sku, dict) or not isinstance(date_info, dict):
        raise format_error()
    begin, end, term, begin_term = int(now), int(now + YEAR), 0, 0
    if date_info.get("type") == "DATE_TYPE_FIX_TIME_RANGE":
        begin = whole(date_info.get("begin_timestamp"), begin)
        end = whole(date_info.get("end_timestamp"), end)
    elif date_info.get("type") == "DATE_TYPE_FIX_TERM":
        term = whole(date_info.get("fixed_term"), 0)
        begin_term = whole(date_info.get("fixed_begin_term"), 0)
    card_id = crypto.urlsafe_id("p")
    quantity = whole(sku.get("quantity"), 0)
    if definition is None:
        definition = {"card_type": card_type, card_type.lower(): {"base_info": base_info}}
    pipe = sb.r.pipeline()
    pipe.hset(sb.keys.card(card_id), mapping={
        "card_id": card_id,
        "appid": appid,
        "card_type": card_type,
        "title": str(base_info.get("title", "")),
        "use_custom_code": "1" if base_info.get("use_custom_code") else "0",
        "get_custom_code_mode": str(base_info.get("get_custom_code_mode") or ""),
        "bind_openid": "1" if base_info.get("bind_openid") else "0",
        "quantity": quantity,
        "total_quantity": quantity,
        "initial_quantity": quantity,
        "get_limit": whole(base_info.get("get_limit"), 0),
        "begin_time": begin,
        "end_time": end,
        "fixed_term": term,
        "fixed_begin_term": begin_term,
        "status": "CARD_STATUS_VERIFY_OK" if approved else "CARD_STATUS_NOT_VERIFY",
        "approved": "1" if approved else "0",
        "cond_source": cond_source,
        "created_at": repr(now),
        "definition": json.dumps(definition, ensure_ascii=False),
    })
    pipe.zadd(sb.keys.card_index(appid), {card_id: now})
    pipe.execute()
    return card_id


def get_card(sb: Sandbox, card_id: Any, appid: str | None = None) -> dict[str, str] | None:
    """The card, or ``None`` when unknown or owned by another appid."""
    if not isinstance(card_id, str) or not card_id:
        return None
    card = sb.r.hgetall(sb.keys.card(card_id))
    if not card or (appid is not None and card["appid"] != appid):
        return None
    return card


def card_or_fail(sb: Sandbox, card_id: Any, appid: str) -> dict[str, str]:
    card = get_card(sb, card_id, appid)
    if card is None:
        raise WeChatError(40073, "invalid card id")
    return card


def is_custom(card: dict[str, str]) -> bool:
    return card.get("use_custom_code") == "1" or card.get("get_custom_code_mode") == DEPOSIT_MODE


def supplies_codes(card: dict[str, str]) -> bool:
    """The merchant gives the code with each take: custom codes, not served from deposited ones."""
    return card.get("use_custom_code") == "1" and card.get("get_custom_code_mode") != DEPOSIT_MODE


def find_code(sb: Sandbox, appid: str, code: Any,
              card_id: Any = None) -> tuple[dict[str, str], dict[str, str]]:
    """(card, code record) for a code of ``appid``; 40056 when unknown or ambiguous."""
    if not isinstance(code, str) or not code:
        raise invalid_code()
    if card_id:
        card = get_card(sb, card_id, appid)
        if card is None:
            raise invalid_code()
    else:
        candidates = [c for c in sb.r.smembers(sb.keys.codeidx(code))
                      if get_card(sb, c, appid) is not None]
        if len(candidates) != 1:
            raise invalid_code()
        card = sb.r.hgetall(sb.keys.card(candidates[0]))
        if is_custom(card):  # WeChat needs card_id for custom codes
            raise invalid_code()
    record = sb.r.hgetall(sb.keys.code(card["card_id"], code))
    if not record:
        raise invalid_code()
    return card, record


def status_of(card: dict[str, str], record: dict[str, str], now: float) -> str:
    status = record.get("status", "NORMAL")
    if status == "NORMAL" and validity(card, record)[1] < now:
        return "EXPIRE"
    return status


def validity(card: dict[str, str], record: dict[str, str]) -> tuple[int, int]:
    """(begin, end) of a code: the card's time range, or for DATE_TYPE_FIX_TERM from
    ``fixed_begin_term`` days after receipt for ``fixed_term`` days."""
    term = int(card.get("fixed_term") or 0)
    if term:
        start = int(float(record.get("received_at", 0))) \
            + int(card.get("fixed_begin_term") or 0) * 86400
        return start, start + term * 86400
    return int(card["begin_time"]), int(card["end_time"])


def not_yet_valid(card: dict[str, str], record: dict[str, str], now: float) -> bool:
    """The code's validity has not begun (a time range that starts later, or a
    fixed_begin_term not yet over): WeChat does not let it be consumed."""
    return validity(card, record)[0] > now


def issue_code(sb: Sandbox, card: dict[str, str], oa_openid: str, *, code: str | None = None,
               outer_str: str = "") -> str:
    """Give ``oa_openid`` a code of ``card``, honouring get_limit, stock and code pools."""
    card_key = sb.keys.card(card["card_id"])
    got_key = sb.keys.got(card["card_id"])
    limit = int(card.get("get_limit") or 0)
    ensure_receivable(sb, card_key, oa_openid)
    undo: list[tuple[str, str, int]] = []
    try:
        if limit:
            undo.append((got_key, oa_openid, -1))
            if sb.r.hincrby(got_key, oa_openid, 1) > limit:
                raise WeChatError(45033, "user get card num exceed get_limit")
        undo.append((card_key, "quantity", 1))
        if sb.r.hincrby(card_key, "quantity", -1) < 0:
            raise WeChatError(45031, "stock is zero")
        code = _reserve_code(sb, card, code)
    except WeChatError:
        for key, field, delta in undo:
            sb.r.hincrby(key, field, delta)
        raise
    record_holding(sb, card["card_id"], code, oa_openid, outer_str)
    cube.count(sb, card, "receive", oa_openid)
    return code


def ensure_receivable(sb: Sandbox, card_key: str, oa_openid: str) -> None:
    """A deleted card is given to no one; one not yet approved only to whitelisted testers."""
    status, approved = sb.r.hmget(card_key, "status", "approved")
    if status == "CARD_STATUS_DELETE":
        raise WeChatError(40078, "invalid card status: the card is deleted")
    if approved == "0" and oa_openid not in whitelisted_openids(sb):
        raise WeChatError(40078, "invalid card status: the card has not passed review "
                                 "(only test whitelist users may receive it)")


def whitelisted_openids(sb: Sandbox) -> list[str]:
    return list((load_json(sb.r.get(sb.keys.whitelist), {}) or {}).get("openid") or [])


def fresh_code(sb: Sandbox, card: dict[str, str]) -> str:
    """A new generated code of ``card`` (no stock or get_limit involved)."""
    while True:
        candidate = crypto.numeric(12)
        if sb.r.hsetnx(sb.keys.code(card["card_id"], candidate), "card_id", card["card_id"]):
            return candidate


def record_holding(sb: Sandbox, card_id: str, code: str, oa_openid: str,
                   outer_str: str = "") -> None:
    now = sb.clock.now()
    pipe = sb.r.pipeline()
    pipe.hset(sb.keys.code(card_id, code), mapping={
        "card_id": card_id, "code": code, "openid": oa_openid, "status": "NORMAL",
        "outer_str": outer_str, "received_at": repr(now),
    })
    pipe.sadd(sb.keys.codeidx(code), card_id)
    pipe.sadd(sb.keys.holdings(oa_openid), f"{card_id} {code}")
    pipe.execute()


def _reserve_code(sb: Sandbox, card: dict[str, str], code: str | None) -> str:
    card_id = card["card_id"]
    if card.get("get_custom_code_mode") == DEPOSIT_MODE:
        if code:
            if not sb.r.lrem(sb.keys.pool(card_id), 1, code):
                raise invalid_code()
            return code
        popped = sb.r.lpop(sb.keys.pool(card_id))
        if popped is None:
            raise WeChatError(45031, "stock is zero")
        return popped
    if card.get("use_custom_code") == "1":
        if not code or not sb.r.hsetnx(sb.keys.code(card_id, code), "card_id", card_id):
            raise invalid_code()
        return code
    return fresh_code(sb, card)


def change_status(sb: Sandbox, card_id: str, code: str, to: str,
                  extra: dict[str, Any] | None = None) -> dict[str, str]:
    """NORMAL -> ``to``; 40099 when consumed, 40127 when deleted, gifted or gifting."""
    key = sb.keys.code(card_id, code)

    def swap(pipe: redis.client.Pipeline) -> dict[str, str]:
        record = pipe.hgetall(key)
        if not record:
            raise invalid_code()
        if record["status"] == "CONSUMED":
            raise WeChatError(40099, "invalid code, this code has consumed.")
        if record["status"] != "NORMAL":
            raise WeChatError(40127, "invalid user-card status! Hint: the card was given to "
                                     "user, but may be deleted or set un_available")
        pipe.multi()
        pipe.hset(key, mapping={"status": to, **(extra or {})})
        return record

    record = sb.r.transaction(swap, key, value_from_callable=True)
    metric = {"CONSUMED": "verify", "GIFT_SUCC": "given"}.get(to)
    if metric:
        cube.count(sb, {"card_id": card_id}, metric, record.get("openid", ""))
    return record


def held_cards(sb: Sandbox, oa_openid: str, appid: str, card_id: str | None = None
               ) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(card, code record) for each code of ``appid`` (of ``card_id`` when given) that the user
    holds, in the order of their holdings entries."""
    found = []
    for entry in sorted(sb.r.smembers(sb.keys.holdings(oa_openid))):
        held_card, _, code = entry.partition(" ")
        if card_id and held_card != card_id:
            continue
        card = get_card(sb, held_card, appid)
        record = sb.r.hgetall(sb.keys.code(held_card, code))
        if card and record and record.get("openid") == oa_openid:
            found.append((card, record))
    return found
