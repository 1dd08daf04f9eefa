"""Every Redis key of the sandbox, its clock and its runtime settings.

All keys start with ``config.prefix`` (default ``{wxsandbox}:``); ``/_sim/reset`` deletes exactly
those. The prefix is one hash tag, so every key lives in one hash slot and the sandbox's
transactions run unchanged on a Redis Cluster (one node holds all of the fake WeChat's state).
Times inside values are seconds on the *sandbox clock* (real time + a stored offset), so
``/_sim/clock`` can expire things; the Redis TTLs below only collect garbage and are always
longer than the lifetime they back (the offset never decreases).

Keys (``P`` = prefix):
- ``P clock`` string, clock offset in seconds (float); no TTL.
- ``P config`` hash, runtime overrides ``event_url``, ``safe_mode``, ``latency_ms``,
  ``push_history``; no TTL.
- ``P calls`` hash, WeChat path -> calls received; no TTL.
- ``P fault:<path>`` hash ``errcode``, ``http_status``, ``latency_ms``, ``count``; no TTL.
- ``P pushes`` list of JSON push records, newest first, trimmed to ``push_history`` (200 unless
  set in ``P config``); no TTL.
- ``P tok:<access_token>`` hash ``appid``, ``kind`` (classic|stable), ``expires_at``; TTL 2 days.
- ``P classic:<appid>`` string, the newest classic access_token; TTL 2 days.
- ``P stable:<appid>`` string, the current stable access_token; TTL 2 days.
- ``P ticket:<appid>:<type>`` hash ``ticket``, ``expires_at``, current api_ticket; TTL 2 days.
- ``P tickets:<appid>:<type>`` zset ticket -> expires_at, every ticket ever issued; TTL 2 days.
- ``P codekey:<appid>`` string, base64 AES-256 key of encrypt_code / encrypt_card_id; no TTL.
- ``P user:<oa_openid>`` hash ``oa_openid``, ``mp_openid``, ``unionid``, ``nickname``, ``sex``.
- ``P uidx:<mp_openid|oa_openid|unionid>`` string -> oa_openid; no TTL.
- ``P login:<code>`` hash ``oa_openid``, ``app``, ``expires_at``, ``used``; TTL 1 day.
- ``P card:<card_id>`` hash: ``appid``, ``card_type``, ``use_custom_code``,
  ``get_custom_code_mode``, ``bind_openid``, ``quantity`` (stock left), ``total_quantity``,
  ``initial_quantity``,
  ``get_limit``, ``title``, ``begin_time``, ``end_time``, ``fixed_term``,
  ``fixed_begin_term`` (days after receipt before a FIX_TERM code is valid), ``status``
  (CARD_STATUS_*), ``approved`` (passed review once), ``refuse_reason``, ``cond_source``,
  ``created_at``, ``definition`` (JSON of the card as created and updated); no TTL.
- ``P got:<card_id>`` hash oa_openid -> codes received (get_limit); no TTL.
- ``P code:<card_id>:<code>`` hash: ``card_id``, ``code``, ``openid``, ``status``, ``outer_str``,
  ``received_at``, member fields (``activated``, ``membership_number``, ``bonus``, ``balance``,
  ``form``...), ``consumes`` / ``activations`` (how many card/code/consume and
  card/membercard/activate calls took effect on the code: an audit for tests); no TTL.
- ``P codeidx:<code>`` set of card_ids holding that code; no TTL.
- ``P holdings:<oa_openid>`` set of ``<card_id> <code>``; no TTL.
- ``P deposit:<card_id>`` set of deposited custom codes; no TTL.
- ``P pool:<card_id>`` list of deposited codes not yet issued; no TTL.
- ``P nonce:<card_id>:<nonce_str>:<timestamp>`` string, a used cardExt nonce; TTL 1 day.
- ``P actticket:<ticket>`` hash ``appid``, ``card_id``, ``code``, ``oa_openid``, ``fields``,
  ``custom_fields`` (JSON), ``expires_at``; TTL 1 day.
- ``P cards:<appid>`` zset card_id -> created at, the appid's cards (card/batchget); no TTL.
- ``P form:<card_id>`` string, JSON of the member card's activation form
  (activateuserform/set); no TTL.
- ``P cube:<card_id>:<YYYY-MM-DD>`` hash metric -> count (receive, verify, given, active) of
  that Asia/Shanghai day (datacube); no TTL.
- ``P cubeu:<card_id>:<YYYY-MM-DD>:<metric>`` set of openids behind those counts; no TTL.
- ``P skuremind:<card_id>`` string, a card_sku_remind was pushed; TTL 12 hours.
- ``P seq:page`` string, landing page id counter; no TTL.
- ``P page:<page_id>`` string, JSON ``{card_ids, scene, url}`` of a landing page
  (/_sim/take-from-landing-page); no TTL.
- ``P qr:<ticket>`` string, JSON ``{cards: [{card_id, code, openid, is_unique_code, outer_str,
  outer_id}], expires_at (0: permanent)}`` of a card QR code (/_sim/scan-qrcode); TTL its
  expire_seconds + 30 days.
- ``P qrused:<ticket>:<card_id>`` string, the oa_openid that took a once-only QR code's card
  (is_unique_code, or made with a code); no TTL.
- ``P whitelist`` string, JSON of the last test whitelist; no TTL.
- ``P tags`` hash tag id -> name, the Official Account's user tags (cgi-bin/tags/*); no TTL.
- ``P seq:tag`` string, tag id counter (ids from 100, as WeChat's own tags take 0-99); no TTL.
- ``P tagusers:<tag_id>`` set of the OA openids with that tag; no TTL.
- ``P usertags:<oa_openid>`` set of the user's tag ids; no TTL.
- ``P inbox:<oa_openid>`` list of JSON ``{msg_id, msgtype, card_id, at, via}``, the messages
  the user received (mass, preview, custom), oldest first, the last 500; no TTL.
- ``P seq:msg`` string, msg_id counter; no TTL.
- ``P mass:<msg_id>`` hash ``msg_id``, ``card_id``, ``status`` (SEND_SUCCESS), ``total``,
  ``filtered``, ``sent``, ``errors``, ``at``: a broadcast job (message/mass/get); TTL 2 days.
- ``P massclient:<sha1 of clientmsgid>`` string ``<msg_id> <at>``: the broadcast sent with
  that clientmsgid (WeChat refuses another for 24 h: 45065); TTL 2 days.
- ``P img:<id>`` string ``<png|jpg> <base64 of the image>``, an upload of media/uploadimg;
  TTL 30 days.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from contextvars import ContextVar, Token
from functools import partial
from typing import Any

import redis

GC_TTL = 2 * 86400  # garbage collection of tokens and tickets (longer than any lifetime)
DAY = 86400
PUSH_HISTORY = 200  # pushes remembered by default (``push_history`` in /_sim/config)
MAX_PUSH_HISTORY = 1_000_000


class _Key:
    """A key builder of ``Keys``: ``keys.code(card_id, code)`` is ``P code:<card_id>:<code>``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, keys: Keys, owner: type | None = None) -> Callable[..., str]:
        return partial(keys.k, self.name)


