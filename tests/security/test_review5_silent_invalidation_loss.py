"""Fifth review: the tracked cache trusts an invalidation connection that died silently.

The cache's only sign that its invalidation connection is gone is the socket becoming
readable (data or FIN). The connection never sends anything and has no keep-alive or health
check, so when the path drops it without a FIN reaching the instance (a NAT / load-balancer /
firewall idle timeout on a quiet night: the flow is forgotten, the server's next invalidation
is answered with a RST *to the server*, which closes its side), ``_drain`` keeps returning
True. The instance's data connections recover on their own (redis-py's health check), so it
keeps serving, but no revocation or operator removal reaches its cache any more: every cached
session and identity link is served for up to ``max_age`` (60 s) after it was revoked or
removed, for the rest of the process's life.

The identity links ride on that cache too: an operator's removal of a wrong link (Mallory
linked to Alice's OA openid) would reach such an instance only after up to a minute; the same
for a revoked session. The network fault is simulated by a TCP proxy in front of instance b
that forgets the invalidation connection (closes the server side, sends nothing to b).

The fix: in use, the cache asks its connection (PING) every 0.5 s and gives it up when an
answer takes more than 1 s (``bff.ground.store.tracked``). A connection lost without a word can
no longer be detected at once, only within that bound: these tests allow ``BOUND`` seconds,
where the cache before the fix served the stale entries for their whole ``max_age``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from bff import create_app
from tests.conftest import MODE
from tests.story import ADMIN, bearer

pytestmark = pytest.mark.skipif(MODE == "cluster", reason="the cache is off on a cluster")

BOUND = 3.0  # seconds: PING_EVERY + ANSWER_WITHIN (1.5 s), with room for a busy machine


def within_bound(fresh: Callable[[], bool]) -> float:
    """Seconds until ``fresh()`` holds; fails the test past ``BOUND``."""
    started = time.monotonic()
    while not fresh():
        assert time.monotonic() - started < BOUND, "still stale past the bound"
        time.sleep(0.05)
    return time.monotonic() - started


class Proxy:
    """Forwards 127.0.0.1:<port> to the test Redis; ``forget_tracking`` drops the connection
    that sent CLIENT TRACKING the way an idle-timeout middlebox does."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.pairs: list[dict] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            up = socket.create_connection(self.upstream)
            pair = {"down": down, "up": up, "tracking": False, "forgotten": False}
            self.pairs.append(pair)
            threading.Thread(target=self._pump, args=(pair, down, up, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, up, down, False),
                             daemon=True).start()

    def _pump(self, pair: dict, src: socket.socket, dst: socket.socket, to_server: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                if not pair["forgotten"]:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                return
            if to_server and b"TRACKING" in data.upper():
                pair["tracking"] = True
            if pair["forgotten"]:
                continue  # the middlebox no longer knows this flow: nothing gets through
            try:
                dst.sendall(data)
            except OSError:
                return

    def forget_tracking(self) -> int:
        n = 0
        for pair in self.pairs:
            if pair["tracking"] and not pair["forgotten"]:
                pair["forgotten"] = True
                pair["up"].close()  # the server sees its side reset; b sees nothing at all
                n += 1
        return n

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        for pair in self.pairs:
            for s in (pair["up"], pair["down"]):
                try:
                    s.close()
                except OSError:
                    pass


@pytest.fixture
def settings_overrides(redis_url: str) -> dict:
    return {"sandbox": True, "redis_url": redis_url, "session_cache": True}


@pytest.fixture
def instance_b(app, redis_url: str) -> Iterator[tuple]:
    host_port = redis_url.split("://", 1)[1].split("/", 1)
    host, port = host_port[0].rsplit(":", 1)
    proxy = Proxy(host, int(port))
    rest = "/" + host_port[1] if len(host_port) > 1 else ""
    other = create_app({"sandbox": True, "redis_url": f"redis://127.0.0.1:{proxy.port}{rest}",
                        "session_cache": True})
    other.config["TESTING"] = True
    try:
        yield other, proxy
    finally:
        other.extensions["bff"].extras["session_cache"].close()
        app.extensions["bff"].extras["session_cache"].close()
        proxy.close()


def test_a_removed_link_and_a_revoked_session_are_served_after_the_invalidation_flow_is_lost(
        story, client, redis_client, instance_b):
    other, proxy = instance_b
    b = other.test_client()
    mallory = story.user(unionid=False)
    story.take_and_open(story.card(), mallory)  # linked (think: wrongly) by a cardExt proof
    token = story.login(mallory)

    def me() -> dict:
        answer = b.get("/v1/me", headers=bearer(token))
        return {"status": answer.status_code, **(answer.get_json() or {})}

    assert me()["official_account_openid"] == mallory["oa_openid"]  # b caches both
    assert me()["official_account_openid"] == mallory["oa_openid"]
    assert proxy.forget_tracking() == 1  # the quiet flow is dropped by the path

    # Instance a, on the direct path: the operator removes the wrong link.
    gone = client.delete("/v1/admin/identities", headers=ADMIN,
                         query_string={"mp_openid": mallory["mp_openid"]})
    assert gone.status_code == 204
    assert client.get("/v1/me", headers=bearer(token)).get_json()[
        "official_account_openid"] is None  # a sees it
    # b must too ("every live session sees the change at once"): no more of the OA
    # openid's cards (data that is not Mallory's if the link was wrong), no OA openid.
    assert client.get("/v1/cards/mine", headers=bearer(token)).get_json()["cards"] == []
    within_bound(lambda: b.get("/v1/cards/mine", headers=bearer(token)).get_json()["cards"]
                 == [])  # b no longer lists the OA openid's cards through the removed link
    assert me()["official_account_openid"] is None, "b still serves the removed link"


def test_a_revoked_session_is_served_after_the_invalidation_flow_is_lost(
        story, client, redis_client, instance_b):
    other, proxy = instance_b
    b = other.test_client()
    token = story.login(story.user())
    assert b.get("/v1/me", headers=bearer(token)).status_code == 200
    assert proxy.forget_tracking() == 1
    assert client.delete("/v1/sessions/current", headers=bearer(token)).status_code == 204
    within_bound(lambda: b.get("/v1/me", headers=bearer(token)).status_code == 401)
