"""Custom-code import throughput with 50 ms of WeChat latency: parallel vs one batch at a time.

Starts a throwaway redis-server and the sandbox on a loopback port (``serve_in_thread``), sets
the sandbox's latency, and imports the same number of codes into two fresh deposit cards: once
with ``--parallel`` batches in flight, once with one. Prints codes/s for the deposit phase and
for the whole pipeline (deposit + getdepositcount + checkcode over every code) and the ratio.

    .venv/bin/python bench/code_import.py --codes 10000 --parallel 4 --latency-ms 50
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis  # noqa: E402
import requests  # noqa: E402

from bench.common import throwaway_redis  # noqa: E402
from bff.domain.codes.custom import read_code_file  # noqa: E402
from bff.domain.codes.importer import CodeImporter  # noqa: E402
from bff.domain.codes.reconcile import Progress  # noqa: E402
from bff.ground.config import load_settings  # noqa: E402
from bff.ground.wechat import build_wechat  # noqa: E402
from bff.sandbox.server import config_from_env, serve_in_thread  # noqa: E402


class Stopwatch(Progress):
    """Times each stage of the pipeline."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.stage = ""

    def start(self, stage: str, total: int, initial: int = 0) -> None:
        self.stage = stage
        self.started[stage] = time.perf_counter()

    def close(self) -> None:
        if self.stage:
            self.seconds[self.stage] = time.perf_counter() - self.started[self.stage]
            self.stage = ""


def one_run(r: redis.Redis, wechat, base: str, path: str, parallel: int) -> dict:
    card = requests.post(f"{base}/_sim/cards", timeout=10, json={
        "card_type": "GROUPON", "use_custom_code": True, "quantity": 0,
        "get_custom_code_mode": "GET_CUSTOM_CODE_MODE_DEPOSIT"}).json()["card_id"]
    watch = Stopwatch()
    importer = CodeImporter(r, wechat, card, read_code_file(path), parallel=parallel,
                            progress=watch)
    t0 = time.perf_counter()
    report = importer.run()
    total = time.perf_counter() - t0
    n = report["reconciliation"]["sent"]
    assert report["complete"], report["summary"]
    return {"parallel": parallel, "codes": n,
            "deposit_s": round(watch.seconds["deposit"], 3),
            "deposit_codes_per_s": round(n / watch.seconds["deposit"]),
            "total_s": round(total, 3), "total_codes_per_s": round(n / total)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codes", type=int, default=10_000)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--latency-ms", type=int, default=50)
    args = ap.parse_args()
    if not 100 <= args.codes <= 200_000 or not 1 <= args.parallel <= 32:
        ap.error("--codes 100..200000, --parallel 1..32")
    logging.basicConfig(level=logging.WARNING)
    for name in ("werkzeug", "bff"):  # request lines carry access_tokens; keep output to figures
        logging.getLogger(name).setLevel(logging.WARNING)
    with throwaway_redis() as redis_url:
        base, shutdown = serve_in_thread(redis_url, config_from_env({}))
        try:
            requests.put(f"{base}/_sim/config", json={"latency_ms": args.latency_ms}, timeout=10)
            settings = load_settings(environ={}, overrides={
                "sandbox": True, "redis_url": redis_url, "wechat_api_base": base})
            r = redis.Redis.from_url(redis_url, decode_responses=True)
            wechat = build_wechat(settings, r)
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
                f.write("".join(f"B{n:010d}\n" for n in range(args.codes)))
            try:
                parallel = one_run(r, wechat, base, f.name, args.parallel)
                serial = one_run(r, wechat, base, f.name, 1)
            finally:
                os.unlink(f.name)
            print(json.dumps({
                "latency_ms": args.latency_ms, "parallel": parallel, "one_at_a_time": serial,
                "ratio_deposit": round(parallel["deposit_codes_per_s"]
                                       / serial["deposit_codes_per_s"], 2),
                "ratio_total": round(parallel["total_codes_per_s"]
                                     / serial["total_codes_per_s"], 2),
            }, indent=1))
        finally:
            shutdown()


if __name__ == "__main__":
    main()
