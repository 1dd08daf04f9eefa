"""Event acknowledgement throughput: ``POST /wechat/events`` in safe mode vs plain mode and bare.

Starts a throwaway redis-server and gunicorn with the Procfile's ``web`` configuration (on
127.0.0.1, BFF_SANDBOX=1, BFF_PUSH_MODE=compat so that it takes both kinds of push), then posts
pre-built signed events, each unique (its own FromUserName/UserCardCode), with wrk
(bench/wrk_requests.lua; every answer must be ``success``), alternating safe and plain rounds of
``--seconds``, and in the same rounds the bare Flask endpoint of bench/signing.py
(``bench/bare_app.py`` on the same Procfile line). Prints acknowledged events/s, p50/p99, CPU per
request (workers, and redis-server for the service; wrk's own, on the same cores), the ratio
safe/plain (the cost of the crypto) and safe/bare (issue 18 asks >= 0.6), and checks that the
stream holds every acknowledged event exactly once (no code twice; at most the requests in
flight when wrk stopped are recorded without being counted).
``--events`` per mode and round must exceed what the server acknowledges in a round (the
benchmark stops otherwise). Needs wrk: ``apt-get install -y wrk``.

    .venv/bin/python bench/events.py --seconds 5 --rounds 2 --events 30000 --connections 32
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from urllib.parse import urlencode

import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import common  # noqa: E402
from bench.loadgen import require_wrk, run_wrk, run_wrk_requests  # noqa: E402
from bff.ground.store import keys  # noqa: E402

SHAPES = ("get", "view", "same", "unionid")


def build(mode: str, tag: str, count: int, shape: str = "get") -> list[tuple[str, bytes]]:
    """Signed pushes (path + query, body), as WeChat sends them; fresh timestamps. ``shape``:
    ``get``, a ``user_get_card`` of its own code and user each; ``view``, a ``user_view_card``
    each; ``same``, one ``user_get_card`` event pushed again and again (its own signed pair
    each: WeChat's retries, which are recorded once and acknowledged each); ``unionid``, a
    ``user_get_card`` each with the user's ``UnionId``, as WeChat sends it when the Official
    Account is bound to an Open Platform account (the receipt then keeps it too)."""
    from bff.ground.config import SANDBOX_APPID, SANDBOX_PUSH_AES_KEY, SANDBOX_PUSH_TOKEN
    from bff.ground.wechat.crypto import PushCrypto

    crypto = PushCrypto(SANDBOX_PUSH_TOKEN, SANDBOX_PUSH_AES_KEY, SANDBOX_APPID)
    out = []
    now = int(time.time())
    for n in range(count):
        i = 0 if shape == "same" else n
        event = "user_view_card" if shape == "view" else "user_get_card"
        # Every field WeChat's user_get_card push carries (the empty ones too).
        xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
               f"<FromUserName><![CDATA[o-{tag}-{i}]]></FromUserName>"
               f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
               f"<Event><![CDATA[{event}]]></Event>"
               f"<CardId><![CDATA[pFS7Fjg8kV1IdDz01r4SQwMkuCKc]]></CardId>"
               f"<IsGiveByFriend>0</IsGiveByFriend><UserCardCode><![CDATA[{tag}{i:08d}]]>"
               f"</UserCardCode><FriendUserName><![CDATA[]]></FriendUserName>"
               f"<OuterId>0</OuterId><OldUserCardCode><![CDATA[]]></OldUserCardCode>"
               f"<OuterStr><![CDATA[bench]]></OuterStr>"
               f"<IsRestoreMemberCard>0</IsRestoreMemberCard>"
               f"<IsRecommendByFriend>0</IsRecommendByFriend>"
               + (f"<UnionId><![CDATA[u-{tag}-{i}]]></UnionId>" if shape == "unionid" else "")
               + "<SourceScene><![CDATA[SOURCE_SCENE_MINI_PROGRAM]]></SourceScene></xml>")
        ts, nonce = str(now), f"{tag}{n}"
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

    from bff.ground.config import SANDBOX_PUSH_TOKEN

    return hashlib.sha1("".join(sorted([SANDBOX_PUSH_TOKEN, timestamp, nonce])).encode()
                        ).hexdigest()


def measure(r: redis.Redis, base: str, mode: str, run: int, a: argparse.Namespace,
            seconds: float, pids: list[int]) -> dict:
    pushes = build(mode, f"{mode[0]}{run}x", a.events, a.shape)
    lines = [(path, "", "success", body.decode()) for path, body in pushes]
    before = r.xlen(keys.event_stream())
    cpu, redis_cpu = common.cpu_seconds(pids), common.cpu_seconds(pids[-1:])
    figures = run_wrk_requests(base, lines, seconds=seconds, connections=a.connections,
                               threads=a.wrk_threads)
    cpu, redis_cpu = common.cpu_seconds(pids) - cpu, common.cpu_seconds(pids[-1:]) - redis_cpu
    time.sleep(0.5)  # let requests in flight when wrk stopped finish
    recorded = r.xlen(keys.event_stream()) - before
    if figures["mismatches"] or figures["non2xx"] or figures["socket_errors"]:
        raise SystemExit(f"{mode}: {figures['non2xx']} non-2xx answers, {figures['mismatches']} "
                         f"answers other than success ({figures['first_bad']}), "
                         f"{figures['socket_errors']} socket errors")
    if figures["n"] + a.connections > a.events:
        raise SystemExit(f"{mode}: {figures['n']} events acknowledged from {a.events} built: "
                         "raise --events (each event must be posted once)")
    return {**figures, "eps": figures["rps"], "recorded": recorded,
            "cpu_us": 1e6 * cpu / max(1, figures["n"]),
            "redis_us": 1e6 * redis_cpu / max(1, figures["n"])}


def measure_bare(url: str, a: argparse.Namespace, seconds: float, pids: list[int]) -> dict:
    cpu = common.cpu_seconds(pids)
    figures = run_wrk(url, seconds=seconds, connections=a.connections, threads=a.wrk_threads)
    cpu = common.cpu_seconds(pids) - cpu
    if figures["non2xx"] or figures["socket_errors"]:
        raise SystemExit(f"bare: {figures['non2xx']} non-2xx, {figures['socket_errors']} errors")
    return {**figures, "eps": figures["rps"], "cpu_us": 1e6 * cpu / max(1, figures["n"])}


def main() -> None:
    p = common.wrk_options(__doc__, rounds=2, connections=32)
    p.add_argument("--events", type=int, default=30000, help="built per mode and round")
    p.add_argument("--shape", choices=SHAPES, default="get",
                   help="get: a user_get_card each (the default); view: a user_view_card each; "
                        "same: one user_get_card pushed again and again (WeChat's retries); "
                        "unionid: a user_get_card each, with its UnionId")
    a = p.parse_args()
    require_wrk()
    done: list[dict] = []  # every measurement, warm-ups included: all of them reach the stream

    with common.stack() as started:
        web = started.web(BFF_PUSH_MODE="compat")  # both kinds of push, as in a migration
        bare = started.web("bench.bare_app:app")
        base = web.url
        r = redis.Redis.from_url(started.redis_url, decode_responses=True)
        pids = [*common.children(web.proc.pid), common.redis_pid(started.redis_url)]  # redis last
        bare_pids = common.children(bare.proc.pid)

        def measure_mode(mode: str, run: int, seconds: float) -> dict:
            if mode == "bare":
                return measure_bare(f"{bare.url}/v1/cards/add-card", a, seconds, bare_pids)
            done.append(measure(r, base, mode, run if run >= 0 else 99, a, seconds, pids))
            return done[-1]

        runs = common.in_rounds(("bare", "safe", "plain"), measure_mode, a)
        codes = [v["code"] for _, v in r.xrange(keys.event_stream())]
    summary = {}
    for mode, rs in runs.items():
        figures = ("eps", "p50", "p99", "cpu_us", "loadgen_cpu_us") + (
            ("redis_us",) if mode != "bare" else ())
        summary[mode] = s = common.mean_over_rounds(rs, figures)
        what = "requests/s (constant JSON)" if mode == "bare" else "events/s acknowledged"
        of_redis = f" (redis-server {s['redis_us']:.0f})" if mode != "bare" else ""
        print(f"{mode:6s} {s['eps']:8.0f} {what}  p50 {s['p50']:6.2f} ms  "
              f"p99 {s['p99']:6.2f} ms  CPU {s['cpu_us']:5.0f} us/request{of_redis}, wrk "
              f"{s['loadgen_cpu_us']:.0f}  ({sum(r['n'] for r in rs)} requests)")
    ratio = summary["safe"]["eps"] / summary["plain"]["eps"]
    print(f"ratio safe / plain = {ratio:.2f} {common.wrk_setup(a)}, shape {a.shape}")
    print(f"ratio safe / bare = {summary['safe']['eps'] / summary['bare']['eps']:.2f} "
          "(target >= 0.60); CPU per request, bare / safe = "
          f"{summary['bare']['cpu_us'] / summary['safe']['cpu_us']:.2f} (safe counts "
          "redis-server's CPU too)")
    acked, recorded = sum(d["n"] for d in done), sum(d["recorded"] for d in done)
    in_flight = len(done) * a.connections
    once = len(codes) == len(set(codes)) and (
        acked <= recorded <= acked + in_flight if a.shape != "same" else recorded == len(done))
    print(f"stream entries {recorded} for {acked} acknowledged events (+ at most {in_flight} "
          f"in flight when wrk stopped), no code twice: "
          f"{'exactly once' if once else 'MISMATCH'}")


if __name__ == "__main__":
    main()
