"""gunicorn's gevent worker, fair to every connection it holds (the Procfile's worker class).

gunicorn's gevent worker serves a keep-alive connection in a loop: after sending an answer it
reads the next request, and when the client already sent it (a busy client on another core)
the read succeeds at once, without going back to gevent's hub. One connection can then be
served over and over while the worker's other connections wait: under wrk with 32 connections
the bare Flask endpoint answered half its requests within 0.4 ms and 1 % after 0.5-0.8 s, on one
worker as on two (bench/RESULTS.md, issue 18). ``FairGeventWorker`` yields to the hub after each
request (``gevent.sleep(0)``: the other ready connections run first), which brought that p99
under 50 ms at the same throughput.

The workers share their connections evenly. A worker is one process on one core, so its
latency under load grows with the connections it holds: the kernel's spread of
``--reuse-port`` (a hash of each connection) gave two workers 11 and 21 of wrk's 32, or 12 and
20, and the busier one's requests waited 30-60 % longer. The workers now share one listening
socket, and each publishes how many connections it holds in memory the master's workers share
(``_Shares``, made before they fork); a worker accepts a connection only while it holds no more
than any other live worker, so the least busy one always may. One that may not stops watching
the socket and looks again a few milliseconds later, or when one of its own connections ends.
With ``--reuse-port`` (a socket per worker, the connections already placed) each worker accepts
all that wait on its own socket, as before.

gunicorn accepts one connection per poll when several workers share a socket (``max_accept =
1``), and a burst of new connections waited a poll each (0.3 s for the 16th on a busy worker).
A worker takes every connection waiting, one at a time, while the counts allow it.

Once the app is loaded, its objects (modules, schemas, routes: everything alive then) are
frozen out of Python's cyclic garbage collector (``gc.freeze``): a full collection scanned
them all, 30-54 ms during which every request of the worker waited (measured under
bench/signing.py's load with a ``gc.callbacks`` probe); only what requests create is scanned
now.
"""

from __future__ import annotations

import gc
import mmap
import os
import socket
from typing import Any

import gevent
from gevent.server import StreamServer
from gunicorn.workers import ggevent
from gunicorn.workers.ggevent import GeventWorker


class _OwnSocketServer(StreamServer):
    """gevent's server, accepting as many waiting connections as gevent's default allows
    (``max_accept``, 100) whatever gunicorn set: the socket is this worker's alone."""

    def start(self) -> None:
        self.__dict__.pop("max_accept", None)  # gunicorn's 1: back to the class's default
        super().start()


class _Shares:
    """How many connections each worker of this master holds: a slot (pid, connections) per
    worker, in an anonymous shared mapping made when the master imports this module, so the
    workers it forks share it. A worker's slot is its age (gunicorn numbers the workers it
    starts) modulo the slots."""

    SLOTS = 32

    def __init__(self) -> None:
        self._memory = mmap.mmap(-1, 8 * self.SLOTS)
        self.cells = memoryview(self._memory).cast("i")  # pid, count, pid, count, ...
        self.mine = -1

    def claim(self, age: int) -> None:
        self.mine = 2 * (age % self.SLOTS)
        self.cells[self.mine + 1] = 0
        self.cells[self.mine] = os.getpid()

    def release(self) -> None:
        if self.mine >= 0:
            self.cells[self.mine] = 0

    def publish(self, held: int) -> None:
        if self.mine >= 0:
            self.cells[self.mine + 1] = held

    def over_share(self, held: int) -> bool:
        """True when another live worker holds ``SHED_MARGIN`` or more connections fewer."""
        return self._fewer_elsewhere(held - SHED_MARGIN + 1)

    def may_accept(self, held: int) -> bool:
        """True when no other live worker holds fewer connections than ``held``."""
        self.publish(held)
        return not self._fewer_elsewhere(held)

    def _fewer_elsewhere(self, held: int) -> bool:
        cells = self.cells
        for i in range(0, 2 * self.SLOTS, 2):
            pid = cells[i]
            if pid and i != self.mine and cells[i + 1] < held:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:  # a worker gone without clearing its slot
                    cells[i] = 0
                    continue
                except PermissionError:  # alive, another user's: not one of ours
                    continue
                return True
        return False


_SHARES = _Shares()
RECHECK_SECONDS = 0.005
BURST = 100  # gevent's own max_accept
SHED_MARGIN = 3


class _FairServer(StreamServer):
    """gevent's server on a socket the workers share: accepts only while ``_SHARES`` says
    this worker holds no more connections than another."""

    def start(self) -> None:
        _FAIR_SERVERS.append(self)
        super().start()

    def _do_read(self) -> None:
        # gunicorn's max_accept of 1 makes gevent's own loop accept one connection; this loop
        # takes a burst of them, each while this worker still holds no more than another.
        for _ in range(BURST):
            held = _held()
            if not _SHARES.may_accept(held):
                self.stop_accepting()
                self._timer = self.loop.timer(RECHECK_SECONDS)
                self._timer.start(self._start_accepting_if_started)
                return
            super()._do_read()
            if _held() == held or self._watcher is None:  # none waiting, or it failed
                break
        _SHARES.publish(_held())

    def look_again(self) -> None:
        """Waiting for the timer to look at the socket again: look now."""
        if self._watcher is None and self._timer is not None and self.started:
            self.stop_accepting()
            self.start_accepting()


_FAIR_SERVERS: list[_FairServer] = []


def _held() -> int:
    """The connections this worker holds (a connection's greenlet is in its server's pool)."""
    return sum(len(server.pool) for server in _FAIR_SERVERS if server.pool is not None)


class FairGeventWorker(GeventWorker):
    def run(self) -> None:
        if self.cfg.reuse_port and hasattr(socket, "SO_REUSEPORT"):  # gunicorn's own test
            # gunicorn's run() makes its servers from the module's StreamServer; this is the
            # worker's own process, and the class is replaced for it alone.
            ggevent.StreamServer = _OwnSocketServer
        elif self.cfg.workers > 1:
            ggevent.StreamServer = _FairServer
            _SHARES.claim(self.age)
        try:
            super().run()
        finally:
            _SHARES.release()

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        try:
            super().handle(listener, client, addr)
        finally:
            if _FAIR_SERVERS:  # this connection's greenlet is still in its pool
                _SHARES.publish(_held() - 1)
                for server in _FAIR_SERVERS:
                    server.look_again()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        gc.freeze()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        if _FAIR_SERVERS and _SHARES.over_share(_held()):
            # this answer says "Connection: close": the client's next connection goes to a
            # less busy worker (one that booted later, or whose connections ended)
            req.must_close = True
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            gevent.sleep(0)  # the worker's other connections before this one's next request
