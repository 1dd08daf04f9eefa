"""Every Redis key of the service, built here and nowhere else.

All keys start with ``bff:``. Keys that one operation touches together share a hash tag
(``{...}``) so the same code runs on Redis Cluster; ``tests/test_cluster_slots.py`` checks
each group. Each key is documented next to the function that builds it: its type, what it
holds, and its TTL. The groups, in file order: credentials (below), identity links, card
holdings, sessions, member cards, activation per ticket, redemption (ledger, lock, in-flight
consumes, Idempotency-Keys), custom-code import checkpoints, card profiles and the code pool,
decrypted encrypt_codes, user-info unionids, card events (stream, dedup, dead letters), channel
statistics, member changes, the catalogue, the demo pages, data-key rotation, the custom-code
import lock, card messages (broadcasts), operators (accounts, tokens, console sessions) and the
audit log.

Credentials (per appid; one hash tag per appid; ``<kind>`` is ``access_token`` or
``ticket:wx_card`` / ``ticket:jsapi``):
- ``bff:{cred:<appid>}:<kind>`` hash ``{value, expires_at, refresh_at}`` (epoch seconds), the
  access_token or ticket; TTL expires_in - 300 s (at least 60 s).
- ``bff:{cred:<appid>}:lock:<kind>`` string, refresh lock holding a random owner token; TTL 10 s.
- ``bff:{cred:<appid>}:failure:<kind>`` string, JSON ``{errcode, errmsg, path, reason}`` of the
  last failed refresh, so waiting processes fail fast instead of each calling WeChat; TTL 3 s.
"""

from __future__ import annotations

PREFIX = "bff:"


def credential(appid: str, kind: str) -> str:
    """``kind`` is ``access_token`` or ``ticket:<type>``."""
    return f"{PREFIX}{{cred:{appid}}}:{kind}"


def credential_lock(appid: str, kind: str) -> str:
    return f"{PREFIX}{{cred:{appid}}}:lock:{kind}"


# Identity links (one hash tag for all, so the linking script is atomic on a cluster):
# - ``bff:{id}:<kind>:<value>`` hash {unionid, mp, oa, by}; kind = unionid | mp | oa; no TTL.
def identity(kind: str, value: str) -> str:
    return f"{PREFIX}{{id}}:{kind}:{value}"


def identity_prefix() -> str:
    """What every identity key (and the removed and pending markers) starts with."""
    return f"{PREFIX}{{id}}:"


# - ``bff:{id}:removed:<mp_openid>`` set of OA openids an operator unlinked from it: a cardExt
#   proof never links that pair again (WeChat's unionid still can); no TTL.
def identity_removed(mp_openid: str) -> str:
    return f"{PREFIX}{{id}}:removed:{mp_openid}"


def identity_pending(mp_openid: str) -> str:
    """The OA openid a request is linking this Mini Program openid to, while it runs."""
    return f"{PREFIX}{{id}}:pending:{mp_openid}"


# - ``bff:card-ext-proof:<mac>`` string, the OA openid a cardExt proof linked: one proof, one
#   receiver; TTL 30 days (bff.domain.ownership).
def card_ext_proof_used(mac: str) -> str:
    return f"{PREFIX}card-ext-proof:{mac}"


# Card holdings (written by code decryption and by card events):
# - ``bff:holding:<code>`` hash {card_id, code, oa_openid, mp_openid, status, outer_str,
#   received_at, gift_from, old_code, receipt ("push" | "gift" | ""), updated_at,
#   receipt_time (the CreateTime of the last receipt applied: bff.domain.events.receipt)}; no TTL.
# - ``bff:holdings:<oa|mp>:<openid>`` set of codes held by that openid; no TTL.
def holding(code: str) -> str:
    return f"{PREFIX}holding:{code}"


