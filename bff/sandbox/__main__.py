"""``python -m bff.sandbox --host 127.0.0.1 --port 8081``: the sandbox on its own port."""

from __future__ import annotations

import argparse
import logging
import os

from flask_cors import CORS
from werkzeug.serving import run_simple

from bff.sandbox.app import create_sandbox_app
from bff.sandbox.server import config_from_env, redis_from_url, words

log = logging.getLogger("bff.sandbox")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bff.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    url = os.environ.get("BFF_SANDBOX_REDIS_URL") or os.environ.get("BFF_REDIS_URL")
    app = create_sandbox_app(redis_from_url(url), config_from_env())
    # H5 pages on other origins load /jsbridge.js, which calls the sandbox from them.
    origins = list(words(os.environ.get("BFF_CORS_ORIGINS")))
    if origins:  # exact origins, no credentials (the service's own CORS is its business)
        CORS(app, origins=origins, supports_credentials=False, max_age=600, vary_header=True,
             allow_headers=["Content-Type", "X-Request-Id"])
    # werkzeug's request log prints query strings, which carry access tokens and secrets.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    log.info("sandbox WeChat on http://%s:%d", args.host, args.port)
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
