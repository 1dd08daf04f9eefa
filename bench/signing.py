"""Signing throughput: ``POST /v1/cards/add-card`` vs a bare Flask endpoint, same server setup.

Starts a throwaway redis-server and two gunicorns with the Procfile's ``web`` configuration
(bound to 127.0.0.1): the service in sandbox mode (``wsgi:app``) and ``bench/bare_app.py``.
Gets a session and a card through the mounted sandbox, checks that the sandbox accepts what is
signed, then loads both with the same generator (processes x threads of requests.Session),
alternating rounds, and prints requests/s, p50/p99 and the ratio (target >= 0.7).

    .venv/bin/python bench/signing.py --seconds 5 --rounds 2 --processes 2 --threads 16
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402

from bench.common import (  # noqa: E402
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


def load(args: tuple) -> list[float]:
    """One load process: ``threads`` sessions posting for ``seconds``; returns latencies."""
    url, headers, body, threads, seconds = args
    out: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run(_: int) -> None:
        s = requests.Session()
        mine = []
        while (t0 := time.perf_counter()) < stop:
            res = s.post(url, json=body, headers=headers, timeout=10)
            if res.status_code != 200:
                raise RuntimeError(f"{url}: {res.status_code} {res.text[:200]}")
            mine.append(time.perf_counter() - t0)
        with lock:
            out.extend(mine)

    in_threads(threads, run)
    return out


def measure(pool, url: str, headers: dict, body: dict, a: argparse.Namespace) -> dict:
    results = pool.map(load, [(url, headers, body, a.threads, a.seconds)] * a.processes)
    figures = latency_figures(x for r in results for x in r)
    return {"rps": figures["n"] / a.seconds, **figures}


def setup_user(base: str) -> tuple[dict, dict]:
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
    return headers, body


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--threads", type=int, default=16)
    a = p.parse_args()
    procs: list[subprocess.Popen] = []
    with throwaway_redis() as redis_url:
        try:
            bff_port, bare_port = free_port(), free_port()
            env = {**os.environ, "BFF_SANDBOX": "1", "BFF_REDIS_URL": redis_url,
                   "BFF_LOG_LEVEL": "WARNING"}
            for port, module in ((bff_port, "wsgi:app"), (bare_port, "bench.bare_app:app")):
                procs.append(start_web(port, module, env))
            print("server:", " ".join(procfile_web(0, "<module>")[1:]))
            bff, bare = f"http://127.0.0.1:{bff_port}", f"http://127.0.0.1:{bare_port}"
            wait_http(f"{bff}/healthz")
            wait_http(bare)
            headers, body = setup_user(bff)
            targets = {"bare": (f"{bare}/v1/cards/add-card", {}, body),
                       "add-card": (f"{bff}/v1/cards/add-card", headers, body)}
            runs: dict[str, list[dict]] = {k: [] for k in targets}
            with multiprocessing.get_context("spawn").Pool(a.processes) as pool:
                warm = argparse.Namespace(**{**vars(a), "seconds": 1.0})
                for url, h, b in targets.values():
                    measure(pool, url, h, b, warm)
                for _ in range(a.rounds):
                    for name, (url, h, b) in targets.items():
                        runs[name].append(measure(pool, url, h, b, a))
        finally:
            stop_processes(procs)
    summary = {}
    for name, rs in runs.items():
        summary[name] = s = mean_over_rounds(rs, ("rps", "p50", "p99"))
        print(f"{name:9s} {s['rps']:8.0f} req/s  p50 {s['p50']:6.2f} ms  "
              f"p99 {s['p99']:6.2f} ms  ({sum(r['n'] for r in rs)} requests)")
    ratio = summary["add-card"]["rps"] / summary["bare"]["rps"]
    print(f"ratio add-card / bare = {ratio:.2f} (target >= 0.70) "
          f"[{a.processes} procs x {a.threads} threads, {a.rounds} x {a.seconds:.0f} s each]")

if __name__ == "__main__":
    main()
