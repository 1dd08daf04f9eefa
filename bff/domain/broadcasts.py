"""Card messages: broadcasts (to every follower, a tag or an openid list), previews,
customer-service card messages, and what became of a broadcast.

Input arrives checked by ``bff.edges.admin.broadcast_schemas`` (the list bounds, one audience). The
rules here:

- **What may go out.** A card goes out in a message only when it may be issued (not pending,
  refused or deleted: ``bff.domain.catalogue``) and WeChat can hand out its codes: a custom-code
  card
  needs imported codes (``GET_CUSTOM_CODE_MODE_DEPOSIT`` with codes deposited) and any card
  needs stock. Refused (409) before any message is sent; the card's own state is asked of
  WeChat (card/get, and getdepositcount for a custom-code card), a review state the service
  already knows refuses with no call at all.
- **Once per client_msg_id.** Every broadcast is sent with a ``clientmsgid``: the operator's
  ``client_msg_id``, else one made for it. WeChat refuses a second send with the same one (45065,
  naming the first msg_id) for 24 h, so a retried call never sends twice. The service keeps the
  operator's ``client_msg_id`` with the broadcast (``BROADCAST_TTL``): the same send again is
  answered with the first broadcast (``replayed``), without a call; the same id for another
  card or audience is a 422. A send WeChat refused leaves nothing behind (the id can be used
  again).
- **What became of it.** WeChat pushes ``MASSSENDJOBFINISH`` (Status, TotalCount,
  FilterCount, SentCount, ErrorCount) when the job ends; the event worker records it by msg_id
  (``record_job_finish``), whichever comes first, the push or the send's answer. Until then
  ``message/mass/get`` says whether it is still sending.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import redis

from bff.domain import once
from bff.domain.catalogue import UNKNOWN_CARD, ensure_issuable, get_card
from bff.domain.profiles import get_profile
from bff.ground.errors import Conflict, NotFound, Refusals, Unprocessable, refusals
from bff.ground.store import keys, release_claim
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import ErrCode, WeChatApiError

BROADCAST_TTL = 90 * 86400  # a broadcast, its client_msg_id and its job result are kept
CLAIM_SECONDS = 60  # longer than one upstream call with its retries
DEPOSIT_MODE = "GET_CUSTOM_CODE_MODE_DEPOSIT"
# message/mass/get's msg_status -> the service's status
STATUS_OF_MASS_GET = {"SEND_SUCCESS": "sent", "SENDING": "sending", "SEND_FAIL": "failed",
                      "DELETE": "deleted"}

MESSAGE_REFUSALS: Refusals = {
    **UNKNOWN_CARD,
    ErrCode.INVALID_OPENID: (NotFound, "no such follower: an openid is not an openid of this "
                                       "Official Account"),
    ErrCode.INVALID_TAG: (NotFound, "no such tag: the Official Account has no tag with this "
                                    "tag_id"),
    ErrCode.INVALID_WXNAME: (NotFound, "no such WeChat ID (wxname) follows the Official "
                                       "Account"),
    ErrCode.OPENID_LIST_SIZE: (Unprocessable, "WeChat refused the openid list: {errmsg}"),
    ErrCode.INVALID_CARD_STATUS: (Conflict, "WeChat refuses to send this card: {errmsg}"),
    ErrCode.STOCK_EMPTY: (Conflict, "the card has no stock left: add stock first"),
}


# -- what may go out -------------------------------------------------------------------------

def ensure_sendable(r: redis.Redis, wechat: WeChatApi, card_id: str) -> None:
    """409 unless the card may go out in a message: issuable (review), and WeChat can hand out
    its codes (a custom-code card with deposited codes; stock left). 404 for an unknown card."""
    ensure_issuable(r, get_profile(r, card_id))  # known refusals: no call
    seen = get_card(r, wechat, card_id)  # WeChat's status wins over what was recorded
    ensure_issuable(r, get_profile(r, card_id, fresh=True))
    card = seen["card"]
    base = (card.get(str(card.get("card_type", "")).lower()) or {}).get("base_info") or {}
    if base.get("use_custom_code"):
        if base.get("get_custom_code_mode") != DEPOSIT_MODE:
            raise Conflict(f"card {card_id} uses custom codes given with each take: a message "
                           "can offer it only once its codes are imported (get_custom_code_mode "
                           f"{DEPOSIT_MODE}, bff codes import)")
        with refusals(MESSAGE_REFUSALS):
            deposited = int(wechat.code_deposit_count(card_id).get("count") or 0)
        if deposited <= 0:
            raise Conflict(f"card {card_id} has no imported codes: import them first "
                           "(bff codes import, POST /v1/admin/cards/{card_id}/codes)")
    quantity = (base.get("sku") or {}).get("quantity")
    if quantity is not None and int(quantity) <= 0:
        raise Conflict(f"card {card_id} has no stock left: add stock first "
                       "(POST /v1/admin/cards/{card_id}/stock)")


# -- broadcasts ------------------------------------------------------------------------------

def _fingerprint(card_id: str, to: dict[str, Any]) -> str:
    return once.digest(json.dumps({"card_id": card_id, "to": to}, sort_keys=True))


def _audience(to: dict[str, Any]) -> dict[str, Any]:
    if to.get("all"):
        return {"audience": "all", "tag_id": None, "openid_count": None}
    if "tag_id" in to:
        return {"audience": "tag", "tag_id": int(to["tag_id"]), "openid_count": None}
    return {"audience": "openids", "tag_id": None, "openid_count": len(to["openids"])}


def send(r: redis.Redis, wechat: WeChatApi, card_id: str, to: dict[str, Any],
         client_msg_id: str | None = None) -> tuple[dict[str, Any], bool]:
    """Broadcast a card message; ``(broadcast, replayed)``. ``replayed``: this client_msg_id
    was sent before, and the answer is that first broadcast (no second message)."""
    fingerprint = _fingerprint(card_id, to)
    broadcast_id = "b" + secrets.token_hex(10)
    claim_key = owner = None
    if client_msg_id is not None:
        claim_key = keys.broadcast_client(once.digest(client_msg_id))
        owner = broadcast_id
        # Stays SET NX, not a Lock: a once-marker that becomes the client_msg_id's record.
        while not r.set(claim_key, owner, nx=True, ex=CLAIM_SECONDS):
            first = r.get(claim_key)
            if first is None:
                continue  # released meanwhile: claim it
            return _replay(r, first, fingerprint), True
    try:
        ensure_sendable(r, wechat, card_id)
        clientmsgid = client_msg_id or broadcast_id
        try:
            if to.get("openids"):
                answer = _sent(lambda: wechat.mass_send(card_id, to["openids"],
                                                        clientmsgid=clientmsgid))
            else:
                answer = _sent(lambda: wechat.mass_sendall(
                    card_id, is_to_all=bool(to.get("all")), tag_id=to.get("tag_id"),
                    clientmsgid=clientmsgid))
        except _AlreadySent as e:
            answer, replayed = e.answer, True
        else:
            replayed = False
        record = _store(r, broadcast_id, card_id, to, client_msg_id, fingerprint,
                        str(answer.get("msg_id") or ""))
    except BaseException:
        if claim_key is not None and owner is not None:
            release_claim(r, claim_key, owner)
        raise
    if claim_key is not None:
        r.set(claim_key, broadcast_id, ex=BROADCAST_TTL)
    return _public(r, record), replayed


class _AlreadySent(Exception):
    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__("clientmsgid exist")
        self.answer = answer


def _sent(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """WeChat's answer to a send; 45065 (this clientmsgid was sent: a retry whose first answer
    was lost, or an earlier send) raises ``_AlreadySent`` with the first send's msg_id."""
    try:
        with refusals(MESSAGE_REFUSALS):
            return call()
    except WeChatApiError as e:
        if e.errcode != ErrCode.CLIENT_MSG_ID_EXISTS:
            raise
        if not e.answer.get("msg_id"):
            raise Conflict("WeChat already sent a broadcast with this client_msg_id (45065) "
                           "and did not say which", errcode=e.errcode) from None
        raise _AlreadySent(e.answer) from None


