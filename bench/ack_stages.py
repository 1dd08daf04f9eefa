"""Where an event acknowledgement's CPU goes, in place: its steps' thread CPU per ack.

``bench/ack_inprocess.py``'s loop (the app as the Procfile builds it, gevent-patched, signed
safe-mode pushes built beforehand, a throwaway redis-server), with the acknowledgement's steps
wrapped to add up their thread CPU time (``time.thread_time_ns``). A warm loop over one
function (timeit) runs with its caches hot; here every step runs between the others, as under
load, and costs what it costs there (libxml2's parse of a decrypted event: 9 µs in a loop, 28
in place). Nested steps count in each enclosing one; each wrapper adds a little.

    .venv/bin/python bench/ack_stages.py --events 5000
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import sys
import time

from gevent import monkey

monkey.patch_all()

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench.ack_inprocess as loop  # noqa: E402
from bench.common import throwaway_redis  # noqa: E402
from bench.events import build  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=5000, help="acknowledgements measured")
    a = p.parse_args()
    logging.disable(logging.INFO)
    spent: collections.Counter = collections.Counter()

    def wrap(owner: object, name: str, label: str) -> None:
        real = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.thread_time_ns()
            try:
                return real(*args, **kwargs)
            finally:
                spent[label] += time.thread_time_ns() - started

        setattr(owner, name, timed)

    with throwaway_redis() as url:
        os.environ.update(BFF_SANDBOX="1", BFF_REDIS_URL=url, BFF_PUSH_MODE="compat",
                          BFF_LOG_LEVEL="WARNING")
        from bff import create_app
        from bff.domain.events import parse, stream
        from bff.edges.events import push as edge
        from bff.ground.store import coalesce
        from bff.ground.wechat import crypto
        from bff.ground.wechat import push as wechat_push

        app = create_app()
        steps = [
            (edge, "_verify", "verify"), (edge, "_query", "  query"),
            (edge, "verify_push", "  verify_push"), (wechat_push, "parse_xml", "    parse_xml"),
            (crypto.PushCrypto, "decrypt", "    decrypt"),
            (crypto.PushCrypto, "check_msg_signature", "    msg_signature"),
            (edge, "_store", "store"), (parse.CardEvent, "parse", "  CardEvent.parse"),
            (edge, "receipt_of", "  receipt_of"), (edge, "record_event", "  record_event"),
            (stream, "entry_fields", "    entry_fields"),
            (coalesce._Coalescer, "send", "    coalesced send"),
            (coalesce, "_send", "      one round trip (pack, send, read)"),
            (edge, "_recorded", "recorded (counts, latency)"),
        ]
        for owner, name, label in steps:
            wrap(owner, name, label)
        pushes = build("safe", f"st{time.time()}", a.events + 1000)
        loop._run(app, pushes[:1000], b"success")  # warm
        spent.clear()
        cpu = time.process_time()
        loop._run(app, pushes[1000:], b"success")
        cpu = time.process_time() - cpu
    print(f"safe ack, in place: {1e6 * cpu / a.events:.0f} us of CPU each, one caller "
          "(every round trip alone: under load ~11 acks share one)")
    for _, _, label in steps:
        print(f"  {label:40s} {spent[label] / a.events / 1000:7.1f} us")


if __name__ == "__main__":
    main()