def receipt_seen(code: str, digest: str) -> str | None:
    """A push's signed pair, used up in its code's holding's hash slot: the receipt's script
    checks and sets it with the holding (``bff.domain.events.receipt``). The hash tag is the
    holding's whole key, whose slot is that of the key itself (it has no braces); None for a
    code with braces, whose holding's slot no tag can name."""
    if "{" in code or "}" in code:
        return None
    return f"{PREFIX}push-seen:{{{holding(code)}}}:{digest}"


def holdings_of(kind: str, openid: str) -> str:
    return f"{PREFIX}holdings:{kind}:{openid}"


def credential_failure(appid: str, kind: str) -> str:
    return f"{PREFIX}{{cred:{appid}}}:failure:{kind}"


# Sessions (bff/edges/sessions):
# - ``bff:session:<sha256(token)>`` hash {mp, oa, unionid, sk (session_key, AES-GCM sealed),
#   created_at, expires_at}; TTL settings.session_ttl. The token itself is never stored.
def session(token_id: str) -> str:
    return f"{PREFIX}session:{token_id}"


# Member cards (bff/edges/membership):
# - ``bff:member:<card_id>:<code>`` hash {card_id, code, oa_openid, mp_openid, membership_number,
#   fields (AES-GCM sealed JSON, context ``member:<card_id>:<code>``), source, activated_at,
#   updated_at}; no TTL.
# - ``bff:members:<oa|mp>:<openid>`` hash card_id -> code, the member codes of a user; no TTL.
# - ``bff:member-seq:<card_id>`` string, membership-number sequence (INCR); no TTL.
# - ``bff:member-number:<card_id>:<code>`` string, the number given to a code (SET NX), so a
#   retried activation reuses it; no TTL.
# - ``bff:plugin:<card_id>:<sha256(outer_str)>`` string, JSON activation-plug-in answer; TTL 300 s.
# - ``bff:member-info:<card_id>:<code>`` string, WeChat's ``membercard/userinfo/get`` answer,
#   AES-GCM sealed (context ``member-info:<card_id>:<code>``), TTL 75 s (refreshed after 60); or
#   a change's marker ``~chg:<random>`` or a request's lease ``~ask:<random>``, TTL 60 s
#   (``bff.domain.members.info``: an answer is kept only over its own lease or the answer it
#   refreshes, so none read before a change is kept after it).
# - ``bff:member-info-refresh:<card_id>:<code>`` string "1", the request refreshing the answer
#   (SET NX); TTL 15 s.
# Activation per ticket (one hash tag per ticket; ``<t>`` = sha256(activate_ticket)[:32]):
# - ``bff:{act:<t>}:claim`` string, the redis-py Lock token of the request doing the work
#   (``bff.domain.once``); TTL 60 s.
# - ``bff:{act:<t>}:result`` string, the answer, AES-GCM sealed (context ``act:<t>``); TTL 1 day.
# - ``bff:{act:<t>}:sent`` string, epoch seconds when the activate was sent (set before, cleared
#   on a definite refusal): an attempt that finds it asks WeChat whether it landed instead of
#   activating again; TTL 1 day.
# - ``bff:{act:<t>}:claim:failure:<owner>`` (``once_failure``).
def member(card_id: str, code: str) -> str:
    return f"{PREFIX}member:{card_id}:{code}"


def members_of(kind: str, openid: str) -> str:
    """``kind`` is ``oa`` or ``mp``."""
    return f"{PREFIX}members:{kind}:{openid}"


def member_info(card_id: str, code: str) -> str:
    return f"{PREFIX}member-info:{card_id}:{code}"


def member_info_refresh(card_id: str, code: str) -> str:
    return f"{PREFIX}member-info-refresh:{card_id}:{code}"


def member_sequence(card_id: str) -> str:
    return f"{PREFIX}member-seq:{card_id}"


def member_number(card_id: str, code: str) -> str:
    return f"{PREFIX}member-number:{card_id}:{code}"


def activation_plugin(card_id: str, outer_str_digest: str) -> str:
    return f"{PREFIX}plugin:{card_id}:{outer_str_digest}"


