"""Event acknowledgement throughput: ``POST /wechat/events`` in safe mode vs plain mode.

Starts a throwaway redis-server and gunicorn with the Procfile's ``web`` configuration (on
127.0.0.1, BFF_SANDBOX=1), then posts pre-built signed events, each unique (its own
FromUserName/UserCardCode), with a bounded load generator (processes x threads of
requests.Session), alternating safe and plain rounds. Prints acknowledged events/s, p50/p99
and the ratio safe/plain (the cost of the crypto), and checks that the stream holds exactly one
entry per acknowledged event. Bounded: ``--events`` per mode and round, ``--max-seconds`` each.

    .venv/bin/python bench/events.py --events 4000 --rounds 2 --processes 2 --threads 16
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import redis
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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
from bff.store import keys  # noqa: E402


def build(mode: str, tag: str, count: int) -> list[tuple[str, bytes]]:
    """Signed pushes (path + query, body), as WeChat sends them; fresh timestamps."""
    from bff.config import SANDBOX_APPID, SANDBOX_PUSH_AES_KEY, SANDBOX_PUSH_TOKEN
    from bff.wechat.crypto import PushCrypto

    crypto = PushCrypto(SANDBOX_PUSH_TOKEN, SANDBOX_PUSH_AES_KEY, SANDBOX_APPID)
    out = []
    now = int(time.time())
    for i in range(count):
        xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
               f"<FromUserName><![CDATA[o-{tag}-{i}]]></FromUserName>"
               f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
               f"<Event><![CDATA[user_get_card]]></Event><CardId><![CDATA[pBENCH]]></CardId>"
               f"<IsGiveByFriend>0</IsGiveByFriend><UserCardCode><![CDATA[{tag}{i:08d}]]>"
               f"</UserCardCode><OuterStr><![CDATA[bench]]></OuterStr></xml>")
        ts, nonce = str(now), str(i)
        params = {"signature": _sig(ts, nonce),
                  "timestamp": ts, "nonce": nonce, "openid": f"o-{tag}-{i}"}
        body = xml
        if mode == "safe":
            enc = crypto.encrypt(xml)
            params.update(encrypt_type="aes", msg_signature=crypto.msg_signature(ts, nonce, enc))
            body = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
                    f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>")
        out.append(("/wechat/events?" + urlencode(params), body.encode()))
    return out


def _sig(timestamp: str, nonce: str) -> str:
    import hashlib

    from bff.config import SANDBOX_PUSH_TOKEN

    return hashlib.sha1("".join(sorted([SANDBOX_PUSH_TOKEN, timestamp, nonce])).encode()
                        ).hexdigest()


def load(args: tuple) -> list[float]:
    """One load process: build its share, then ``threads`` sessions post it; latencies."""
    base, mode, tag, count, threads, max_seconds = args
    pushes = build(mode, tag, count)
    out: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + max_seconds

    def run(k: int) -> None:
        s = requests.Session()
        mine = []
        for path, body in pushes[k::threads]:
            if time.perf_counter() > stop:
                break
            t0 = time.perf_counter()
            res = s.post(base + path, data=body, headers={"Content-Type": "text/xml"},
                         timeout=10)
            if res.status_code != 200 or res.text != "success":
                raise RuntimeError(f"{mode}: {res.status_code} {res.text[:200]}")
            mine.append(time.perf_counter() - t0)
        with lock:
            out.extend(mine)

    started = time.perf_counter()
    in_threads(threads, run)
    out.append(-(time.perf_counter() - started))  # wall time, marked negative
    return out


def measure(pool, base: str, mode: str, run: int, a: argparse.Namespace) -> dict:
    share = a.events // a.processes
    jobs = [(base, mode, f"{mode[0]}{run}p{k}x", share, a.threads, a.max_seconds)
            for k in range(a.processes)]
    results = pool.map(load, jobs)
    wall = max(-r[-1] for r in results)
    figures = latency_figures(x for r in results for x in r[:-1])
    return {"eps": figures["n"] / wall, **figures}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=4000, help="per mode and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--max-seconds", type=float, default=30.0, help="cap per load process")
    a = p.parse_args()
    procs: list[subprocess.Popen] = []
    with throwaway_redis() as redis_url:
        try:
            port = free_port()
            env = {**os.environ, "BFF_SANDBOX": "1", "BFF_REDIS_URL": redis_url,
                   "BFF_LOG_LEVEL": "WARNING"}
            procs.append(start_web(port, "wsgi:app", env))
            print("server:", " ".join(procfile_web(port, "wsgi:app")[1:]))
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz")
            runs: dict[str, list[dict]] = {"safe": [], "plain": []}
            with multiprocessing.get_context("spawn").Pool(a.processes) as pool:
                warm = argparse.Namespace(**{**vars(a), "events": min(a.events, 400)})
                acked = sum(measure(pool, base, m, 99, warm)["n"] for m in runs)
                for run in range(a.rounds):
                    for mode in runs:
                        result = measure(pool, base, mode, run, a)
                        runs[mode].append(result)
                        acked += result["n"]
        finally:
            stop_processes(procs)
        summary = {}
        for mode, rs in runs.items():
            summary[mode] = s = mean_over_rounds(rs, ("eps", "p50", "p99"))
            print(f"{mode:6s} {s['eps']:8.0f} events/s acknowledged  p50 {s['p50']:6.2f} ms  "
                  f"p99 {s['p99']:6.2f} ms  ({sum(r['n'] for r in rs)} events)")
        ratio = summary["safe"]["eps"] / summary["plain"]["eps"]
        print(f"ratio safe / plain = {ratio:.2f} "
              f"[{a.processes} procs x {a.threads} threads, {a.rounds} rounds]")
        recorded = redis.Redis.from_url(redis_url).xlen(keys.event_stream())
        print(f"stream entries {recorded} for {acked} acknowledged events "
              f"({'exactly once' if recorded == acked else 'MISMATCH'})")

if __name__ == "__main__":
    main()
