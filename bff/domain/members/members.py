"""Member records: who activated which member card, with the form fields sealed at rest.

Written by the activation endpoint and by the ``submit_membercard_user_info`` event. The form
fields are personal data: they are stored only sealed (``bff.domain.personal``) and never logged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis

from bff.domain.personal import PersonalDataError, seal, unseal
from bff.ground.store import coalesce, keys

if TYPE_CHECKING:
    from bff.ground.config import Settings

# WeChat's activation-form field names (``USER_FORM_INFO_FLAG_*``, as in the member card's
# ``required_form`` / ``optional_form`` and in ``membercard/userinfo/get``) -> readable keys.
COMMON_FIELDS = {
    "USER_FORM_INFO_FLAG_MOBILE": "mobile",
    "USER_FORM_INFO_FLAG_SEX": "sex",
    "USER_FORM_INFO_FLAG_NAME": "name",
    "USER_FORM_INFO_FLAG_BIRTHDAY": "birthday",
    "USER_FORM_INFO_FLAG_IDCARD": "id_card",
    "USER_FORM_INFO_FLAG_EMAIL": "email",
    "USER_FORM_INFO_FLAG_LOCATION": "location",
    "USER_FORM_INFO_FLAG_EDUCATION_BACKGRO": "education",
    "USER_FORM_INFO_FLAG_INDUSTRY": "industry",
    "USER_FORM_INFO_FLAG_INCOME": "income",
    "USER_FORM_INFO_FLAG_HABIT": "habit",
}
_FLAG_PREFIX = "USER_FORM_INFO_FLAG_"


@dataclass
class Member:
    card_id: str
    code: str
    oa_openid: str = ""
    mp_openid: str = ""
    membership_number: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    activated_at: int = 0
    updated_at: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "card_id": self.card_id, "code": self.code, "oa_openid": self.oa_openid,
            "mp_openid": self.mp_openid, "membership_number": self.membership_number,
            "fields": dict(self.fields), "source": self.source,
            "activated_at": self.activated_at, "updated_at": self.updated_at,
        }


def readable_fields(info: dict[str, Any] | None) -> dict[str, Any]:
    """``{common_field_list, custom_field_list}`` -> ``{"mobile": ..., "<custom name>": ...}``."""
    info = info or {}
    result: dict[str, Any] = {}
    for item in info.get("common_field_list") or []:
        name = str(item.get("name") or "")
        if not name:
            continue
        readable = COMMON_FIELDS.get(name)
        if readable is None:  # a flag this list does not know yet: keep it, readably
            readable = name[len(_FLAG_PREFIX):].lower() if name.startswith(_FLAG_PREFIX) else name
        result[readable] = item.get("value")
    for item in info.get("custom_field_list") or []:
        name = str(item.get("name") or "")
        if not name:
            continue
        values = item.get("value_list")
        result[name] = list(values) if values else item.get("value")
    return result


def sealing_context(card_id: str, code: str) -> str:
    """The associated data a member's sealed form is bound to (rekey re-seals with it)."""
    return f"member:{card_id}:{code}"


def store_member(
    r: redis.Redis,
    settings: Settings,
    *,
    card_id: str,
    code: str,
    oa_openid: str | None,
    membership_number: str | None,
    fields: dict[str, Any],
    source: str,
    mp_openid: str | None = None,
) -> dict[str, Any]:
    """Create or update the member record of ``card_id``/``code``; returns it (fields readable).

    Empty arguments never erase what is stored; ``fields`` are merged over the stored ones and
    the whole set is sealed again.
    """
    now = int(time.time())
    key = keys.member(card_id, code)

    def merge(pipe: Any) -> None:  # under WATCH: the activation and the event may race
        existing = get_member(pipe, settings, card_id=card_id, code=code)
        merged = {**(existing.fields if existing else {}), **(fields or {})}
        values: dict[str, Any] = {
            "card_id": card_id, "code": code, "source": source, "updated_at": now,
            "fields": seal(settings, merged, sealing_context(card_id, code)),
        }
        if oa_openid:
            values["oa_openid"] = oa_openid
        if mp_openid:
            values["mp_openid"] = mp_openid
        if membership_number:
            values["membership_number"] = membership_number
        if not existing or not existing.activated_at:
            values["activated_at"] = now
        pipe.multi()
        pipe.hset(key, mapping=values)

    r.transaction(merge, key)
    pipe = r.pipeline(transaction=False)  # the indexes can be rebuilt from the record
    pipe.sadd(keys.members_by_code(code), card_id)
    if membership_number:
        pipe.sadd(keys.members_by_number(membership_number), f"{card_id} {code}")
    if oa_openid:
        pipe.hset(keys.members_of("oa", oa_openid), card_id, code)
    if mp_openid:
        pipe.hset(keys.members_of("mp", mp_openid), card_id, code)
    pipe.execute()
    stored = get_member(r, settings, card_id=card_id, code=code)
    assert stored is not None
    return stored.as_dict()


