"""Redis commands per ``add-card`` request, with and without ``BFF_SESSION_CACHE``; or, with
``--decrypt``, the Redis round trips of a first decrypt.

The app in-process (sandbox mode) on a throwaway redis-server; 200 warm add-card requests of one
session; Redis's own command counters (INFO commandstats) divided by the requests.

``--decrypt``: new users each take ten codes through add-card and the sandbox's wx.addCard,
then decrypt them in turn; the round trips of each decrypt (writes to a Redis socket, the
sandbox's own included) and its WeChat calls, for a user's first decrypt (which links their
openids) and for their later new codes, each listed with its commands.

    .venv/bin/python bench/round_trips.py
    .venv/bin/python bench/round_trips.py --decrypt
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


def decrypts(users: int = 3) -> None:
    """The round trips of first decrypts: a user's first (linking), then their later ones."""
    from redis.connection import Connection

    from bff import create_app

    logging.disable(logging.INFO)
    sent: list[list[str]] = []
    real = Connection.send_packed_command

    def counting(self: Connection, command: object, check_health: bool = True) -> None:
        data = b"".join(command) if isinstance(command, list) else command
        words = data.split(b"\r\n")  # RESP: *N, then $len / word pairs; the names only
        sent.append([words[i + 2].decode() for i, w in enumerate(words)
                     if w.startswith(b"*") and i + 2 < len(words)])
        return real(self, command, check_health)

    with throwaway_redis() as url:
        app = create_app({"sandbox": True, "redis_url": url})
        c = app.test_client()
        card = c.post("/sandbox/_sim/cards", json={"card_type": "GENERAL_COUPON"}).json
        rows: dict[str, list[tuple[int, int, list[list[str]]]]] = {"linking": [], "later": []}
        for _ in range(users):
            user = c.post("/sandbox/_sim/users", json={}).json["oa_openid"]
            login = c.post("/sandbox/_sim/login-codes",
                           json={"user": user, "app": "miniprogram"}).json["code"]
            token = c.post("/v1/sessions/miniprogram", json={"code": login}).json["token"]
            headers = {"Authorization": f"Bearer {token}"}
            signed = c.post("/v1/cards/add-card", headers=headers,
                            json={"cards": [{"card_id": card["card_id"]}] * 10}).json
            taken = c.post("/sandbox/_sim/add-card",
                           json={"user": user, "card_list": signed["card_list"]}).json
            for i, entry in enumerate(taken["card_list"]):
                before = c.get("/sandbox/_sim/calls").json.get("card/code/decrypt", 0)
                Connection.send_packed_command = counting  # type: ignore[method-assign]
                sent.clear()
                try:
                    answer = c.post("/v1/cards/codes/decrypt", headers=headers,
                                    json={"encrypt_code": entry["code"]})
                finally:
                    Connection.send_packed_command = real  # type: ignore[method-assign]
                assert answer.status_code == 200, answer.get_json()
                after = c.get("/sandbox/_sim/calls").json.get("card/code/decrypt", 0)
                rows["linking" if i == 0 else "later"].append((len(sent), after - before,
                                                               list(sent)))
        for kind, runs in rows.items():
            trips = sorted({n for n, _, _ in runs})
            print(f"{kind}: {'/'.join(map(str, trips))} Redis round trips per first decrypt "
                  f"(the sandbox's own included), {runs[-1][1]} card/code/decrypt call(s)")
            for commands in runs[-1][2]:
                print("   ", " ".join(commands))


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--decrypt", action="store_true",
                   help="the round trips of a first decrypt instead")
    if p.parse_args().decrypt:
        decrypts()
    else:
        main()
