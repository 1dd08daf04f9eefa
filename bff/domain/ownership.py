"""Who owns a card code, and how a code is found. The one home of these rules.

A code belongs to the Official Account (OA) openid WeChat gave it to: the holding recorded
from WeChat's ``user_get_card`` push, else ``/card/code/get``. A caller owns it only when that
openid is provably the caller's:

- the caller's OA openid is known (an H5 session comes from web authorization; a Mini Program
  session through an identity link) and equal to the owner; or
- the caller's unionid (from ``jscode2session``) equals the owner's (``/cgi-bin/user/info``,
  cached a day); the link is recorded (source ``user_info``); or
- WeChat pushed that the owner received this code, not as a gift, through a cardExt this
  service signed for the caller: the cardExt's ``outer_str`` carries a proof, an HMAC of the
  caller's Mini Program openid and the card (``card_ext_outer_str``). WeChat hands it back in
  ``user_get_card`` (OuterStr) and ``/card/code/get`` (outer_str). ``outer_str`` is not
  signed, so a proof can be copied into another channel (an activation link, a QR code): it
  counts only with the code's encrypt_code, which WeChat hands back to the caller's own
  ``wx.addCard``, shown within ``PROOF_CLAIM_WINDOW`` of WeChat's receipt. The link is
  recorded (source ``card_ext``).

A new link is never a side effect of the check: ``check_owner`` writes nothing and returns a
``Claim``; ``settling`` reserves the link, reads what could contradict it (once, after the
reservation) and ``settle`` writes the link (and the holding) once the request has succeeded,
so a refused request leaves nothing behind. Holding a code or an encrypt_code alone proves
nothing. When the proof may still be on its way (the code carries the caller's proof but
WeChat's push has not reached us), the answer is a retryable 409; nothing is linked on a
guess.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import redis

from bff.domain import identity
from bff.domain.holdings import Holding, get_holding, holder_unionid, holding_write, holdings_of
from bff.domain.identity import IdentityConflict, identity_of
from bff.domain.pool import pool_card_of
from bff.ground.errors import BadRequest, Conflict, Forbidden, NotFound, Refusals, refusal
from bff.ground.store import coalesce, keys
from bff.ground.wechat.api import normalise_encrypt_code
from bff.ground.wechat.errors import (
    Busy,
    ErrCode,
    QuotaExceeded,
    TokenInvalid,
    WeChatApiError,
    WeChatUnavailable,
)

if TYPE_CHECKING:
    from bff.ground.config import Settings
    from bff.ground.wechat.api import WeChatApi

log = logging.getLogger(__name__)

NOT_YOURS = "this card code belongs to another user"
NOT_LINKED = ("this card code belongs to another user, or your WeChat account is not linked to "
              "the Official Account yet")
RECEIPT_PENDING = ("WeChat has not yet confirmed that you received this card; retry in a "
                   "moment")
RECEIPT_RETRY_AFTER = 2
# WeChat retries a push 3 times, 5 s apart at most: a receipt not pushed this long after the
# signature is not coming, and the code's own record stands in for it.
RECEIPT_GRACE = 30
ALREADY_REDEEMED = "the code has already been redeemed"
USERINFO_CACHE_SECONDS = 86_400
DECRYPTED_SECONDS = 86_400
UNDECRYPTABLE_SECONDS = 600

# -- statuses --------------------------------------------------------------------------------
# FINAL: a status a replayed or late event never moves back from.
# HIDDEN: not listed among the user's cards.
# GONE: no longer the user's card (deleted, given away, or the gift offer lapsed).
FINAL = frozenset({"CONSUMED", "GIFTED", "DELETE"})
HIDDEN = frozenset({"DELETE", "GIFTED"})
GONE = frozenset({"DELETE", "GIFTED", "GIFT_TIMEOUT"})


def is_final(status: str) -> bool:
    return status in FINAL


def is_hidden(status: str) -> bool:
    return status in HIDDEN


def is_gone(status: str) -> bool:
    return status in GONE


class Caller(Protocol):
    mp_openid: str | None
    unionid: str | None

    @property
    def oa_openid(self) -> str | None: ...


# -- finding a code ----------------------------------------------------------------------------

# WeChat's errcodes about a code, in words.
CODE_REFUSALS: Refusals = {
    ErrCode.INVALID_SERIAL_CODE: (NotFound, "unknown code: no card holds it (custom codes also "
                                            "need their card_id)"),
    ErrCode.CODE_CONSUMED: (Conflict, ALREADY_REDEEMED),
    ErrCode.CARD_DELETED_OR_GIFTING: (Conflict, "the card was deleted by its holder or is being "
                                                "given to a friend"),
    ErrCode.INVALID_TIME: (Conflict, "the code is not valid yet: its card's validity has "
                                           "not begun"),
}


def translate_code_error(e: WeChatApiError) -> Exception:
    """WeChat's errcodes about a code, in words; any other error is left to the app's mapping."""
    return refusal(e, CODE_REFUSALS)


def resolve_code(r: redis.Redis, wechat: WeChatApi, *, code: str | None = None,
                 encrypt_code: str | None = None) -> str:
    """The real code: ``code`` as given, or ``encrypt_code`` decrypted (normalised once by
    ``normalise_encrypt_code``). A value WeChat cannot decrypt names no code: 404, as an unknown
    code is (any string may be an encrypt_code, so the spec cannot call it malformed; a 400
    would be an answer the spec does not predict). WeChat's other errors are the app's to
    answer (``wechat_failure``).

    An encrypt_code is its code sealed by WeChat: the answer never changes, so WeChat's answer,
    either way, is kept (``keys.decrypted``). A page opened again, or a retry, costs no call of
    the merchant's quota, and neither does the same junk sent twice."""
    if code and code.strip():
        return code.strip()
    if not encrypt_code:
        raise BadRequest("give either code or encrypt_code")
    normalised = normalise_encrypt_code(encrypt_code)
    key = keys.decrypted(hashlib.sha256(normalised.encode()).hexdigest())
    [known] = coalesce.send(r, lambda pipe: [pipe.get(key)])
    if known is None:
        known = _decrypt(wechat, normalised)
        seconds = DECRYPTED_SECONDS if known[0] == "=" else UNDECRYPTABLE_SECONDS
        # kept with the request's next round trip (the holding's read); lost, the answer
        # stands and the next request asks WeChat again
        coalesce.later(r, lambda pipe: [pipe.set(key, known, ex=seconds)])
    if known[0] == "!":
        raise NotFound("no code matches this encrypt_code (it must come from this Official "
                       "Account's cards, URL-decoded once)", errcode=int(known[1:]))
    return known[1:]