def activation_claim(ticket_digest: str) -> str:
    return f"{PREFIX}{{act:{ticket_digest}}}:claim"


def activation_result(ticket_digest: str) -> str:
    return f"{PREFIX}{{act:{ticket_digest}}}:result"


def activation_sent(ticket_digest: str) -> str:
    return f"{PREFIX}{{act:{ticket_digest}}}:sent"




# Redemption (bff/domain/redemption.py), one hash tag per code so the lock (``claim``), the ledger
# and
# the in-flight consumes live together:
# - ``bff:{redeem:<code>}:ledger`` hash card_id -> JSON {card_id, code, openid, redeemed_at,
#   staff_id, operator, location, channel, key (Idempotency-Key digest or null)}; the record of a
#   consumed code; no TTL (it is the audit trail).
# - ``bff:{redeem:<code>}:claim`` string, random owner token of the one caller allowed to
#   consume the code now (a redis-py Lock, ``bff.domain.once``'s claim); TTL 60 s,
#   ``bff.domain.redemption.CLAIM_TTL_MS`` (released as soon as the ledger entry is written or
#   the consume failed).
# - ``bff:{redeem:<code>}:inflight`` hash attempt token -> JSON ledger entry of a consume sent or
#   about to be sent; dropped when WeChat answers (success or refusal), kept when the answer was
#   lost or the consume outlived its claim: when WeChat reports the code consumed, the earliest
#   one becomes the ledger entry; TTL 1 day.
# - ``bff:redeem-key:<digest>`` string, the code an Idempotency-Key redeemed, written when its
#   consume is sent (a refused request leaves none; digest: sha256 of
#   channel, caller scope and key); TTL 30 days.
# Custom-code import checkpoint (bff/domain/codes/importer.py), one hash tag per (card_id, digest);
# digest = sha256 of the file, or of the file's sha256 and the reading options (CSV column,
# header) when given:
# - ``bff:{import:<card_id>:<digest>}:done`` hash batch index -> JSON {succ, dup, fail, dup_n,
#   fail_n, size} (succ/dup_n/fail_n counts; dup and fail the codes) of every finished deposit
#   batch; TTL 30 days.
# - ``bff:{import:<card_id>:<digest>}:sent`` hash batch index -> deposit attempts made (a batch
#   with attempts but no ``done`` entry was in flight when the run stopped); TTL 30 days.
# - ``bff:{import:<card_id>:<digest>}:stock`` string, stock added after this import (INCRBY
#   before card/modifystock, DECRBY if it fails, so a rerun only adds the difference); TTL 30 days.
def redeem_ledger(code: str) -> str:
    return f"{PREFIX}{{redeem:{code}}}:ledger"


def redeem_claim(code: str) -> str:
    return f"{PREFIX}{{redeem:{code}}}:claim"


def redeem_inflight(code: str) -> str:
    return f"{PREFIX}{{redeem:{code}}}:inflight"


def redeem_key(digest: str) -> str:
    return f"{PREFIX}redeem-key:{digest}"


def import_checkpoint(card_id: str, digest: str, part: str) -> str:
    """``part`` is ``done``, ``sent`` or ``stock``."""
    return f"{PREFIX}{{import:{card_id}:{digest}}}:{part}"


