"""The card catalogue: create, read, change, delete and restock cards; the member card's
activation form; and the one rule on issuing a card that has not passed WeChat's review.

Input arrives checked by ``bff.edges.admin.card_schemas`` (WeChat's rules, before any call). The
review state lives in the card's profile: ``pending`` from creation (or a change WeChat sends
back to review), then ``approved`` / ``rejected`` from WeChat's card_pass_check /
card_not_pass_check events or from what card/get reports; ``unknown`` for a card created
elsewhere, which WeChat alone judges.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import redis

from bff.domain import once as exactly_once
from bff.domain.catalogue_rules import (
    UPDATABLE_TYPE_FIELDS,
    activation_mode_problems,
    card_app_brand_problems,
)
from bff.domain.profiles import CardProfile, follow_definition, get_profile, set_review_state
from bff.domain.single_flight import filled
from bff.ground.errors import (
    Conflict,
    NotFound,
    Refusals,
    ServiceUnavailable,
    Unprocessable,
    refusals,
)
from bff.ground.local_cache import StampedCache
from bff.ground.store import keys
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import ErrCode, WeChatApiError, WeChatUnavailable

# WeChat's refusals of a card definition: our checks should have caught them first.
# (40005: a picture URL that is not one of the account's uploads, which only WeChat knows)
DEFINITION_ERRCODES = (41011, 45021, 40071, 40072, 40079, 40122, 47001, 40005)
REVIEW_OF_STATUS = {
    "CARD_STATUS_NOT_VERIFY": "pending", "CARD_STATUS_VERIFY_FAIL": "rejected",
    "CARD_STATUS_VERIFY_OK": "approved", "CARD_STATUS_DISPATCH": "approved",
    "CARD_STATUS_DELETE": "deleted",
}
ONCE_SECONDS = 86400  # how long an Idempotency-Key's answer is kept
ONCE_CLAIM_SECONDS = 60  # longer than one upstream call with its retries
NOT_ISSUABLE = {
    "pending": "has not passed WeChat's review yet",
    "rejected": "was refused by WeChat's review",
    "deleted": "is deleted",
}


# A card_id WeChat does not know (40073) is the operator's 404 (catalogue, issuing, codes,
# profiles); a member change keeps its own answer, 422 (bff.domain.members.changes).
UNKNOWN_CARD: Refusals = {
    ErrCode.INVALID_CARD_ID: (NotFound, "unknown card_id: the Official Account has no such card"),
}
# WeChat's refusals that come from the operator's input, as 404 / 409 / 422.
CATALOGUE_REFUSALS: Refusals = {
    **UNKNOWN_CARD,
    ErrCode.INVALID_CARD_STATUS: (Conflict, "WeChat refuses this for the card's status: {errmsg}"),
    ErrCode.STOCK_EMPTY: (Conflict, "the card has less stock than that to take away"),
    **{errcode: (Unprocessable, "WeChat refused the card: {errmsg}")
       for errcode in DEFINITION_ERRCODES},
}


def unknown_card() -> NotFound:
    """404 for a card_id WeChat does not know (``UNKNOWN_CARD``)."""
    error, message = UNKNOWN_CARD[ErrCode.INVALID_CARD_ID]
    return error(message, errcode=ErrCode.INVALID_CARD_ID)


def once(r: redis.Redis, scope: str, key: str | None, request: dict[str, Any],
         action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``action`` once per caller-supplied Idempotency-Key (none: every time), as
    ``bff.domain.once`` runs every key. WeChat has no way to confirm a card creation or a stock
    change whose answer was lost: the key is then spent (409: check the card)."""
    if key is None:
        return action()
    digest = exactly_once.digest(scope, key)
    result_key = keys.catalogue_once(digest, "result")
    fingerprint = exactly_once.fingerprint(request)

    def stored() -> dict[str, Any] | None:
        raw = r.get(result_key)
        if raw is None:
            return None
        record = json.loads(raw)
        if record["fp"] != fingerprint:
            raise exactly_once.key_reused()
        if record.get("uncertain"):
            raise exactly_once.unconfirmable("check the card before trying again with a new key")
        return record["answer"]

    def first() -> dict[str, Any]:
        try:
            answer = action()
        except WeChatUnavailable as e:
            if e.request_sent:
                r.set(result_key, json.dumps({"fp": fingerprint, "uncertain": True}),
                      ex=ONCE_SECONDS)
            raise
        r.set(result_key, json.dumps({"fp": fingerprint, "answer": answer}), ex=ONCE_SECONDS)
        return answer

    return exactly_once.run(r, keys.catalogue_once(digest, "claim"), stored=stored,
                            action=first, claim_seconds=ONCE_CLAIM_SECONDS)


