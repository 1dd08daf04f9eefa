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
instead of letting the first one awake accept most of them.

With a listening socket of its own, a worker also accepts every connection waiting on it at
once. gunicorn accepts one at a time when there are several workers (``max_accept = 1``, so that
workers sharing one socket share its connections); behind ``--reuse-port`` that only delays: a
busy worker polls its sockets every few milliseconds of requests (gevent's switch interval,
checked every 50 callbacks: 10-25 ms under load), and the 16th connection of a burst waited 16
polls, 0.3 s, for its first answer. wrk's correction for coordinated omission turns those few
waits into hundreds of samples: its p99 for ``/v1/capabilities`` at 32 new connections was
21-124 ms, and 11-17 ms with every waiting connection accepted (``bench/endpoints.py``).

Once the app is loaded, its objects (modules, schemas, routes: everything alive then) are
frozen out of Python's cyclic garbage collector (``gc.freeze``): a full collection scanned
them all, 30-54 ms during which every request of the worker waited (measured under
bench/signing.py's load with a ``gc.callbacks`` probe); only what requests create is scanned
now.
"""

from __future__ import annotations

import gc
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


class FairGeventWorker(GeventWorker):
    def run(self) -> None:
        if self.cfg.reuse_port and hasattr(socket, "SO_REUSEPORT"):  # gunicorn's own test
            # gunicorn's run() makes its servers from the module's StreamServer; this is the
            # worker's own process, and the class is replaced for it alone.
            ggevent.StreamServer = _OwnSocketServer
        super().run()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        gc.freeze()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            gevent.sleep(0)  # the worker's other connections before this one's next request