# WeChat's errcodes that say the encrypt_code itself names no code: kept as such. Any other
# (this instance's IP not whitelisted, the API not authorised, a token refused...) says nothing
# about the encrypt_code and is the app's to answer (502), never kept.
NO_SUCH_ENCRYPT_CODE = frozenset({ErrCode.INVALID_SERIAL_CODE, ErrCode.INVALID_ENCODING})


def _decrypt(wechat: WeChatApi, encrypt_code: str) -> str:
    """WeChat's answer to ``card/code/decrypt`` as ``keys.decrypted`` keeps it."""
    try:
        answer = wechat.code_decrypt(encrypt_code)
    except WeChatApiError as e:
        if e.errcode in NO_SUCH_ENCRYPT_CODE:
            return f"!{e.errcode}"
        raise
    real = str(answer.get("code") or "")
    if not real:
        raise BadRequest("the encrypt_code did not decrypt to a card code")
    return f"={real}"


@dataclass
class CodeFacts:
    """What is known of a code: from its recorded holding, else from ``/card/code/get``."""

    card_id: str
    code: str
    oa_openid: str
    status: str
    can_consume: bool
    outer_str: str = ""
    # WeChat's word on how it was received (user_get_card): "push" (through a cardExt or
    # another channel), "gift" (from a friend), "" (no push seen yet); and when (CreateTime).
    receipt: str = ""
    received_at: int = 0
    recorded: Holding | None = None  # the holding these facts were read from
    # the owner's unionid as WeChat's receipt push gave it (holdings.holder_unionid), or ""
    owner_unionid: str = ""