class _Fixed:
    """A key without parts: ``keys.clock`` is ``P clock``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, keys: Keys, owner: type | None = None) -> str:
        return keys.k(self.name)


class Keys:
    """Key builders under one prefix; the module's docstring says what each key holds."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    clock = _Fixed("clock")
    config = _Fixed("config")
    calls = _Fixed("calls")
    pushes = _Fixed("pushes")
    whitelist = _Fixed("whitelist")
    page_seq = _Fixed("seq:page")
    landing_page = _Key("page")  # (page_id)
    qrcode = _Key("qr")  # (ticket)
    qrcode_used = _Key("qrused")  # (ticket, card_id)
    fault = _Key("fault")  # (path)
    token = _Key("tok")  # (access_token)
    classic = _Key("classic")  # (appid)
    stable = _Key("stable")  # (appid)
    ticket = _Key("ticket")  # (appid, type)
    tickets = _Key("tickets")  # (appid, type)
    codekey = _Key("codekey")  # (appid)
    user = _Key("user")  # (oa_openid)
    uidx = _Key("uidx")  # (mp_openid | oa_openid | unionid)
    login = _Key("login")  # (code)
    card = _Key("card")  # (card_id)
    got = _Key("got")  # (card_id)
    code = _Key("code")  # (card_id, code)
    codeidx = _Key("codeidx")  # (code)
    holdings = _Key("holdings")  # (oa_openid)
    deposit = _Key("deposit")  # (card_id)
    pool = _Key("pool")  # (card_id)
    nonce = _Key("nonce")  # (card_id, nonce_str, timestamp)
    activate_ticket = _Key("actticket")  # (ticket)
    card_index = _Key("cards")  # (appid)
    activation_form = _Key("form")  # (card_id)
    cube = _Key("cube")  # (card_id, YYYY-MM-DD)
    cube_users = _Key("cubeu")  # (card_id, YYYY-MM-DD, metric)
    sku_remind = _Key("skuremind")  # (card_id)
    tags = _Fixed("tags")
    tag_seq = _Fixed("seq:tag")
    tag_users = _Key("tagusers")  # (tag_id)
    user_tags = _Key("usertags")  # (oa_openid)
    inbox = _Key("inbox")  # (oa_openid)
    msg_seq = _Fixed("seq:msg")
    mass = _Key("mass")  # (msg_id)
    mass_client = _Key("massclient")  # (sha1 of clientmsgid)
    image = _Key("img")  # (image id)


