"""Messages to followers (card messages) and user tags: cgi-bin/message/mass/sendall, send,
preview and get, cgi-bin/message/custom/send; cgi-bin/tags/create, get, getidlist,
members/batchtagging and batchuntagging, cgi-bin/user/tag/get.

Every simulated user follows the Official Account. A message lands in each receiver's inbox
(``GET /_sim/users/{openid}/messages``), where a card message can be opened and its card taken
(``POST /_sim/take-from-message``). A broadcast's job finishes at once: every follower in its
audience receives it, and ``MASSSENDJOBFINISH`` (Status, TotalCount, FilterCount, SentCount,
ErrorCount) is pushed before the answer, as WeChat pushes it when the job ends. A broadcast
carries a ``clientmsgid`` (WeChat's default: a digest of its audience and content); another
with the same one within 24 h is refused with 45065 and the first ``msg_id``.

The card rules are WeChat's for card messages: a card that passed review, with stock; a
custom-code card only with imported codes (deposit mode, codes left). Only ``msgtype: wxcard``
is sent (other message types: 40008). Not modelled: subscription accounts (every sandbox account
may broadcast), WeChat's filters (4 broadcasts a month per follower), the 48-hour window of
customer-service messages.

Errcodes: 40003 unknown openid, 40008 message type, 40050 unknown tag in a broadcast, 40130 an
openid list of fewer than 2 or more than 10,000, 40132 unknown WeChat ID (the sandbox takes a
user's nickname as their WeChat ID), 45065 a repeated clientmsgid, 45067 a clientmsgid over 64
bytes, 45157/45158/45056 a tag name taken / too long / too many tags, 45159 unknown tag in the
tag calls, 40032 more than 50 openids a tagging call, 45059 a user with 20 tags. Chosen where
WeChat's own is undocumented: 40078 a card that has not passed review, is deleted, or uses
custom codes given with each take; 45031 a card without stock (or imported codes left); 47001
an unknown msg_id in message/mass/get.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, jsonify
from flask.wrappers import Response

from bff.sandbox.cards import DEPOSIT_MODE, card_or_fail, supplies_codes
from bff.sandbox.core import Sandbox, WeChatError, format_error
from bff.sandbox.push import card_event, push_event
from bff.sandbox.state import DAY, GC_TTL
from bff.sandbox.web import WeChatCall, as_bool, ok, refuse_unless_oa, wechat_api

bp = Blueprint("wx_messages", __name__)

MIN_OPENIDS, MAX_OPENIDS = 2, 10_000
MAX_CLIENT_MSG_ID_BYTES = 64
INBOX_SIZE = 500
FIRST_TAG_ID = 100
MAX_TAGS, MAX_TAGS_PER_USER, MAX_TAG_NAME, MAX_TAGGING = 100, 20, 30, 50
MSG_ID_BASE = 1_000_000_000
MASS_HELPER = "mphelper"  # FromUserName of MASSSENDJOBFINISH: WeChat's broadcast assistant


# -- cards in messages ------------------------------------------------------------------------

def _wxcard(sb: Sandbox, call: WeChatCall) -> dict[str, str]:
    """The card a ``msgtype: wxcard`` body offers, if WeChat would send it."""
    body = call.body
    if body.get("msgtype") != "wxcard":
        raise WeChatError(40008, "invalid message type (the sandbox sends wxcard messages)")
    wxcard = body.get("wxcard")
    if not isinstance(wxcard, dict):
        raise format_error("wxcard.card_id is required")
    card = card_or_fail(sb, wxcard.get("card_id"), call.appid)
    if card["status"] not in ("CARD_STATUS_VERIFY_OK", "CARD_STATUS_DISPATCH"):
        raise WeChatError(40078, "invalid card status: only a card that passed review and is "
                                 "not deleted can be sent")
    if supplies_codes(card):
        raise WeChatError(40078, "invalid card status: a custom-code card is sent only with "
                                 "imported codes (get_custom_code_mode "
                                 f"{DEPOSIT_MODE})")
    if int(card.get("quantity") or 0) <= 0 or (
            card.get("get_custom_code_mode") == DEPOSIT_MODE
            and sb.r.llen(sb.keys.pool(card["card_id"])) <= 0):
        raise WeChatError(45031, "stock is zero")
    return card


def _new_msg_id(sb: Sandbox) -> int:
    return MSG_ID_BASE + int(sb.r.incr(sb.keys.msg_seq))


def deliver(sb: Sandbox, oa_openids: list[str], msg_id: int, card_id: str, via: str) -> None:
    """Put the card message in each receiver's inbox."""
    entry = json.dumps({"msg_id": str(msg_id), "msgtype": "wxcard", "card_id": card_id,
                        "at": int(sb.clock.now()), "via": via})
    pipe = sb.r.pipeline(transaction=False)
    for openid in oa_openids:
        pipe.rpush(sb.keys.inbox(openid), entry)
        pipe.ltrim(sb.keys.inbox(openid), -INBOX_SIZE, -1)
    pipe.execute()


