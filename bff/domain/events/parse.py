"""Card events as the handlers read them (``CardEvent``, parsed once from a recorded event's
fields), and the identity of an event for deduplication.

The XML itself is parsed and verified in ``bff.ground.wechat.push``; the stream keeps its
fields as they came (``bff.domain.events.stream``), and ``CardEvent.parse`` reads the same dict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The dedup identity of an event: WeChat retries a push (5 s apart, 3 attempts) with the same
# FromUserName + CreateTime, and these five fields tell real events apart; not broader, or real
# events get dropped.
DEDUP_FIELDS = ("FromUserName", "CreateTime", "Event", "CardId", "UserCardCode")
# Never kept in the audit copy: personal form data (member card forms) if WeChat ever sends it.
_PERSONAL_PREFIXES = ("USER_FORM_INFO",)


def as_int(value: str | None, max_digits: int = 11) -> int | None:
    """An event's numeric field (CreateTime...) as int, or None unless it is 1–11 ASCII digits.

    Pushed values are text: "²".isdigit() is True yet int("²") raises, and a CreateTime past
    year 9999 makes datetime raise, so every reader goes through this.
    """
    value = value or ""
    if not value.isascii() or not value.isdigit() or len(value) > max_digits:
        return None
    return int(value)


# Events that can come twice in one second for one code with different content: a retry repeats
# every field, so adding these keeps retries together and stops real changes being dropped.
# MASSSENDJOBFINISH comes from WeChat's broadcast assistant (one FromUserName, no card or
# code): two broadcasts ending in one second differ only by their MsgID.
DEDUP_EXTRA = {"update_member_card": ("ModifyBonus", "ModifyBalance"),
               "MASSSENDJOBFINISH": ("MsgID",)}


def dedup_digest(fields: dict[str, str]) -> str:
    """SHA-1 over FromUserName, CreateTime, Event, CardId and UserCardCode (unit-separated),
    plus ``DEDUP_EXTRA``'s fields for the events listed there."""
    names = DEDUP_FIELDS + DEDUP_EXTRA.get(fields.get("Event", ""), ())
    joined = "\x1f".join([fields.get(name, "") for name in names])
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def audit_fields(fields: dict[str, str]) -> dict[str, str]:
    """The fields kept for audit: everything but personal form data."""
    return {k: v for k, v in fields.items() if not k.upper().startswith(_PERSONAL_PREFIXES)}


def signed_int(value: str | None) -> int:
    """ModifyBonus / ModifyBalance: an optional minus sign, then 1-11 ASCII digits; else 0."""
    value = (value or "").strip()
    number = as_int(value[1:] if value.startswith("-") else value)
    return 0 if number is None else (-number if value.startswith("-") else number)


# CardEvent's text attributes and the push fields they come from.
_TEXT = {"event": "Event", "card_id": "CardId", "code": "UserCardCode", "openid": "FromUserName",
         "unionid": "UnionId", "outer_str": "OuterStr", "friend_openid": "FriendUserName",
         "old_code": "OldUserCardCode", "consume_source": "ConsumeSource",
         "location_name": "LocationName", "staff_openid": "StaffOpenId",
         "refuse_reason": "RefuseReason", "detail": "Detail"}


@dataclass(frozen=True)
class CardEvent:
    """A card event as the handlers read it, parsed once (``CardEvent.parse``) from the fields
    WeChat pushed, which the stream keeps as they came. A field that is absent is "", 0 or
    False; numbers that are not ASCII digits are 0 (``as_int``)."""

    event: str = ""           # Event: user_get_card, user_consume_card, ...
    card_id: str = ""         # CardId
    code: str = ""            # UserCardCode
    openid: str = ""          # FromUserName: the user's Official Account openid
    create_time: int = 0      # CreateTime (epoch seconds)
    unionid: str = ""         # UnionId (user_get_card, when WeChat sends it)
    outer_str: str = ""       # OuterStr: the channel the card was taken from
    is_give_by_friend: bool = False  # IsGiveByFriend == "1" (user_get_card)
    friend_openid: str = ""   # FriendUserName: the giver (user_get_card) or receiver (gifting)
    old_code: str = ""        # OldUserCardCode: the giver's code (a gift's user_get_card)
    is_return_back: bool = False  # IsReturnBack == "1" (user_gifting_card)
    consume_source: str = ""  # ConsumeSource (user_consume_card)
    location_name: str = ""   # LocationName (user_consume_card)
    staff_openid: str = ""    # StaffOpenId (user_consume_card)
    modify_bonus: int = 0     # ModifyBonus, signed (update_member_card)
    modify_balance: int = 0   # ModifyBalance, signed (update_member_card)
    refuse_reason: str = ""   # RefuseReason (card_not_pass_check)
    detail: str = ""          # Detail (card_sku_remind)
    fields: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, fields: Mapping[str, str]) -> CardEvent:
        # What cls(**event_values(fields)) makes, without the frozen __init__'s
        # object.__setattr__ for each of the 19 fields (half of a parse, once per
        # acknowledgement: issue 18); tests/events/test_card_event.py holds the two equal.
        event = object.__new__(cls)
        event.__dict__.update(event_values(fields))
        return event


def event_values(fields: Mapping[str, str]) -> dict[str, Any]:
    """``CardEvent``'s field values for the fields WeChat pushed."""
    values: dict[str, Any] = {name: fields.get(key) or "" for name, key in _TEXT.items()}
    values.update(
        create_time=as_int(fields.get("CreateTime")) or 0,
        is_give_by_friend=fields.get("IsGiveByFriend") == "1",
        is_return_back=fields.get("IsReturnBack") == "1",
        modify_bonus=signed_int(fields.get("ModifyBonus")),
        modify_balance=signed_int(fields.get("ModifyBalance")),
        fields=fields,
    )
    return values
