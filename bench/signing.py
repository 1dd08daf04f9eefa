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
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_web(port: int, module: str) -> list[str]:
    """The Procfile's web command with ${VAR:-default} expanded, on loopback, for ``module``."""
    line = next(ln for ln in open(os.path.join(ROOT, "Procfile")) if ln.startswith("web:"))
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


def load(args: tuple) -> list[float]:
    """One load process: ``threads`` sessions posting for ``seconds``; returns latencies."""
    import threading

    url, headers, body, threads, seconds = args
    out: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run() -> None:
        s = requests.Session()
        mine = []
        while (t0 := time.perf_counter()) < stop:
            res = s.post(url, json=body, headers=headers, timeout=10)
            if res.status_code != 200:
                raise RuntimeError(f"{url}: {res.status_code} {res.text[:200]}")
            mine.append(time.perf_counter() - t0)
        with lock:
            out.extend(mine)

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def measure(pool, url: str, headers: dict, body: dict, a: argparse.Namespace) -> dict:
    results = pool.map(load, [(url, headers, body, a.threads, a.seconds)] * a.processes)
    lat = sorted(x for r in results for x in r)
    return {"rps": len(lat) / a.seconds, "p50": lat[len(lat) // 2] * 1000,
            "p99": lat[int(len(lat) * 0.99)] * 1000, "n": len(lat)}


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
    tmp = tempfile.mkdtemp(prefix="bench-signing-")
    procs: list[subprocess.Popen] = []
    try:
        rport, bff_port, bare_port = free_port(), free_port(), free_port()
        procs.append(subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(rport),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL))
        env = {**os.environ, "BFF_SANDBOX": "1", "BFF_REDIS_URL": f"redis://127.0.0.1:{rport}/0",
               "BFF_LOG_LEVEL": "WARNING"}
        for port, module in ((bff_port, "wsgi:app"), (bare_port, "bench.bare_app:app")):
            argv = procfile_web(port, module)
            procs.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
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
        summary = {}
        for name, rs in runs.items():
            summary[name] = {k: statistics.mean(r[k] for r in rs) for k in ("rps", "p50", "p99")}
            s = summary[name]
            print(f"{name:9s} {s['rps']:8.0f} req/s  p50 {s['p50']:6.2f} ms  "
                  f"p99 {s['p99']:6.2f} ms  ({sum(r['n'] for r in rs)} requests)")
        ratio = summary["add-card"]["rps"] / summary["bare"]["rps"]
        print(f"ratio add-card / bare = {ratio:.2f} (target >= 0.70) "
              f"[{a.processes} procs x {a.threads} threads, {a.rounds} x {a.seconds:.0f} s each]")
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
