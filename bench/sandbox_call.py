"""CPU per in-process call to the sandbox's ``card/code/decrypt``, the WeChat call of a first
decrypt in sandbox mode.

In sandbox mode every call to WeChat is answered in the worker's own process, so its cost is in
every first decrypt's CPU (and so in its requests/s and p99), although a deployment pays none of
it: there WeChat does the work and the worker only waits. This times one encrypt_code's decrypt,
N times in a row, two ways:

- ``sandbox``: the sandbox's WSGI app called directly (its own dispatch of a WeChat API
  route, its bookkeeping script's round trip, the decrypt, the JSON answer);
- ``client``: through the service's WeChat client, as a first decrypt calls it (the request
  built and sent through requests to the in-process adapter, the answer parsed).

This process's CPU (``time.process_time``) only, not redis-server's; best of the rounds.

    .venv/bin/python bench/sandbox_call.py
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import throwaway_redis  # noqa: E402


def per_call(call: Callable[[], None], n: int, rounds: int) -> float:
    for _ in range(n // 10):  # warm
        call()
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            call()
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=3000, help="calls per round")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    logging.disable(logging.INFO)
    from bff import create_app
    from bff.ground.services import services

    with throwaway_redis() as url:
        app = create_app({"sandbox": True, "redis_url": url})
        sandbox_app = app.extensions["bff_sandbox"]
        wechat = services(app).wechat
        c = app.test_client()
        card = c.post("/sandbox/_sim/cards", json={"card_type": "GENERAL_COUPON"}).json
        user = c.post("/sandbox/_sim/users", json={}).json["oa_openid"]
        login = c.post("/sandbox/_sim/login-codes",
                       json={"user": user, "app": "miniprogram"}).json["code"]
        token = c.post("/v1/sessions/miniprogram", json={"code": login}).json["token"]
        signed = c.post("/v1/cards/add-card", headers={"Authorization": f"Bearer {token}"},
                        json={"cards": [{"card_id": card["card_id"]}]}).json
        taken = c.post("/sandbox/_sim/add-card",
                       json={"user": user, "card_list": signed["card_list"]}).json
        encrypt_code = taken["card_list"][0]["code"]
        with app.app_context():
            access_token = wechat.credentials.access_token()
        body = json.dumps({"encrypt_code": encrypt_code}).encode()
        gc.freeze()  # as the Procfile's worker does once the app is loaded

        def sandbox() -> None:
            environ = {
                "REQUEST_METHOD": "POST", "PATH_INFO": "/card/code/decrypt",
                "QUERY_STRING": f"access_token={access_token}", "SERVER_NAME": "sandbox.internal",
                "SERVER_PORT": "80", "HTTP_HOST": "sandbox.internal", "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1",
                "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": sys.stderr}
            status: list[str] = []
            out = b"".join(sandbox_app(environ, lambda s, h, e=None: status.append(s)))
            assert status[0].startswith("200") and b'"code"' in out, (status, out)

        def client() -> None:
            with app.app_context():
                assert wechat.code_decrypt(encrypt_code)["code"]

        for name, call in (("sandbox", sandbox), ("client", client)):
            print(f"{name:8} {per_call(call, a.n, a.rounds):6.1f} us CPU per card/code/decrypt "
                  "call in process")


if __name__ == "__main__":
    main()
