"""Group commit: the commands of concurrent requests sent to Redis in one pipeline.

An event acknowledgement was two short Redis round trips, and at 32 connections they were half
of its cost (issue 18: the sends, redis-py's pool checkout and parsing, a greenlet switch each,
and a wake-up of redis-server each). ``send(r, build)`` queues the commands ``build`` adds to a
pipeline. A caller that finds no pipeline in flight leads: after one turn of the hub (callers
ready to run queue meanwhile) it sends everything queued as one non-transactional pipeline.
Callers that queue while a pipeline is in flight wait, and the first of them to run when it
ends leads the next one.

Each caller's commands keep their order, and nothing of one caller is atomic with another's:
it is what the caller's own pipeline would have done, sent in company. A reply that is an error
is raised to its own caller only. When the shared pipeline fails as a whole on a cluster (one
node down), each caller is sent again alone and answers as it would have alone (on one server,
the failure is every caller's); a script the server does not know (restarted, flushed, a
replica just promoted) is loaded and the callers it failed are sent again. So a caller's
commands must bear being sent twice, as redis-py's own retry of a pipeline already requires:
the event recording knows its own request's mark, the receipt its own marker.

Works under gevent's monkey-patching (waiting is on the hub's events) and under threads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.commands.core import CoreCommands

try:
    from hiredis import pack_command
except ImportError:  # pragma: no cover - hiredis is a dependency (redis[hiredis])
    pack_command = None

_POOLS = (redis.ConnectionPool, redis.BlockingConnectionPool)

__all__ = ["Ahead", "Script", "ahead", "later", "later_scope", "send"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Script:
    """A Lua script called by its SHA-1 (``evalsha``) in a coalesced pipeline. Not redis-py's
    ``register_script``: in a pipeline its scripts cost a ``SCRIPT EXISTS`` round trip on every
    execute; here a NOSCRIPT reply loads the script and sends its callers again."""

    source: str
    sha: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())

    def call(self, pipe: Any, keys: Iterable[str], args: Iterable[Any]) -> None:
        names = list(keys)
        if type(pipe) is _Commands:  # what redis-py's evalsha would add, without its wrappers
            pipe.commands.append((("EVALSHA", self.sha, len(names), *names, *args), _NO_OPTIONS))
        else:
            pipe.evalsha(self.sha, len(names), *names, *args)


Build = Callable[[Any], None]

# The queue's lock is the thread's own, even under gevent's monkey-patching: it is held for a
# few statements with nothing that yields, so no greenlet ever waits on it, and a hub lock's
# acquire cost ten times as much (issue 18's profile). Waiting is on the hub's events.
try:
    from gevent.monkey import get_original

    _allocate_lock = get_original("_thread", "allocate_lock")
except ImportError:  # pragma: no cover - gevent is a dependency; threads alone work too
    from _thread import allocate_lock as _allocate_lock


class _Call:
    __slots__ = ("build", "scripts", "done", "settled", "replies", "error")

    def __init__(self, build: Build, scripts: tuple[Script, ...]) -> None:
        self.build, self.scripts = build, scripts
        self.done: threading.Event | None = None  # set when settled, or when a leader is needed
        self.settled = False  # replies or error set
        self.replies: list[Any] = []
        self.error: BaseException | None = None


class _Coalescer:
    """Leader and followers. A caller leads when no pipeline is in flight; otherwise it waits
    until its pipeline has answered or the one in flight ends, and then every caller still
    queued is woken and the first to run leads. No caller is ever chosen to lead, so one that
    is killed while it waits (a greenlet at shutdown) stalls nobody: its commands go out with
    the next pipeline, unanswered."""

    def __init__(self, r: Any) -> None:
        self._r = r
        self._lock = _allocate_lock()
        self._queue: list[_Call] = []
        self._busy = False
        # The pool's connection its pipelines go out on (``_send``), taken once and held: one
        # pipeline is in flight at a time, sent by its leader alone.
        self.conn: Any = None
        _COALESCERS.add(self)

    def send(self, build: Build, scripts: tuple[Script, ...],
             carried: Iterable[_Call] = ()) -> list[Any]:
        call = _Call(build, scripts)
        with self._lock:
            self._queue.extend(carried)  # nobody waits for them: they go with this call
            self._queue.append(call)
        while True:
            with self._lock:
                if call.settled:
                    break
                lead = not self._busy
                self._busy = True
                if not lead:
                    call.done = threading.Event()
            if lead:
                self._flush(call)
            else:
                call.done.wait()  # type: ignore[union-attr]
        if call.error is not None:  # the pipeline's, not a reply's
            raise call.error
        return call.replies

    def _flush(self, leader: _Call) -> None:
        batch: list[_Call] = []
        try:
            try:
                # Callers that are ready to run queue first (under gevent: one turn of the
                # hub), so the pipeline goes out with company; measured: about 15 % less CPU
                # per ack at 32 connections (bench/events.py).
                time.sleep(0)
            finally:
                with self._lock:
                    batch, self._queue = self._queue, []
            _execute(self._r, batch)
        except BaseException as e:  # noqa: BLE001 - every caller of the pipeline answers
            for c in batch:
                if not c.settled:
                    # the leader's own interruption (a killed greenlet, a timeout) is its
                    # own: the others learn that their pipeline did not answer
                    c.error = e if c is leader else redis.ConnectionError(
                        "the shared pipeline was interrupted")
        finally:
            for c in batch:
                c.settled = True
            with self._lock:
                self._busy = False
                waiting = [c.done for c in (*batch, *self._queue) if c.done is not None]
            for done in waiting:
                done.set()


def _execute(r: Any, batch: list[_Call]) -> None:
    try:
        replies = _pipeline(r, batch)
    except Exception:
        if len(batch) == 1 or not _resend_alone(r):
            raise
        # One caller's node down (a cluster) must not fail the others: each is sent again
        # alone, and answers as it would have alone.
        for c in batch:
            try:
                _execute(r, [c])
            except Exception as e:  # noqa: BLE001 - this caller's own failure
                c.error = e
                c.settled = True
        return
    again = []
    for c, mine in zip(batch, replies, strict=True):
        if any(isinstance(x, redis.exceptions.NoScriptError) for x in mine):
            again.append(c)
        else:
            _settle(c, mine)
    if again:  # a restarted or flushed server: load the scripts, send those callers again
        for script in {s for c in again for s in c.scripts}:
            r.script_load(script.source)
        for c, mine in zip(again, _pipeline(r, again), strict=True):
            _settle(c, mine)


def _resend_alone(r: Any) -> bool:
    """On a cluster a failed pipeline may be one node's failure, and the callers of the other
    nodes still answer when sent alone. One server failed them all: sending each again would
    only repeat redis-py's retries for every caller in turn, and hold a 503 for seconds."""
    return isinstance(r, RedisCluster)


