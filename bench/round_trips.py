"""Redis commands per ``add-card`` request, with and without ``BFF_SESSION_CACHE``.

The app in-process (sandbox mode) on a throwaway redis-server; 200 warm add-card requests of one
session; Redis's own command counters (INFO commandstats) divided by the requests.

    .venv/bin/python bench/round_trips.py
"""

from __future__ import annotations

import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis  # noqa: E402

from bench.common import throwaway_redis  # noqa: E402

REQUESTS = 200


def main() -> None:
    from bff import create_app

    logging.disable(logging.INFO)
    with throwaway_redis() as url:
        for cache in (False, True):
            app = create_app({"sandbox": True, "redis_url": url, "session_cache": cache})
            c = app.test_client()
            user = c.post("/sandbox/_sim/users", json={}).json
            code = c.post("/sandbox/_sim/login-codes",
                          json={"user": user["mp_openid"], "app": "miniprogram"}).json["code"]
            token = c.post("/v1/sessions/miniprogram", json={"code": code}).json["token"]
            card = c.post("/sandbox/_sim/cards", json={"card_type": "GENERAL_COUPON"}).json
            headers = {"Authorization": f"Bearer {token}"}
            body = {"cards": [{"card_id": card["card_id"], "outer_str": "bench"}]}
            for _ in range(5):  # warm: ticket, profile, cache
                assert c.post("/v1/cards/add-card", json=body, headers=headers).status_code == 200
            r = redis.Redis.from_url(url, decode_responses=True)
            r.config_resetstat()
            for _ in range(REQUESTS):
                assert c.post("/v1/cards/add-card", json=body, headers=headers).status_code == 200
            calls = {k.removeprefix("cmdstat_"): v["calls"]
                     for k, v in r.info("commandstats").items()}
            for mine in ("info", "config|resetstat"):
                calls.pop(mine, None)
            per = ", ".join(f"{k} {v / REQUESTS:.2f}" for k, v in sorted(calls.items()))
            print(f"BFF_SESSION_CACHE={int(cache)}: {sum(calls.values()) / REQUESTS:.2f} Redis "
                  f"commands per add-card ({per or 'none'})")
            r.close()


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
