"""Upstream-bound: ``POST /v1/cards/codes/decrypt`` with 100 ms of WeChat latency vs 0 ms.

Starts a throwaway redis-server, the standalone sandbox as its own process
(``python -m bff.sandbox``) and the service under gunicorn with the Procfile's ``web``
configuration (bound to 127.0.0.1), pointed at that sandbox over real HTTP
(``BFF_WECHAT_API_BASE``); the sandbox pushes ``user_get_card`` to the service's
``/wechat/events``. Prepares ``--users`` users (login -> session -> add-card signed by the
service -> the sandbox's wx.addCard -> encrypted code), then loads decrypt with wrk
(bench/wrk_requests.lua cycling through the users, ``--connections`` requests in flight),
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402

from bench import common  # noqa: E402
from bench.loadgen import require_wrk, run_wrk_requests  # noqa: E402


def prepare_user(bff: str, sandbox: str, card_id: str) -> tuple[str, str, str]:
    """A user with a session and one card taken through the service's add-card signature."""
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
    return token, entry["code"], first.json()["code"]


def measure(sandbox: str, bff: str, lines: list, latency_ms: int,
            a: argparse.Namespace, seconds: float) -> dict:
    requests.put(f"{sandbox}/_sim/config", json={"latency_ms": latency_ms},
                 timeout=10).raise_for_status()
    requests.delete(f"{sandbox}/_sim/calls", timeout=10).raise_for_status()
    figures = run_wrk_requests(bff, lines, seconds=seconds, connections=a.connections,
                               threads=a.wrk_threads)
    calls = requests.get(f"{sandbox}/_sim/calls", timeout=10).json()
    if figures["mismatches"] or figures["socket_errors"]:
        raise SystemExit(f"decrypt failed at {latency_ms} ms: {figures['mismatches']} wrong "
                         f"answers ({figures['first_bad']}), {figures['socket_errors']} "
                         "socket errors")
    n = figures["n"]
    return {**figures, "calls": sum(calls.values()) / max(1, n),
            "paths": {p: round(c / max(1, n), 2) for p, c in calls.items()}}


def start_services(started: common.Stack) -> tuple[str, str]:
    """The sandbox in its own process and the service pointed at it: their base URLs."""
    sb_port, bff_port = common.free_port(), common.free_port()
    sandbox, bff = f"http://127.0.0.1:{sb_port}", f"http://127.0.0.1:{bff_port}"
    started.start(
        [sys.executable, "-m", "bff.sandbox", "--host", "127.0.0.1", "--port", str(sb_port)],
        {**os.environ, "BFF_LOG_LEVEL": "WARNING",
         "BFF_SANDBOX_REDIS_URL": started.redis_url.replace("/0", "/1"),
         "BFF_SANDBOX_EVENT_URL": f"{bff}/wechat/events"})
    started.web(port=bff_port, BFF_WECHAT_API_BASE=sandbox)
    common.wait_http(f"{sandbox}/_sim/config")
    return bff, sandbox


def main() -> None:
    p = common.wrk_options(__doc__, rounds=2, connections=128)
    p.add_argument("--users", type=int, default=256)
    p.add_argument("--latency-ms", type=int, default=100)
    a = p.parse_args()
    require_wrk()
    with common.stack() as started:
        bff, sandbox = start_services(started)
        card_id = requests.post(f"{sandbox}/_sim/cards", timeout=10, json={
            "card_type": "GENERAL_COUPON", "quantity": a.users * 2}).json()["card_id"]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(16) as ex:
            users = list(ex.map(lambda _: prepare_user(bff, sandbox, card_id), range(a.users)))
        print(f"prepared {len(users)} users with sessions and codes "
              f"in {time.perf_counter() - t0:.1f} s")
        lines = [("/v1/cards/codes/decrypt", token, f'"code":"{code}"',
                  json.dumps({"encrypt_code": encrypt_code}))
                 for token, encrypt_code, code in users]
        levels = {"0 ms": 0, f"{a.latency_ms} ms": a.latency_ms}
        runs = common.in_rounds(levels, lambda name, _round, seconds: measure(
            sandbox, bff, lines, levels[name], a, seconds), a)
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