def code_facts(r: redis.Redis, wechat: WeChatApi, code: str, card_id: str | None) -> CodeFacts:
    """The facts of ``code``; 404 when WeChat knows no such code, or not as a code of card_id.

    WeChat is asked only when no holding is recorded, with ``card_id`` or, when none is given,
    the card whose pool the code was loaded into (a custom code needs its card_id)."""
    h = get_holding(r, code)
    if h and h.oa_openid and h.card_id:
        facts = CodeFacts(card_id=h.card_id, code=code, oa_openid=h.oa_openid, status=h.status,
                          can_consume=h.status == "NORMAL", outer_str=h.outer_str,
                          receipt=h.receipt, received_at=h.received_at, recorded=h,
                          owner_unionid=holder_unionid(h))
    else:
        try:
            info = wechat.code_get(code, card_id=card_id or pool_card_of(r, code))
        except WeChatApiError as e:
            raise translate_code_error(e) from None
        facts = CodeFacts(card_id=str((info.get("card") or {}).get("card_id") or card_id or ""),
                          code=code, oa_openid=str(info.get("openid") or ""),
                          status=str(info.get("user_card_status") or "NORMAL"),
                          can_consume=bool(info.get("can_consume")),
                          outer_str=str(info.get("outer_str") or ""))
    if card_id and facts.card_id != card_id:
        raise NotFound("the code is not a code of this card")
    return facts


# -- the cardExt proof -------------------------------------------------------------------------

PROOF_SEPARATOR = "~"
_TIME_HEX = 8  # the signing time, epoch seconds in hex
_MAC_HEX = 16
PROOF_LENGTH = 1 + _TIME_HEX + _MAC_HEX
MAX_CHANNEL_LENGTH = 100
# WeChat's receipt must come this soon after the signature (seconds; a little clock skew
# before it): an old or collected cardExt proves nothing.
PROOF_WINDOW = 600
PROOF_SKEW = 60
PROOF_USED_SECONDS = 30 * 86_400
# The link on a proof must be asked for this soon after WeChat's receipt (the front-end
# decrypts what wx.addCard handed back at once): a leaked encrypt_code later proves nothing.
PROOF_CLAIM_WINDOW = 600


def _mac(proof_key: bytes, mp_openid: str, card_id: str, signed_at: str) -> str:
    msg = f"card_ext\n{mp_openid}\n{card_id}\n{signed_at}".encode()
    return hmac.digest(proof_key, msg, "sha256").hex()[:_MAC_HEX]  # one-shot: OpenSSL's HMAC


def card_ext_outer_str(proof_key: bytes, mp_openid: str, card_id: str, channel: str = "",
                       *, now: float | None = None) -> str:
    """``<channel>~<signed at><mac>``: the channel stays readable for the statistics; the
    rest proves, when WeChat pushes it back with a received code within ``PROOF_WINDOW``, that
    the card was taken through a cardExt signed for this Mini Program user. Stateless."""
    signed_at = f"{int(time.time() if now is None else now):0{_TIME_HEX}x}"
    return (f"{channel}{PROOF_SEPARATOR}{signed_at}"
            f"{_mac(proof_key, mp_openid, card_id, signed_at)}")


def channel_of(outer_str: str) -> str:
    """The channel part of an ``outer_str`` (the whole value when it carries no proof)."""
    head, sep, tail = outer_str.rpartition(PROOF_SEPARATOR)
    if sep and len(tail) == PROOF_LENGTH - 1 and all(c in "0123456789abcdef" for c in tail):
        return head
    return outer_str


