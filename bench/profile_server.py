"""Where a Procfile server's time goes under wrk load: a py-spy profile of one gunicorn worker.

Starts a throwaway redis-server and the service (sandbox mode) on the Procfile's web line with
ONE worker (so the profile covers every request), logs in a user, then runs wrk against an
endpoint while ``py-spy record`` samples the worker, and prints the functions with the most
samples (own time and cumulative). Needs wrk (``apt-get install -y wrk``) and py-spy
(``pip install py-spy``; reading another process may need root or CAP_SYS_PTRACE).

    .venv/bin/python bench/profile_server.py --seconds 10 --endpoint add-card
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import stack  # noqa: E402
from bench.events import build  # noqa: E402
from bench.loadgen import run_wrk, run_wrk_requests  # noqa: E402
from bench.signing import setup_user  # noqa: E402


def worker_pid(master: int) -> int:
    deadline = time.time() + 20
    while time.time() < deadline:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True,
                             text=True).stdout.split()
        if out:
            return int(out[0])
        time.sleep(0.2)
    raise RuntimeError("no gunicorn worker")


def read_collapsed(path: str, top: int) -> None:
    own: collections.Counter = collections.Counter()
    cumulative: collections.Counter = collections.Counter()
    total = 0
    for line in open(path):
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():  # a frame's text broken over lines by py-spy
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[_short(frames[-1])] += n
        for frame in {_short(f) for f in frames}:
            cumulative[frame] += n
    print(f"\n{total} samples. Own time (top {top}):")
    for frame, n in own.most_common(top):
        print(f"  {100 * n / total:5.1f} %  {frame}")
    print(f"\nCumulative (top {top * 2}):")
    for frame, n in cumulative.most_common(top * 2):
        print(f"  {100 * n / total:5.1f} %  {frame}")


def _short(frame: str) -> str:
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where.rsplit(':', 1)[0]})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--endpoint", choices=("add-card", "me", "decrypt", "member", "ack", "bare",
                                              "many"),
                   default="add-card",
                   help="ack: safe-mode event pushes, each unique (bench/events.py); many: "
                        "first decrypts of codes just taken by many users (bench/endpoints.py); "
                        "bare: "
                        "bench/bare_app.py's constant JSON on the same line, for comparison")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--out", default="/tmp/bff-profile.txt", help="collapsed stacks file")
    a = p.parse_args()
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    with stack() as started:
        if a.endpoint == "bare":
            server = started.web("bench.bare_app:app", WEB_CONCURRENCY="1")
            token, body = "-", {}
        else:
            # one user makes every request (bench/endpoints.py): its limits raised
            server = started.web(WEB_CONCURRENCY="1", BFF_PUSH_MODE="compat",
                                 BFF_LIMIT_USER="100000000/minute",
                                 BFF_LIMIT_ADDRESS="100000000/minute",
                                 BFF_LIMIT_USER_FAILURES="100000000/minute")
            token, body, oa = setup_user(server.url)
        base = server.url
        pid = worker_pid(server.proc.pid)
        url, method = f"{base}/v1/cards/add-card", "POST"
        if a.endpoint == "me":
            url, method, body = f"{base}/v1/me", "GET", {}
        elif a.endpoint in ("decrypt", "member"):  # as bench/endpoints.py measures them
            from bench.endpoints import encrypt_code, member_card

            member = member_card(base, token, oa)
            # its first decrypt links the user to their OA openid (the cardExt proof)
            code = encrypt_code(base, token, oa, body["cards"][0]["card_id"])
            url, body = f"{base}/v1/cards/codes/decrypt", {"encrypt_code": code}
            if a.endpoint == "member":
                url, method, body = f"{base}/v1/membership/cards/{member}", "GET", {}

        if a.endpoint == "many":
            import json

            import requests

            from bench.endpoints import many_users_codes

            plenty = requests.post(f"{base}/sandbox/_sim/cards", json={
                "card_type": "GENERAL_COUPON", "quantity": 1_000_000}).json()["card_id"]
            pairs = iter(many_users_codes(base, plenty, 40 + int(a.seconds * 20), 50))

        def load(seconds: float) -> dict:
            if a.endpoint == "many":  # each code once: the next ones in the shuffled list
                lines = [("/v1/cards/codes/decrypt", t, '"code":"',
                          json.dumps({"encrypt_code": c}))
                         for t, c in itertools.islice(pairs, int(1000 * seconds) + 500)]
                return run_wrk_requests(base, lines, seconds=seconds,
                                        connections=a.connections, in_order=True)
            if a.endpoint == "ack":  # 3,000 unique pushes a second is more than one worker takes
                pushes = build("safe", f"p{seconds}", int(3000 * seconds) + 1000)
                return run_wrk_requests(base, [(path, "", "success", body.decode())
                                               for path, body in pushes],
                                        seconds=seconds, connections=a.connections)
            return run_wrk(url, seconds=seconds, connections=a.connections, body=body,
                           token=token, method=method)

        load(1)
        recorder = subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--duration", str(int(a.seconds)),
             "--format", "raw", "--output", a.out, "--rate", "1000", "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        figures: dict = {}
        t = threading.Thread(target=lambda: figures.update(load(a.seconds)))
        t.start()
        t.join()
        recorder.wait(60)
    print(f"{a.endpoint}: {figures['rps']:.0f} req/s with one worker under py-spy "
          f"(p50 {figures['p50']:.1f} ms, non-2xx or not success "
          f"{figures.get('non2xx', figures.get('mismatches'))})")
    read_collapsed(a.out, a.top)


if __name__ == "__main__":
    main()
