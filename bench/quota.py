"""Who spends the merchant's WeChat quota: the attack review's floods, over HTTP, against the
Procfile server, with the upstream calls each one made.

Starts a throwaway redis-server, the standalone sandbox as its own process and the service
under gunicorn with the Procfile's ``web`` line (two gevent workers, sandbox mode, pointed at
that sandbox over real HTTP, ``BFF_TRUSTED_PROXIES=1`` as behind a PaaS router, so each flood
comes from a client address of its own). Then each flood of the issue-16 review
(junk logins, sequential and 50 at once; add-cards naming made-up card_ids; junk decrypts;
member info for random card_ids), a cold storm of 64 concurrent add-cards on one new card, and
real traffic (logins of real users) that must never be limited. For each it prints the answers
by status and the WeChat calls the sandbox counted (``/_sim/calls``).

    .venv/bin/python bench/quota.py
"""

from __future__ import annotations

import collections
import os
import secrets
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402

from bench import common  # noqa: E402
from bench.upstream import start_services  # noqa: E402

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def junk(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def card_id() -> str:
    return "p" + junk(27)


ADDRESSES = iter(f"203.0.113.{i}" for i in range(1, 255))


def flood(name: str, sandbox: str, paths: tuple[str, ...], n: int, parallel: int,
          send: Callable[[requests.Session, int], requests.Response]) -> None:
    """``n`` requests from a client address of their own; the answers and WeChat's calls."""
    requests.delete(f"{sandbox}/_sim/calls", timeout=10).raise_for_status()
    session = requests.Session()
    session.headers["X-Forwarded-For"] = next(ADDRESSES)  # as the PaaS router would say
    with ThreadPoolExecutor(parallel) as ex:
        statuses = collections.Counter(ex.map(lambda i: send(session, i).status_code, range(n)))
    calls = requests.get(f"{sandbox}/_sim/calls", timeout=10).json()
    counted = {p: calls.get(p.strip("/"), 0) for p in paths}
    print(f"{name:52s} {n:5d} requests ({parallel:2d} at once)  answers {dict(statuses)}  "
          f"WeChat calls {counted}")


def login(bff: str, sandbox: str) -> tuple[str, dict]:
    user = requests.post(f"{sandbox}/_sim/users", json={"unionid": False}, timeout=10).json()
    code = requests.post(f"{sandbox}/_sim/login-codes", timeout=10,
                         json={"user": user["oa_openid"], "app": "miniprogram"}).json()["code"]
    res = requests.post(f"{bff}/v1/sessions/miniprogram", json={"code": code}, timeout=10)
    res.raise_for_status()
    return res.json()["token"], user


def main() -> None:
    os.environ["BFF_TRUSTED_PROXIES"] = "1"  # the service behind one router, as on a PaaS
    with common.stack() as started:
        bff, sandbox = start_services(started)
        print(f"server: the Procfile's web line, {os.environ.get('WEB_CONCURRENCY', '2')} "
              "workers; each flood from one address, the authenticated ones as one user")
        flood("real users logging in (one NAT address)", sandbox, ("/sns/jscode2session",),
              200, 8, lambda s, _i: s.post(f"{bff}/v1/sessions/miniprogram", timeout=30,
                                           json={"code": _real_code(sandbox)}))
        def fresh_user() -> dict[str, str]:
            return {"Authorization": f"Bearer {login(bff, sandbox)[0]}"}

        def junk_login(s: requests.Session, _i: int) -> requests.Response:
            return s.post(f"{bff}/v1/sessions/miniprogram", json={"code": junk(32)}, timeout=30)

        flood("junk logins", sandbox, ("/sns/jscode2session",), 200, 1, junk_login)
        flood("junk logins", sandbox, ("/sns/jscode2session",), 200, 50, junk_login)
        flood("junk logins (H5)", sandbox, ("/sns/oauth2/access_token",), 200, 50,
              lambda s, _i: s.post(f"{bff}/v1/sessions/h5", json={"code": junk(32)},
                                   timeout=30))
        auth = fresh_user()
        flood("add-card naming made-up card_ids", sandbox, ("/card/get",), 1000, 8,
              lambda s, _i: s.post(f"{bff}/v1/cards/add-card", headers=auth, timeout=30,
                                   json={"cards": [{"card_id": card_id()}]}))
        unknown = card_id()
        auth = fresh_user()
        flood("add-card naming one made-up card_id", sandbox, ("/card/get",), 300, 8,
              lambda s, _i: s.post(f"{bff}/v1/cards/add-card", headers=auth, timeout=30,
                                   json={"cards": [{"card_id": unknown}]}))
        auth = fresh_user()
        flood("junk decrypts", sandbox, ("/card/code/decrypt",), 200, 8,
              lambda s, _i: s.post(f"{bff}/v1/cards/codes/decrypt", headers=auth, timeout=30,
                                   json={"encrypt_code": junk(44)}))
        auth = fresh_user()
        flood("member info for random card_ids", sandbox,
              ("/card/user/getcardlist", "/card/membercard/userinfo/get"), 300, 8,
              lambda s, _i: s.get(f"{bff}/v1/membership/cards/{card_id()}", headers=auth,
                                  timeout=30))
        new_card = requests.post(f"{sandbox}/_sim/cards", timeout=10, json={
            "card_type": "GENERAL_COUPON"}).json()["card_id"]
        storm_users = [login(bff, sandbox)[0] for _ in range(64)]
        flood("cold storm: 64 users' add-card on one new card", sandbox, ("/card/get",), 64,
              64, lambda s, i: s.post(f"{bff}/v1/cards/add-card", timeout=30,
                                      headers={"Authorization": f"Bearer {storm_users[i]}"},
                                      json={"cards": [{"card_id": new_card}]}))


def _real_code(sandbox: str) -> str:
    """A wx.login code of a new simulated user."""
    user = requests.post(f"{sandbox}/_sim/users", json={}, timeout=10).json()
    return requests.post(f"{sandbox}/_sim/login-codes", timeout=10, json={
        "user": user["oa_openid"], "app": "miniprogram"}).json()["code"]


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