def proof_of(proof_keys: tuple[bytes, ...], outer_str: str, mp_openid: str,
             card_id: str) -> tuple[int, str] | None:
    """``(signed_at, mac)`` when ``outer_str`` carries a proof signed for this Mini Program
    user and card, else None."""
    if not mp_openid or channel_of(outer_str) == outer_str:
        return None
    tail = outer_str[-(PROOF_LENGTH - 1):]
    signed_at, mac = tail[:_TIME_HEX], tail[_TIME_HEX:]
    if any(hmac.compare_digest(_mac(k, mp_openid, card_id, signed_at), mac) for k in proof_keys):
        return int(signed_at, 16), mac
    return None


# -- unionid -------------------------------------------------------------------------------------

def unionid_of(r: redis.Redis, wechat: WeChatApi, oa_openid: str, *,
               transient_raises: bool = False) -> str | None:
    """The unionid of an OA openid: the identity links, else ``/cgi-bin/user/info`` (cached a
    day, "" = none). ``transient_raises``: let busy/quota/token errors through (the event worker
    retries); otherwise any WeChat failure answers None (unknown)."""
    linked, cached = coalesce.send(r, lambda pipe: [  # one round trip for both
        pipe.hgetall(keys.identity("oa", oa_openid)), pipe.get(keys.userinfo_unionid(oa_openid))])
    ident = identity_of(linked)
    if ident and ident.unionid:
        return ident.unionid
    if cached is not None:
        return cached or None
    try:
        unionid = str(wechat.user_info(oa_openid).get("unionid") or "")
    except (Busy, QuotaExceeded, TokenInvalid, WeChatUnavailable):
        if transient_raises:
            raise
        return None
    except WeChatApiError:
        unionid = ""  # WeChat will not say (e.g. not a follower): remembered as "none"
    key = keys.userinfo_unionid(oa_openid)  # a cache fill: goes with the next round trip
    coalesce.later(r, lambda pipe: [pipe.set(key, unionid, ex=USERINFO_CACHE_SECONDS)])
    return unionid or None


# -- ownership -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class NamedCode:
    """A code as the caller named it: ``encrypted`` when they gave the ``encrypt_code`` that
    WeChat handed back to their own front-end (``wx.addCard``, the activation plug-in), not the
    plain code."""

    code: str
    encrypted: bool


def name_code(r: redis.Redis, wechat: WeChatApi, *, code: str | None = None,
              encrypt_code: str | None = None) -> NamedCode:
    """``resolve_code``, remembering whether the caller proved it with an encrypt_code."""
    plain = bool(code and code.strip())
    return NamedCode(resolve_code(r, wechat, code=code, encrypt_code=encrypt_code),
                     encrypted=not plain and bool(encrypt_code))


@dataclass
class Claim:
    """What ``check_owner`` found: the code is the caller's. The link it rests on, if it is new,
    is written by ``settle`` only once the request has succeeded: an ownership check never
    leaves state behind, and a refused request links nothing."""

    facts: CodeFacts
    link_source: str = ""
    link_ids: dict[str, str] = field(default_factory=dict)
    proof_mac: str = ""


