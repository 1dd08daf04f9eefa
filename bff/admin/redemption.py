"""Finding and querying a code before redemption: encrypt_code normalisation and errcode meaning.

Shared by the counter endpoints, the ledger and (through the ledger) the Mini Program's
self-redemption. No Flask here.
"""

from __future__ import annotations

from typing import Any

from bff.errors import BadRequest, Conflict, NotFound
from bff.wechat.api import WeChatApi
from bff.wechat.errors import Busy, ErrCode, QuotaExceeded, TokenInvalid, WeChatApiError

ALREADY_REDEEMED = "the code has already been redeemed"
DELETED_OR_GIFTING = (
    "the code cannot be redeemed: its holder deleted the card or is giving it to a friend"
)
UNKNOWN_CODE = (
    "unknown code: no card holds it (custom codes also need their card_id)"
)


def translate(e: WeChatApiError) -> Exception:
    """The domain refusal for errcodes that mean something to the operator; ``e`` otherwise."""
    if e.errcode == ErrCode.CODE_CONSUMED:
        return Conflict(ALREADY_REDEEMED, errcode=e.errcode)
    if e.errcode == ErrCode.CARD_DELETED_OR_GIFTING:
        return Conflict(DELETED_OR_GIFTING, errcode=e.errcode)
    if e.errcode == ErrCode.INVALID_SERIAL_CODE:
        return NotFound(UNKNOWN_CODE, errcode=e.errcode)
    return e


def resolve_code(wechat: WeChatApi, *, code: str | None = None,
                 encrypt_code: str | None = None) -> str:
    """The real code: ``code`` as given, or ``encrypt_code`` normalised once and decrypted."""
    if code:
        return code.strip()
    if not encrypt_code:
        raise BadRequest("give either code or encrypt_code")
    try:
        answer = wechat.code_decrypt(encrypt_code)
    except (TokenInvalid, QuotaExceeded, Busy):
        raise
    except WeChatApiError as e:
        # no code answers to it: a 404 like an unknown code (a 400 would call it malformed,
        # yet any string may be an encrypt_code; only WeChat can tell)
        raise NotFound(
            "no code matches this encrypt_code (it must come from this Official Account's "
            "cards, passed once URL-decoded)", errcode=e.errcode,
        ) from None
    return str(answer["code"])


def query_code(wechat: WeChatApi, code: str, card_id: str | None = None) -> dict[str, Any]:
    """``card/code/get`` with ``check_consume``: a redeemable code's details, or a refusal."""
    try:
        answer = wechat.code_get(code, card_id=card_id, check_consume=True)
    except WeChatApiError as e:
        raise translate(e) from None
    card = answer.get("card") or {}
    return {
        "card_id": card.get("card_id") or card_id,
        "code": code,
        "openid": answer.get("openid"),
        "can_consume": bool(answer.get("can_consume")),
        "user_card_status": answer.get("user_card_status"),
        "begin_time": card.get("begin_time"),
        "end_time": card.get("end_time"),
    }