# Card profiles (bff/domain/profiles.py) and the code pool (bff/domain/pool.py); one hash tag per
# card for the
# pool scripts:
# - ``bff:profile:<card_id>`` string, JSON of the CardProfile; no TTL.
# - ``bff:{pool:<card_id>}:all`` set, every code ever loaded into the pool; no TTL.
# - ``bff:{pool:<card_id>}:available`` set, codes free to hand out; no TTL.
# - ``bff:{pool:<card_id>}:reserved`` sorted set, code -> reservation expiry (epoch s); no TTL.
#   Expired reservations are retired lazily, in the next reserve script (never back to
#   ``available``: the code was shown in a cardExt).
# - ``bff:{pool:<card_id>}:holder`` hash, code -> who it was reserved for (shown to); no TTL.
# - ``bff:{pool:<card_id>}:claimed`` set, codes received by a user (``mark_pool_code_received``;
#   the name is the stored one): kept forever; no TTL.
# - ``bff:{pool:<card_id>}:held-by`` hash, holder -> the code reserved for it (one open
#   reservation per holder); an entry goes when its reservation lapses; no TTL.
# - ``bff:{pool:<card_id>}:retired`` set, codes whose reservation lapsed unreceived: shown to one
#   user, never handed to another (that user may still receive it); no TTL.
def profile(card_id: str) -> str:
    return f"{PREFIX}profile:{card_id}"


def pool(card_id: str, part: str) -> str:
    """``part`` is all | available | reserved | holder | claimed | held-by | retired."""
    return f"{PREFIX}{{pool:{card_id}}}:{part}"


# - ``bff:pool-card:<code>`` string, the card_id whose pool the code was loaded into; no TTL.
def pool_card(code: str) -> str:
    return f"{PREFIX}pool-card:{code}"


# Decrypted encrypt_codes (bff.domain.ownership.resolve_code):
# - ``bff:decrypted:<sha256 of the normalised encrypt_code>`` string, WeChat's answer to
#   ``card/code/decrypt``: ``=<code>``, or ``!<errcode>`` when it decrypts to no code. An
#   encrypt_code is its code sealed by WeChat, so the answer never changes; TTL 1 day (10 min
#   for a refusal).
def decrypted(digest: str) -> str:
    return f"{PREFIX}decrypted:{digest}"


# User info (bff.domain.ownership.unionid_of):
# - ``bff:userinfo-unionid:<oa_openid>`` string, unionid from /cgi-bin/user/info ("" if none);
#   TTL 1 day.
def userinfo_unionid(oa_openid: str) -> str:
    return f"{PREFIX}userinfo-unionid:{oa_openid}"


# Card events (bff.edges.events). A push's signed-pair marker, the dedup marker and the stream
# append run in one Lua script (one round trip per acknowledgement), so they share the hash tag
# ``{ev}``; "retention" below is BFF_EVENT_RETENTION_DAYS.
# - ``bff:{ev}:stream`` stream, every recorded push event (fields event, card_id, code, openid,
#   create_time, received_at, mode, raw = JSON of the XML fields, request_id of the push);
#   XADD trims with MINID ~ to the retention. Consumer group ``handlers`` (the ``bff worker``
#   processes).
# - ``bff:{ev}:dedup:<sha1>`` string "1": an event with this FromUserName +
#   CreateTime + Event + CardId + UserCardCode was recorded; TTL BFF_EVENT_DEDUP_TTL (3 days).
# - ``bff:{ev}:done:<stream id>`` string "1", the entry was handled; TTL retention.
# - ``bff:{ev}:dead`` stream, entries whose handling failed BFF_WORKER_MAX_ATTEMPTS times
#   {entry, event, card_id, error, attempts, failed_at}; trimmed like the stream.
# - ``bff:{ev}:push-seen:<sha1(timestamp, nonce)>`` string "1": a push (or URL check) signed
#   over this pair was accepted; a second one is a replay; TTL 2 x BFF_PUSH_MAX_SKEW.
def push_seen(digest: str) -> str:
    return f"{PREFIX}{{ev}}:push-seen:{digest}"


def event_stream() -> str:
    return f"{PREFIX}{{ev}}:stream"


def event_dedup(digest: str) -> str:
    return f"{PREFIX}{{ev}}:dedup:{digest}"


def event_done(entry_id: str) -> str:
    return f"{PREFIX}{{ev}}:done:{entry_id}"


def event_dead() -> str:
    return f"{PREFIX}{{ev}}:dead"


