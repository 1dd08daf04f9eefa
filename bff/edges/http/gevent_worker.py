"""gunicorn's gevent worker, fair to every connection it holds (the Procfile's worker class).

gunicorn's gevent worker serves a keep-alive connection in a loop: after sending an answer it
reads the next request, and when the client already sent it (a busy client on another core)
the read succeeds at once, without going back to gevent's hub. One connection can then be
served over and over while the worker's other connections wait: under wrk with 32 connections
the bare Flask endpoint answered half its requests within 0.4 ms and 1 % after 0.5-0.8 s, on one
worker as on two (bench/RESULTS.md, issue 18). ``FairGeventWorker`` yields to the hub after each
request (``gevent.sleep(0)``: the other ready connections run first), which brought that p99
under 50 ms at the same throughput.

The other half of the fix is in the Procfile: ``--reuse-port`` gives each worker its own
listening socket (gunicorn >= 27), so the kernel spreads new connections over the workers
instead of letting the first one awake accept most of them. (One socket shared by the workers,
even with each accepting only while it held no more connections than another, had p99 spikes
of 50-190 ms on /healthz that the separate sockets do not: bench/RESULTS.md, ninth pass.)

With a listening socket of its own, a worker also accepts every connection waiting on it at
once. gunicorn accepts one at a time when there are several workers (``max_accept = 1``, so that
workers sharing one socket share its connections); behind ``--reuse-port`` that only delays: a
busy worker polls its sockets every few milliseconds of requests (gevent's switch interval,
checked every 50 callbacks: 10-25 ms under load), and the 16th connection of a burst waited 16
polls, 0.3 s, for its first answer. wrk's correction for coordinated omission turns those few
waits into hundreds of samples: its p99 for ``/v1/capabilities`` at 32 new connections was
21-124 ms, and 11-17 ms with every waiting connection accepted (``bench/endpoints.py``).

The kernel spreads connections by a hash, not evenly: two workers got 11 and 21 of wrk's 32,
or 12 and 20, and a worker is one process on one core, so the busier one's requests waited
longer. Each worker says how many connections it holds in memory the master's workers share
(``_Shares``, made before they fork), and a worker holding ``SHED_MARGIN`` more than another
answers a request with ``Connection: close`` (at most one each ``SHED_EVERY``): the client's
new connection lands on a worker at random, until the counts are within the margin. A worker
that booted after the first connections came gets its share the same way.

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
import time
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

    def do_handle(self, *args: Any) -> None:
        global _held
        _held += 1  # counted when accepted; FairGeventWorker.handle counts its end
        _SHARES.publish(_held)
        try:
            super().do_handle(*args)
        except BaseException:
            _held -= 1
            raise



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
        self.shed_at = 0.0

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
        """True when another live worker holds ``SHED_MARGIN`` or more connections fewer, and
        this one closed none in the last ``SHED_EVERY`` seconds (the connection it closed
        must be made again, and accepted, before the counts say anything new)."""
        return (time.monotonic() - self.shed_at >= SHED_EVERY
                and self._fewer_elsewhere(held - SHED_MARGIN + 1))

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
SHED_MARGIN = 3
SHED_EVERY = 0.05  # seconds: a busy worker polls its socket every 10-25 ms
_held = 0  # the connections this worker holds (FairGeventWorker.handle)


class FairGeventWorker(GeventWorker):
    def run(self) -> None:
        if self.cfg.reuse_port and hasattr(socket, "SO_REUSEPORT"):  # gunicorn's own test
            # gunicorn's run() makes its servers from the module's StreamServer; this is the
            # worker's own process, and the class is replaced for it alone.
            ggevent.StreamServer = _OwnSocketServer
            if self.cfg.workers > 1:
                _SHARES.claim(self.age)
        try:
            super().run()
        finally:
            _SHARES.release()

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        global _held
        try:
            super().handle(listener, client, addr)
        finally:
            _held -= 1
            _SHARES.publish(_held)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        gc.freeze()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        if _SHARES.mine >= 0 and _SHARES.over_share(_held):
            # this answer says "Connection: close": the client connects again, and lands on
            # a worker at random (one that booted later, or whose connections ended)
            req.must_close = True
            _SHARES.shed_at = time.monotonic()
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            gevent.sleep(0)  # the worker's other connections before this one's next request
