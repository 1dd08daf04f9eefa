"""add-card's CPU per request in-process, against bare Flask and the wechatpy peer (issue 18).

No server, no load generator: each app is called through ``app.wsgi_app(environ,
start_response)`` N times in this process, with the request of bench/signing.py (the same JSON
body, the Bearer token for add-card), and the CPU time of this process (``time.process_time``)
plus redis-server's (from /proc) is divided by N. This leaves out the WSGI server's work
(gunicorn's parse and send, the access log), which all three pay alike, and is much less moved
by other work on the machine than requests/s.

The service runs in sandbox mode on a throwaway redis-server, default configuration (the session
cache on); a sandbox user logs in and the sandbox makes one card, as in bench/signing.py. The
peer's ticket is copied from the service's, as there. Also printed: Redis commands per request
(INFO commandstats).

    .venv/bin/python bench/inprocess.py                     # 3 rounds of 5,000 per app
    .venv/bin/python bench/inprocess.py --only add-card --profile cprofile   # top functions
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \\
        .venv/bin/python bench/inprocess.py --only add-card -n 2000 --rounds 1
"""

from __future__ import annotations

import sys

if "--gevent" in sys.argv:  # as gunicorn's gevent worker does, before anything else
    from gevent import monkey

    monkey.patch_all()

import argparse
import io
import json
import logging
import os
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from bench.common import cpu_seconds, redis_pid, throwaway_redis  # noqa: E402

PATH = "/v1/cards/add-card"


def _status(box: list) -> object:
    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        box.append(status)

    return start_response


def caller(app, body: dict, token: str | None):
    """A function making one request of ``app`` (body read, answer consumed), checked 200."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    raw = json.dumps(body).encode()
    base = EnvironBuilder(path=PATH, method="POST", data=raw, headers=headers,
                          content_type="application/json",
                          environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
    wsgi = app.wsgi_app

    def call() -> bytes:
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(raw)
        box: list = []
        it = wsgi(environ, _status(box))
        out = b"".join(it)
        close = getattr(it, "close", None)
        if close is not None:
            close()
        if box[0][:3] != "200":
            raise SystemExit(f"{box[0]}: {out[:300]!r}")
        return out

    return call


def setup_service(url: str):
    from bff import create_app

    app = create_app({"sandbox": True, "redis_url": url})
    c = app.test_client()
    user = c.post("/sandbox/_sim/users", json={}).json
    code = c.post("/sandbox/_sim/login-codes",
                  json={"user": user["oa_openid"], "app": "miniprogram"}).json["code"]
    token = c.post("/v1/sessions/miniprogram", json={"code": code}).json["token"]
    card_id = c.post("/sandbox/_sim/cards", json={"card_type": "GENERAL_COUPON"}).json["card_id"]
    body = {"cards": [{"card_id": card_id, "outer_str": "bench"}]}
    return app, body, token


def setup_peer(url: str, service_app):
    os.environ["BFF_REDIS_URL"] = url
    from bench import peer_app
    from bff.ground.services import services

    with service_app.app_context():
        ticket = services(service_app).wechat.credentials.ticket("wx_card")
    peer_app.seed_ticket(redis.Redis.from_url(url), ticket, int(time.time()) + 7000)
    return peer_app.app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=5000, help="requests per app and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", choices=("bare", "peer", "add-card"), action="append")
    p.add_argument("--profile", choices=("cprofile",), help="profile add-card (one round)")
    p.add_argument("--gevent", action="store_true",
                   help="gevent's monkey patching first, as in the Procfile's worker")
    a = p.parse_args()
    logging.disable(logging.WARNING)
    with throwaway_redis() as url:
        service, body, token = setup_service(url)
        from bench.bare_app import app as bare

        apps = {"bare": (bare, None)}
        if not a.only or "peer" in a.only:
            apps["peer"] = (setup_peer(url, service), None)
        apps["add-card"] = (service, token)
        apps = {k: v for k, v in apps.items() if not a.only or k in a.only}
        calls = {name: caller(app, body, tok) for name, (app, tok) in apps.items()}
        for call in calls.values():
            for _ in range(200):  # warm: caches, ticket, profile, session
                call()
        r = redis.Redis.from_url(url)
        rpid = [redis_pid(url)]
        if a.profile:
            import cProfile
            import pstats

            call = calls["add-card"]
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(a.n):
                call()
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(40)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(60)
            return
        results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in calls}
        for _ in range(a.rounds):
            for name, call in calls.items():
                r.config_resetstat()
                redis_before = cpu_seconds(rpid)
                before = time.process_time()
                for _ in range(a.n):
                    call()
                app_cpu = time.process_time() - before
                redis_cpu = cpu_seconds(rpid) - redis_before
                stats = r.info("commandstats")
                cmds = sum(v["calls"] for k, v in stats.items()
                           if k not in ("cmdstat_info", "cmdstat_config|resetstat"))
                results[name].append((1e6 * app_cpu / a.n, 1e6 * redis_cpu / a.n, cmds / a.n))
        print(f"{'app':<10} {'app µs/req':>11} {'redis µs/req':>13} {'total':>8} "
              f"{'redis cmds/req':>15}   (best of {a.rounds} rounds of {a.n})")
        best = {}
        for name, runs in results.items():
            app_us, redis_us, cmds = min(runs, key=lambda t: t[0] + t[1])
            best[name] = app_us + redis_us
            print(f"{name:<10} {app_us:11.1f} {redis_us:13.1f} {app_us + redis_us:8.1f} "
                  f"{cmds:15.2f}")
        if "add-card" in best:
            for other in ("bare", "peer"):
                if other in best:
                    print(f"add-card - {other}: {best['add-card'] - best[other]:+.1f} µs")


if __name__ == "__main__":
    main()