def check_owner(r: redis.Redis, wechat: WeChatApi, caller: Caller, facts: CodeFacts, *,
                proof_keys: tuple[bytes, ...], encrypted: bool = False,
                now: float | None = None) -> Claim:
    """The claim when ``facts.oa_openid`` is provably the caller's (as the module docstring
    says); 403 when it is not; 409 while the proof may be on its way. Writes nothing; what
    could contradict a new link (a stored link, the proof used for another receiver, a link an
    operator removed) is read by ``settling``, once the link is reserved."""
    owner = facts.oa_openid
    if not owner:
        raise Conflict("the owner of this code is not known yet; retry in a moment",
                       retry_after=RECEIPT_RETRY_AFTER)
    caller_oa = caller.oa_openid
    if caller_oa:
        if caller_oa != owner:
            raise Forbidden(NOT_YOURS)
        return Claim(facts)
    if caller.unionid:
        # WeChat's word either way: its receipt push for this owner, else /cgi-bin/user/info
        pushed = facts.owner_unionid
        unionid = pushed or unionid_of(r, wechat, owner)
        if unionid == caller.unionid:
            return _new_link(caller, facts, "event_unionid" if pushed else "user_info",
                             unionid=unionid, oa_openid=owner)
        if unionid:
            raise Forbidden(NOT_YOURS)
    proof = proof_of(proof_keys, facts.outer_str, caller.mp_openid or "", facts.card_id)
    if proof is not None:
        now = time.time() if now is None else now
        if facts.receipt == "push":
            return _claim_by_proof(r, caller, facts, proof, encrypted=encrypted, now=now,
                                   received_at=facts.received_at)
        if not facts.receipt:
            waited = now - proof[0]
            if waited < RECEIPT_GRACE:
                # The caller's proof, but not (yet) WeChat's push saying the owner received
                # the code through that cardExt rather than as a gift: wait for it.
                raise Conflict(RECEIPT_PENDING, retry_after=RECEIPT_RETRY_AFTER if waited < 10
                               else min(10, max(RECEIPT_RETRY_AFTER,
                                                math.ceil(RECEIPT_GRACE - waited))))
            # WeChat gives up a push after 3 tries: past the grace, the code's own record
            # (/card/code/get) stands in for the lost receipt, so a lost push never blocks
            # its owner. The encrypt_code and the windows still apply.
            return _claim_by_proof(r, caller, facts, proof, encrypted=encrypted, now=now,
                                   received_at=None)
        # A gift carries the giver's outer_str: it proves nothing about the receiver.
    raise Forbidden(NOT_LINKED)


def _new_link(caller: Caller, facts: CodeFacts, source: str, proof_mac: str = "",
              **ids: str) -> Claim:
    """The claim of a link not stored yet. Nothing is read here: ``_hold`` reads what could
    contradict it once it is reserved, in the reservation's round trip (a read before the
    reservation could not decide anyway, since a link may land in between)."""
    return Claim(facts, link_source=source,
                 link_ids={"mp_openid": caller.mp_openid or "", **ids}, proof_mac=proof_mac)


def _read_contradictions(pipe: Any, claim: Claim) -> None:
    """What refuses the new link (``_refusal`` reads the replies): its cardExt proof already
    linked another receiver (one cardExt, one receiver), an operator removed this very link,
    or it contradicts a stored link."""
    if claim.proof_mac:
        pipe.get(keys.card_ext_proof_used(claim.proof_mac))
        pipe.sismember(keys.identity_removed(claim.link_ids["mp_openid"]),
                       claim.facts.oa_openid)
    identity.link_conflicts_into(pipe, **claim.link_ids)


def _refusal(claim: Claim, replies: list[Any]) -> str | None:
    """Why the new link cannot be made (``NOT_LINKED``, ``NOT_YOURS``), or None: from the
    replies of ``_read_contradictions``."""
    if claim.proof_mac:
        used, removed = replies[0], replies[1]
        if removed or (used is not None and used != claim.facts.oa_openid):
            return NOT_LINKED
    return NOT_YOURS if identity.conflicted(replies[-1]) else None


def _claim_by_proof(r: redis.Redis, caller: Caller, facts: CodeFacts, proof: tuple[int, str],
                    *, encrypted: bool, now: float, received_at: int | None) -> Claim:
    """A cardExt proof counts only when it came back inside the cardExt this service signed
    for the caller. WeChat's push cannot tell that apart from a proof copied into another
    channel (an activation link, a QR code: ``outer_str`` is not signed), so the caller must
    also show what WeChat handed back to *their own* ``wx.addCard``: the code's encrypt_code,
    within ``PROOF_CLAIM_WINDOW`` of WeChat's receipt. And: received within the window after
    the signature, the proof used for no other receiver, not a link an operator removed."""
    signed_at, mac = proof
    owner = facts.oa_openid
    if received_at is None:  # the push was lost: the latest the code can have been received
        received_at = min(int(now), signed_at + PROOF_WINDOW)
    if not signed_at - PROOF_SKEW <= received_at <= signed_at + PROOF_WINDOW:
        raise Forbidden(NOT_LINKED)
    if not encrypted or not received_at - PROOF_SKEW <= now <= received_at + PROOF_CLAIM_WINDOW:
        raise Forbidden(NOT_LINKED)
    # a link an operator removed, or the proof used by another receiver: refused by settling
    return _new_link(caller, facts, "card_ext", proof_mac=mac, oa_openid=owner)


