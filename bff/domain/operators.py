"""Operators: named accounts, each with a role and a secret token of its own, and their console
sessions. No Flask here.

Roles (``ROLES``): ``staff`` queries and redeems codes at the counter; ``marketing`` runs the
catalogue, issuing, broadcasts and statistics and reads members and events; ``admin`` may do
everything. Which role may call which endpoint is declared on each endpoint
(``bff.edges.http.admin_auth.roles``).

A token is 256 random bits (``bffop_`` and 43 URL-safe characters), shown once when the account
is added or rotated. Only its sha256 is stored: a token that cannot be guessed needs no slow
hash. ``BFF_ADMIN_TOKEN`` stays the break-glass admin, named ``break-glass``.

A console session is a random id in an HttpOnly cookie plus a CSRF token; both live in Redis,
expire after ``BFF_CONSOLE_IDLE_SECONDS`` without use, and end when the operator is removed or
rotated (each use also checks that the token it was opened with is still the operator's).
Keys: ``bff.ground.store.keys`` (the ``{operators}`` group).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis

from bff.ground.store import keys

STAFF, MARKETING, ADMIN = "staff", "marketing", "admin"
ROLES = (STAFF, MARKETING, ADMIN)
BREAK_GLASS = "break-glass"  # BFF_ADMIN_TOKEN, in the audit and the console
CLI = "cli"  # the command line, in the audit
RESERVED_NAMES = frozenset({BREAK_GLASS, CLI})
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
TOKEN_PREFIX = "bffop_"


class OperatorError(ValueError):
    """An account cannot be added, removed or rotated; the message says why."""


@dataclass(frozen=True)
class Operator:
    """Who is calling: an account (or ``break-glass``), its role, and how it authenticated
    (``bearer`` or ``session``)."""

    name: str
    role: str
    via: str = "bearer"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role}


def token_id(token: str) -> str:
    """What is stored of a token (or a session id): its sha256."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _check_name(name: str) -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise OperatorError("a name is 1-64 of a-z 0-9 . _ - (starting with a letter or digit)")


_ADD = """
-- KEYS: accounts, token-of, tokens; ARGV: name, account JSON, token_id, role
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4] .. ' ' .. ARGV[1])
return 1
"""
_ROTATE = """
-- KEYS: accounts, token-of, tokens; ARGV: name, account JSON, new token_id
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return 0 end
local value = redis.call('HGET', KEYS[3], old)
redis.call('HDEL', KEYS[3], old)
redis.call('HSET', KEYS[3], ARGV[3], value)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""
_REMOVE = """
-- KEYS: accounts, token-of, tokens; ARGV: name
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return 0 end
redis.call('HDEL', KEYS[3], old)
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""
# Opens a session only while the token it was signed in with is still the operator's.
_SIGN_IN = """
-- KEYS: session, tokens, console-of:<name>; ARGV: token_id, expected "<role> <name>" ("" for
-- break-glass), name, role, csrf, now, idle seconds, sid
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[3], 'role', ARGV[4], 'token_id', ARGV[1],
           'csrf', ARGV[5], 'created_at', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('SADD', KEYS[3], ARGV[8])
return 1
"""
# A session in use: still the operator's current token (or BFF_ADMIN_TOKEN), then renewed.
_TOUCH = """
-- KEYS: session, tokens; ARGV: idle seconds (0: do not renew), token_id of BFF_ADMIN_TOKEN,
-- now, the longest a session lives however busy
local s = redis.call('HMGET', KEYS[1], 'name', 'role', 'token_id', 'csrf', 'created_at')
if not s[1] then return false end
if tonumber(s[5] or 0) + tonumber(ARGV[4]) < tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1])
  return false
end
s[5] = nil
if s[1] == 'break-glass' then
  if s[3] ~= ARGV[2] then redis.call('DEL', KEYS[1]) return false end
elseif redis.call('HGET', KEYS[2], s[3]) ~= s[2] .. ' ' .. s[1] then
  redis.call('DEL', KEYS[1])
  return false
end
if tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return s
"""


def _script(r: redis.Redis, name: str, source: str) -> Any:
    attribute = f"_bff_operators_{name}"
    script = getattr(r, attribute, None)
    if script is None:
        script = r.register_script(source)
        setattr(r, attribute, script)
    return script


_ACCOUNT_KEYS = (keys.operator_accounts, keys.operator_token_of, keys.operator_tokens)


def add(r: redis.Redis, name: str, role: str, *, now: float | None = None) -> str:
    """Create an account; its token (shown once: only its digest is kept)."""
    _check_name(name)
    if name in RESERVED_NAMES:
        raise OperatorError(f"{name!r} is reserved")
    if role not in ROLES:
        raise OperatorError(f"the role is one of {', '.join(ROLES)}")
    token = new_token()
    at = int(now if now is not None else time.time())
    account = json.dumps({"name": name, "role": role, "created_at": at, "rotated_at": None})
    added = _script(r, "add", _ADD)(keys=[k() for k in _ACCOUNT_KEYS],
                                    args=[name, account, token_id(token), role])
    if not added:
        raise OperatorError(f"an operator named {name!r} exists (rotate its token, or remove "
                            "it first)")
    return token