# Channel statistics (bff.domain.channel_stats), one hash tag ``{evstats}`` (once-marker +
# counters in one MULTI):
# - ``bff:{evstats}:day:<card_id>:<YYYY-MM-DD>`` hash ``<metric>|<outer_str>`` -> count, metric in
#   received, consumed, deleted, gifted; date in Asia/Shanghai; no TTL.
# - ``bff:{evstats}:counted:<stream id>`` string "1", the entry's counter was applied;
#   TTL retention.
# - ``bff:{evstats}:cards`` set of card_ids that have statistics; no TTL.
def channel_stats(card_id: str, day: str) -> str:
    return f"{PREFIX}{{evstats}}:day:{card_id}:{day}"


def channel_counted(entry_id: str) -> str:
    return f"{PREFIX}{{evstats}}:counted:{entry_id}"


def channel_cards() -> str:
    return f"{PREFIX}{{evstats}}:cards"


# Member changes (bff.domain.members.changes), one hash tag per member ``{mbr:<card_id>:<code>}``
# so the lock, the ledger and its indexes live together:
# - ``bff:{mbr:<card_id>:<code>}:lock`` string, the redis-py Lock token of the one change
#   running now;
#   TTL 30 s (``bff.domain.members.changes.LOCK_TTL_MS``).
# - ``bff:{mbr:<card_id>:<code>}:changes`` hash change_id -> JSON {change_id, card_id, code, key,
#   at, by, source, state, add_bonus, bonus, record_bonus, add_balance, balance,
#   record_balance, before_bonus, before_balance, result_bonus, result_balance, event_id}; the
#   ledger; no TTL.
# - ``bff:{mbr:<card_id>:<code>}:order`` list of change_ids, oldest first; no TTL.
# - ``bff:{mbr:<card_id>:<code>}:unmatched`` list of API change_ids still waiting for their
#   update_member_card event (trimmed after 1 day); no TTL.
# - ``bff:{mbr:<card_id>:<code>}:events`` hash event stream id -> change_id it was matched to or
#   recorded as; no TTL.
# - ``bff:member-change-key:<sha256(key)[:32]>`` string JSON {card_id, code, fingerprint,
#   change_id, state}: what an Idempotency-Key did; TTL 30 days.
# - ``bff:member-change-key:<sha256(key)[:32]>:claim`` string, the redis-py Lock token of the
#   request running that key's change (``bff.domain.once``); TTL 60 s.
# - ``bff:member-number-index:<membership_number>`` set of ``<card_id> <code>`` with that number
#   (written at activation); no TTL.
def _member_tag(card_id: str, code: str) -> str:
    return f"{PREFIX}{{mbr:{card_id}:{code}}}"


def member_change_lock(card_id: str, code: str) -> str:
    return f"{_member_tag(card_id, code)}:lock"


def member_changes(card_id: str, code: str) -> str:
    return f"{_member_tag(card_id, code)}:changes"


def member_change_order(card_id: str, code: str) -> str:
    return f"{_member_tag(card_id, code)}:order"


def member_change_unmatched(card_id: str, code: str) -> str:
    return f"{_member_tag(card_id, code)}:unmatched"


def member_change_events(card_id: str, code: str) -> str:
    return f"{_member_tag(card_id, code)}:events"


def member_change_key(digest: str) -> str:
    return f"{PREFIX}member-change-key:{digest}"


def member_change_claim(digest: str) -> str:
    return f"{member_change_key(digest)}:claim"


def members_by_number(number: str) -> str:
    return f"{PREFIX}member-number-index:{number}"


# - ``bff:member-code-index:<code>`` set of card_ids with a member record for that code (written
#   at activation); no TTL.
def members_by_code(code: str) -> str:
    return f"{PREFIX}member-code-index:{code}"


# - ``bff:package-checked:<oa_openid>:<card_id or *>`` string "1": the user's card package was
#   read from WeChat because a holding was missing (bff.domain.card_package); TTL 60 s.
def card_package_checked(oa_openid: str, card_id: str) -> str:
    return f"{PREFIX}package-checked:{oa_openid}:{card_id}"


