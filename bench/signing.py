"""Signing throughput: ``POST /v1/cards/add-card`` vs a bare Flask endpoint and a wechatpy peer.

Starts a throwaway redis-server and three servers with the Procfile's ``web`` configuration
(bound to 127.0.0.1): the service in sandbox mode (``wsgi:app``), ``bench/bare_app.py`` (constant
JSON) and ``bench/peer_app.py`` (add-card hand-written with Flask + wechatpy, the ticket in
wechatpy's Redis cache, no authentication). Gets a session and a card through the mounted
sandbox, copies the service's wx_card ticket into the peer's cache, checks that the sandbox
accepts what the service and the peer sign, then loads the three with ``wrk``
(bench/wrk_post.lua: the same JSON body, the Bearer token for add-card), alternating rounds, and
prints requests/s, p50/p99 and the ratios add-card / bare (target >= 0.7) and add-card / peer
(target >= 1.1). Every answer must be a 200: a non-2xx or socket error stops the benchmark.

It also prints the CPU time per request (the gunicorn workers' and redis-server's user + system
time over the round, from /proc, divided by the requests served): on a machine shared with other
work the requests/s move with the neighbours, the CPU a request costs much less so. On a
CPU-bound server the throughput ratio tends to the inverse ratio of the CPU costs.

Needs wrk: ``apt-get install -y wrk``.

    .venv/bin/python bench/signing.py --seconds 5 --rounds 3 --connections 32

``--no-peer`` leaves the peer out (the figures of earlier sessions had none). ``--variant
NAME:VAR=VALUE[,VAR=VALUE]`` adds another instance of the service, on the same Redis with the
same session, loaded in the same rounds (e.g. ``--variant no-cache:BFF_SESSION_CACHE=0``).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402

from bench import common  # noqa: E402
from bench.loadgen import require_wrk, run_wrk  # noqa: E402


def measure(url: str, token: str | None, body: dict, a: argparse.Namespace,
            pids: list[int], seconds: float) -> dict:
    cpu_before = common.cpu_seconds(pids)
    figures = run_wrk(url, seconds=seconds, connections=a.connections,
                      threads=a.wrk_threads, body=body, token=token)
    cpu = common.cpu_seconds(pids) - cpu_before
    if figures["non2xx"] or figures["socket_errors"]:
        raise SystemExit(f"{url}: {figures['non2xx']} non-2xx answers, "
                         f"{figures['socket_errors']} socket errors")
    return {**figures, "cpu_us": 1e6 * cpu / max(1, figures["n"])}


def setup_user(base: str) -> tuple[str, dict, str]:
    """A session token, the add-card body (one card the sandbox made), the user's OA openid."""
    user = requests.post(f"{base}/sandbox/_sim/users", json={}).json()
    code = requests.post(f"{base}/sandbox/_sim/login-codes",
                         json={"user": user["oa_openid"], "app": "miniprogram"}).json()["code"]
    token = requests.post(f"{base}/v1/sessions/miniprogram", json={"code": code}).json()["token"]
    card_id = requests.post(f"{base}/sandbox/_sim/cards",
                            json={"card_type": "GENERAL_COUPON"}).json()["card_id"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"cards": [{"card_id": card_id, "outer_str": "bench"}]}
    signed = requests.post(f"{base}/v1/cards/add-card", json=body, headers=headers)
    signed.raise_for_status()
    got = requests.post(f"{base}/sandbox/_sim/add-card",
                        json={"user": user["oa_openid"], "card_list": signed.json()["card_list"]})
    assert got.json()["card_list"][0]["isSuccess"], got.text
    return token, body, user["oa_openid"]


def setup_peer(base: str, peer: str, redis_url: str, body: dict, oa_openid: str) -> None:
    """The service's wx_card ticket in the peer's (wechatpy's) cache; the sandbox accepts
    what the peer signs."""
    import redis

    from bench.peer_app import seed_ticket
    from bff.ground.config import SANDBOX_APPID
    from bff.ground.store import keys

    r = redis.Redis.from_url(redis_url, decode_responses=True)
    entry = r.hgetall(keys.credential(SANDBOX_APPID, "ticket:wx_card"))
    seed_ticket(r, entry["value"], int(float(entry["expires_at"])))
    signed = requests.post(f"{peer}/v1/cards/add-card", json=body)
    signed.raise_for_status()
    got = requests.post(f"{base}/sandbox/_sim/add-card",
                        json={"user": oa_openid, "card_list": signed.json()["card_list"]})
    assert got.json()["card_list"][0]["isSuccess"], got.text