def _store(r: redis.Redis, broadcast_id: str, card_id: str, to: dict[str, Any],
           client_msg_id: str | None, fingerprint: str, msg_id: str) -> dict[str, str]:
    record = {"broadcast_id": broadcast_id, "card_id": card_id, "msg_id": msg_id,
              "client_msg_id": client_msg_id or "", "fingerprint": fingerprint,
              "audience": json.dumps(_audience(to)), "created_at": str(int(time.time()))}
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.broadcast(broadcast_id), mapping=record)
    pipe.expire(keys.broadcast(broadcast_id), BROADCAST_TTL)
    if msg_id:
        pipe.set(keys.broadcast_msg(msg_id), broadcast_id, ex=BROADCAST_TTL)
    pipe.execute()
    return record


def _replay(r: redis.Redis, broadcast_id: str, fingerprint: str) -> dict[str, Any]:
    record = r.hgetall(keys.broadcast(broadcast_id))
    if not record:
        raise Conflict("a broadcast with this client_msg_id is being sent; retry shortly",
                       retry_after=1)
    if record.get("fingerprint") != fingerprint:
        raise Unprocessable("this client_msg_id was used for another card or audience "
                            f"(broadcast {broadcast_id})")
    return _public(r, record)


def _public(r: redis.Redis, record: dict[str, str]) -> dict[str, Any]:
    job = r.hgetall(keys.broadcast_job(record["msg_id"])) if record.get("msg_id") else {}
    answer: dict[str, Any] = {
        "broadcast_id": record["broadcast_id"],
        "msg_id": record.get("msg_id") or None,
        "card_id": record["card_id"],
        **json.loads(record.get("audience") or "{}"),
        "client_msg_id": record.get("client_msg_id") or None,
        "created_at": int(record.get("created_at") or 0),
        "status": "sending", "wechat_status": None,
        "total": None, "filtered": None, "sent": None, "errors": None, "finished_at": None,
    }
    if job:
        answer.update(
            status="sent" if _squeeze(job.get("status")) == "sendsuccess" else "failed",
            wechat_status=job.get("status") or None,
            total=int(job.get("total") or 0), filtered=int(job.get("filtered") or 0),
            sent=int(job.get("sent") or 0), errors=int(job.get("errors") or 0),
            finished_at=int(job.get("at") or 0) or None)
    return answer


