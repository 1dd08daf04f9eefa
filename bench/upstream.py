"""Upstream-bound: ``POST /v1/cards/codes/decrypt`` with 100 ms of WeChat latency vs 0 ms.

Starts a throwaway redis-server, the standalone sandbox as its own process
(``python -m bff.sandbox``) and the service under gunicorn with the Procfile's ``web``
configuration (bound to 127.0.0.1), pointed at that sandbox over real HTTP
(``BFF_WECHAT_API_BASE``); the sandbox pushes ``user_get_card`` to the service's
``/wechat/events``. Prepares ``--users`` users (login -> session -> add-card signed by the
service -> the sandbox's wx.addCard -> encrypted code), then loads decrypt with
``--processes`` x ``--threads`` requests in flight, alternating rounds at 0 ms and at
``--latency-ms`` of injected latency per upstream call. Every answer must be a 200 with the
user's own code. Prints requests/s, p50/p99, upstream calls per request and the ratio
(how well waiting on WeChat is hidden; target >= 0.7).

    .venv/bin/python bench/upstream.py --seconds 5 --rounds 2 --processes 2 --threads 64
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402

from bench.common import (  # noqa: E402
    ROOT,
    free_port,
    in_threads,
    latency_figures,
    mean_over_rounds,
    procfile_web,
    start_web,
    stop_processes,
    throwaway_redis,
    wait_http,
)

MAX_REQUESTS_PER_THREAD = 100_000  # a second bound on each load loop, besides time


def load(args: tuple) -> dict:
    """One load process: ``threads`` sessions cycling through ``users`` for ``seconds``."""
    url, users, threads, seconds = args
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run(k: int) -> None:
        s = requests.Session()
        mine: list[float] = []
        i = k
        for _ in range(MAX_REQUESTS_PER_THREAD):
            t0 = time.perf_counter()
            if t0 >= stop:
                break
            token, encrypt_code, code = users[i % len(users)]
            i += threads
            try:
                res = s.post(url, json={"encrypt_code": encrypt_code},
                             headers={"Authorization": f"Bearer {token}"}, timeout=15)
            except requests.RequestException as e:
                with lock:
                    errors.append(f"{type(e).__name__}")
                break
            if res.status_code != 200 or res.json().get("code") != code:
                with lock:
                    errors.append(f"{res.status_code} {res.text[:200]}")
                break
            mine.append(time.perf_counter() - t0)
        with lock:
            lat.extend(mine)

    in_threads(threads, run)
    return {"lat": lat, "errors": errors}


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


def measure(pool, sandbox: str, url: str, users: list, latency_ms: int,
            a: argparse.Namespace, seconds: float) -> dict:
    requests.put(f"{sandbox}/_sim/config", json={"latency_ms": latency_ms},
                 timeout=10).raise_for_status()
    requests.delete(f"{sandbox}/_sim/calls", timeout=10).raise_for_status()
    chunks = [users[i::a.processes] for i in range(a.processes)]
    t0 = time.perf_counter()
    results = pool.map(load, [(url, c, a.threads, seconds) for c in chunks])
    elapsed = time.perf_counter() - t0
    calls = requests.get(f"{sandbox}/_sim/calls", timeout=10).json()
    errors = [e for r in results for e in r["errors"]]
    if errors:
        raise SystemExit(f"decrypt failed at {latency_ms} ms: {errors[:3]}")
    figures = latency_figures(x for r in results for x in r["lat"])
    n = figures["n"]
    return {"rps": n / seconds, **figures,
            "calls": sum(calls.values()) / max(1, n), "elapsed": elapsed,
            "paths": {p: round(c / max(1, n), 2) for p, c in calls.items()}}


def start_services(a: argparse.Namespace, redis_url: str, devnull) -> tuple[list, str, str]:
    sb_port, bff_port = free_port(), free_port()
    sandbox, bff = f"http://127.0.0.1:{sb_port}", f"http://127.0.0.1:{bff_port}"
    base_env = {**os.environ, "BFF_LOG_LEVEL": "WARNING"}
    sb_env = {**base_env, "BFF_SANDBOX_REDIS_URL": redis_url.replace("/0", "/1"),
              "BFF_SANDBOX_EVENT_URL": f"{bff}/wechat/events"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "bff.sandbox", "--host", "127.0.0.1", "--port", str(sb_port)],
        cwd=ROOT, env=sb_env, stdout=devnull, stderr=devnull)]
    bff_env = {**base_env, "BFF_SANDBOX": "1", "BFF_REDIS_URL": redis_url,
               "BFF_WECHAT_API_BASE": sandbox}
    procs.append(start_web(bff_port, "wsgi:app", bff_env, devnull))
    wait_http(f"{sandbox}/_sim/config")
    wait_http(f"{bff}/healthz")
    return procs, bff, sandbox


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--threads", type=int, default=64, help="per load process")
    p.add_argument("--users", type=int, default=256)
    p.add_argument("--latency-ms", type=int, default=100)
    a = p.parse_args()
    procs: list[subprocess.Popen] = []
    with throwaway_redis() as redis_url, open(os.devnull, "wb") as devnull:
        try:
            procs, bff, sandbox = start_services(a, redis_url, devnull)
            print("server:", " ".join(procfile_web(0, "<module>")[1:]))
            card_id = requests.post(f"{sandbox}/_sim/cards", timeout=10, json={
                "card_type": "GENERAL_COUPON", "quantity": a.users * 2}).json()["card_id"]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(16) as ex:
                users = list(ex.map(lambda _: prepare_user(bff, sandbox, card_id), range(a.users)))
            print(f"prepared {len(users)} users with sessions and codes "
                  f"in {time.perf_counter() - t0:.1f} s")
            url = f"{bff}/v1/cards/codes/decrypt"
            levels = {"0 ms": 0, f"{a.latency_ms} ms": a.latency_ms}
            runs: dict[str, list[dict]] = {k: [] for k in levels}
            with multiprocessing.get_context("spawn").Pool(a.processes) as pool:
                for ms in levels.values():
                    measure(pool, sandbox, url, users, ms, a, 1.0)  # warm-up
                for _ in range(a.rounds):
                    for name, ms in levels.items():
                        runs[name].append(measure(pool, sandbox, url, users, ms, a, a.seconds))
            summary = {}
            for name, rs in runs.items():
                summary[name] = s = mean_over_rounds(rs, ("rps", "p50", "p99", "calls"))
                print(f"latency {name:7s} {s['rps']:7.0f} req/s  p50 {s['p50']:7.2f} ms  "
                      f"p99 {s['p99']:7.2f} ms  upstream calls/request {s['calls']:.2f} "
                      f"{rs[-1]['paths']}  ({sum(r['n'] for r in rs)} requests, all 200)")
            slow, fast = summary[f"{a.latency_ms} ms"]["rps"], summary["0 ms"]["rps"]
            print(f"ratio {a.latency_ms} ms / 0 ms = {slow / fast:.2f} (target >= 0.70) "
                  f"[{a.processes} procs x {a.threads} threads in flight, {a.users} users, "
                  f"{a.rounds} x {a.seconds:.0f} s each]")
        finally:
            stop_processes(procs)


if __name__ == "__main__":
    main()