# An OA openid, or a function that finds it (the caller's openid may cost a Redis read: asked
# only for a card in review).
Tester = str | Callable[[], str | None] | None


def is_tester(r: redis.Redis, tester: Tester) -> bool:
    """The Official Account openid is on the test whitelist the service last set."""
    oa_openid = tester() if callable(tester) else tester
    if not oa_openid:
        return False
    stored = r.get(keys.test_whitelist())
    return bool(stored) and oa_openid in (json.loads(stored).get("openid") or ())


def ensure_issuable(r: redis.Redis, profile: CardProfile, tester: Tester = None) -> None:
    """409 for a card that cannot be issued: not yet reviewed, refused, or deleted.

    A card still in review may go to a tester: ``tester`` (an OA openid) on the test whitelist,
    as WeChat lets whitelisted users take it (a test account's cards are never approved).
    """
    why = NOT_ISSUABLE.get(profile.review_state)
    if why is None:
        return
    if profile.review_state == "pending" and is_tester(r, tester):
        return
    reason = f" ({profile.review_reason})" if profile.review_reason else ""
    raise Conflict(f"card {profile.card_id} {why}{reason}: it cannot be issued")


KNOWN_SECONDS = 3600  # a card WeChat confirmed, in Redis
UNKNOWN_SECONDS = 60  # a card_id WeChat did not know, in Redis (it may be created meanwhile)
KNOWN_LOCAL_SECONDS = 300  # a confirmed card, in process memory (the add-card hot path)
KNOWN_LOCAL_ENTRIES = 4096
_known_here: StampedCache[str, bool] = StampedCache(maxsize=KNOWN_LOCAL_ENTRIES,
                                                    ttl=KNOWN_LOCAL_SECONDS)


def clear_caches() -> None:
    """Forget the cards confirmed in process memory (tests reuse one app across a flushed Redis)."""
    _known_here.clear()


def ensure_known(r: redis.Redis, wechat: WeChatApi, card_id: str) -> None:
    """404 when WeChat knows no card with this card_id (card/get, 40073); the answer is cached
    (a known card 5 min in process and 1 h in Redis, an unknown one 60 s in Redis, for every
    instance), and asked once however many requests want it at once
    (``bff.domain.single_flight``)."""
    if _known_here.get(card_id):
        return

    def ask() -> tuple[str, int]:
        try:
            wechat.card_get(card_id)
        except WeChatApiError as e:
            if e.errcode != ErrCode.INVALID_CARD_ID:
                raise
            return "0", UNKNOWN_SECONDS
        return "1", KNOWN_SECONDS

    if filled(r, keys.card_known(card_id), ask) != "1":
        raise unknown_card()
    _known_here.set(card_id, True)


REVIEW_RECHECK_SECONDS = 30  # a card still pending is re-asked of WeChat at most this often
REVIEW_RECHECK_WAIT = 2.0  # seconds a request waits for another one asking the same