def _squeeze(status: str | None) -> str:
    """WeChat writes ``sendsuccess`` and ``send success`` alike."""
    return "".join((status or "").split()).lower()


def status(r: redis.Redis, wechat: WeChatApi, broadcast_id: str) -> dict[str, Any]:
    """The broadcast with what became of it: the MASSSENDJOBFINISH push's counts once it
    came, else ``message/mass/get``'s status (no counts yet)."""
    record = r.hgetall(keys.broadcast(broadcast_id))
    if not record:
        raise NotFound("no such broadcast")
    answer = _public(r, record)
    if answer["finished_at"] is None and answer["msg_id"]:
        with refusals(MESSAGE_REFUSALS):
            got = wechat.mass_get(answer["msg_id"])
        wechat_status = str(got.get("msg_status") or "")
        answer.update(status=STATUS_OF_MASS_GET.get(wechat_status, "sending"),
                      wechat_status=wechat_status or None)
    return answer


def record_job_finish(r: redis.Redis, fields: dict[str, str], at: int) -> bool:
    """The ``MASSSENDJOBFINISH`` push: the job's result, kept by its msg_id (the broadcast may
    be recorded after the push arrives). Idempotent; False without a MsgID."""
    msg_id = (fields.get("MsgID") or fields.get("MsgId") or "").strip()
    if not msg_id or len(msg_id) > 64:
        return False

    def count(name: str) -> int:
        value = (fields.get(name) or "").strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) <= 11 else 0

    key = keys.broadcast_job(msg_id)
    pipe = r.pipeline(transaction=True)
    pipe.hset(key, mapping={
        "status": (fields.get("Status") or "")[:64], "total": count("TotalCount"),
        "filtered": count("FilterCount"), "sent": count("SentCount"),
        "errors": count("ErrorCount"), "at": at or int(time.time())})
    pipe.expire(key, BROADCAST_TTL)
    pipe.execute()
    return True


# -- previews and customer-service messages -------------------------------------------------

def preview(r: redis.Redis, wechat: WeChatApi, card_id: str, *, openid: str | None = None,
            wxname: str | None = None) -> dict[str, Any]:
    """A preview of the card message to one follower (openid) or WeChat ID (wxname)."""
    ensure_sendable(r, wechat, card_id)
    with refusals(MESSAGE_REFUSALS):
        answer = wechat.mass_preview(card_id, openid=openid, wxname=wxname)
    msg_id = answer.get("msg_id")
    return {"card_id": card_id, "openid": openid, "wxname": wxname,
            "msg_id": str(msg_id) if msg_id else None}


def card_message(r: redis.Redis, wechat: WeChatApi, openid: str, card_id: str
                 ) -> dict[str, Any]:
    """A customer-service card message (message/custom/send, msgtype wxcard) to one follower."""
    ensure_sendable(r, wechat, card_id)
    with refusals(MESSAGE_REFUSALS):
        wechat.custom_send_card(openid, card_id)
    return {"openid": openid, "card_id": card_id, "sent_at": int(time.time())}