def get_member(r: redis.Redis, settings: Settings, *, card_id: str, code: str) -> Member | None:
    """The member record with its fields unsealed, or None (``r`` may be a pipeline under
    WATCH)."""
    return _member(settings, card_id, code, r.hgetall(keys.member(card_id, code)))


def read_member(r: redis.Redis, settings: Settings, *, card_id: str, code: str
                ) -> Member | None:
    """``get_member`` on a client, its read sent with concurrent requests' (``coalesce``)."""
    [h] = coalesce.send(r, lambda pipe: [pipe.hgetall(keys.member(card_id, code))])
    return _member(settings, card_id, code, h)


def _member(settings: Settings, card_id: str, code: str, h: dict[str, Any]) -> Member | None:
    if not h:
        return None
    fields_: dict[str, Any] = {}
    if h.get("fields"):
        try:
            fields_ = unseal(settings, h["fields"], sealing_context(card_id, code))
        except PersonalDataError:
            fields_ = {}  # another key or a copied blob: treat as absent, never as someone's
    return Member(
        card_id=card_id, code=code, oa_openid=h.get("oa_openid", ""),
        mp_openid=h.get("mp_openid", ""), membership_number=h.get("membership_number", ""),
        fields=fields_, source=h.get("source", ""),
        activated_at=int(h.get("activated_at") or 0), updated_at=int(h.get("updated_at") or 0),
    )


def member_code_of(
    r: redis.Redis, card_id: str, *, oa_openid: str | None, mp_openid: str | None
) -> str | None:
    """The code of ``card_id`` a user became a member with, from the member indexes."""
    indexes = [keys.members_of(kind, openid)
               for kind, openid in (("oa", oa_openid), ("mp", mp_openid)) if openid]
    if not indexes:
        return None
    found = coalesce.send(r, lambda pipe: [pipe.hget(index, card_id) for index in indexes])
    return next((code for code in found if code), None)


def find_members(
    r: redis.Redis, settings: Settings, *, code: str | None = None,
    membership_number: str | None = None, oa_openid: str | None = None,
) -> list[dict[str, Any]]:
    """Members with this code, membership number and OA openid: every criterion given (no
    form fields: operators looking a member up need who and which card, not the member's
    personal data)."""
    from bff.domain.holdings import get_holding

    refs: set[tuple[str, str]] = set()
    if code:
        refs |= {(card_id, code) for card_id in r.smembers(keys.members_by_code(code))}
        holding = get_holding(r, code)
        if holding and holding.card_id:
            refs.add((holding.card_id, code))
    if membership_number:
        for ref in r.smembers(keys.members_by_number(membership_number)):
            card_id, _, ref_code = ref.partition(" ")
            refs.add((card_id, ref_code))
    if oa_openid:
        refs |= {(card_id, c) for card_id, c in r.hgetall(keys.members_of("oa", oa_openid)).items()}
    found = []
    for card_id, ref_code in sorted(refs):
        member = get_member(r, settings, card_id=card_id, code=ref_code)
        if member is None:
            continue
        if code and ref_code != code:
            continue
        if membership_number and member.membership_number != membership_number:
            continue
        if oa_openid and member.oa_openid != oa_openid:
            continue
        record = member.as_dict()
        record.pop("fields")
        found.append(record)
    return found
