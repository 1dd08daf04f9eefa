"""Nobody spends the merchant's WeChat quota but its users: limits on the endpoints that call
WeChat with a value the caller chose (a login code, a card_id, an encrypt_code, a code).

Two budgets per client address and per user (the session's openid), in fixed windows of the
``limits`` library, stored in the shared Redis (every instance counts together; a Redis Cluster
too) or, on the embedded store of ``bff dev``, in process memory. Both are charged when a
guarded request is about to make its first WeChat call (``bff.ground.wechat.client.BEFORE_CALL``),
so
a request answered from caches (add-card for a known card: the hot path) costs nothing. A
decrypt (``spends_quota(ahead=True)``) sends its counters with its first read (its cache of
WeChat's answers) instead of a round trip of their own, judges them at the call, and gives them
back whole when the cache answered:

- **requests** (``BFF_LIMIT_ADDRESS``, ``BFF_LIMIT_USER``): each request that calls WeChat
  counts 1;
- **failures** (``BFF_LIMIT_ADDRESS_FAILURES``, ``BFF_LIMIT_USER_FAILURES``): 1 is charged
  *before* the call, atomically (INCRBY in one script), and given back when the request
  succeeds, or when its refusal says to retry (``Retry-After``) or is not the caller's (5xx).
  What stays charged is a refused attempt (a 4xx: a junk login code, an unknown card or code)
  that reached WeChat. Since the charge comes first, parallel junk cannot slip through between
  a test and a deduction: at most the budget is ever in flight or spent.

A request over a budget is refused with 429, ``Retry-After`` (seconds until its window ends), in
the service's one error shape, before the call. The service's own calls for its access_token and
tickets are not charged to anyone.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import g, request
from limits import RateLimitItem
from limits.storage import MemoryStorage
from werkzeug.exceptions import HTTPException

from bff.domain.sessions.user import SessionUser
from bff.edges.http.openapi import documents
from bff.ground.config import Settings, parse_limits
from bff.ground.errors import DomainError, TooManyRequests
from bff.ground.services import Services, services
from bff.ground.store import STORE_ERRORS, coalesce
from bff.ground.wechat.client import BEFORE_CALL
from bff.ground.wechat.credential_source import CLASSIC_TOKEN_PATH, STABLE_TOKEN_PATH, TICKET_PATH

log = logging.getLogger(__name__)

KEY_PREFIX = "bff:limits"
SERVICE_PATHS = frozenset((CLASSIC_TOKEN_PATH, STABLE_TOKEN_PATH, TICKET_PATH))
EXTRA = "quota"  # the Services.extras entry
RATE_LIMITED_ANSWER = {
    429: "too many requests, or too many refused attempts, from this address or user "
         "(BFF_LIMIT_*), or WeChat's per-minute quota is used up; see Retry-After"}


# limits' own counter (its incr_expire.lua), and the window's seconds left, for each counter of
# one caller (address or user) in one call: a caller's counters share a hash tag (its digest),
# so they are in one slot (a cluster) and one script serves them all; the counters of a request
# are sent together, in one pipeline shared with concurrent requests (bff.ground.store.coalesce).
# (A script per counter was seven per first decrypt, each packed, sent and parsed: issue 18.)
# KEYS: the counters; ARGV: each one's window seconds, amount and budget, in threes. Returns
# {count, TTL, count, TTL, ...} in the order of KEYS; the TTL is read only for a count over its
# budget (the refusal's Retry-After), 0 otherwise: it was a third of the script's commands.
_INCR = coalesce.Script("""
local out = {}
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[3 * i - 1])
  local current = redis.call('INCRBY', key, amount)
  if tonumber(current) == amount then redis.call('EXPIRE', key, ARGV[3 * i - 2]) end
  out[2 * i - 1] = current
  out[2 * i] = current > tonumber(ARGV[3 * i]) and redis.call('TTL', key) or 0