def main() -> None:
    p = common.wrk_options(__doc__, rounds=3, connections=32)
    p.add_argument("--no-peer", action="store_true", help="bare and add-card only")
    p.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                   help="another add-card server with these settings (repeatable)")
    a = p.parse_args()
    require_wrk()
    with common.stack() as started:
        bff, bare = started.web(), started.web("bench.bare_app:app")
        token, body, oa_openid = setup_user(bff.url)
        rpid = common.redis_pid(started.redis_url)
        targets = {"bare": (f"{bare.url}/v1/cards/add-card", None,
                            common.children(bare.proc.pid))}
        if not a.no_peer:
            peer = started.web("bench.peer_app:app")
            setup_peer(bff.url, peer.url, started.redis_url, body, oa_openid)
            targets["peer"] = (f"{peer.url}/v1/cards/add-card", None,
                               [*common.children(peer.proc.pid), rpid])
            memory = started.web("bench.peer_app:app", PEER_TICKET="memory")
            setup_peer(bff.url, memory.url, started.redis_url, body, oa_openid)
            targets["peer-mem"] = (f"{memory.url}/v1/cards/add-card", None,
                                   common.children(memory.proc.pid))
            constant = started.web("bench.peer_app:app", PEER_TICKET="constant")
            setup_peer(bff.url, constant.url, started.redis_url, body, oa_openid)
            targets["peer-const"] = (f"{constant.url}/v1/cards/add-card", None,
                                     common.children(constant.proc.pid))
        targets["add-card"] = (f"{bff.url}/v1/cards/add-card", token,
                               [*common.children(bff.proc.pid), rpid])
        for variant in a.variant:
            name, _, settings = variant.partition(":")
            server = started.web(**dict(kv.split("=", 1) for kv in settings.split(",") if kv))
            targets[name] = (f"{server.url}/v1/cards/add-card", token,
                             [*common.children(server.proc.pid), rpid])

        def measure_target(name: str, _round: int, seconds: float) -> dict:
            url, t, pids = targets[name]
            return measure(url, t, body, a, pids, seconds)

        runs = common.in_rounds(targets, measure_target, a)
    summary = {}
    for name, rs in runs.items():
        summary[name] = s = common.mean_over_rounds(rs, ("rps", "p50", "p99", "cpu_us"))
        per_round = ", ".join(f"{r['rps']:.0f}" for r in rs)
        print(f"{name:9s} {s['rps']:8.0f} req/s  p50 {s['p50']:6.2f} ms  "
              f"p99 {s['p99']:6.2f} ms  CPU {s['cpu_us']:6.0f} us/request  "
              f"({sum(r['n'] for r in rs)} requests; rounds {per_round})")
    for name in summary.keys() - {"bare", "peer", "peer-mem", "peer-const", "add-card"}:
        print(f"ratio {name} / bare = {summary[name]['rps'] / summary['bare']['rps']:.2f}")
    add = summary["add-card"]
    print(f"ratio add-card / bare = {add['rps'] / summary['bare']['rps']:.2f} (target >= 0.70) "
          f"{common.wrk_setup(a)}")
    if "peer" in summary:
        print(f"ratio add-card / peer = {add['rps'] / summary['peer']['rps']:.2f} "
              "(target >= 1.10)")
    if "peer-mem" in summary:
        print(f"ratio add-card / peer-mem = {add['rps'] / summary['peer-mem']['rps']:.2f} "
              "(the peer's ticket in each worker's memory; target >= 1.10)")
    if "peer-const" in summary:
        print(f"ratio add-card / peer-const = "
              f"{add['rps'] / summary['peer-const']['rps']:.2f} (the peer's ticket a constant "
              "of its code, looked up nowhere; target >= 1.10)")
    print(f"CPU per request, bare / add-card = {summary['bare']['cpu_us'] / add['cpu_us']:.2f}"
          + (f", peer / add-card = {summary['peer']['cpu_us'] / add['cpu_us']:.2f}"
             if "peer" in summary else "")
          + " (add-card and peer count redis-server's CPU too; bare uses no Redis)")


if __name__ == "__main__":
    main()
