"""Links between a user's unionid, Mini Program openid and Official Account openid.

A link is written once and never silently overwritten: a source that contradicts an existing
link is refused, logged (without the openids) and counted. All identity keys share one hash
tag so the Lua script that checks and writes them runs atomically on Redis Cluster too.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import redis

from bff.ground.metrics import IDENTITY_CONFLICTS
from bff.ground.store import coalesce, keys

log = logging.getLogger(__name__)

# card_ext: WeChat pushed that the user received a card through a cardExt signed for this
# Mini Program user (bff.domain.ownership). "shared_code" links (possession of a code) are no longer
# made; old ones can be listed and removed by operators.
SOURCES = ("jscode2session", "h5_login", "event_unionid", "user_info", "card_ext")


@dataclass(frozen=True)
class Identity:
    unionid: str | None = None
    miniprogram_openid: str | None = None
    official_account_openid: str | None = None
    linked_by: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class IdentityConflict(Exception):
    """The new link contradicts one already stored."""


# KEYS[1..3] = identity hash of unionid / mp / oa (empty key name '' when not given)
# ARGV = unionid, mp_openid, oa_openid, source, dry run ('1': check only, write nothing)
# Each known id maps to one hash {unionid, mp, oa, by}. The script gathers the records of every
# given id, refuses when any field would change, and writes the merged record under every id.
_LINK = coalesce.Script("""
local fields = {'unionid', 'mp', 'oa'}
local merged = {unionid = ARGV[1], mp = ARGV[2], oa = ARGV[3]}
local by = ''
for i = 1, 3 do
  if ARGV[i] ~= '' then
    local rec = redis.call('HGETALL', KEYS[i])
    local h = {}
    for j = 1, #rec, 2 do h[rec[j]] = rec[j + 1] end
    for _, f in ipairs(fields) do
      local have = h[f]
      if have and have ~= '' then
        if merged[f] ~= '' and merged[f] ~= have then
          return {'conflict', f}
        end
        merged[f] = have
      end
    end
    if (h['mp'] or '') ~= '' and (h['oa'] or '') ~= '' and (h['by'] or '') ~= '' then
      by = h['by']
    end
  end
end
if ARGV[5] == '1' then return {'ok'} end  -- dry run: the check alone (link_conflicts)
if by == '' then by = ARGV[4] end
local changed = 0
for i = 1, 3 do
  local id = merged[fields[i]]
  if id ~= '' then
    local key = KEYS[3 + i] .. id
    local before = redis.call('HGET', key, fields[1]) or ''
    local mp = redis.call('HGET', key, 'mp') or ''
    local oa = redis.call('HGET', key, 'oa') or ''
    if before ~= merged.unionid or mp ~= merged.mp or oa ~= merged.oa then changed = 1 end
    redis.call('HSET', key, 'unionid', merged.unionid, 'mp', merged.mp, 'oa', merged.oa,
               'by', by)
  end
end
return {'ok', merged.unionid, merged.mp, merged.oa, by, tostring(changed)}
""")


def link_openids(
    r: redis.Redis,
    *,
    source: str,
    unionid: str | None = None,
    mp_openid: str | None = None,
    oa_openid: str | None = None,
) -> Identity:
    """Record that the given ids belong to one user; raise ``IdentityConflict`` on contradiction.

    ``linked_by`` keeps the source that first tied the two openids together.
    """
    [reply] = coalesce.send(r, lambda pipe: link_openids_into(
        pipe, source=source, unionid=unionid, mp_openid=mp_openid, oa_openid=oa_openid),
        scripts=SCRIPTS)
    return linked(reply, source)


def link_openids_into(pipe: Any, *, source: str, unionid: str | None = None,
                      mp_openid: str | None = None, oa_openid: str | None = None) -> None:
    """``link_openids``' write, queued on a coalesced pipeline (``coalesce.send(...,
    scripts=SCRIPTS)``) with a caller's other commands; its reply goes to ``linked``."""
    if source not in SOURCES:
        raise ValueError(f"unknown identity source {source!r}")
    _link_call(pipe, (unionid or "", mp_openid or "", oa_openid or ""), source, dry=False)


def linked(reply: list[str], source: str) -> Identity:
    """The identity ``link_openids_into``'s reply says was recorded; ``IdentityConflict``
    (logged and counted) when the link was refused."""
    if reply[0] == "conflict":
        IDENTITY_CONFLICTS.labels(source).inc()
        log.warning("identity link refused: source=%s conflicting field=%s", source, reply[1])
        raise IdentityConflict(f"the {reply[1]} already linked differs")
    return Identity(
        unionid=reply[1] or None,
        miniprogram_openid=reply[2] or None,
        official_account_openid=reply[3] or None,
        linked_by=reply[4] or None,
    )


