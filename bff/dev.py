"""``bff dev``: the service and its offline WeChat on one port, with a store the CLI can share.

The store is the first of: ``BFF_REDIS_URL``; a private ``redis-server`` from the PATH, started
for this run; the embedded store (in-process, so another terminal's ``bff`` cannot see it).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

import click
import redis

WALKTHROUGH = """\
bff is running in sandbox mode on {base} (no WeChat account needed).

  Demo pages (H5, official JS-SDK):  {base}/demo/
  Operators' console:                {base}/console/   (sign in with an operator token)
  Interactive API docs:              {base}/docs
  Readiness:                         {base}/readyz
  The offline WeChat:                {base}/sandbox/...   (its simulator: {base}/sandbox/_sim/...)

{store}

The user story with curl (copy line by line; needs curl and jq: apt-get install curl jq):
  U=$(curl -s -XPOST {base}/sandbox/_sim/users -H 'content-type: application/json' -d '{{}}')
  MP=$(echo $U | jq -r .mp_openid); OA=$(echo $U | jq -r .oa_openid)
  CODE=$(curl -s -XPOST {base}/sandbox/_sim/login-codes -H 'content-type: application/json' \\
      -d "{{\\"user\\": \\"$MP\\", \\"app\\": \\"miniprogram\\"}}" | jq -r .code)
  TOKEN=$(curl -s -XPOST {base}/v1/sessions/miniprogram -H 'content-type: application/json' \\
      -d "{{\\"code\\": \\"$CODE\\"}}" | jq -r .token)
  CARD=$(curl -s -XPOST {base}/sandbox/_sim/cards -H 'content-type: application/json' \\
      -d '{{"card_type": "GROUPON"}}' | jq -r .card_id)
  LIST=$(curl -s -XPOST {base}/v1/cards/add-card -H "authorization: Bearer $TOKEN" \\
      -H 'content-type: application/json' -d "{{\\"cards\\": [{{\\"card_id\\": \\"$CARD\\"}}]}}" \\
      | jq .card_list)
  # what wx.addCard does in the client: WeChat checks the cardExt and returns encrypted codes
  ENC=$(curl -s -XPOST {base}/sandbox/_sim/add-card -H 'content-type: application/json' \\
      -d "{{\\"user\\": \\"$MP\\", \\"card_list\\": $LIST}}" | jq -r '.card_list[0].code')
  curl -s -XPOST {base}/v1/cards/codes/decrypt -H "authorization: Bearer $TOKEN" \\
      -H 'content-type: application/json' -d "{{\\"encrypt_code\\": \\"$ENC\\"}}"
  curl -s {base}/v1/cards/mine -H "authorization: Bearer $TOKEN"

Operator endpoints take: Authorization: Bearer {admin_token}
"""

SHARED_STORE = """\
Store: {where}.
The bff CLI in another terminal sees this same state with:
  export BFF_SANDBOX=1 BFF_REDIS_URL={redis_url} BFF_WECHAT_API_BASE={base}/sandbox
  bff codes count CARD_ID;  bff cards profile get CARD_ID;  bff events tail"""

NO_JSSDK = """\
The demo pages need the official WeChat JS-SDK, which is not installed here
({path} is missing). Install it once, at the repository root:
  cd {repo} && npm ci
"""

EMBEDDED_STORE = """\
Store: embedded, in this process (no redis-server on the PATH and no BFF_REDIS_URL): state is
lost on exit and a bff CLI in another terminal cannot see it. Install redis-server (Debian:
apt-get install redis-server) or set BFF_REDIS_URL to share it."""


class RedisProcess:
    """A private redis-server on a free loopback port, no persistence, stopped with this process."""

    def __init__(self, exe: str) -> None:
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix="bff-dev-redis-")
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, attempts: int = 3) -> RedisProcess:
        for _ in range(attempts):  # the free port may be taken between choosing and binding
            self.port = _free_port()
            self.proc = subprocess.Popen(
                [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir, "--loglevel", "warning"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                # its own session: Ctrl-C in the terminal reaches bff dev only, which stops
                # the worker first and then this server (no "redis unavailable" on the way out)
                preexec_fn=_die_with_parent, start_new_session=True,
            )
            if self._wait_ready():
                atexit.register(self.stop)
                return self
            self.stop()
        raise click.ClickException(f"could not start {self.exe}")

    def _wait_ready(self, seconds: float = 10) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    return False
                try:
                    return bool(client.ping())
                except redis.ConnectionError:
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _without_password(url: str) -> str:
    """The URL to print: a password in it becomes ``***`` (the terminal may be shared)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the redis-server gets SIGTERM if bff dev dies without cleaning up (e.g. SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _dev_store() -> tuple[str | None, RedisProcess | None]:
    """The Redis URL for this run, and the redis-server started for it (if any)."""
    url = os.environ.get("BFF_REDIS_URL")
    if url:
        return url, None
    exe = shutil.which("redis-server")
    if exe is None:
        return None, None
    server = RedisProcess(exe).start()
    return server.url, server


@click.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Run the BFF with the offline WeChat sandbox on one port: no account, no Redis needed."""
    from werkzeug.serving import make_server

    from bff import create_app
    from bff.ground.config import SANDBOX_ADMIN_TOKEN, ConfigError
    from bff.ground.services import services

    try:  # the port first: a taken one is said before anything else happens
        probe = socket.create_server((host, port))
    except OSError as e:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({e.strerror or e}); is another bff dev running? "
            f"Choose another port with --port"
        ) from None
    probe.close()

    redis_url, redis_server = _dev_store()
    overrides: dict = {"sandbox": True}
    if redis_url:
        overrides["redis_url"] = redis_url
    try:
        app = create_app(overrides)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as e:
        raise click.ClickException(f"cannot listen on {host}:{port} ({e.strerror or e})") from None
    from bff.edges.events import start_worker_thread

    worker, stop_worker = start_worker_thread(app)

    base = f"http://{host}:{port}"
    if redis_url:
        where = (f"redis-server on 127.0.0.1:{redis_server.port}, started for this run "
                 "(no persistence, stopped with bff dev)") if redis_server else "BFF_REDIS_URL"
        store = SHARED_STORE.format(where=where, redis_url=_without_password(redis_url),
                                    base=base)
    else:
        store = EMBEDDED_STORE
    admin_token = services(app).settings.admin_token
    if admin_token != SANDBOX_ADMIN_TOKEN:  # a token of one's own is never printed
        admin_token = "<your BFF_ADMIN_TOKEN>"
    click.echo(WALKTHROUGH.format(base=base, store=store, admin_token=admin_token))
    notice = jssdk_notice()
    if notice:
        click.secho(notice, err=True, fg="yellow")
    sys.stdout.flush()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so atexit stops the redis-server
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how bff dev is stopped: exit status 0, no traceback
    finally:
        server.server_close()
        stop_worker.set()  # before the redis-server goes: the worker's blocking read ends first
        worker.join(timeout=services(app).settings.worker_block_ms / 1000 + 5)
        if redis_server is not None:
            redis_server.stop()


def jssdk_notice() -> str | None:
    """What to run when the demo pages' JS-SDK (npm ``weixin-js-sdk``) is missing; else None."""
    from bff.edges.demo import JSSDK_FILE, REPO

    if JSSDK_FILE.is_file():
        return None
    return NO_JSSDK.format(path=JSSDK_FILE.relative_to(REPO), repo=REPO)