def caught_up(r: redis.Redis, wechat: WeChatApi, profile: CardProfile) -> CardProfile:
    """The profile of a card still ``pending``, with WeChat's verdict if card/get has one.

    The verdict comes in card_pass_check / card_not_pass_check, pushes WeChat gives up on after
    3 tries: a lost one must not leave the card unissuable until an operator opens it. So the
    issuing path asks card/get about a pending card, at most once per
    ``REVIEW_RECHECK_SECONDS`` for every instance (one request asks, the others wait for its
    answer: ``bff.domain.single_flight``). WeChat unavailable: the card stays pending this time."""
    if profile.review_state != "pending":
        return profile
    card_id = profile.card_id

    def ask() -> tuple[str, int]:
        try:
            card = wechat.card_get(card_id).get("card") or {}
        except (WeChatApiError, WeChatUnavailable):
            return "pending", REVIEW_RECHECK_SECONDS
        state = REVIEW_OF_STATUS.get(_status(card) if isinstance(card, dict) else "", "pending")
        if state != "pending" and get_profile(r, card_id, fresh=True).review_state == "pending":
            set_review_state(r, card_id, state)
        return state, REVIEW_RECHECK_SECONDS

    try:
        state = filled(r, keys.review_asked(card_id), ask, wait_seconds=REVIEW_RECHECK_WAIT)
    except ServiceUnavailable:  # another request is still asking: pending, this time
        return profile
    return profile if state == "pending" else get_profile(r, card_id, fresh=True)


def issuable_profile(r: redis.Redis, wechat: WeChatApi, card_id: str,
                     tester: Tester = None) -> CardProfile:
    """The profile of a card that may be issued: WeChat knows it (404 otherwise; a card whose
    review this service has seen is known) and it is not pending, refused or deleted (409);
    pending is fine for ``tester``, an OA openid on the test whitelist. A card still pending
    is caught up with WeChat's verdict now and then (``caught_up``)."""
    profile = get_profile(r, card_id)
    if profile.review_state == "unknown":
        ensure_known(r, wechat, card_id)
    profile = caught_up(r, wechat, profile)
    ensure_issuable(r, profile, tester)
    return profile


def ensure_issuable_id(r: redis.Redis, wechat: WeChatApi, card_id: str,
                       tester: Tester = None) -> None:
    issuable_profile(r, wechat, card_id, tester)


def create_card(r: redis.Redis, wechat: WeChatApi, card: dict[str, Any],
                idempotency_key: str | None = None) -> str:
    """card/create; the new card waits for WeChat's review. One card per Idempotency-Key."""

    def create() -> dict[str, Any]:
        with refusals(CATALOGUE_REFUSALS):
            card_id = str(wechat.card_create(card)["card_id"])
        set_review_state(r, card_id, "pending")
        follow_definition(r, card_id, _base_info(card))
        return {"card_id": card_id}

    return once(r, "create", idempotency_key, card, create)["card_id"]


def list_cards(wechat: WeChatApi, offset: int, count: int,
               statuses: list[str] | None) -> dict[str, Any]:
    with refusals(CATALOGUE_REFUSALS):
        answer = wechat.card_batchget(offset, count, statuses)
    return {"card_ids": list(answer.get("card_id_list") or []),
            "total": int(answer.get("total_num") or 0)}


def _fetch(wechat: WeChatApi, card_id: str) -> dict[str, Any]:
    with refusals(CATALOGUE_REFUSALS):
        card = wechat.card_get(card_id).get("card") or {}
    if not isinstance(card, dict) or not card.get("card_type"):
        raise NotFound("unknown card_id: WeChat returned no card")
    return card


def _base_info(card: dict[str, Any]) -> dict[str, Any]:
    detail = card.get(str(card.get("card_type", "")).lower()) or {}
    base = detail.get("base_info") if isinstance(detail, dict) else None
    return base if isinstance(base, dict) else {}


def _status(card: dict[str, Any]) -> str:
    return str(_base_info(card).get("status") or "")


