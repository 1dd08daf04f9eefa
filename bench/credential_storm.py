"""Credential storm: P processes x T threads ask for the access_token and wx_card ticket at once.

Starts a redis-server (or uses --redis-url) and the sandbox in a thread, expires the credentials,
and reports how many calls reached the sandbox per storm, the latency of getting a token under
the storm, and the Redis round trips of the warm hot path (``ticket("wx_card")``).

    .venv/bin/python bench/credential_storm.py --processes 8 --threads 16 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis  # noqa: E402
import requests  # noqa: E402

from bench.common import throwaway_redis  # noqa: E402
from bff.ground import config, store
from bff.ground.store import keys  # noqa: E402
from bff.ground.wechat.client import WeChatClient  # noqa: E402
from bff.ground.wechat.credential_source import WeChatCredentialSource  # noqa: E402
from bff.ground.wechat.credentials import Credentials  # noqa: E402

TOKEN_PATHS = ("cgi-bin/stable_token", "cgi-bin/token")
TICKET_PATH = "cgi-bin/ticket/getticket"


def make_credentials(redis_url: str, base_url: str) -> tuple[Credentials, redis.Redis]:
    r = store.connect(redis_url, allow_embedded=False)  # one server or a cluster, as the service
    transport = WeChatClient(base_url, connect_timeout=3.05, read_timeout=10, max_retries=2)
    source = WeChatCredentialSource(transport, appid=config.SANDBOX_APPID,
                                    secret=config.SANDBOX_SECRET, mode="stable")
    return Credentials(r, source), r


def one_storm(creds: Credentials, threads: int, barrier: Any) -> dict[str, Any]:
    """``threads`` readers released at once (after every process reached ``barrier``)."""
    start = threading.Barrier(threads)
    latencies: list[float] = []
    values: set[str] = set()
    errors: list[str] = []

    def read() -> None:
        start.wait()
        t0 = time.perf_counter()
        try:
            token = creds.access_token()
            latencies.append(time.perf_counter() - t0)
            values.add(token)
            creds.ticket("wx_card")
        except Exception as e:  # reported, not fatal: the figures show it
            errors.append(type(e).__name__)

    pool = [threading.Thread(target=read) for _ in range(threads)]
    barrier.wait()  # every process starts its storm together
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"latencies": latencies, "tokens": sorted(values), "errors": errors}


def storm_worker(redis_url: str, base_url: str, threads: int, rounds: int,
                 barrier: Any, results: Any) -> None:
    """One process: per round, fresh (cold) credentials, as a newly started worker has."""
    for _ in range(rounds):
        creds, r = make_credentials(redis_url, base_url)
        results.put(one_storm(creds, threads, barrier))
        r.close()
        barrier.wait()  # the parent counts calls and expires credentials in between


def sandbox_calls(base_url: str) -> dict[str, int]:
    return requests.get(f"{base_url}/_sim/calls", timeout=5).json()


def expire_everything(r: redis.Redis, base_url: str) -> None:
    """Past expiry for WeChat (sandbox clock) and for us (our cached values gone)."""
    requests.post(f"{base_url}/_sim/clock", json={"advance_seconds": 7200}, timeout=5)
    for kind in ("access_token", "ticket:wx_card", "ticket:jsapi"):
        r.delete(keys.credential(config.SANDBOX_APPID, kind))


def hot_path_round_trips(redis_url: str, base_url: str, n: int = 10_000) -> float:
    creds, r = make_credentials(redis_url, base_url)
    creds.ticket("wx_card")  # warm
    before = r.info("stats")["total_commands_processed"]
    for _ in range(n):
        creds.ticket("wx_card")
    after = r.info("stats")["total_commands_processed"]
    r.close()
    return (after - before - 1) / n  # minus the first INFO itself


def run(args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        redis_url = args.redis_url or stack.enter_context(throwaway_redis())
        return storm_report(args, redis_url)


def storm_report(args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    """The storms and the hot-path figure against the Redis at ``redis_url``."""
    from bff.sandbox import SandboxConfig, serve_in_thread

    sandbox_config = SandboxConfig(
        oa_appid=config.SANDBOX_APPID, oa_secret=config.SANDBOX_SECRET,
        mp_appid=config.SANDBOX_MP_APPID, mp_secret=config.SANDBOX_MP_SECRET,
        push_token=config.SANDBOX_PUSH_TOKEN, push_aes_key=config.SANDBOX_PUSH_AES_KEY,
    )
    base_url, shutdown = serve_in_thread(redis_url, sandbox_config)
    r = store.connect(redis_url, allow_embedded=False)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(args.processes + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=storm_worker, daemon=True,
                         args=(redis_url, base_url, args.threads, args.rounds, barrier, results))
             for _ in range(args.processes)]
    report: dict[str, Any] = {"processes": args.processes, "threads": args.threads, "rounds": []}
    try:
        for p in procs:
            p.start()
        for _ in range(args.rounds):
            expire_everything(r, base_url)
            before = sandbox_calls(base_url)
            barrier.wait(timeout=120)
            rows = [results.get(timeout=120) for _ in procs]
            after = sandbox_calls(base_url)
            barrier.wait(timeout=120)
            latencies = sorted(x for row in rows for x in row["latencies"])
            report["rounds"].append({
                "token_calls": sum(after.get(p, 0) - before.get(p, 0) for p in TOKEN_PATHS),
                "ticket_calls": after.get(TICKET_PATH, 0) - before.get(TICKET_PATH, 0),
                "distinct_tokens": len({t for row in rows for t in row["tokens"]}),
                "errors": [e for row in rows for e in row["errors"]],
                "p50_ms": statistics.median(latencies) * 1e3 if latencies else None,
                "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1e3 if latencies else None,
            })
        for p in procs:
            p.join(timeout=30)
        report["hot_path_redis_round_trips"] = hot_path_round_trips(redis_url, base_url)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        r.close()
        shutdown()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default=os.environ.get("BFF_TEST_REDIS_URL"))
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    report = run(args)
    if args.json:
        print(json.dumps(report))
        return
    print(f"{args.processes} processes x {args.threads} threads, {args.rounds} storm(s)")
    for i, row in enumerate(report["rounds"], 1):
        print(f"storm {i}: upstream token calls {row['token_calls']}, ticket calls "
              f"{row['ticket_calls']}, distinct tokens {row['distinct_tokens']}, "
              f"token latency p50 {row['p50_ms']:.1f} ms p99 {row['p99_ms']:.1f} ms, "
              f"errors {len(row['errors'])}")
    print(f"Redis round trips per hot-path request (10k warm ticket('wx_card')): "
          f"{report['hot_path_redis_round_trips']:.4f}")


if __name__ == "__main__":
    main()