def _pipeline(r: Any, calls: list[_Call]) -> list[list[Any]]:
    """One pipeline of the callers' commands; each caller's replies, errors included."""
    direct = _direct(r)
    pipe = _Commands() if direct else r.pipeline(transaction=False)
    spans = []
    for c in calls:
        start = len(pipe)
        c.build(pipe)
        spans.append((start, len(pipe)))
    replies = _send(r, pipe.commands) if direct else pipe.execute(raise_on_error=False)
    return [replies[start:end] for start, end in spans]


_NO_OPTIONS: dict[str, Any] = {}
_KEYS_ONLY = frozenset({"keys"})  # what redis-py's read commands pass (GET, HGETALL)


class _Commands(CoreCommands):
    """What ``build`` adds to a pipeline, kept as (args, options): redis-py's command methods
    (``sadd``, ``evalsha``...) on a list, for ``_send``."""

    def __init__(self) -> None:
        self.commands: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def execute_command(self, *args: Any, **options: Any) -> None:
        self.commands.append((args, options))

    def __len__(self) -> int:
        return len(self.commands)


def _direct(r: Any) -> bool:
    """A plain client on one server, with hiredis: its pipelines go out by ``_send``. A cluster
    routes each command to its node (redis-py's cluster pipeline), the embedded store has no
    socket, and tracing wraps redis-py's own pipeline: those keep it."""
    return (pack_command is not None and type(r) is redis.Redis
            and type(r.connection_pool) in _POOLS and not _traced())