def get_card(r: redis.Redis, wechat: WeChatApi, card_id: str) -> dict[str, Any]:
    """``{card, review_state, review_reason, stock_alert}``; WeChat's status wins over a
    review state recorded earlier (a missed event is caught up here)."""
    card = _fetch(wechat, card_id)
    profile = get_profile(r, card_id, fresh=True)
    state = REVIEW_OF_STATUS.get(_status(card), profile.review_state)
    reason = profile.review_reason if state == "rejected" else None
    if state != profile.review_state:
        set_review_state(r, card_id, state, reason)
    follow_definition(r, card_id, _base_info(card))
    alert = r.hgetall(keys.stock_alert(card_id))
    return {"card": card, "review_state": state, "review_reason": reason,
            "stock_alert": {"detail": alert["detail"], "at": int(alert["at"])} if alert
            else None}


def update_card(r: redis.Redis, wechat: WeChatApi, card_id: str,
                change: dict[str, Any]) -> dict[str, Any]:
    """card/update with the changed fields; ``{send_check}`` (true: back to review)."""
    card = _fetch(wechat, card_id)
    card_type = str(card["card_type"])
    wrong = {name: [f"not a field of a {card_type} card"] for name in change
             if name != "base_info" and card_type not in UPDATABLE_TYPE_FIELDS.get(name, ())}
    detail = card.get(card_type.lower()) or {}
    merged = {**detail, **change,
              "base_info": {**(detail.get("base_info") or {}), **(change.get("base_info") or {})}}
    wrong.update(card_app_brand_problems(merged))
    if card_type == "MEMBER_CARD":
        wrong.update(activation_mode_problems(merged))
    if wrong:
        raise Unprocessable(f"the change does not fit the card: {_named(wrong)}", errors=wrong)
    with refusals(CATALOGUE_REFUSALS):
        answer = wechat.card_update(card_id, card_type, change)
    send_check = bool(answer.get("send_check"))
    if send_check:
        set_review_state(r, card_id, "pending")
    follow_definition(r, card_id, {**_base_info(card), **(change.get("base_info") or {})})
    return {"send_check": send_check}


def _named(problems: dict[str, Any], prefix: str = "") -> str:
    """``a.b: why; c: why`` of nested ``{field: [why] | {...}}``."""
    return "; ".join(_named(v, f"{prefix}{k}.") if isinstance(v, dict)
                     else f"{prefix}{k}: {' '.join(v)}" for k, v in problems.items())


def delete_card(r: redis.Redis, wechat: WeChatApi, card_id: str) -> None:
    with refusals(CATALOGUE_REFUSALS):
        wechat.card_delete(card_id)
    set_review_state(r, card_id, "deleted")


def change_stock(r: redis.Redis, wechat: WeChatApi, card_id: str, delta: int,
                 idempotency_key: str | None = None) -> dict[str, Any]:
    """card/modifystock by ``delta`` (positive adds, negative takes away); once per key."""

    def modify() -> dict[str, Any]:
        with refusals(CATALOGUE_REFUSALS):
            if delta > 0:
                wechat.modify_stock(card_id, increase=delta)
            else:
                wechat.modify_stock(card_id, reduce=-delta)
        return {"delta": delta}

    return once(r, f"stock:{card_id}", idempotency_key, {"delta": delta}, modify)


def record_stock_alert(r: redis.Redis, card_id: str, detail: str, at: int) -> None:
    """WeChat's card_sku_remind: the card's stock is running low."""
    r.hset(keys.stock_alert(card_id),
           mapping={"detail": detail[:512], "at": at or int(time.time())})


def set_activation_form(r: redis.Redis, wechat: WeChatApi, card_id: str,
                        form: dict[str, Any]) -> dict[str, Any]:
    """activateuserform/set, then keep what WeChat now shows (WeChat has no call to read it)."""
    with refusals(CATALOGUE_REFUSALS):
        wechat.membercard_activateuserform_set(card_id, form)
    r.set(keys.activation_form(card_id), json.dumps(form, ensure_ascii=False))
    return form


def get_activation_form(r: redis.Redis, card_id: str) -> dict[str, Any]:
    stored = r.get(keys.activation_form(card_id))
    if stored is None:
        raise NotFound("no activation form has been set for this card through the service")
    return json.loads(stored)