# Catalogue (bff/domain/catalogue.py):
# - ``bff:activation-form:<card_id>`` string, JSON of the member card's activation form as last
#   set through the service (WeChat has no call to read it back); no TTL.
# - ``bff:stock-alert:<card_id>`` hash {detail, at}, WeChat's last card_sku_remind; no TTL.
# Idempotency-Key of a card creation or stock change (``<d>`` = sha256(scope, key)[:32]; one
# hash tag per key):
# - ``bff:{cat:<d>}:result`` string, JSON {fp (sha256 of the request), answer | uncertain};
#   TTL 1 day.
# - ``bff:{cat:<d>}:claim`` string, the redis-py Lock token of the request doing the work
#   (``bff.domain.once``); TTL 60 s.
# - ``bff:card-known:<card_id>`` string "1" (WeChat's card/get knows the card) or "0" (40073);
#   TTL 1 h / 60 s (bff.domain.catalogue.ensure_known).
def card_known(card_id: str) -> str:
    return f"{PREFIX}card-known:{card_id}"


# - ``bff:review-asked:<card_id>`` string, the review state card/get reported when the issuing
#   path last asked about a card still pending (its verdict's push may be lost); TTL
#   ``bff.domain.catalogue.REVIEW_RECHECK_SECONDS``.
def review_asked(card_id: str) -> str:
    return f"{PREFIX}review-asked:{card_id}"


# Single flight of a cached lookup (bff.domain.single_flight): while one request asks WeChat and
# fills
# ``<key>``, the others wait for it.
# - ``<key>:filling`` string, a redis-py Lock's owner token; TTL 10 s.
def filling(key: str) -> str:
    return f"{key}:filling"


def activation_form(card_id: str) -> str:
    return f"{PREFIX}activation-form:{card_id}"


# Test whitelist (bff/domain/issuing.py, bff/domain/catalogue.py):
# - ``bff:test-whitelist`` string, JSON {openid: [...], username: [...]} as WeChat last accepted
#   it from the service (card/testwhitelist/set); read when a card in review is issued; no TTL.
def test_whitelist() -> str:
    return f"{PREFIX}test-whitelist"


def stock_alert(card_id: str) -> str:
    return f"{PREFIX}stock-alert:{card_id}"


# Exactly once (bff.domain.once), next to any claim (same hash tag):
# - ``<claim>:failure:<owner>`` string, JSON {status, message, errcode, retry_after} of that
#   claim holder's failed attempt, written only for requests waiting on it (each sets it empty
#   first); TTL 15 s.
def once_failure(claim_key: str, owner: str) -> str:
    return f"{claim_key}:failure:{owner}"


def catalogue_once(digest: str, part: str) -> str:
    """``part`` is ``result`` or ``claim``."""
    return f"{PREFIX}{{cat:{digest}}}:{part}"


# Demo pages (bff.edges.demo, sandbox mode only):
# - ``bff:demo:cards`` hash {coupon, member} -> the sandbox card_ids the demo pages use; no TTL.
def demo_cards() -> str:
    return f"{PREFIX}demo:cards"


# Data-key rotation (``bff data rekey``, bff/domain/rekey.py):
# - ``bff:rekey:<fp>`` hash {cursor:<node>, scanned, resealed, current, unreadable, started_at,
#   finished_at}: the SCAN checkpoint of a re-sealing pass towards the data key whose
#   sha256[:16] is ``<fp>``; TTL 30 days.
# The sealed values it visits (glob, hash field or None for a string): see bff/domain/rekey.py
# SEALED.
def rekey_checkpoint(fingerprint: str) -> str:
    return f"{PREFIX}rekey:{fingerprint}"