def settle(r: redis.Redis, caller: Caller, claim: Claim, *, record: bool = True,
           release: str | None = None) -> None:
    """After the request succeeded: write the link the claim rests on (and mark its cardExt
    proof used), then the holding, and delete ``release`` (``_hold``'s reservation): one round
    trip, after the proof's when there is one; the holding alone goes with the request's next
    round trip (``coalesce.later``). A lost race (the proof used by another
    receiver, a link that now contradicts) writes no link; the request's own outcome stands."""
    link = bool(claim.link_source)
    if link and claim.proof_mac:
        used = keys.card_ext_proof_used(claim.proof_mac)
        owner = claim.facts.oa_openid
        took, now_used = coalesce.send(r, lambda pipe: [
            pipe.set(used, owner, nx=True, ex=PROOF_USED_SECONDS), pipe.get(used)])
        link = bool(took) or now_used == owner
    write = None
    if record and not _recorded(claim.facts, caller):
        facts = claim.facts
        holding = Holding(card_id=facts.card_id, code=facts.code, oa_openid=facts.oa_openid,
                          mp_openid=caller.mp_openid or "", status=facts.status,
                          outer_str=facts.outer_str)
        # the facts' holding was read during this request: not read again
        write, _ = holding_write(r, holding) if facts.recorded is None \
            else holding_write(r, holding, stored=facts.recorded)

    def build(pipe: Any) -> None:
        if link:
            identity.link_openids_into(pipe, source=claim.link_source, **claim.link_ids)
        if write is not None:
            write(pipe)
        if release:
            pipe.delete(release)

    if link or release:
        replies = coalesce.send(r, build, scripts=identity.SCRIPTS)
        if link:
            try:
                identity.linked(replies[0], claim.link_source)
            except IdentityConflict:
                pass  # refused, logged and counted by identity.linked
    elif write is not None:
        # The holding alone: a record of what WeChat says of the code (code_facts asks WeChat
        # again when it is missing), whose reply nobody reads. It goes with the request's next
        # round trip (a decrypt's: the quota's give-back) instead of one of its own.
        coalesce.later(r, build)
    if claim.link_source:
        forget = getattr(caller, "forget_oa_openid", None)
        if forget is not None:
            forget()


def _recorded(facts: CodeFacts, caller: Caller) -> bool:
    """The holding the facts were read from already says all a new record would (the facts
    are that holding's, and it names the caller's Mini Program openid): nothing to write."""
    held = facts.recorded
    return held is not None and (not caller.mp_openid or held.mp_openid == caller.mp_openid)


PENDING_SECONDS = 120  # longer than any one request's upstream calls with their retries
HOLD_TRIES = 3


def _hold(r: redis.Redis, claim: Claim) -> bool:
    """Reserve the new link the claim rests on for this request while it runs: one OA openid at
    a time per Mini Program openid, so two requests racing with two receivers' codes cannot
    both act before either links (the loser is refused, not merely left unlinked). What could
    contradict the link is read in the reservation's round trip, so a link or a use of the
    proof that landed before it refuses this request (403), and one after it finds this
    request's reservation. True when this request holds it."""
    if not claim.link_source:
        return False
    mp = claim.link_ids.get("mp_openid", "")
    if mp:
        held, read = _reserve_and_read(r, claim, mp)
    else:  # nothing to reserve it under: the read alone
        held, read = False, coalesce.send(r, lambda pipe: _read_contradictions(pipe, claim),
                                          scripts=identity.SCRIPTS)
    refusal = _refusal(claim, read)
    if refusal:
        _release(r, claim, held)
        raise Forbidden(refusal)
    return held