def _user_exists(sb: Sandbox, openid: Any) -> bool:
    return isinstance(openid, str) and bool(openid) and bool(sb.r.exists(sb.keys.user(openid)))


def followers(sb: Sandbox) -> list[str]:
    """Every simulated user's OA openid."""
    start = len(sb.keys.user(""))
    return sorted(key[start:] for key in sb.r.scan_iter(match=sb.keys.user("*"), count=1000))


# -- broadcasts -------------------------------------------------------------------------------

def _client_msg_id(body: dict[str, Any], scope: Any) -> str:
    given = body.get("clientmsgid")
    if given is None or given == "":
        digest = json.dumps([scope, body.get("msgtype"), body.get("wxcard")], sort_keys=True,
                            default=str)
        return "auto:" + hashlib.sha1(digest.encode()).hexdigest()
    if not isinstance(given, str):
        raise format_error("clientmsgid must be a string")
    if len(given.encode("utf-8")) > MAX_CLIENT_MSG_ID_BYTES:
        raise WeChatError(45067, "clientmsgid size exceeds limit (64 bytes)")
    return given


def _claim_client_msg_id(sb: Sandbox, client_msg_id: str, msg_id: int) -> Response | None:
    """Record ``clientmsgid`` for this broadcast; the 45065 answer when it was sent within a
    day (WeChat names the first msg_id)."""
    key = sb.keys.mass_client(hashlib.sha1(client_msg_id.encode()).hexdigest())
    now = sb.clock.now()
    value = f"{msg_id} {now!r}"
    if sb.r.set(key, value, nx=True, ex=GC_TTL):
        return None
    first_id, _, at = (sb.r.get(key) or "").partition(" ")
    if first_id and at and now - float(at) < DAY:
        return jsonify(errcode=45065, errmsg="clientmsgid exist", msg_id=int(first_id))
    sb.r.set(key, value, ex=GC_TTL)  # older than a day: a new broadcast may use it
    return None


def _broadcast(sb: Sandbox, call: WeChatCall, receivers: list[str], unknown: int,
               scope: Any) -> Response:
    card = _wxcard(sb, call)
    msg_id = _new_msg_id(sb)
    refused = _claim_client_msg_id(sb, _client_msg_id(call.body, scope), msg_id)
    if refused is not None:
        return refused
    deliver(sb, receivers, msg_id, card["card_id"], "mass")
    total = len(receivers) + unknown
    job = {"msg_id": msg_id, "card_id": card["card_id"], "status": "SEND_SUCCESS",
           "total": total, "filtered": len(receivers), "sent": len(receivers),
           "errors": unknown, "at": int(sb.clock.now())}
    pipe = sb.r.pipeline()
    pipe.hset(sb.keys.mass(str(msg_id)), mapping=job)
    pipe.expire(sb.keys.mass(str(msg_id)), GC_TTL)
    pipe.execute()
    push_event(sb, card_event(sb, "MASSSENDJOBFINISH", MASS_HELPER, MsgID=msg_id,
                              Status="sendsuccess", TotalCount=total,
                              FilterCount=len(receivers), SentCount=len(receivers),
                              ErrorCount=unknown))
    return ok(msg_id=msg_id)


def _tag_id(value: Any) -> int | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        return int(value)
    raise format_error("tag_id must be an integer")