# Custom-code import lock (bff/domain/codes/importer.py):
# - ``bff:import-lock:<card_id>`` string, JSON {owner, host, pid, started_at} of the one
#   ``bff codes import`` running for that card; TTL 60 s, renewed every 20 s while it runs.
def import_lock(card_id: str) -> str:
    return f"{PREFIX}import-lock:{card_id}"


# Card messages (bff/domain/broadcasts.py; one hash tag for all: a few broadcasts a day):
# - ``bff:{broadcasts}:<broadcast_id>`` hash {broadcast_id, card_id, msg_id, client_msg_id,
#   fingerprint (sha256 of card and audience), audience (JSON {audience, tag_id,
#   openid_count}), created_at}; TTL 90 days.
# - ``bff:{broadcasts}:client:<d>`` string, the broadcast_id sent with the client_msg_id whose
#   sha256[:32] is ``<d>`` (while it is being sent: the same, for 60 s); TTL 90 days.
# - ``bff:{broadcasts}:msg:<msg_id>`` string, the broadcast_id of WeChat's msg_id; TTL 90 days.
# - ``bff:{broadcasts}:job:<msg_id>`` hash {status, total, filtered, sent, errors, at}: WeChat's
#   MASSSENDJOBFINISH push for that msg_id; TTL 90 days.
def broadcast(broadcast_id: str) -> str:
    return f"{PREFIX}{{broadcasts}}:{broadcast_id}"


def broadcast_client(digest: str) -> str:
    return f"{PREFIX}{{broadcasts}}:client:{digest}"


def broadcast_msg(msg_id: str) -> str:
    return f"{PREFIX}{{broadcasts}}:msg:{msg_id}"


def broadcast_job(msg_id: str) -> str:
    return f"{PREFIX}{{broadcasts}}:job:{msg_id}"


# Operators (bff/domain/operators.py; one hash tag for all: a handful of accounts, and their scripts
# touch accounts, tokens and console sessions together). A token is never stored, only its
# sha256 (``<token_id>``); a console session id likewise (``<sid>`` = sha256 of the cookie):
# - ``bff:{operators}:accounts`` hash name -> JSON {name, role, created_at, rotated_at}; no TTL.
# - ``bff:{operators}:token-of`` hash name -> the token_id of its current token; no TTL.
# - ``bff:{operators}:tokens`` hash token_id -> "<role> <name>"; no TTL.
# - ``bff:{operators}:console:<sid>`` hash {name, role, token_id, csrf, created_at}, a console
#   session; TTL BFF_CONSOLE_IDLE_SECONDS, renewed on each use.
# - ``bff:{operators}:console-of:<name>`` set of the <sid>s of that operator's sessions (ended
#   when it is removed or rotated; members whose session expired are pruned at sign-in); no TTL.
def operator_accounts() -> str:
    return f"{PREFIX}{{operators}}:accounts"


def operator_token_of() -> str:
    return f"{PREFIX}{{operators}}:token-of"


def operator_tokens() -> str:
    return f"{PREFIX}{{operators}}:tokens"


def console_session(sid: str) -> str:
    return f"{PREFIX}{{operators}}:console:{sid}"


def console_sessions_of(name: str) -> str:
    return f"{PREFIX}{{operators}}:console-of:{name}"


# Audit (bff/domain/audit.py):
# - ``bff:{audit}:log`` stream, one entry per state-changing operator request or command
#   {at, operator, role, via, action, method, path, status, request_id}; XADD trims entries
#   older than ``bff.domain.audit.RETENTION_SECONDS`` (by age, never by count: the people the
#   audit watches cannot push entries out); no TTL.
# - ``bff:{audit}:refusals:<operator name>:<minute>`` string, an operator's refused requests
#   in one minute (INCR; TTL 2 minutes): past the bound they are counted, not listed.
def audit_log() -> str:
    return f"{PREFIX}{{audit}}:log"


def audit_refusals(operator: str, minute: int) -> str:
    return f"{PREFIX}{{audit}}:refusals:{operator}:{minute}"