def _packed(args: tuple[Any, ...]) -> bytes:
    """One command as redis-py's hiredis serializer packs it: a name of two words ("SCRIPT
    EXISTS") split, a bytearray or memoryview sent as bytes, anything else hiredis cannot send
    a ``DataError``."""
    if isinstance(args[0], str) and " " in args[0]:
        args = (*args[0].split(), *args[1:])
    try:
        return pack_command(args)
    except TypeError:  # hiredis takes no bytearray or memoryview: redis-py sends them as bytes
        args = tuple(bytes(a) if isinstance(a, (bytearray, memoryview)) else a for a in args)
    try:
        return pack_command(args)
    except TypeError as e:
        raise redis.DataError(str(e)) from None


def _traced() -> bool:
    """redis-py's pipeline is wrapped (OpenTelemetry's redis instrumentation patches
    ``Pipeline.execute``): its spans are wanted, so the pipeline is redis-py's own."""
    return hasattr(redis.client.Pipeline.execute, "__wrapped__")


def _send(r: redis.Redis, commands: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> list[Any]:
    """What redis-py's non-transactional ``Pipeline.execute(raise_on_error=False)`` does for
    these commands: one write, each reply read and parsed by the client (its response
    callbacks), an error reply in its caller's place, the client's retry policy on a dropped
    connection (as for a pipeline, the commands must bear being sent twice). Packed by
    hiredis's ``pack_command`` in one call each: redis-py's own packing (each argument
    encoded in Python, then packed) was a tenth of an acknowledgement's CPU (issue 18)."""
    packed = b"".join([_packed(args) for args, _ in commands])
    pool = r.connection_pool
    coalescer = getattr(r, "_bff_coalescer", None)
    if coalescer is not None:  # its leader: the coalescer's own connection (_COALESCERS)
        conn = coalescer.conn
        if conn is None:
            conn = coalescer.conn = pool.get_connection()
    else:
        conn = pool.get_connection()

    callbacks = r.response_callbacks

    def once() -> list[Any]:
        conn.send_packed_command([packed])
        replies: list[Any] = []
        plain = not getattr(conn, "_resp2_fallback", True)
        try:
            for args, options in commands:
                try:
                    if (options and options.keys() != _KEYS_ONLY) or not plain \
                            or args[0] in callbacks:
                        replies.append(r.parse_response(conn, args[0], **options))
                    else:  # what parse_response does for a command without callback whose
                        # only option is ``keys`` (for redis-py's client-side cache)
                        replies.append(conn.read_response())
                except redis.ResponseError as e:
                    replies.append(e)
        except BaseException:
            conn.disconnect()  # replies still on the socket must not reach another caller
            raise
        return replies

    def exchange() -> list[Any]:
        return conn.retry.call_with_retry(once, lambda _error: conn.disconnect())

    reused = coalescer is not None and conn._sock is not None
    try:
        try:
            return exchange()
        except redis.ConnectionError:
            if not reused:
                raise
            # What the pool's poll would have found before the write: the server closed the
            # held connection (a restart, CLIENT KILL, an idle timeout). Sent again on a new one.
            return exchange()
    finally:
        if coalescer is None:
            pool.release(conn)


# Each coalescer holds its connection instead of taking one from the pool and giving it back
# for every pipeline: redis-py's pool checks the process id twice, takes its lock twice, polls
# the socket for stray data and records its connection counts, 7 % of a first decrypt's time
# in process (issue 18). What the poll guards against cannot happen here: ``once`` drops the
# connection whenever an exchange did not end with every reply read, and the next pipeline
# connects again. A forked child drops the parent's connections (their sockets are shared).
_COALESCERS: weakref.WeakSet[_Coalescer] = weakref.WeakSet()


def _forget_connections() -> None:
    for coalescer in list(_COALESCERS):
        coalescer.conn = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_connections)


def _settle(c: _Call, replies: list[Any]) -> None:
    c.replies = replies
    c.settled = True


def send(r: Any, build: Build, *, scripts: tuple[Script, ...] = (),
         raise_on_error: bool = True) -> list[Any]:
    """The replies to the commands ``build`` adds to a pipeline, sent together with those of
    concurrent callers on the same client (see the module's docstring), and with this
    context's writes queued by ``later`` for ``r``. ``scripts``: the scripts ``build`` calls,
    loaded if the server does not know them. Raises the first error reply among this caller's
    (``raise_on_error=False``: the errors are in the replies), or the pipeline's connection
    error."""
    coalescer = _coalescer(r)
    carried = _take_later(r)
    try:
        replies = coalescer.send(build, scripts, carried)
    finally:
        _report(carried)
    if raise_on_error:
        error = next((x for x in replies if isinstance(x, Exception)), None)
        if error is not None:
            raise error
    return replies


