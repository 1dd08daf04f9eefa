"""WeChat's own buttons on a card and online redemption marks.

- ``card/selfconsumecell/set``: the holder's self-redemption button ("use now" in the card).
- ``card/paycell/set``: WeChat Pay's quick-pay button on the card.
- ``card/code/mark``: mark a code while a user's online order uses it, so the same coupon is
  not used twice at once; a code marked by one openid cannot be marked by another until it is
  released (``is_mark: false``).

WeChat keeps these settings; the service only sends them (nothing is stored here).
"""

from __future__ import annotations

from typing import Any

from bff.domain.catalogue import UNKNOWN_CARD
from bff.ground.errors import Conflict, NotFound, Refusals, Unprocessable, refusals
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import ErrCode

CODE_MARKED_ELSEWHERE = 40145  # WeChat: the code is marked by another openid

BUTTON_REFUSALS: Refusals = {
    **UNKNOWN_CARD,
    ErrCode.INVALID_CARD_STATUS: (Conflict, "WeChat refuses this for the card's status: "
                                            "{errmsg}"),
    ErrCode.NO_API_PERMISSION: (Conflict, "the account lacks this card permission: {errmsg}"),
    ErrCode.DATA_FORMAT_ERROR: (Unprocessable, "WeChat refused the setting: {errmsg}"),
}
MARK_REFUSALS: Refusals = {
    **BUTTON_REFUSALS,
    ErrCode.INVALID_SERIAL_CODE: (NotFound, "unknown code for this card (40056)"),
    ErrCode.INVALID_OPENID: (NotFound, "no such user: the openid is not one of this Official "
                                       "Account (40003)"),
    ErrCode.CODE_CONSUMED: (Conflict, "the code is already redeemed (40099)"),
    ErrCode.CARD_DELETED_OR_GIFTING: (Conflict, "the code is deleted, unavailable or being "
                                                "given away (40127)"),
    CODE_MARKED_ELSEWHERE: (Conflict, "another user's order has marked this code: it is "
                                      "released first (is_mark false by that openid)"),
}


def set_self_consume_cell(wechat: WeChatApi, card_id: str, is_open: bool,
                          need_verify_cod: bool = False,
                          need_remark_amount: bool = False) -> dict[str, Any]:
    with refusals(BUTTON_REFUSALS):
        wechat.card_selfconsumecell_set(card_id, is_open, need_verify_cod, need_remark_amount)
    return {"card_id": card_id, "is_open": is_open, "need_verify_cod": need_verify_cod,
            "need_remark_amount": need_remark_amount}


def set_pay_cell(wechat: WeChatApi, card_id: str, is_open: bool) -> dict[str, Any]:
    with refusals(BUTTON_REFUSALS):
        wechat.card_paycell_set(card_id, is_open)
    return {"card_id": card_id, "is_open": is_open}


def mark_code(wechat: WeChatApi, card_id: str, code: str, openid: str,
              is_mark: bool) -> dict[str, Any]:
    """Mark (``is_mark``) or release a code for the user whose order uses it."""
    with refusals(MARK_REFUSALS):
        wechat.code_mark(card_id, code, openid, is_mark)
    return {"card_id": card_id, "code": code, "openid": openid, "is_mark": is_mark}