def _reserve_and_read(r: redis.Redis, claim: Claim, mp: str) -> tuple[bool, list[Any]]:
    """(whether this request holds the reservation, the replies of ``_read_contradictions``)
    for ``_hold``: 403 while another receiver's link is reserved, 409 after ``HOLD_TRIES``."""
    owner = claim.facts.oa_openid
    pending = keys.identity_pending(mp)

    def reserve_and_read(pipe: Any) -> None:
        pipe.set(pending, owner, nx=True, ex=PENDING_SECONDS)
        pipe.get(pending)
        _read_contradictions(pipe, claim)

    # One round trip a try. Sent twice (the coalescer's retry), the SET finds this request's
    # own reservation and goes along: the link it reserves is the same one.
    for _ in range(HOLD_TRIES):
        reserved, current, *read = coalesce.send(r, reserve_and_read,
                                                 scripts=identity.SCRIPTS)
        if reserved or current == owner:  # or a request of the same link holds it: goes along
            return bool(reserved), read
        if current is not None:
            raise Forbidden(NOT_YOURS)  # another receiver's code is being claimed right now
        # released between the two commands (the holder ended): reserve it again
    raise Conflict("your card is being claimed by another request right now; retry in a "
                   "moment", retry_after=1)


def _release(r: redis.Redis, claim: Claim, held: bool) -> None:
    if held:
        r.delete(keys.identity_pending(claim.link_ids["mp_openid"]))


@contextmanager
def settling(r: redis.Redis, caller: Caller, claim: Claim, *,
             record: bool = True) -> Iterator[None]:
    """``with settling(...):`` the request's work; the claim's link is reserved while it runs,
    settled when it succeeds, and released (nothing written) when it raises."""
    held = _hold(r, claim)
    try:
        yield
    except BaseException:
        _release(r, claim, held)
        raise
    try:
        settle(r, caller, claim, record=record,
               release=keys.identity_pending(claim.link_ids["mp_openid"]) if held else None)
    except BaseException:
        _release(r, claim, held)  # settle's own delete may not have been sent
        raise


@contextmanager
def owned_code(r: redis.Redis, wechat: WeChatApi, caller: Caller, named: NamedCode, *,
               card_id: str | None, proof_keys: tuple[bytes, ...]) -> Iterator[CodeFacts]:
    """``with owned_code(...) as facts:`` the facts of a code the caller owns, else the refusal
    (404 unknown, 403 another user's, 409 not resolvable yet). When the block succeeds, the
    claim is settled (link, holding); when it raises, nothing is written."""
    facts = code_facts(r, wechat, named.code, card_id)
    claim = check_owner(r, wechat, caller, facts, proof_keys=proof_keys,
                        encrypted=named.encrypted)
    with settling(r, caller, claim):
        yield facts


def holdings_of_caller(r: redis.Redis, caller: Caller) -> list[Holding]:
    """The caller's holdings: those recorded for the caller's OA openid, once it is known.

    A holding listed under the Mini Program openid alone is not enough (an operator may have
    removed a wrong link since)."""
    oa = caller.oa_openid
    if not oa:
        return []
    return [h for h in holdings_of(r, oa_openid=oa) if h.oa_openid == oa]


@functools.lru_cache(maxsize=8)
def _derive(data_key: bytes) -> bytes:
    return hmac.new(data_key, b"bff card_ext outer_str proof", hashlib.sha256).digest()


def proof_keys(settings: Settings) -> tuple[bytes, ...]:
    """The keys of the cardExt proof, derived from ``BFF_DATA_KEY`` (the first signs) and,
    during a rotation, ``BFF_DATA_KEY_PREVIOUS`` (cards signed before it still prove)."""
    return tuple(_derive(key) for key in settings.data_keys)


def signing_proof_key(settings: Settings) -> bytes:
    """The key that signs new cardExt proofs: ``proof_keys(settings)[0]``, without the tuple."""
    return _derive(settings.data_keys[0])