def _coalescer(r: Any) -> _Coalescer:
    coalescer = getattr(r, "_bff_coalescer", None)
    if coalescer is None:
        coalescer = _Coalescer(r)
        try:
            r._bff_coalescer = coalescer
        except AttributeError:  # a client that takes no attributes: one per call, no company
            pass
    return coalescer


# -- writes that nobody waits for ----------------------------------------------------------------

_LATER: ContextVar[list[tuple[Any, _Call]] | None] = ContextVar("bff_coalesce_later",
                                                                 default=None)


def later(r: Any, build: Build, *, scripts: tuple[Script, ...] = ()) -> None:
    """Send the commands ``build`` adds with this context's next ``send`` on ``r``, in the same
    round trip, or at the latest when the scope ends (``later_scope``: the service's request);
    at once outside a scope. For writes whose replies nobody needs, whose loss costs only a
    repeated lookup (a cache fill): an error is logged, never raised."""
    pending = _LATER.get()
    if pending is None:
        _report(_send_alone(r, [_Call(build, scripts)]))
    else:
        pending.append((r, _Call(build, scripts)))


class Ahead:
    """Commands queued by ``ahead``: sent with this context's next round trip on their client
    (as ``later``'s are), their replies read when they are needed (``replies``), or taken back
    while still unsent (``withdraw``)."""

    __slots__ = ("_r", "_call")

    def __init__(self, r: Any, call: _Call) -> None:
        self._r, self._call = r, call

    def replies(self) -> list[Any]:
        """The replies; sent now (with whatever else this context has queued) when no round
        trip took them yet. Raises the first error reply, or the pipeline's error."""
        c = self._call
        if not c.settled and self.withdraw():
            c.replies = send(self._r, c.build, scripts=c.scripts, raise_on_error=False)
            c.settled = True
        if c.error is not None:
            raise c.error
        error = next((x for x in c.replies if isinstance(x, Exception)), None)
        if error is not None:
            raise error
        return c.replies

    def withdraw(self) -> bool:
        """Take the commands back if no round trip has taken them: True when nothing was sent."""
        pending = _LATER.get()
        for i, (_, c) in enumerate(pending or ()):
            if c is self._call:
                del pending[i]  # type: ignore[union-attr]
                return True
        return False


def ahead(r: Any, build: Build, *, scripts: tuple[Script, ...] = ()) -> Ahead:
    """``later`` for commands whose replies are wanted, but not yet: what a request will need
    only if it gets that far (the quota's charge before a call to WeChat) rides the round trip
    it makes first, instead of one of its own. Outside a scope they are sent at once."""
    call = _Call(build, scripts)
    pending = _LATER.get()
    if pending is None:
        _send_alone(r, [call])
    else:
        pending.append((r, call))
    return Ahead(r, call)


class later_scope:  # noqa: N801 - used as a function: ``with later_scope():``
    """The scope of ``later``: what is still queued at its end is sent then. (A class, not a
    generator: it wraps every request of the service, and a generator's context manager cost
    it about a microsecond more.)"""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _LATER.set([])

    def __exit__(self, *exc: object) -> None:
        pending = _LATER.get() or []
        _LATER.reset(self._token)
        if pending:
            for r in {id(client): client for client, _ in pending}.values():
                _report(_send_alone(r, [c for client, c in pending if client is r]))


def _take_later(r: Any) -> list[_Call]:
    pending = _LATER.get()
    if not pending:
        return []
    mine = [c for client, c in pending if client is r]
    if mine:
        pending[:] = [(client, c) for client, c in pending if client is not r]
    return mine


def _send_alone(r: Any, calls: list[_Call]) -> list[_Call]:
    """``calls`` sent together, with nothing of the sender's own (one round trip)."""
    try:
        _coalescer(r).send(_nothing, (), calls)
    except Exception as e:  # noqa: BLE001 - reported with the calls
        for call in calls:
            call.error = call.error or e
    return calls


def _nothing(pipe: Any) -> None:
    pass


def _report(calls: Iterable[_Call]) -> None:
    for c in calls:
        error = c.error or next((x for x in c.replies if isinstance(x, Exception)), None)
        if error is not None or not c.settled:
            log.warning("a deferred write was not kept: %s",
                        type(error).__name__ if error is not None else "not sent")
