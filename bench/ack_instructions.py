"""Instructions per event acknowledgement, in process, counted by valgrind's callgrind.

CPU time moves with the machine (on a shared VM, by a quarter between runs minutes apart);
instructions do not: the same code, inputs and environment give the same count to within
half a percent. The app as ``bench/ack_inprocess.py`` builds it (sandbox mode, safe-mode pushes
built beforehand, gevent's monkey-patching) on a throwaway redis-server, under callgrind twice:
once acknowledging ``--base`` pushes, once ``--base + --events``; the difference divided by
``--events`` is what one acknowledgement costs, set-up and building excluded. Needs valgrind
(``apt-get install -y valgrind``); takes about two minutes.

    .venv/bin/python bench/ack_instructions.py
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench.common import callgrind_instructions, throwaway_redis  # noqa: E402

# Run under valgrind: the app, ``total`` pushes built, the first 100 acknowledged to warm up,
# then ``count`` more.
_LOOP = """
import os, time
import bench.ack_inprocess as A
from bench.events import build
os.environ.update(BFF_SANDBOX="1", BFF_REDIS_URL={url!r}, BFF_PUSH_MODE="compat",
                  BFF_LOG_LEVEL="WARNING")
from bff import create_app
app = create_app()
pushes = build({mode!r}, f"cg{{time.time()}}", {total})
A._run(app, pushes[:100], b"success")
A._run(app, pushes[100:100 + {count}], b"success")
"""


def instructions(url: str, mode: str, count: int, total: int) -> int:
    return callgrind_instructions(_LOOP.format(url=url, mode=mode, count=count, total=total))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=700, help="acknowledgements counted")
    p.add_argument("--base", type=int, default=100, help="acknowledged in the shorter run")
    p.add_argument("--mode", choices=("safe", "plain"), default="safe")
    a = p.parse_args()
    total = 100 + a.base + a.events
    with throwaway_redis() as url:
        short = instructions(url, a.mode, a.base, total)
        long = instructions(url, a.mode, a.base + a.events, total)
    print(f"{a.mode} ack: {(long - short) / a.events:,.0f} instructions per acknowledgement "
          f"({a.events} acknowledgements, callgrind)")


if __name__ == "__main__":
    main()