end
return out
""")
# a window, whose counter it is, and the refusal's words when it is used up
Window = tuple[RateLimitItem, tuple[str, ...], str]


@dataclass
class Charge:
    """Failure budgets charged for one request, given back unless it ends in a refusal."""

    held: list[Window] = field(default_factory=list)


class QuotaGuard:
    """The budgets, counted in ``limits``' fixed windows, under ``limits``' own keys: in Redis
    (``redis_client``, one server or a cluster) by ``_INCR``, every counter of a request in one
    round trip; on the embedded store of ``bff dev`` (``redis_client`` None) in process memory,
    by ``limits`` itself."""

    def __init__(self, settings: Settings, redis_client: Any) -> None:
        self.redis = redis_client if settings.redis_url else None
        self.memory = None if self.redis is not None else MemoryStorage()
        self.address = parse_limits(settings.limit_address)
        self.address_failures = parse_limits(settings.limit_address_failures)
        self.user = parse_limits(settings.limit_user)
        self.user_failures = parse_limits(settings.limit_user_failures)

    def admit(self, address: str, user: str | None) -> Charge:
        """Count the request and charge the failure budgets; 429 when one is used up, and then
        the failure budgets are given back (the request stays counted)."""
        counted, charged = self._windows(address, user)
        return self._judge(counted, charged, self._add(counted + charged, 1))

    def admit_ahead(self, address: str, user: str | None) -> Ahead:
        """``admit``'s counters sent with the request's next round trip to Redis instead of one
        of their own (``Ahead``): judged when a call to WeChat is about to be made, given
        back when none was."""
        counted, charged = self._windows(address, user)
        sent = coalesce.ahead(self.redis, self._build(counted + charged, 1), scripts=(_INCR,))
        return Ahead(self, counted, charged, sent, time.time())

    def _windows(self, address: str, user: str | None) -> tuple[list[Window], list[Window]]:
        """The request's counters, and the failure budgets among them."""
        # A signed-in caller's refusals are charged to that user only: the address's failure
        # budget guards the logins (the one way in without a session), so junk sent with a
        # session by one user behind a carrier NAT does not lock out everyone behind it.
        who = [("address", address, self.address, [] if user else self.address_failures)]
        if user:
            who.append(("user", user, self.user, self.user_failures))
        counted = [(item, (f"{kind}-requests", ident), f"too many requests from this {kind}")
                   for kind, ident, requests_, _ in who for item in requests_]
        charged = [(item, (f"{kind}-failures", ident),
                    f"too many refused attempts from this {kind}")
                   for kind, ident, _, failures in who for item in failures]
        return counted, charged

    def _judge(self, counted: list[Window], charged: list[Window],
               results: list[tuple[int, float]]) -> Charge:
        for (item, _, why), (count, reset) in zip(counted + charged, results, strict=True):
            if count > item.amount:
                self._take_back(charged)
                wait = max(1, math.ceil(reset - time.time()))
                log.info("quota refused: %s (%s)", why, item)
                raise TooManyRequests(f"{why}; retry in {wait} s", retry_after=wait)
        return Charge(held=charged)

    def settle(self, charge: Charge, *, failed: bool) -> None:
        if not failed:
            self._take_back(charge.held)
            charge.held = []

    def _add(self, counters: list[Window], amount: int) -> list[tuple[int, float]]:
        """Add ``amount`` to each counter: each one's new count and the time its window ends."""
        if self.memory is not None:
            out = []
            for item, ids, _ in counters:
                key = item.key_for(*ids)
                count = self.memory.incr(key, item.get_expiry(), amount=amount)
                out.append((count, self.memory.get_expiry(key)))
            return out
        now = time.time()
        replies = coalesce.send(self.redis, self._build(counters, amount), scripts=(_INCR,))
        return self._results(counters, replies, now)

    @staticmethod
    def _build(counters: list[Window], amount: int) -> Callable[[Any], None]:
        def build(pipe: Any) -> None:
            for group in _by_caller(counters):
                mine = [counters[i][:2] for i in group]
                _INCR.call(pipe, [counter_key(item, ids) for item, ids in mine],
                           [x for item, _ in mine
                            for x in (item.get_expiry(), amount, item.amount)])

        return build

    @staticmethod
    def _results(counters: list[Window], replies: list[Any],
                 now: float) -> list[tuple[int, float]]:
        """Each counter's (count, end of its window), in the order of ``counters``, from the
        replies of ``_build``'s scripts."""
        out: list[tuple[int, float]] = [(0, 0.0)] * len(counters)
        for group, reply in zip(_by_caller(counters), replies, strict=True):
            for k, i in enumerate(group):
                out[i] = (int(reply[2 * k]), now + max(int(reply[2 * k + 1]), 0))
        return out

    def _take_back(self, counters: list[Window]) -> None:
        """Give back one of each counter (a fixed window's counter: INCRBY -1); a failure here
        lapses with the window."""
        if not counters:
            return
        try:
            self._add(counters, -1)
        except STORE_ERRORS as e:
            log.warning("quota refund failed: %s", type(e).__name__)


