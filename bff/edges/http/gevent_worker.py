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

Once the app is loaded, its objects (modules, schemas, routes: everything alive then) are
frozen out of Python's cyclic garbage collector (``gc.freeze``): a full collection scanned
them all, 30-54 ms during which every request of the worker waited (measured under
bench/signing.py's load with a ``gc.callbacks`` probe); only what requests create is scanned
now.
"""

from __future__ import annotations

import gc
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventWorker


class FairGeventWorker(GeventWorker):
    def load_wsgi(self) -> None:
        super().load_wsgi()
        gc.freeze()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            gevent.sleep(0)  # the worker's other connections before this one's next request
