"""What the benchmark scripts share: throwaway servers, the Procfile's web command, wrk rounds
and their figures.

A script runs from the checkout (``python bench/NAME.py``), so it puts the repository's root on
``sys.path`` itself before importing this module.
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass
from typing import IO

import requests

from tests.redis_server import RedisServer, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.dirname(sys.executable)

__all__ = ["ROOT", "free_port", "procfile_web", "wait_http", "start_web", "stop_processes",
           "throwaway_redis", "Server", "Stack", "stack", "wrk_options", "wrk_setup",
           "in_rounds", "in_threads", "latency_figures", "mean_over_rounds", "children",
           "cpu_seconds", "redis_pid", "callgrind_instructions"]

Out = int | IO[bytes]  # where a server's output goes: subprocess.DEVNULL or a file


def procfile_web(port: int, module: str, env: dict[str, str] | None = None) -> list[str]:
    """The Procfile's web command with ${VAR:-default} expanded from ``env`` (default: this
    process's environment), on loopback, for ``module``."""
    with open(os.path.join(ROOT, "Procfile")) as f:
        line = next(ln for ln in f if ln.startswith("web:"))
    line = line.split(":", 1)[1].strip()
    env = {**(os.environ if env is None else env), "PORT": str(port)}
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
              out: Out = subprocess.DEVNULL) -> subprocess.Popen:
    """``module`` under the Procfile's web command on 127.0.0.1:``port``."""
    return subprocess.Popen(procfile_web(port, module, env), cwd=ROOT, env=env, stdout=out,
                            stderr=out)


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """Terminate in reverse start order; kill what has not exited after 10 s, and reap it (a
    Popen dropped while its process has not been waited for warns "still running", and under
    pytest's filterwarnings=error that failed whichever test was running then)."""
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A private redis-server on a free loopback port; yields its URL, removes it after."""
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


@dataclass
class Server:
    url: str
    proc: subprocess.Popen


class Stack:
    """A throwaway Redis and the processes started on it (``stack()`` stops them)."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.procs: list[subprocess.Popen] = []

    def start(self, argv: list[str], env: dict[str, str],
              out: Out = subprocess.DEVNULL) -> subprocess.Popen:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)
        self.procs.append(proc)
        return proc

    def web(self, module: str = "wsgi:app", *, port: int | None = None,
            out: Out = subprocess.DEVNULL, **env: str) -> Server:
        """``module`` under the Procfile's web command, in sandbox mode on this Redis (``env``
        added), once it answers."""
        port = port or free_port()
        # The default log level (INFO), as deployed: per request only the access line, as
        # for bare Flask; BFF_LOG_LEVEL in the environment overrides it.
        env = {**os.environ, "BFF_SANDBOX": "1", "BFF_REDIS_URL": self.redis_url, **env}
        argv = procfile_web(port, module, env)
        print("server:", " ".join(argv[1:]))
        server = Server(f"http://127.0.0.1:{port}", self.start(argv, env, out))
        wait_http(f"{server.url}/healthz")
        # The first worker answers before the arbiter has forked the others: a benchmark that
        # lists the workers now (their CPU) must find them all.
        workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 1
        deadline = time.time() + 30
        while len(children(server.proc.pid)) < workers and time.time() < deadline:
            time.sleep(0.1)
        return server


@contextmanager
def stack() -> Iterator[Stack]:
    """A throwaway Redis; the processes started on it are stopped on the way out."""
    with throwaway_redis() as redis_url:
        started = Stack(redis_url)
        try:
            yield started
        finally:
            stop_processes(started.procs)


def wrk_options(doc: str, *, rounds: int, connections: int = 64) -> argparse.ArgumentParser:
    """The options of a wrk benchmark (--seconds, --rounds, --connections, --wrk-threads); the
    script adds its own."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0, help="per target and round")
    p.add_argument("--rounds", type=int, default=rounds)
    p.add_argument("--connections", type=int, default=connections,
                   help="wrk connections (in flight)")
    p.add_argument("--wrk-threads", type=int, default=1,
                   help="wrk threads (1 leaves the most CPU to the server on 2 cores)")
    return p


def wrk_setup(a: argparse.Namespace, *also: str) -> str:
    """How the figures were taken, for the line that prints the ratio."""
    return ", ".join((f"[wrk {a.wrk_threads} thread(s) x {a.connections} connections", *also,
                      f"{a.rounds} x {a.seconds:.0f} s each]"))


def in_rounds(targets: Iterable[str], measure: Callable[[str, int, float], dict],
              a: argparse.Namespace, warm_up: float = 1.0) -> dict[str, list[dict]]:
    """``measure(target, round, seconds)``: each target once for ``warm_up`` seconds (round -1,
    not kept), then the targets in turn, ``a.rounds`` times for ``a.seconds``, so that load
    from neighbours on a shared machine falls on every target alike."""
    runs: dict[str, list[dict]] = {t: [] for t in targets}
    for target in runs:
        measure(target, -1, warm_up)
    for n in range(a.rounds):
        for target, results in runs.items():
            results.append(measure(target, n, a.seconds))
    return runs


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


_CALLGRIND_PRELUDE = f"""
from gevent import monkey
monkey.patch_all()  # as gunicorn's gevent worker does, before anything else
import logging, sys
sys.path.insert(0, {ROOT!r})
logging.disable(logging.INFO)
"""


def callgrind_instructions(script: str) -> int:
    """The instructions this Python runs for ``script`` (a program's text, run after gevent's
    monkey-patching, with the repository importable and logging below WARNING off), counted
    by valgrind's callgrind (``apt-get install -y valgrind``); the same code, inputs and
    environment give the same count whatever else the machine is doing."""
    import tempfile

    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install -y valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "loop.py")
        with open(path, "w") as f:
            f.write(_CALLGRIND_PRELUDE + script)
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
             sys.executable, path], capture_output=True, text=True, check=True).stderr
    found = re.search(r"Collected : (\d+)", out)
    if found is None:
        raise SystemExit(f"callgrind said no total:\n{out[-2000:]}")
    return int(found.group(1))