def rotate(r: redis.Redis, name: str, *, now: float | None = None) -> str:
    """A new token for the account; the old one and every session opened with it end."""
    account = get(r, name)
    if account is None:
        raise OperatorError(f"no operator is named {name!r}")
    token = new_token()
    account["rotated_at"] = int(now if now is not None else time.time())
    rotated = _script(r, "rotate", _ROTATE)(keys=[k() for k in _ACCOUNT_KEYS],
                                            args=[name, json.dumps(account), token_id(token)])
    if not rotated:  # removed meanwhile
        raise OperatorError(f"no operator is named {name!r}")
    end_sessions_of(r, name)
    return token


def remove(r: redis.Redis, name: str) -> None:
    """Delete the account: its token and its console sessions stop working at once."""
    removed = _script(r, "remove", _REMOVE)(keys=[k() for k in _ACCOUNT_KEYS], args=[name])
    end_sessions_of(r, name)
    if not removed:
        raise OperatorError(f"no operator is named {name!r}")


def get(r: redis.Redis, name: str) -> dict[str, Any] | None:
    raw = r.hget(keys.operator_accounts(), name)
    return json.loads(raw) if raw else None


def list_all(r: redis.Redis) -> list[dict[str, Any]]:
    """Every account ({name, role, created_at, rotated_at}), by name; never a token."""
    return sorted((json.loads(v) for v in r.hvals(keys.operator_accounts())),
                  key=lambda a: a["name"])


def authenticate(r: redis.Redis, token: str, break_glass_token: str) -> Operator | None:
    """The operator whose token this is (``BFF_ADMIN_TOKEN``: break-glass), else None."""
    if break_glass_token and hmac.compare_digest(token.encode(), break_glass_token.encode()):
        return Operator(BREAK_GLASS, ADMIN)
    # the token is looked up by its digest: nothing to compare byte by byte
    found = r.hget(keys.operator_tokens(), token_id(token))
    if not found:
        return None
    role, _, name = found.partition(" ")
    return Operator(name, role)


# -- console sessions --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsoleSession:
    operator: Operator
    csrf_token: str


# However busy, a console session ends after a working day: the operator signs in again.
MAX_SESSION_SECONDS = 12 * 3600


def sign_in(r: redis.Redis, token: str, break_glass_token: str,
            idle_seconds: int) -> tuple[str, ConsoleSession] | None:
    """Open a console session for the token's operator: (the cookie's session id, the
    session), or None when no operator has this token."""
    operator = authenticate(r, token, break_glass_token)
    if operator is None:
        return None
    session_id = secrets.token_urlsafe(32)
    sid = token_id(session_id)
    csrf = secrets.token_urlsafe(32)
    expected = "" if operator.name == BREAK_GLASS else f"{operator.role} {operator.name}"
    _prune(r, operator.name)
    opened = _script(r, "sign_in", _SIGN_IN)(
        keys=[keys.console_session(sid), keys.operator_tokens(),
              keys.console_sessions_of(operator.name)],
        args=[token_id(token), expected, operator.name, operator.role, csrf,
              int(time.time()), idle_seconds, sid])
    if not opened:  # rotated or removed meanwhile
        return None
    return session_id, ConsoleSession(Operator(operator.name, operator.role, "session"), csrf)


def session(r: redis.Redis, session_id: str, break_glass_token: str,
            idle_seconds: int, *, renew: bool = True) -> ConsoleSession | None:
    """The live session of this cookie, renewed for another idle period unless ``renew`` is
    false (a page's background poll: it must not keep an unattended console signed in);
    else None."""
    found = _script(r, "touch", _TOUCH)(
        keys=[keys.console_session(token_id(session_id)), keys.operator_tokens()],
        args=[idle_seconds if renew else 0,
              token_id(break_glass_token) if break_glass_token else "", int(time.time()),
              MAX_SESSION_SECONDS])
    if not found:
        return None
    name, role, _, csrf = found
    return ConsoleSession(Operator(name, role, "session"), csrf)


def sign_out(r: redis.Redis, session_id: str) -> None:
    r.delete(keys.console_session(token_id(session_id)))


def end_sessions_of(r: redis.Redis, name: str) -> None:
    """End every console session of the operator."""
    index = keys.console_sessions_of(name)
    sids = r.smembers(index)
    pipe = r.pipeline(transaction=True)
    for sid in sids:
        pipe.delete(keys.console_session(sid))
    pipe.delete(index)
    pipe.execute()


def _prune(r: redis.Redis, name: str) -> None:
    """Forget the index entries of sessions that expired."""
    index = keys.console_sessions_of(name)
    sids = list(r.smembers(index))
    if not sids:
        return
    pipe = r.pipeline(transaction=False)
    for sid in sids:
        pipe.exists(keys.console_session(sid))
    gone = [sid for sid, alive in zip(sids, pipe.execute(), strict=True) if not alive]
    if gone:
        r.srem(index, *gone)