def link_conflicts(
    r: redis.Redis,
    *,
    unionid: str | None = None,
    mp_openid: str | None = None,
    oa_openid: str | None = None,
) -> bool:
    """Whether ``link_openids`` with these ids would be refused, read without writing: the
    same script, stopped before it writes (nothing logged or counted)."""
    [reply] = coalesce.send(r, lambda pipe: link_conflicts_into(
        pipe, unionid=unionid, mp_openid=mp_openid, oa_openid=oa_openid), scripts=SCRIPTS)
    return conflicted(reply)


def link_conflicts_into(pipe: Any, *, unionid: str | None = None, mp_openid: str | None = None,
                        oa_openid: str | None = None) -> None:
    """``link_conflicts``' read, queued on a coalesced pipeline (``coalesce.send(...,
    scripts=SCRIPTS)``) with a caller's other commands; its reply goes to ``conflicted``."""
    _link_call(pipe, (unionid or "", mp_openid or "", oa_openid or ""), "", dry=True)


def conflicted(reply: list[str]) -> bool:
    return reply[0] == "conflict"


SCRIPTS = (_LINK,)


def _link_call(pipe: Any, ids: tuple[str, str, str], source: str, *, dry: bool) -> None:
    if sum(1 for i in ids if i) < 1:
        raise ValueError("at least one id is required")
    key_names = [keys.identity(kind, value) if value else keys.identity(kind, "-")
                 for kind, value in zip(("unionid", "mp", "oa"), ids, strict=True)]
    prefixes = [keys.identity(kind, "") for kind in ("unionid", "mp", "oa")]
    _LINK.call(pipe, [*key_names, *prefixes], [*ids, source, "1" if dry else "0"])


def find_identity(
    r: redis.Redis,
    *,
    unionid: str | None = None,
    mp_openid: str | None = None,
    oa_openid: str | None = None,
) -> Identity | None:
    """The stored identity for the first id given, or None."""
    for kind, value in (("unionid", unionid), ("mp", mp_openid), ("oa", oa_openid)):
        if value:
            return identities_at(r, [keys.identity(kind, value)])[0]
    raise ValueError("one of unionid, mp_openid, oa_openid is required")


def identities_at(r: redis.Redis, identity_keys: list[str]) -> list[Identity | None]:
    """The identities stored at several ``keys.identity`` keys, in one round trip."""
    return [identity_of(rec) for rec in
            coalesce.send(r, lambda pipe: read_identities_into(pipe, identity_keys))]


def read_identities_into(pipe: Any, identity_keys: list[str]) -> None:
    """Add the reads of the identity records at ``identity_keys`` to ``pipe``; each reply is
    an ``identity_of``'s record."""
    for key in identity_keys:
        pipe.hgetall(key)


def identity_of(rec: dict[str, str]) -> Identity | None:
    """The identity an identity record (``HGETALL keys.identity(...)``) holds, or None."""
    if not rec:
        return None
    return Identity(
        unionid=rec.get("unionid") or None,
        miniprogram_openid=rec.get("mp") or None,
        official_account_openid=rec.get("oa") or None,
        linked_by=rec.get("by") or None,
    )


def unlink(r: redis.Redis, *, mp_openid: str | None = None,
           oa_openid: str | None = None) -> Identity | None:
    """Remove the link of one openid (an operator's correction): that openid's record goes, and
    the other ids of its identity no longer name it. Returns what was removed, None if nothing.

    Logged without ids. Live sessions see it at once (a link-resolved OA openid is not cached).
    """
    given = [(kind, value) for kind, value in (("mp", mp_openid), ("oa", oa_openid)) if value]
    if len(given) != 1:
        raise ValueError("exactly one of mp_openid, oa_openid is required")
    kind, value = given[0]
    key = keys.identity(kind, value)

    def txn(pipe: Any) -> Identity | None:
        rec = pipe.hgetall(key)
        if not rec:
            return None
        others = [keys.identity(k, rec[k]) for k in ("unionid", "mp", "oa")
                  if rec.get(k) and k != kind]
        pipe.multi()
        pipe.delete(key)
        for other in others:
            pipe.hset(other, kind, "")
        if rec.get("mp") and rec.get("oa"):  # a cardExt proof never makes this link again
            pipe.sadd(keys.identity_removed(rec["mp"]), rec["oa"])
        return Identity(unionid=rec.get("unionid") or None,
                        miniprogram_openid=rec.get("mp") or None,
                        official_account_openid=rec.get("oa") or None,
                        linked_by=rec.get("by") or None)

    removed = r.transaction(txn, key, value_from_callable=True)
    if removed is not None:
        log.warning("identity link removed by an operator: %s openid, linked_by=%s", kind,
                    removed.linked_by)
    return removed


def dumps(identity: Identity) -> str:
    return json.dumps(identity.as_dict(), sort_keys=True)
