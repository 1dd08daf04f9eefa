"""The load generator of the throughput benchmarks: ``wrk`` (native, event-driven).

A Python load generator saturates 2 cores before the server does (the bare endpoint measured
~1,200 req/s with threads of requests.Session against ~7,900 req/s with wrk on the same server),
so figures of server throughput come from wrk. Install it with ``apt-get install -y wrk``
(Debian/Ubuntu) or your system's package manager.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "wrk_post.lua")
MANY = os.path.join(HERE, "wrk_requests.lua")


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu), "
                 "brew install wrk (macOS)")
    return path


def run_wrk(url: str, *, seconds: float, connections: int = 64, threads: int = 1,
            body: dict | None = None, token: str | None = None,
            method: str = "POST") -> dict[str, float]:
    """Load ``url`` for ``seconds``; requests/s, p50/p90/p99 (ms), non-2xx and socket errors."""
    env = {**os.environ, "WRK_BODY": json.dumps(body or {}), "WRK_TOKEN": token or "",
           "WRK_METHOD": method}
    cpu = _children_cpu()
    out = subprocess.run(
        [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
         "--timeout", "10s", "-s", SCRIPT, url],
        env=env, capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout
    return _figures(out, _children_cpu() - cpu)


def run_wrk_requests(base: str, lines: list[tuple[str, str, str, str]], *, seconds: float,
                     connections: int = 64, threads: int = 1, in_order: bool = False) -> dict:
    """Load ``base`` cycling through ``lines`` (path, token or "", expected substring or "",
    JSON body); every answer is checked against its own line (``mismatches``). ``in_order``
    (one thread): from the first line on, so the first ``n`` + in-flight lines are the ones
    sent; otherwise each thread starts at a random line."""
    assert not (in_order and threads != 1), "in order takes one wrk thread"
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        for path, token, expect, body in lines:
            assert "\t" not in token + expect + body and "\n" not in body
            f.write(f"{path}\t{token or '-'}\t{expect or '-'}\t{body}\n")
    cpu = _children_cpu()
    try:
        out = subprocess.run(
            [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--timeout", "15s", "-s", MANY, base],
            env={**os.environ, "WRK_REQUESTS": f.name, **({"WRK_IN_ORDER": "1"} if in_order
                                                          else {})},
            capture_output=True, text=True,
            check=True, timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(f.name)
    figures = _figures(out, _children_cpu() - cpu)
    bad = next((ln for ln in out.splitlines() if ln.startswith("WRK_FIRST_BAD ")), "")
    figures["first_bad"] = bad.removeprefix("WRK_FIRST_BAD ")
    return figures


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _figures(out: str, cpu: float) -> dict:
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return {"rps": raw["requests"] / (raw["duration_us"] / 1e6), "n": raw["requests"],
            "loadgen_cpu_us": 1e6 * cpu / max(1, raw["requests"]),
            "p50": raw["p50_us"] / 1000, "p90": raw["p90_us"] / 1000,
            "p99": raw["p99_us"] / 1000, "non2xx": raw["non2xx"],
            "socket_errors": raw["socket_errors"], "checked": raw.get("checked"),
            "mismatches": raw.get("mismatches", 0)}
