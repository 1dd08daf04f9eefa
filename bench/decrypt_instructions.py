"""Instructions per first decrypt of many users' new codes, in process, counted by callgrind.

The shape of ``bench/endpoints.py``'s "many users" row, without a server: the app in sandbox
mode (its WeChat mounted in-process, so the sandbox's work is counted too) on a throwaway
redis-server, gevent's monkey-patching, ``--users`` new users each taking ``--per-user`` codes
ten to a wx.addCard (add-card, then the sandbox's wx.addCard), and every encrypt_code decrypted
once, shuffled, through ``app(environ, start_response)``; one user's first decrypt in
``--per-user`` also links their openids. Run twice under valgrind's callgrind, with and
without the decrypts: the difference divided by their number is what one first decrypt costs
(set-up excluded; redis-server's own work is not counted). Instructions do not move with the
machine's load as CPU time does. Needs valgrind (``apt-get install -y valgrind``); takes about
five minutes.

    .venv/bin/python bench/decrypt_instructions.py
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench.common import callgrind_instructions, throwaway_redis  # noqa: E402

_LOOP = """
import os
os.environ.update(BFF_SANDBOX="1", BFF_REDIS_URL={url!r}, BFF_LOG_LEVEL="WARNING")
from bff import create_app
from bench.many_users_inprocess import codes_of_many_users, post_json

app = create_app()
pairs = codes_of_many_users(app, {users}, {per_user})
for token, code in pairs if {decrypt} else []:
    post_json(app, "/v1/cards/codes/decrypt", {{"encrypt_code": code}}, token)
"""


def instructions(url: str, users: int, per_user: int, decrypt: bool) -> int:
    return callgrind_instructions(_LOOP.format(url=url, users=users, per_user=per_user,
                                               decrypt=decrypt))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--per-user", type=int, default=20, help="codes each takes (tens)")
    a = p.parse_args()
    per_user = max(10, a.per_user // 10 * 10)
    with throwaway_redis() as url:
        without = instructions(url, a.users, per_user, False)
    with throwaway_redis() as url:
        with_ = instructions(url, a.users, per_user, True)
    count = a.users * per_user
    print(f"first decrypt: {(with_ - without) / count:,.0f} instructions per decrypt "
          f"({count} decrypts of {a.users} users, one in {per_user} linking; callgrind)")


if __name__ == "__main__":
    main()
