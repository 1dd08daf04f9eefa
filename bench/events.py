"""Event acknowledgement throughput: ``POST /wechat/events`` in safe mode vs plain mode.

Starts a throwaway redis-server and gunicorn with the Procfile's ``web`` configuration (on
127.0.0.1, BFF_SANDBOX=1), then posts pre-built signed events, each unique (its own
FromUserName/UserCardCode), with wrk (bench/wrk_requests.lua; every answer must be
``success``), alternating safe and plain rounds of ``--seconds``. Prints acknowledged events/s,
p50/p99 and the ratio safe/plain (the cost of the crypto), and checks that the stream holds
every acknowledged event exactly once (no code twice; at most the requests in flight when wrk
stopped are recorded without being counted). ``--events`` per mode and round must exceed what
the server acknowledges in a round (the benchmark stops otherwise). Needs wrk:
``apt-get install -y wrk``.

    .venv/bin/python bench/events.py --seconds 5 --rounds 2 --events 20000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from urllib.parse import urlencode

import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import (  # noqa: E402
    free_port,
    mean_over_rounds,
    procfile_web,
    start_web,
    stop_processes,
    throwaway_redis,
    wait_http,
)
from bench.loadgen import require_wrk, run_wrk_requests  # noqa: E402
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


def measure(r: redis.Redis, base: str, mode: str, run: int, a: argparse.Namespace,
            seconds: float) -> dict:
    pushes = build(mode, f"{mode[0]}{run}x", a.events)
    lines = [(path, "", "success", body.decode()) for path, body in pushes]
    before = r.xlen(keys.event_stream())
    figures = run_wrk_requests(base, lines, seconds=seconds, connections=a.connections,
                               threads=a.wrk_threads)
    time.sleep(0.5)  # let requests in flight when wrk stopped finish
    recorded = r.xlen(keys.event_stream()) - before
    if figures["mismatches"] or figures["socket_errors"]:
        raise SystemExit(f"{mode}: {figures['mismatches']} answers other than success "
                         f"({figures['first_bad']}), {figures['socket_errors']} socket errors")
    if figures["n"] + a.connections > a.events:
        raise SystemExit(f"{mode}: {figures['n']} events acknowledged from {a.events} built: "
                         "raise --events (each event must be posted once)")
    return {**figures, "eps": figures["rps"], "recorded": recorded}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0, help="per mode and round")
    p.add_argument("--events", type=int, default=20000, help="built per mode and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--connections", type=int, default=64, help="wrk connections (in flight)")
    p.add_argument("--wrk-threads", type=int, default=1)
    a = p.parse_args()
    require_wrk()
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
            r = redis.Redis.from_url(redis_url, decode_responses=True)
            runs: dict[str, list[dict]] = {"safe": [], "plain": []}
            acked = recorded = 0
            for mode in runs:
                warm = measure(r, base, mode, 99, a, 1.0)
                acked, recorded = acked + warm["n"], recorded + warm["recorded"]
            for run in range(a.rounds):
                for mode in runs:
                    result = measure(r, base, mode, run, a, a.seconds)
                    runs[mode].append(result)
                    acked, recorded = acked + result["n"], recorded + result["recorded"]
            codes = [v["code"] for _, v in r.xrange(keys.event_stream())]
        finally:
            stop_processes(procs)
        summary = {}
        for mode, rs in runs.items():
            summary[mode] = s = mean_over_rounds(rs, ("eps", "p50", "p99"))
            print(f"{mode:6s} {s['eps']:8.0f} events/s acknowledged  p50 {s['p50']:6.2f} ms  "
                  f"p99 {s['p99']:6.2f} ms  ({sum(r['n'] for r in rs)} events)")
        ratio = summary["safe"]["eps"] / summary["plain"]["eps"]
        print(f"ratio safe / plain = {ratio:.2f} [wrk {a.wrk_threads} thread(s) x "
              f"{a.connections} connections, {a.rounds} x {a.seconds:.0f} s each]")
        in_flight = (2 + 2 * a.rounds) * a.connections
        once = len(codes) == len(set(codes)) and acked <= recorded <= acked + in_flight
        print(f"stream entries {recorded} for {acked} acknowledged events (+ at most {in_flight} "
              f"in flight when wrk stopped), no code twice: "
              f"{'exactly once' if once else 'MISMATCH'}")

if __name__ == "__main__":
    main()
