"""Card data as WeChat's datacube reports it: per card and Asia/Shanghai day, counted as it happens.

Counted: ``receive`` (a user took a card), ``verify`` (a code was consumed), ``given`` (a card
was given to a friend), ``active`` (a member card was activated). Views and expiries are not
simulated and stay 0. WeChat serves a range of at most 62 days ending yesterday at the latest:
61500 for a malformed date, 61501 for a range WeChat does not serve.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bff.sandbox.core import Sandbox, WeChatError, format_error

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
MAX_DAYS = 62
METRICS = ("view", "receive", "verify", "given", "expire", "active")
CARD_FIELDS = ("view", "receive", "verify", "given", "expire")


def day_of(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, SHANGHAI).date().isoformat()


def count(sb: Sandbox, card: dict[str, str], metric: str, openid: str) -> None:
    """One more ``metric`` for the card today, by ``openid``."""
    day = day_of(sb.clock.now())
    pipe = sb.r.pipeline(transaction=False)
    pipe.hincrby(sb.keys.cube(card["card_id"], day), metric, 1)
    if openid:
        pipe.sadd(sb.keys.cube_users(card["card_id"], day, metric), openid)
    pipe.execute()


def date_range(sb: Sandbox, body: dict[str, Any]) -> list[str]:
    """The days of ``begin_date``..``end_date``; WeChat's errcodes when it would refuse them."""
    try:
        begin = dt.date.fromisoformat(str(body.get("begin_date")))
        end = dt.date.fromisoformat(str(body.get("end_date")))
    except ValueError:
        raise WeChatError(61500, "date format error") from None
    yesterday = dt.datetime.fromtimestamp(sb.clock.now(), SHANGHAI).date() - dt.timedelta(1)
    if begin > end or (end - begin).days + 1 > MAX_DAYS or end > yesterday:
        raise WeChatError(61501, "date range error")
    return [(begin + dt.timedelta(days=i)).isoformat() for i in range((end - begin).days + 1)]


def cond_source(body: dict[str, Any]) -> int:
    value = body.get("cond_source")
    if value not in (0, 1, "0", "1"):
        raise format_error("cond_source must be 0 or 1")
    return int(value)


def _day_counts(sb: Sandbox, card_ids: list[str], day: str) -> dict[str, dict[str, int]]:
    """{card_id: {metric_cnt, metric_user}} for one day."""
    pipe = sb.r.pipeline(transaction=False)
    for card_id in card_ids:
        pipe.hgetall(sb.keys.cube(card_id, day))
        for metric in METRICS:
            pipe.scard(sb.keys.cube_users(card_id, day, metric))
    answers = pipe.execute()
    out: dict[str, dict[str, int]] = {}
    step = 1 + len(METRICS)
    for i, card_id in enumerate(card_ids):
        counts, users = answers[i * step], answers[i * step + 1:(i + 1) * step]
        row = {}
        for metric, n_users in zip(METRICS, users, strict=True):
            row[f"{metric}_cnt"] = int(counts.get(metric, 0))
            row[f"{metric}_user"] = int(n_users)
        out[card_id] = row
    return out


def cards_of(sb: Sandbox, appid: str, source: int, card_type: str | None = None
             ) -> list[dict[str, str]]:
    cards = []
    for card_id in sb.r.zrange(sb.keys.card_index(appid), 0, -1):
        card = sb.r.hgetall(sb.keys.card(card_id))
        if card and int(card.get("cond_source", 1)) == source \
                and (card_type is None or card["card_type"] == card_type):
            cards.append(card)
    return cards


def summary_rows(sb: Sandbox, cards: list[dict[str, str]], days: list[str]) -> list[dict]:
    """getcardbizuininfo: one row per day over all the cards."""
    ids = [c["card_id"] for c in cards]
    rows = []
    for day in days:
        per_card = _day_counts(sb, ids, day)
        row: dict[str, Any] = {"ref_date": day}
        for metric in CARD_FIELDS:
            for part in ("cnt", "user"):
                row[f"{metric}_{part}"] = sum(c[f"{metric}_{part}"] for c in per_card.values())
        rows.append(row)
    return rows


def card_rows(sb: Sandbox, cards: list[dict[str, str]], days: list[str]) -> list[dict]:
    """getcardcardinfo: one row per day and card."""
    rows = []
    for day in days:
        per_card = _day_counts(sb, [c["card_id"] for c in cards], day)
        for card in cards:
            counts = per_card[card["card_id"]]
            row: dict[str, Any] = {"ref_date": day, "card_id": card["card_id"],
                                   "card_type": CARD_TYPE_NUMBER[card["card_type"]]}
            row.update({f"{m}_{p}": counts[f"{m}_{p}"] for m in CARD_FIELDS
                        for p in ("cnt", "user")})
            rows.append(row)
    return rows


def member_rows(sb: Sandbox, cards: list[dict[str, str]], days: list[str]) -> list[dict]:
    """getcardmembercardinfo: one row per day over the member cards, with running totals."""
    ids = [c["card_id"] for c in cards]
    total_receive = _received_before(sb, ids, days[0]) if days else 0
    rows = []
    for day in days:
        per_card = _day_counts(sb, ids, day)
        row: dict[str, Any] = {"ref_date": day}
        for name in ("view_cnt", "view_user", "receive_cnt", "receive_user", "verify_cnt",
                     "verify_user"):
            row[name] = sum(c[name] for c in per_card.values())
        row["active_user"] = sum(c["active_user"] for c in per_card.values())
        total_receive += row["receive_cnt"]
        row["total_user"] = total_receive
        row["total_receive_user"] = total_receive
        rows.append(row)
    return rows


def _received_before(sb: Sandbox, card_ids: list[str], first_day: str) -> int:
    total = 0
    for card_id in card_ids:
        for key in sb.r.scan_iter(match=sb.keys.cube(card_id, "*")):
            if key.rsplit(":", 1)[-1] < first_day:
                total += int(sb.r.hget(key, "receive") or 0)
    return total


# getcardcardinfo reports card_type as a number: 0 discount, 1 cash, 2 gift, 3 general coupon,
# 4 groupon (WeChat's datacube reference; member cards have getcardmembercardinfo).
CARD_TYPE_NUMBER = {"DISCOUNT": 0, "CASH": 1, "GIFT": 2, "GENERAL_COUPON": 3, "GROUPON": 4}
