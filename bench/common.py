"""What the benchmark scripts share: throwaway servers, the Procfile's web command, figures."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import requests

from tests.redis_server import RedisServer, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.dirname(sys.executable)

__all__ = ["ROOT", "free_port", "procfile_web", "wait_http", "start_web", "stop_processes",
           "throwaway_redis", "in_threads", "latency_figures", "mean_over_rounds", "children",
           "cpu_seconds", "redis_pid"]


def procfile_web(port: int, module: str) -> list[str]:
    """The Procfile's web command with ${VAR:-default} expanded, on loopback, for ``module``."""
    with open(os.path.join(ROOT, "Procfile")) as f:
        line = next(ln for ln in f if ln.startswith("web:"))
    line = line.split(":", 1)[1].strip()
    env = {**os.environ, "PORT": str(port)}
    line = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1), m.group(2)), line)
    line = re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), ""), line)
    argv = shlex.split(line)
    argv = [a.replace("0.0.0.0", "127.0.0.1") for a in argv]
    argv = [module if a == "wsgi:app" else a for a in argv]
    argv[0] = os.path.join(VENV_BIN, argv[0]) if argv[0] == "gunicorn" else argv[0]
    return argv


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def start_web(port: int, module: str, env: dict[str, str],
              out=subprocess.DEVNULL) -> subprocess.Popen:
    """``module`` under the Procfile's web command on 127.0.0.1:``port``."""
    return subprocess.Popen(procfile_web(port, module), cwd=ROOT, env=env, stdout=out,
                            stderr=out)


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """Terminate in reverse start order; kill what has not exited after 10 s."""
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A private redis-server on a free loopback port; yields its URL, removes it after."""
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


def in_threads(threads: int, target: Callable[[int], None]) -> None:
    """Run ``target(k)`` for k in range(threads), each in its own thread, and wait for all."""
    ts = [threading.Thread(target=target, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def latency_figures(latencies: Iterable[float]) -> dict[str, float]:
    """p50 and p99 in ms (nearest rank) and the count of ``latencies`` (seconds)."""
    lat = sorted(latencies)
    return {"p50": lat[len(lat) // 2] * 1000, "p99": lat[int(len(lat) * 0.99)] * 1000,
            "n": len(lat)}


def mean_over_rounds(runs: list[dict], names: Iterable[str]) -> dict[str, float]:
    """The mean of each figure in ``names`` over the rounds' results."""
    return {k: statistics.mean(r[k] for r in runs) for k in names}


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by ``pids`` (Linux /proc), 0 for a gone one."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / tick


def redis_pid(url: str) -> int:
    """The process id of the redis-server behind ``url``."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()
