"""Upstream-bound: ``POST /v1/cards/codes/decrypt`` with 100 ms of WeChat latency vs 0 ms.

Starts a throwaway redis-server, the standalone sandbox as its own process
(``python -m bff.sandbox``) and the service under gunicorn with the Procfile's ``web``
configuration (bound to 127.0.0.1), pointed at that sandbox over real HTTP
(``BFF_WECHAT_API_BASE``); the sandbox pushes ``user_get_card`` to the service's
``/wechat/events``. Prepares ``--users`` users (login -> session -> add-card signed by the
service -> the sandbox's wx.addCard -> encrypted code, decrypted once), then ``--codes`` more
encrypt_codes of that code from the sandbox's wx.chooseCard (signed by the service's
choose-card; each is sealed afresh). The service keeps what each encrypt_code decrypts to, so
only an encrypt_code it has not seen calls WeChat: each request sends a new one. Loads decrypt
with wrk (bench/wrk_requests.lua cycling through them, ``--connections`` requests in flight),
alternating rounds at 0 ms and at ``--latency-ms`` of injected latency per upstream call. Every
answer is checked to be a 200 with the user's own code (paired by X-Request-Id). Prints
requests/s, p50/p99, upstream calls per request and the ratio (how well waiting on WeChat is
hidden; target >= 0.7). Needs wrk: ``apt-get install -y wrk``.

    .venv/bin/python bench/upstream.py --seconds 5 --rounds 2 --connections 128
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402

from bench import common  # noqa: E402
from bench.loadgen import require_wrk, run_wrk_requests  # noqa: E402
from bff.vocabulary import SANDBOX_APPID  # noqa: E402


def prepare_user(bff: str, sandbox: str, card_id: str, codes: int
                 ) -> tuple[str, list[str], str]:
    """A user with a session and one card taken through the service's add-card signature:
    (token, ``codes`` encrypt_codes of it never sent to the service, the code)."""
    s = requests.Session()
    user = s.post(f"{sandbox}/_sim/users", json={}, timeout=10).json()
    code = s.post(f"{sandbox}/_sim/login-codes", timeout=10,
                  json={"user": user["oa_openid"], "app": "miniprogram"}).json()["code"]
    res = s.post(f"{bff}/v1/sessions/miniprogram", json={"code": code}, timeout=10)
    res.raise_for_status()
    token = res.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    signed = s.post(f"{bff}/v1/cards/add-card", headers=auth, timeout=10,
                    json={"cards": [{"card_id": card_id, "outer_str": "bench"}]})
    signed.raise_for_status()
    got = s.post(f"{sandbox}/_sim/add-card", timeout=20,
                 json={"user": user["oa_openid"], "card_list": signed.json()["card_list"]})
    got.raise_for_status()
    answer = got.json()
    entry = answer["card_list"][0]
    assert entry["isSuccess"], got.text
    assert answer["pushed"] and answer["pushed"][0]["delivered"], f"push failed: {got.text}"
    # One decrypt now, as the Mini Program does right after wx.addCard: checks it works and
    # records the holding, so the measured requests are the steady state.
    first = s.post(f"{bff}/v1/cards/codes/decrypt", headers=auth, timeout=10,
                   json={"encrypt_code": entry["code"]})
    assert first.status_code == 200, first.text
    sign = s.post(f"{bff}/v1/cards/choose-card", headers=auth, timeout=10,
                  json={"card_id": card_id}).json()
    choose = {"user": user["oa_openid"], "app_id": SANDBOX_APPID,
              "location_id": sign["shopId"], "card_id": sign["cardId"],
              "card_type": sign["cardType"], "time_stamp": sign["timestamp"],
              "nonce_str": sign["nonceStr"], "card_sign": sign["cardSign"]}
    fresh = []
    for _ in range(codes):
        chosen = s.post(f"{sandbox}/_sim/choose-card", json=choose, timeout=10).json()
        assert chosen["sign_ok"], chosen
        fresh.append(chosen["cards"][0]["encrypt_code"])
    return token, fresh, first.json()["code"]


def measure(sandbox: str, bff: str, fresh: Fresh, latency_ms: int,
            a: argparse.Namespace, seconds: float) -> dict:
    requests.put(f"{sandbox}/_sim/config", json={"latency_ms": latency_ms},
                 timeout=10).raise_for_status()
    requests.delete(f"{sandbox}/_sim/calls", timeout=10).raise_for_status()
    figures = run_wrk_requests(bff, fresh.lines[fresh.used:], seconds=seconds,
                               connections=a.connections, threads=1, in_order=True)
    # wrk sends the lines in order; the requests in flight when it stops were sent too
    fresh.used += figures["n"] + a.connections
    if fresh.used > len(fresh.lines):
        raise SystemExit(f"every encrypt_code was sent: raise --codes (now {a.codes})")
    calls = requests.get(f"{sandbox}/_sim/calls", timeout=10).json()
    if figures["mismatches"] or figures["socket_errors"]:
        raise SystemExit(f"decrypt failed at {latency_ms} ms: {figures['mismatches']} wrong "
                         f"answers ({figures['first_bad']}), {figures['socket_errors']} "
                         "socket errors")
    n = figures["n"]
    return {**figures, "calls": sum(calls.values()) / max(1, n),
            "paths": {p: round(c / max(1, n), 2) for p, c in calls.items()}}


@dataclass
class Fresh:
    """The decrypt requests, each with an encrypt_code never sent; ``used`` so far."""

    lines: list
    used: int = 0


def start_services(started: common.Stack) -> tuple[str, str]:
    """The sandbox in its own process and the service pointed at it: their base URLs."""
    sb_port, bff_port = common.free_port(), common.free_port()
    sandbox, bff = f"http://127.0.0.1:{sb_port}", f"http://127.0.0.1:{bff_port}"
    started.start(
        [sys.executable, "-m", "bff.sandbox", "--host", "127.0.0.1", "--port", str(sb_port)],
        {**os.environ, "BFF_LOG_LEVEL": "WARNING",
         "BFF_SANDBOX_REDIS_URL": started.redis_url.replace("/0", "/1"),
         "BFF_SANDBOX_EVENT_URL": f"{bff}/wechat/events"})
    # One address and 256 users stand for a crowd: their limits are raised, so that decrypt is
    # measured, not the 429s of BFF_LIMIT_ADDRESS / BFF_LIMIT_USER.
    started.web(port=bff_port, BFF_WECHAT_API_BASE=sandbox,
                BFF_LIMIT_ADDRESS="100000000/minute", BFF_LIMIT_USER="100000000/minute")
    common.wait_http(f"{sandbox}/_sim/config")
    return bff, sandbox


def main() -> None:
    p = common.wrk_options(__doc__, rounds=2, connections=128)
    p.add_argument("--users", type=int, default=256)
    p.add_argument("--latency-ms", type=int, default=100)
    p.add_argument("--codes", type=int, default=80,
                   help="encrypt_codes per user, each sent once")
    a = p.parse_args()
    if a.wrk_threads != 1:
        p.error("--wrk-threads 1: each encrypt_code is sent once, in order")
    require_wrk()
    with common.stack() as started:
        bff, sandbox = start_services(started)
        card_id = requests.post(f"{sandbox}/_sim/cards", timeout=10, json={
            "card_type": "GENERAL_COUPON", "quantity": a.users * 2}).json()["card_id"]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(16) as ex:
            users = list(ex.map(lambda _: prepare_user(bff, sandbox, card_id, a.codes),
                                range(a.users)))
        print(f"prepared {len(users)} users with sessions and {a.codes} encrypt_codes each "
              f"in {time.perf_counter() - t0:.1f} s")
        fresh = Fresh([("/v1/cards/codes/decrypt", token, f'"code":"{code}"',
                        json.dumps({"encrypt_code": codes[i]}))
                       for i in range(a.codes) for token, codes, code in users])
        levels = {"0 ms": 0, f"{a.latency_ms} ms": a.latency_ms}
        runs = common.in_rounds(levels, lambda name, _round, seconds: measure(
            sandbox, bff, fresh, levels[name], a, seconds), a)
    summary = {}
    for name, rs in runs.items():
        summary[name] = s = common.mean_over_rounds(rs, ("rps", "p50", "p99", "calls"))
        print(f"latency {name:7s} {s['rps']:7.0f} req/s  p50 {s['p50']:7.2f} ms  "
              f"p99 {s['p99']:7.2f} ms  upstream calls/request {s['calls']:.2f} "
              f"{rs[-1]['paths']}  ({sum(r['n'] for r in rs)} requests, all 200)")
    slow, fast = summary[f"{a.latency_ms} ms"]["rps"], summary["0 ms"]["rps"]
    print(f"ratio {a.latency_ms} ms / 0 ms = {slow / fast:.2f} (target >= 0.70) "
          f"{common.wrk_setup(a, f'{a.users} users')}")


if __name__ == "__main__":
    main()