@dataclass
class Ahead:
    """A request's counters sent ahead (``QuotaGuard.admit_ahead``)."""

    guard: QuotaGuard
    counted: list[Window]
    charged: list[Window]
    sent: coalesce.Ahead
    at: float

    def judge(self) -> Charge:
        """``admit``'s answer, at the request's first call to WeChat: 429 when a budget is used
        up (the failure budgets given back; the request stays counted), else the charge."""
        results = self.guard._results(self.counted + self.charged, self.sent.replies(),
                                      self.at)
        return self.guard._judge(self.counted, self.charged, results)

    def give_back(self) -> None:
        """No call to WeChat was made: nothing is counted, nothing charged. Unsent, the
        counters are taken back; sent, they are given back with the request's next round
        trip, or at its end."""
        if not self.sent.withdraw():
            coalesce.later(self.guard.redis,
                           self.guard._build(self.counted + self.charged, -1),
                           scripts=(_INCR,))


def counter_key(item: RateLimitItem, ids: tuple[str, ...]) -> str:
    """A counter's Redis key: ``limits``' own key, after a hash tag of its caller's digest
    (``ids[1]``), so that a caller's counters share a slot (``_INCR``)."""
    return f"{KEY_PREFIX}:{{{ids[1]}}}:{item.key_for(*ids)}"


def _by_caller(counters: list[Window]) -> list[list[int]]:
    """The positions of ``counters``, grouped by caller (one ``_INCR`` each), in order."""
    groups: dict[str, list[int]] = {}
    for i, (_, ids, _) in enumerate(counters):
        groups.setdefault(ids[1], []).append(i)
    return list(groups.values())


def _digest(value: str) -> str:
    """Keys carry no address or openid in clear."""
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def client_address() -> str:
    """The client's address: the socket's peer, or X-Forwarded-For's entry that
    ``BFF_TRUSTED_PROXIES`` proxies vouch for (werkzeug's ProxyFix, installed by create_app)."""
    return request.remote_addr or "unknown"


def caller_key(user: SessionUser | None) -> str | None:
    """The authenticated user's budget key (by openid: every session of one WeChat user shares
    a budget)."""
    if user is None:
        return None
    return user.mp_openid or user.oa_openid or user.token_id


def _is_refusal(status: int | None, retry_after: Any) -> bool:
    return status is not None and 400 <= status < 500 and status != 429 and retry_after is None


