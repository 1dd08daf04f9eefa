"""redis-py's readiness check under gevent: the system's poll for a zero timeout only."""

import select
import socket

from bff.ground import store


def test_zero_timeout_asks_the_system_and_any_other_timeout_the_cooperative_poll(monkeypatch):
    used = []

    def poller(name):
        def make():
            real = select.poll()
            used.append(name)
            return real
        return make

    monkeypatch.setattr(store, "_system_poll", poller("system"))
    monkeypatch.setattr(store, "_gevent_poll", poller("gevent"))
    a, b = socket.socketpair()
    try:
        p = store._ReadinessPoll()
        p.register(a, select.POLLIN)
        assert p.poll(0) == [] and used == ["system"]
        b.send(b"x")
        assert p.poll(0) and p.poll(10) and used == ["system", "system", "gevent"]
    finally:
        a.close()
        b.close()