@wechat_api(bp, "/cgi-bin/message/mass/sendall", oa_only=True)
def mass_sendall(call: WeChatCall) -> Response:
    """``filter: {is_to_all, tag_id}`` (``group_id``, the old name of ``tag_id``, too)."""
    sb = call.sb
    target = call.body.get("filter")
    if not isinstance(target, dict):
        raise format_error("filter is required")
    if as_bool(target.get("is_to_all", False)):
        return _broadcast(sb, call, followers(sb), 0, "all")
    tag_id = _tag_id(target.get("tag_id", target.get("group_id")))
    if tag_id is None or not sb.r.hexists(sb.keys.tags, str(tag_id)):
        raise WeChatError(40050, "invalid tag id")
    members = sorted(sb.r.smembers(sb.keys.tag_users(str(tag_id))))
    return _broadcast(sb, call, members, 0, {"tag_id": tag_id})


@wechat_api(bp, "/cgi-bin/message/mass/send", oa_only=True)
def mass_send(call: WeChatCall) -> Response:
    """``touser``: 2 to 10,000 openids; unknown ones are counted as errors (ErrorCount)."""
    sb = call.sb
    touser = call.body.get("touser")
    if not isinstance(touser, list) or not all(isinstance(o, str) for o in touser):
        raise format_error("touser must be a list of openids")
    if len(touser) < MIN_OPENIDS:
        raise WeChatError(40130, "invalid openid list size, at least two openid")
    if len(touser) > MAX_OPENIDS:
        raise WeChatError(40130, "invalid openid list size, at most 10000 openid")
    wanted = list(dict.fromkeys(touser))
    pipe = sb.r.pipeline(transaction=False)
    for openid in wanted:
        pipe.exists(sb.keys.user(openid))
    found = pipe.execute()
    receivers = [o for o, there in zip(wanted, found, strict=True) if there]
    return _broadcast(sb, call, receivers, len(wanted) - len(receivers), sorted(wanted))


@wechat_api(bp, "/cgi-bin/message/mass/preview")
def mass_preview(call: WeChatCall) -> Response:
    """A preview to one user: ``touser`` (openid) or ``towxname`` (their WeChat ID)."""
    sb, body = call.sb, call.body
    refuse_unless_oa(call)
    if body.get("touser"):
        openid = body["touser"]
        if not _user_exists(sb, openid):
            raise WeChatError(40003, "invalid openid")
    elif body.get("towxname"):
        openid = _by_wxname(sb, body["towxname"])
    else:
        raise format_error("touser or towxname is required")
    card = _wxcard(sb, call)
    msg_id = _new_msg_id(sb)
    deliver(sb, [openid], msg_id, card["card_id"], "preview")
    return jsonify(errcode=0, errmsg="preview success", msg_id=msg_id)


def _by_wxname(sb: Sandbox, wxname: Any) -> str:
    if isinstance(wxname, str):
        for openid in followers(sb):
            if sb.r.hget(sb.keys.user(openid), "nickname") == wxname:
                return openid
    raise WeChatError(40132, "invalid username")


@wechat_api(bp, "/cgi-bin/message/mass/get", oa_only=True)
def mass_get(call: WeChatCall) -> Response:
    sb = call.sb
    msg_id = str(call.body.get("msg_id", ""))
    job = sb.r.hgetall(sb.keys.mass(msg_id)) if msg_id.isdigit() else {}
    if not job:
        raise format_error("unknown msg_id")
    return ok(msg_id=int(msg_id), msg_status=job["status"])


@wechat_api(bp, "/cgi-bin/message/custom/send")
def custom_send(call: WeChatCall) -> Response:
    """A customer-service message to one user; WeChat answers no msg_id (the inbox has one)."""
    sb, body = call.sb, call.body
    refuse_unless_oa(call)
    if not _user_exists(sb, body.get("touser")):
        raise WeChatError(40003, "invalid openid")
    card = _wxcard(sb, call)
    deliver(sb, [body["touser"]], _new_msg_id(sb), card["card_id"], "custom")
    return ok()


# -- tags -------------------------------------------------------------------------------------

def _known_tag(sb: Sandbox, value: Any) -> str:
    tag_id = _tag_id(value)
    if tag_id is None or not sb.r.hexists(sb.keys.tags, str(tag_id)):
        raise WeChatError(45159, "invalid tag")
    return str(tag_id)