# The clock's offset as a call to WeChat read it when it began (``Clock.read_for_call``): the
# call's every reading of the clock is then one GET fewer (a call read it three to five times).
_CALL_OFFSET: ContextVar[float | None] = ContextVar("sandbox_clock_offset", default=None)


class Clock:
    """The sandbox clock: real time plus an offset kept in Redis (so every worker agrees)."""

    def __init__(self, r: redis.Redis, keys: Keys) -> None:
        self.r = r
        self.keys = keys

    def now(self) -> float:
        offset = _CALL_OFFSET.get()
        if offset is None:
            offset = float(self.r.get(self.keys.clock) or 0)
        return time.time() + offset

    def advance(self, seconds: float) -> float:
        offset = float(self.r.incrbyfloat(self.keys.clock, seconds))
        if _CALL_OFFSET.get() is not None:
            _CALL_OFFSET.set(offset)
        return time.time() + offset

    @staticmethod
    def read_for_call(offset: str | None) -> Token[float | None]:
        """The offset read with a call's first round trip, kept for that call; the token
        ends it (``ContextVar.reset``)."""
        return _CALL_OFFSET.set(float(offset or 0))

    @staticmethod
    def end_call(token: Token[float | None]) -> None:
        _CALL_OFFSET.reset(token)


def load_json(value: str | None, default: Any = None) -> Any:
    if not value:
        return default
    with suppress(ValueError):
        return json.loads(value)
    return default


def scan_delete(r: redis.Redis, pattern: str) -> int:
    """Delete every key matching ``pattern`` (SCAN + DEL; never FLUSHDB)."""
    deleted = 0
    batch: list[str] = []
    for key in _scan(r, pattern):
        batch.append(key)
        if len(batch) >= 500:
            deleted += r.delete(*batch)
            batch = []
    if batch:
        deleted += r.delete(*batch)
    return deleted


def _scan(r: redis.Redis, pattern: str) -> Iterator[str]:
    yield from r.scan_iter(match=_escape_glob(pattern[:-1]) + "*" if pattern.endswith("*")
                           else _escape_glob(pattern), count=500)


def _escape_glob(s: str) -> str:
    out = []
    for ch in s:
        if ch in "*?[]\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)
