"""WeChat's own card data (datacube): the account summary, per card, and member cards.

WeChat serves at most 62 days per call, and only days it has finished computing: the latest
is yesterday (Asia/Shanghai), and yesterday itself may not be ready early in the day. A longer
range is asked for in pieces of 62 days; a day WeChat has not finished comes back as a row
``{ref_date, computed: false}`` with no counts, never as zeros. Rows carry WeChat's field
names, plus ``computed``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bff.domain.channel_stats import capped_range
from bff.domain.channel_stats import today as shanghai_today
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import WeChatApiError

CALLS = {"summary": "getcardbizuininfo", "card": "getcardcardinfo",
         "member": "getcardmembercardinfo"}
WECHAT_MAX_DAYS = 62
DATE_RANGE_ERROR = 61501
# WeChat is asked only about days it can have: its cards began in 2014
EARLIEST, LATEST = dt.date(2014, 1, 1), dt.date(2099, 12, 31)
FIELDS = {
    "summary": ("ref_date", "view_cnt", "view_user", "receive_cnt", "receive_user",
                "verify_cnt", "verify_user", "given_cnt", "given_user", "expire_cnt",
                "expire_user"),
    "card": ("ref_date", "card_id", "card_type", "view_cnt", "view_user", "receive_cnt",
             "receive_user", "verify_cnt", "verify_user", "given_cnt", "given_user",
             "expire_cnt", "expire_user"),
    "member": ("ref_date", "view_cnt", "view_user", "receive_cnt", "receive_user",
               "active_user", "verify_cnt", "verify_user", "total_user",
               "total_receive_user"),
}


def day_range(from_: dt.date | None, to: dt.date | None
              ) -> tuple[dt.date, dt.date, dt.date | None]:
    """``(start, end, next_from)`` of a statistics request, as /stats/channels answers it.

    Defaults: the last 7 computed days. A range longer than ``MAX_DAYS`` is cut after
    ``MAX_DAYS`` days and ``next_from`` says where the rest starts (else None); ``from`` after
    ``to`` is an empty range. Any dates are taken: days before WeChat's cards began have no
    data, days WeChat has not computed come back ``computed: false``.
    """
    return capped_range(from_, to or shanghai_today() - dt.timedelta(days=1), default_days=7)


def pieces(start: dt.date, end: dt.date, size: int = WECHAT_MAX_DAYS
           ) -> list[tuple[dt.date, dt.date]]:
    """``start``..``end`` (inclusive) cut into ranges of at most ``size`` days."""
    out = []
    while start <= end:
        last = min(end, start + dt.timedelta(days=size - 1))
        out.append((start, last))
        start = last + dt.timedelta(days=1)
    return out


def wechat_card_rows(wechat: WeChatApi, kind: str, start: dt.date, end: dt.date, *,
                     card_id: str | None = None, cond_source: int = 1,
                     today: dt.date | None = None) -> list[dict[str, Any]]:
    """Rows by day (and card), WeChat's counts where WeChat has computed the day."""
    today = today or shanghai_today()
    last_ready = min(end, today - dt.timedelta(days=1), LATEST)
    rows: list[dict[str, Any]] = []
    for first, last in pieces(max(start, EARLIEST), last_ready):
        for row in _ask(wechat, kind, first, last, card_id, cond_source, today):
            if isinstance(row, dict) and row.get("ref_date"):
                rows.append({**row, "computed": True})
    seen = {str(row["ref_date"]) for row in rows}
    for day in (start + dt.timedelta(days=i) for i in range((end - start).days + 1)):
        if day.isoformat() not in seen and day >= today - dt.timedelta(days=1):
            placeholder: dict[str, Any] = {"ref_date": day.isoformat(), "computed": False}
            if kind == "card" and card_id:
                placeholder["card_id"] = card_id
            rows.append(placeholder)
    rows.sort(key=lambda r: (str(r["ref_date"]), str(r.get("card_id", ""))))
    return rows


def _ask(wechat: WeChatApi, kind: str, first: dt.date, last: dt.date, card_id: str | None,
         cond_source: int, today: dt.date) -> list[Any]:
    """One datacube call; a range ending yesterday that WeChat refuses (61501: yesterday is
    not computed yet, or WeChat's day has not turned) is asked again without yesterday."""
    body: dict[str, Any] = {"begin_date": first.isoformat(), "end_date": last.isoformat(),
                            "cond_source": cond_source}
    if kind == "card" and card_id:
        body["card_id"] = card_id
    try:
        return list(wechat.datacube(CALLS[kind], body).get("list") or [])
    except WeChatApiError as e:
        yesterday = today - dt.timedelta(days=1)
        if e.errcode != DATE_RANGE_ERROR or last != yesterday:
            raise
        if first == last:
            return []
        return _ask(wechat, kind, first, last - dt.timedelta(days=1), card_id, cond_source,
                    today)  # once: a refusal of the shorter range is raised
