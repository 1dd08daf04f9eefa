"""CPU per access-log line: ``bff.edges.http.access_log.AccessLogger.access`` in process.

The Procfile's gunicorn writes one line per request with this logger class, so its cost is in
every request's, the service's and (on the same line) bare Flask's and the peer's alike. Builds
the logger with the Procfile's access format, writing to /dev/null, and times ``access`` for a
plain path, a path with ids (hashed) and a path that needs escaping.

    .venv/bin/python bench/access_log.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gunicorn.config import Config  # noqa: E402

from bff.edges.http.access_log import AccessLogger  # noqa: E402

FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'  # the Procfile's
PATHS = {
    "plain": "/v1/cards/add-card",
    "ids": "/v1/admin/members/pFS7Fjg8kV1IdDz01r4SQwMkuCKc/123456789012/changes?x=1",
    "escaped": '/x%0aforged"\\',
}


def per_line(logger: AccessLogger, path: str, n: int) -> float:
    resp = SimpleNamespace(status="200 OK", sent=321,
                           headers=[("Content-Type", "application/json"),
                                    ("X-Request-Id", "0123456789abcdef0123456789abcdef")])
    req = SimpleNamespace(headers=[("HOST", "127.0.0.1")])
    environ = {"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "POST", "RAW_URI": path,
               "PATH_INFO": path.split("?")[0], "SERVER_PROTOCOL": "HTTP/1.1"}
    took = timedelta(microseconds=4321)
    for _ in range(n // 10):  # warm
        logger.access(resp, req, environ, took)
    started = time.process_time()
    for _ in range(n):
        logger.access(resp, req, environ, took)
    return (time.process_time() - started) / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=50_000)
    a = p.parse_args()
    cfg = Config()
    cfg.set("accesslog", os.devnull)
    cfg.set("access_log_format", FORMAT)
    logger = AccessLogger(cfg)
    for name, path in PATHS.items():
        print(f"{name:8} {per_line(logger, path, a.lines):6.2f} us CPU per access line")


if __name__ == "__main__":
    main()
