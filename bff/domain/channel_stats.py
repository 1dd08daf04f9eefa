"""Per-day, per-channel (``outer_str``) card statistics from events, counted once per entry.

Days are calendar days in Asia/Shanghai (UTC+8, no daylight saving) of the event's CreateTime,
the merchant's day. Metrics: ``received`` (user_get_card, not from a friend), ``consumed``,
``deleted``, ``gifted`` (user_gifting_card, not returned), and ``opened``: a holder opened the
card's link (WeChat appends ``outer_str`` to a member card's links; the page decrypted the code
with it), once per code and day. consumed/deleted/gifted are attributed to the channel the code
was received through.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time

import redis

from bff.domain.ownership import channel_of
from bff.ground.services import Services
from bff.ground.store import keys

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
METRICS = ("received", "consumed", "deleted", "gifted", "opened")
MAX_DAYS = 366


def day_of(epoch_seconds: int) -> str:
    return dt.datetime.fromtimestamp(epoch_seconds, SHANGHAI).date().isoformat()


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def count_once(svc: Services, entry_id: str, card_id: str, create_time: int, outer_str: str,
               metric: str) -> bool:
    """Add one to ``metric`` for the entry's day and channel (``outer_str`` less the cardExt
    proof, ``bff.domain.ownership.channel_of``), unless this entry already did."""
    if not card_id or metric not in METRICS:
        return False
    r = svc.redis
    marker = keys.channel_counted(entry_id)
    ttl = max(1, svc.settings.event_retention_days) * 86_400
    day = day_of(create_time) if create_time else today().isoformat()
    with r.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(marker)
                if pipe.exists(marker):
                    return False
                pipe.multi()
                pipe.set(marker, "1", ex=ttl)
                pipe.hincrby(keys.channel_stats(card_id, day),
                             f"{metric}|{channel_of(outer_str)}", 1)
                pipe.sadd(keys.channel_cards(), card_id)
                pipe.execute()
                return True
            except redis.WatchError:
                continue


def count_link_open(svc: Services, card_id: str, code: str, outer_str: str) -> bool:
    """``opened`` for the channel a card link carried (its ``outer_str``), once per code and
    day however often the holder opens it."""
    now = int(time.time())
    digest = hashlib.sha256(f"{card_id}\x1f{code}".encode()).hexdigest()[:24]
    return count_once(svc, f"open:{digest}:{day_of(now)}", card_id, now, outer_str, "opened")


def day_range(start: dt.date | None, end: dt.date | None
              ) -> tuple[dt.date, dt.date, dt.date | None]:
    """``(start, end, next_start)``: defaults filled in, at most ``MAX_DAYS`` days.

    No ``end``: today; no ``start``: 30 days up to ``end``. A longer range is cut after
    ``MAX_DAYS`` days, and ``next_start`` is where the rest begins (else None).
    """
    return capped_range(start, end or today(), default_days=30)


def capped_range(start: dt.date | None, end: dt.date, *, default_days: int
                 ) -> tuple[dt.date, dt.date, dt.date | None]:
    """``(start, end, next_start)`` of a statistics request (channels, WeChat's card data).

    No ``start``: the ``default_days`` days up to ``end``. A range longer than ``MAX_DAYS`` is
    cut after ``MAX_DAYS`` days, and ``next_start`` is where the rest begins (else None).
    """
    if start is None:
        start = end - dt.timedelta(days=min(default_days - 1, (end - dt.date.min).days))
    if (end - start).days < MAX_DAYS:
        return start, end, None
    cut = start + dt.timedelta(days=MAX_DAYS - 1)
    return start, cut, cut + dt.timedelta(days=1)


def channel_rows(r: redis.Redis, *, card_id: str | None, start: dt.date,
                 end: dt.date) -> list[dict]:
    """Rows ``{date, card_id, outer_str, received, consumed, deleted, gifted, opened}``, by
    date."""
    cards = [card_id] if card_id else sorted(r.smembers(keys.channel_cards()))
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    pipe = r.pipeline(transaction=False)
    slots = [(c, d.isoformat()) for d in days for c in cards]
    for c, d in slots:
        pipe.hgetall(keys.channel_stats(c, d))
    rows = []
    for (c, d), counts in zip(slots, pipe.execute(), strict=True):
        by_channel: dict[str, dict] = {}
        for field, value in counts.items():
            metric, _, outer = field.partition("|")
            row = by_channel.setdefault(outer, {
                "date": d, "card_id": c, "outer_str": outer, **dict.fromkeys(METRICS, 0)})
            if metric in METRICS:
                row[metric] = int(value)
        rows.extend(by_channel[o] for o in sorted(by_channel))
    return rows