@wechat_api(bp, "/cgi-bin/tags/create", oa_only=True)
def tags_create(call: WeChatCall) -> Response:
    sb = call.sb
    tag = call.body.get("tag")
    name = tag.get("name") if isinstance(tag, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise format_error("tag.name is required")
    if len(name) > MAX_TAG_NAME:
        raise WeChatError(45158, "tag name too long")
    existing = sb.r.hgetall(sb.keys.tags)
    if name in existing.values():
        raise WeChatError(45157, "tag name already exists")
    if len(existing) >= MAX_TAGS:
        raise WeChatError(45056, "too many tags")
    tag_id = FIRST_TAG_ID - 1 + int(sb.r.incr(sb.keys.tag_seq))
    sb.r.hset(sb.keys.tags, str(tag_id), name)
    return ok(tag={"id": tag_id, "name": name})


@wechat_api(bp, "/cgi-bin/tags/get", method="GET", oa_only=True)
def tags_get(call: WeChatCall) -> Response:
    sb = call.sb
    tags = sb.r.hgetall(sb.keys.tags)
    return ok(tags=[{"id": int(i), "name": name, "count": sb.r.scard(sb.keys.tag_users(i))}
                    for i, name in sorted(tags.items(), key=lambda kv: int(kv[0]))])


def _tagging(call: WeChatCall) -> tuple[str, list[str]]:
    sb, body = call.sb, call.body
    refuse_unless_oa(call)
    openids = body.get("openid_list")
    if not isinstance(openids, list) or not openids:
        raise format_error("openid_list is required")
    if len(openids) > MAX_TAGGING:
        raise WeChatError(40032, "invalid openid list size, at most 50 openids")
    tag_id = _known_tag(sb, body.get("tagid"))
    for openid in openids:
        if not _user_exists(sb, openid):
            raise WeChatError(40003, "invalid openid")
    return tag_id, list(dict.fromkeys(openids))


@wechat_api(bp, "/cgi-bin/tags/members/batchtagging")
def tags_batch_tagging(call: WeChatCall) -> Response:
    sb = call.sb
    tag_id, openids = _tagging(call)
    for openid in openids:
        tags = sb.r.smembers(sb.keys.user_tags(openid))
        if tag_id not in tags and len(tags) >= MAX_TAGS_PER_USER:
            raise WeChatError(45059, "user has too many tags")
    return _retag(sb, tag_id, openids, tagged=True)


@wechat_api(bp, "/cgi-bin/tags/members/batchuntagging")
def tags_batch_untagging(call: WeChatCall) -> Response:
    tag_id, openids = _tagging(call)
    return _retag(call.sb, tag_id, openids, tagged=False)


def _retag(sb: Sandbox, tag_id: str, openids: list[str], *, tagged: bool) -> Response:
    """Tag or untag the users: a user's tags and the tag's users change together."""
    pipe = sb.r.pipeline()
    write = pipe.sadd if tagged else pipe.srem
    for openid in openids:
        write(sb.keys.user_tags(openid), tag_id)
        write(sb.keys.tag_users(tag_id), openid)
    pipe.execute()
    return ok()


@wechat_api(bp, "/cgi-bin/tags/getidlist", oa_only=True)
def tags_of_user(call: WeChatCall) -> Response:
    sb = call.sb
    openid = call.body.get("openid")
    if not _user_exists(sb, openid):
        raise WeChatError(40003, "invalid openid")
    return ok(tagid_list=sorted(int(t) for t in sb.r.smembers(sb.keys.user_tags(openid))))


@wechat_api(bp, "/cgi-bin/user/tag/get")
def users_of_tag(call: WeChatCall) -> Response:
    """``{tagid, next_openid?}`` -> ``{count, data: {openid: [...]}, next_openid}``, 10,000 a
    page, in openid order."""
    sb, body = call.sb, call.body
    refuse_unless_oa(call)
    tag_id = _known_tag(sb, body.get("tagid"))
    after = body.get("next_openid") or ""
    members = sorted(o for o in sb.r.smembers(sb.keys.tag_users(tag_id)) if o > str(after))
    page = members[:MAX_OPENIDS]
    answer: dict[str, Any] = {"count": len(page), "next_openid": page[-1] if page else ""}
    if page:
        answer["data"] = {"openid": page}
    return ok(**answer)
