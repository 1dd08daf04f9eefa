"""First decrypts of many users' new codes, in process, with the concurrency of the Procfile
line: CPU, Redis round trips and session-cache reads per decrypt, figures that move much less
with a noisy machine than requests/s.

The shape of ``bench/endpoints.py``'s "many users" row without a server or a load generator:
gevent's monkey-patching first (as gunicorn's gevent worker), two instances of the app (two
workers: each its own connections, coalescers and session cache) on one throwaway
redis-server, in sandbox mode. ``--users`` new users each take ``--per-user`` codes ten to a
wx.addCard (one user's first decrypt in ``--per-user`` links their openids); then
``--connections`` greenlets, each bound to one instance as a keep-alive connection is bound to
a worker, decrypt every encrypt_code once, shuffled, through ``app(environ, start_response)``;
every answer must be 200. Printed per decrypt: this process's CPU and redis-server's (µs), the
pipelines the service sent (``bff.ground.store.coalesce``: each one a round trip, shared by the
requests that rode it) and the session cache's reads from Redis and hits, summed over both
instances; and the decrypts' latency in process (p50, p99: all greenlets share one core here,
so they are about twice a worker's, but their ratio is the one to compare). The apps' objects
are frozen out of the garbage collector, as the Procfile's worker does (``gc.freeze``): else
the collector's full passes, 60-115 ms with every request waiting, make the tail. A workload
of many users is where the cache's invalidations matter: a user's first decrypt writes their
identity links while other users' reads are in flight.

    .venv/bin/python bench/many_users_inprocess.py

Instructions per decrypt (they do not move with the machine; redis-server's are not counted):
run under ``valgrind --tool=callgrind`` with and without ``--setup-only`` and divide the
difference by the decrypts (the concurrency's interleaving still varies a little).
"""

from __future__ import annotations

import sys

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gevent  # noqa: E402

from bench.common import cpu_seconds, redis_pid, throwaway_redis  # noqa: E402


def post_json(app, path: str, body: dict, token: str) -> bytes:
    """POST ``body`` to ``app`` as the user of ``token``, in process; exits unless 200."""
    data = json.dumps(body).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_NAME": "bench", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data)),
               "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": sys.stderr,
               "HTTP_AUTHORIZATION": "Bearer " + token}
    status: list[str] = []
    out = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    if not status[0].startswith("200"):
        raise SystemExit(f"{path}: {status[0]} {out[:200]!r}")
    return out


def codes_of_many_users(app, users: int, per_user: int) -> list[tuple[str, str]]:
    """(token, encrypt_code) of ``per_user`` codes taken by each of ``users`` new users, ten
    to a wx.addCard, shuffled (the same order every run)."""
    c = app.test_client()
    card = c.post("/sandbox/_sim/cards", json={"card_type": "GENERAL_COUPON",
                                                "quantity": 10_000_000}).json["card_id"]
    pairs = []
    for _ in range(users):
        user = c.post("/sandbox/_sim/users", json={}).json["oa_openid"]
        login = c.post("/sandbox/_sim/login-codes",
                       json={"user": user, "app": "miniprogram"}).json["code"]
        token = c.post("/v1/sessions/miniprogram", json={"code": login}).json["token"]
        for _ in range(per_user // 10):
            signed = c.post("/v1/cards/add-card", headers={"Authorization": "Bearer " + token},
                            json={"cards": [{"card_id": card}] * 10}).json
            taken = c.post("/sandbox/_sim/add-card",
                           json={"user": user, "card_list": signed["card_list"]}).json
            pairs += [(token, entry["code"]) for entry in taken["card_list"]]
    random.Random(1).shuffle(pairs)
    return pairs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--per-user", type=int, default=10, help="codes each takes (tens)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="app instances")
    p.add_argument("--setup-only", action="store_true",
                   help="make the users and codes, decrypt nothing (for instruction counts: "
                   "the difference of two runs under valgrind's callgrind)")
    a = p.parse_args()
    logging.disable(logging.INFO)
    per_user = max(10, a.per_user // 10 * 10)
    with throwaway_redis() as url:
        os.environ.update(BFF_SANDBOX="1", BFF_REDIS_URL=url, BFF_LOG_LEVEL="WARNING",
                          BFF_LIMIT_USER="100000000/minute",
                          BFF_LIMIT_ADDRESS="100000000/minute")
        from bff import create_app
        from bff.ground.store import coalesce

        apps = [create_app() for _ in range(a.workers)]
        gc.freeze()  # as bff.edges.http.gevent_worker does once the app is loaded
        pairs = codes_of_many_users(apps[0], a.users, per_user)
        if a.setup_only:
            return
        caches = [app.extensions["bff"].extras.get("session_cache") for app in apps]
        pipelines = [0]
        real = coalesce._pipeline

        def counted(r, calls):
            pipelines[0] += 1
            return real(r, calls)

        coalesce._pipeline = counted
        before = {"hits": sum(c.hits for c in caches if c), "misses": sum(
            c.misses for c in caches if c)}
        todo = iter(pairs)
        latencies: list[float] = []

        def connection(app) -> None:
            for token, code in todo:
                begun = time.perf_counter()
                post_json(app, "/v1/cards/codes/decrypt", {"encrypt_code": code}, token)
                latencies.append(time.perf_counter() - begun)

        rpid = redis_pid(url)
        redis_before, started, wall = cpu_seconds([rpid]), time.process_time(), time.time()
        gevent.joinall([gevent.spawn(connection, apps[i % a.workers])
                        for i in range(a.connections)], raise_error=True)
        cpu, wall = time.process_time() - started, time.time() - wall
        redis_cpu = cpu_seconds([rpid]) - redis_before
        n = len(pairs)
        hits = sum(c.hits for c in caches if c) - before["hits"]
        misses = sum(c.misses for c in caches if c) - before["misses"]
        print(f"{n} first decrypts of {a.users} users ({a.connections} greenlets over "
              f"{a.workers} instances, one decrypt in {per_user} linking), per decrypt: "
              f"CPU {cpu / n * 1e6:.0f} us, redis-server {redis_cpu / n * 1e6:.0f} us, "
              f"pipelines {pipelines[0] / n:.2f}, session cache: {misses / n:.2f} keys read "
              f"from Redis, {hits / n:.2f} hits; latency p50 {percentile(latencies, 50):.1f} "
              f"ms, p99 {percentile(latencies, 99):.1f} ms (wall {wall:.1f} s)")


def percentile(seconds: list[float], p: float) -> float:
    """The ``p``th percentile of ``seconds``, in milliseconds (nearest rank)."""
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1e3


if __name__ == "__main__":
    main()
