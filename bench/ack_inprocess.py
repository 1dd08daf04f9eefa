"""CPU and Redis commands per event acknowledgement, in-process: load-independent figures.

The app as the Procfile serves it (``create_app()`` from BFF_* variables: sandbox mode,
``BFF_PUSH_MODE=compat`` as ``bench/events.py`` sets it) on a throwaway redis-server, gevent's
monkey-patching first as in gunicorn's gevent worker (``--no-gevent`` to leave it out). Signed
pushes are built beforehand exactly as ``bench/events.py`` builds them (each event unique:
its own FromUserName and UserCardCode), then ``app.wsgi_app(environ, start_response)`` runs in a
loop, one push each; every answer must be 200 ``success``. Prints per acknowledgement:

- CPU of this process (``time.process_time``) and of redis-server (``/proc``), in µs;
- Redis commands (``INFO commandstats`` deltas), in total and by command;
- and checks that the stream grew by exactly one entry per acknowledgement.

No server and no load generator: the figures hardly move with the machine's load (other
processes on the cores lengthen wall time, not this process's CPU time). ``--mode plain`` for
plain pushes, ``--bare`` for bench/bare_app.py's endpoint by the same loop, for reference.

    .venv/bin/python bench/ack_inprocess.py --events 3000 --repeat 3
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys

if "--no-gevent" not in sys.argv:
    from gevent import monkey

    monkey.patch_all()

import time  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis  # noqa: E402

from bench.common import cpu_seconds, redis_pid, throwaway_redis  # noqa: E402
from bench.events import build  # noqa: E402
from bff.ground.store import keys  # noqa: E402

_OURS = {"info", "config|resetstat", "xlen"}


def _environ(path: str, body: bytes, n: int) -> dict:
    url = urlsplit(path)
    return {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": url.path,
        "QUERY_STRING": url.query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000",
        "CONTENT_TYPE": "text/xml", "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000", "HTTP_X_REQUEST_ID": f"r{n}",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _run(app, requests: list[tuple[str, bytes]], expect: bytes | None) -> None:
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    for n, (path, body) in enumerate(requests):
        env = _environ(path, body, n)
        out = app(env, start_response)
        answer = b"".join(out)
        if hasattr(out, "close"):
            out.close()
        if not statuses[-1].startswith("200") or (expect is not None and answer != expect):
            raise SystemExit(f"request {n}: {statuses[-1]} {answer[:200]!r}")


def _commands(r: redis.Redis) -> dict[str, tuple[int, int]]:
    """Calls and µs inside each command (scripts' inner commands count under both)."""
    return {k.removeprefix("cmdstat_"): (v["calls"], v["usec"])
            for k, v in r.info("commandstats").items() if k.removeprefix("cmdstat_") not in _OURS}


def measure(app, r: redis.Redis, rpid: int, requests: list[tuple[str, bytes]],
            expect: bytes | None) -> dict:
    before_len = r.xlen(keys.event_stream())
    before = _commands(r)
    redis_cpu, cpu = cpu_seconds([rpid]), time.process_time()
    wall = time.perf_counter()
    _run(app, requests, expect)
    wall = time.perf_counter() - wall
    cpu, redis_cpu = time.process_time() - cpu, cpu_seconds([rpid]) - redis_cpu
    after = _commands(r)
    n = len(requests)
    calls = {k: (v[0] - before.get(k, (0, 0))[0]) / n for k, v in after.items()
             if v[0] != before.get(k, (0, 0))[0]}
    usec = {k: (after[k][1] - before.get(k, (0, 0))[1]) / n for k in calls}
    return {"app_us": 1e6 * cpu / n, "redis_us": 1e6 * redis_cpu / n, "wall_us": 1e6 * wall / n,
            "calls": calls, "usec": usec, "recorded": r.xlen(keys.event_stream()) - before_len,
            "n": n}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=3000, help="acknowledgements per repeat")
    p.add_argument("--repeat", type=int, default=5,
                   help="measured repeats (median and minimum shown: a neighbour's load only adds)")
    p.add_argument("--mode", choices=("safe", "plain"), default="safe")
    p.add_argument("--bare", action="store_true", help="bench/bare_app.py's endpoint instead")
    p.add_argument("--no-gevent", action="store_true", help="no gevent monkey-patching")
    a = p.parse_args()

    import logging

    logging.disable(logging.INFO)
    with throwaway_redis() as url:
        os.environ.update(BFF_SANDBOX="1", BFF_REDIS_URL=url, BFF_PUSH_MODE="compat",
                          BFF_LOG_LEVEL="WARNING")
        if a.bare:
            from bench.bare_app import app
        else:
            from bff import create_app

            app = create_app()
        r = redis.Redis.from_url(url, decode_responses=True)
        rpid = redis_pid(url)
        if a.bare:
            def batch(tag: str) -> list[tuple[str, bytes]]:
                return [("/v1/cards/add-card", b"")] * a.events
            expect = None
        else:
            def batch(tag: str) -> list[tuple[str, bytes]]:
                # Signed pairs are (timestamp, str(i)): a new second for each batch.
                time.sleep(1.05 - time.time() % 1)
                return build(a.mode, tag, a.events)
            expect = b"success"
        batches = [batch(f"m{k}x") for k in range(a.repeat + 1)]  # built before measuring
        measure(app, r, rpid, batches[0][: max(200, a.events // 5)], expect)  # warm
        runs = [measure(app, r, rpid, b, expect) for b in batches[1:]]
        runs.sort(key=lambda x: x["app_us"])
        mid = runs[len(runs) // 2]
        what = "bare" if a.bare else f"{a.mode} ack"
        print(f"{what}: app CPU {mid['app_us']:.0f} us median, {runs[0]['app_us']:.0f} min (runs "
              f"{', '.join(str(round(x['app_us'])) for x in runs)}), redis-server CPU "
              f"{mid['redis_us']:.0f} us, total {mid['app_us'] + mid['redis_us']:.0f} us, "
              f"wall {statistics.median(x['wall_us'] for x in runs):.0f} us per request")
        calls = mid["calls"]
        print(f"  Redis commands per request: {sum(calls.values()):.2f} ("
              + ", ".join(f"{k} {v:.2f}" for k, v in sorted(calls.items())) + ")")
        usec = mid["usec"]
        if usec:
            print("  redis-server µs in them per request (a script's own commands count in its "
                  "µs too): " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(usec.items())))
        if not a.bare:
            ok = all(x["recorded"] == x["n"] for x in runs)
            print(f"  stream: {'one entry per acknowledgement' if ok else 'MISMATCH'} "
                  f"({[x['recorded'] for x in runs]} for {[x['n'] for x in runs]})")
        r.close()


if __name__ == "__main__":
    main()
