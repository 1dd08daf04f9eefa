"""The identity of an event for deduplication, and the fields kept for audit.

The XML itself is parsed and verified in ``bff.ground.wechat.push``; the stream keeps its
fields as they came (``bff.domain.events.stream``).
"""

from __future__ import annotations

import hashlib

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
    joined = "\x1f".join(fields.get(name, "") for name in names)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def audit_fields(fields: dict[str, str]) -> dict[str, str]:
    """The fields kept for audit: everything but personal form data."""
    return {k: v for k, v in fields.items() if not k.upper().startswith(_PERSONAL_PREFIXES)}