class _Spending:
    """One guarded request: charged at its first WeChat call (``BEFORE_CALL``). The address
    and user are hashed then, not before: a request answered from caches (add-card for a known
    card) hashes nothing. ``ahead`` (a request that nearly always calls WeChat, after a read
    of its own): hashed at once, and the counters go with that read (``QuotaGuard.admit_ahead``)
    instead of a round trip of their own before the call."""

    def __init__(self, guard: QuotaGuard, address: Callable[[], str], user: str | None,
                 ahead: bool = False) -> None:
        self.guard, self.address, self.user = guard, address, user
        self.charge: Charge | None = None
        self.ahead: Ahead | None = None
        if ahead and guard.redis is not None:
            self.ahead = guard.admit_ahead(_digest(address()), _digest(user) if user else None)

    def __call__(self, path: str) -> None:
        if self.charge is None and path not in SERVICE_PATHS:
            if self.ahead is not None:
                ahead, self.ahead = self.ahead, None  # judged once; a 429 stays counted
                self.charge = ahead.judge()
            else:
                self.charge = self.guard.admit(_digest(self.address()),
                                               _digest(self.user) if self.user else None)

    def settle(self, failed: bool) -> None:
        if self.charge is not None:
            self.guard.settle(self.charge, failed=failed)
        elif self.ahead is not None:
            self.ahead.give_back()


def spends_quota(view: Callable[..., Any] | None = None, *, ahead: bool = False) -> Any:
    """Guard a view that calls WeChat with the caller's values (innermost decorator: after
    authentication and body parsing, so a 401 or a 422 costs nothing and counts nothing).
    ``@spends_quota(ahead=True)``: a view that nearly always calls WeChat after a read of its
    own (``_Spending``)."""
    if view is None:
        return functools.partial(spends_quota, ahead=ahead)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with spending(services(), client_address, g.get("bff_user"), ahead=ahead):
            return view(*args, **kwargs)

    return documents(RATE_LIMITED_ANSWER, own=True)(wrapper)


class spending:  # noqa: N801 - used as a function: ``with spending(...):``
    """The quota guard around work that may call WeChat with a caller's values: charged at its
    first WeChat call to the budgets of the client ``address()`` (asked then) and of ``user``,
    given back unless the work ends in a refusal (a 4xx, ``_failed``). ``ahead``: see
    ``_Spending``. (A class, not a generator: it wraps every add-card, where two generators'
    context managers cost about two microseconds more.)"""

    __slots__ = ("_spent", "_token")

    def __init__(self, svc: Services, address: Callable[[], str], user: SessionUser | None,
                 *, ahead: bool = False) -> None:
        guard: QuotaGuard | None = svc.extras.get(EXTRA)
        self._spent = None if guard is None else _Spending(guard, address, caller_key(user),
                                                           ahead)

    def __enter__(self) -> None:
        if self._spent is not None:
            self._token = BEFORE_CALL.set(self._spent)

    def __exit__(self, _type: object, error: BaseException | None, _tb: object) -> None:
        if self._spent is not None:
            BEFORE_CALL.reset(self._token)
            self._spent.settle(_failed(error))


@contextlib.contextmanager
def limited_attempt() -> Iterator[None]:
    """A guess at a secret (a console sign-in), charged like a refused WeChat call to the
    client address's budgets (``BFF_LIMIT_ADDRESS*``): 429 when they are used up; the failure
    charge is given back unless the block raises a refusal (a 4xx)."""
    guard: QuotaGuard | None = services().extras.get(EXTRA)
    if guard is None:
        yield
        return
    charge = guard.admit(_digest(client_address()), None)
    with _settled(lambda failed: guard.settle(charge, failed=failed)):
        yield


@contextlib.contextmanager
def _settled(settle: Callable[[bool], None]) -> Iterator[None]:
    """Run the block, then ``settle(failed)``: failed when it raised a refusal (``_failed``)."""
    try:
        yield
    except BaseException as e:
        settle(_failed(e))
        raise
    settle(False)


def _failed(error: BaseException | None) -> bool:
    """Whether work that ended in ``error`` (None: it did not) counts as a failure against the
    caller's budgets: a refusal (a 4xx other than 429), not a server's failure."""
    if isinstance(error, DomainError):
        return _is_refusal(error.status, error.retry_after)
    if isinstance(error, HTTPException):
        return _is_refusal(error.code, None)
    return False


def init_app(app: Any, settings: Settings, redis_client: Any) -> None:
    """The guard of this app, and the client address from trusted proxies only."""
    services(app).extras[EXTRA] = QuotaGuard(settings, redis_client)
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,
                                x_proto=settings.trusted_proxies)
