"""The Procfile's worker class (``bff.edges.http.gevent_worker.FairGeventWorker``) freezes the
loaded app out of the cyclic garbage collector, so a full collection does not stall every
request of the worker, accepts every connection waiting on its own listening socket at once,
and the workers even out the keep-alive connections they hold (bench/RESULTS.md, issue 18)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import gevent.server
import pytest
import requests

from bench.common import ROOT, free_port, procfile_web, stop_processes, wait_http

# A WSGI app that says what the worker's collector holds frozen, served by the Procfile's line.
APP = '''
import gc

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(gc.get_freeze_count()).encode()]
'''


# A WSGI app that says how many waiting connections its worker's server accepts at a time.
ACCEPT_PROBE = '''
import gc

from gevent.server import StreamServer

def app(environ, start_response):
    servers = [o for o in gc.get_objects() if isinstance(o, StreamServer)]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [",".join(str(s.max_accept) for s in servers).encode()]
'''


# A WSGI app that says which worker answered.
PID_PROBE = '''
import os

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
'''


def _serve(tmp_path, name: str, source: str, workers: str) -> tuple[str, subprocess.Popen]:
    (tmp_path / f"{name}.py").write_text(source)
    port = free_port()
    env = {**os.environ, "WEB_CONCURRENCY": workers,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT, *sys.path])}
    proc = subprocess.Popen(procfile_web(port, f"{name}:app", env), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http(url)
    except BaseException:
        stop_processes([proc])
        raise
    return url, proc


@pytest.mark.slow  # a real gunicorn from the Procfile line
def test_each_worker_accepts_every_waiting_connection_at_once(tmp_path):
    """gunicorn accepts one connection per poll when several workers share one socket; behind
    --reuse-port each worker has its own, and a burst of new connections waited a poll each
    (0.3 s for the last of 16 on a busy worker; wrk's p99 showed it)."""
    url, proc = _serve(tmp_path, "accept_probe", ACCEPT_PROBE, "2")
    try:
        answers = {requests.get(url, timeout=10).text for _ in range(20)}
    finally:
        stop_processes([proc])
    assert answers == {str(gevent.server.StreamServer.max_accept)}
    assert gevent.server.StreamServer.max_accept > 1


@pytest.mark.slow  # a real gunicorn from the Procfile line
def test_the_workers_even_out_their_keep_alive_connections(tmp_path):
    """32 keep-alive connections (a client that connects again when an answer says
    ``Connection: close``, as wrk and connection pools do) end up held within 2 of even by the
    two workers, round after round. The kernel's hash alone gave them 11 and 21, or 12 and 20,
    and the busier worker's requests waited longer (bench/RESULTS.md, issue 18)."""
    import http.client
    from urllib.parse import urlsplit

    url, proc = _serve(tmp_path, "pid_probe", PID_PROBE, "2")
    port = urlsplit(url).port
    try:
        seen: set[str] = set()  # both workers serving (the second boots after the first)
        deadline = time.time() + 20
        while len(seen) < 2 and time.time() < deadline:
            seen.add(requests.get(url, headers={"Connection": "close"}, timeout=10).text)
            time.sleep(0.05)
        assert len(seen) == 2, seen
        for _ in range(3):
            conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                     for _ in range(32)]
            counts: list[int] = []
            deadline = time.time() + 15
            while time.time() < deadline:
                pids, closed = [], 0
                for k, conn in enumerate(conns):
                    conn.request("GET", "/")
                    answer = conn.getresponse()
                    pids.append(answer.read())
                    if answer.will_close:  # a worker holding more asks for a new one
                        conn.close()
                        conns[k] = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                        closed += 1
                counts = sorted(pids.count(p) for p in set(pids))
                if not closed and len(counts) == 2 and counts[1] - counts[0] <= 2:
                    break
                time.sleep(0.05)
            for conn in conns:
                conn.close()
            assert len(counts) == 2 and counts[1] - counts[0] <= 2, counts
    finally:
        stop_processes([proc])


@pytest.mark.slow  # a real gunicorn from the Procfile line
def test_the_worker_freezes_the_loaded_app_out_of_the_collector(tmp_path):
    url, proc = _serve(tmp_path, "freeze_probe", APP, "1")
    try:
        frozen = int(requests.get(url, timeout=10).text)
    finally:
        stop_processes([proc])
    assert frozen > 1000  # the app, gunicorn and gevent: all that was alive when it loaded


@pytest.mark.slow  # a real gunicorn from the Procfile line
def test_the_workers_can_call_wechat_over_https(tmp_path):
    """gunicorn's master imports ``bff`` (the Procfile's worker and logger classes) before its
    gevent workers monkey-patch: urllib3 imported then made every HTTPS call of a worker (every
    real WeChat call) fail with RecursionError, a 500. An upstream that accepts and hangs up
    must be WeChat failing (5xx with Retry-After), as it is over plain HTTP."""
    upstream = socket.socket()
    upstream.bind(("127.0.0.1", 0))
    upstream.listen(64)
    stop = threading.Event()

    def hang_up() -> None:
        while not stop.is_set():
            try:
                conn, _ = upstream.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    port = free_port()
    env = {**os.environ, "BFF_SANDBOX": "1", "BFF_REDIS_URL": "",
           "BFF_WECHAT_API_BASE": f"https://127.0.0.1:{upstream.getsockname()[1]}",
           "BFF_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(procfile_web(port, "wsgi:app", env), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        answer = requests.post(f"http://127.0.0.1:{port}/v1/sessions/miniprogram",
                               json={"code": "0" * 32}, timeout=60)
    finally:
        stop_processes([proc])
        stop.set()
        upstream.close()
    assert answer.status_code in (502, 503, 504), (answer.status_code, answer.text)
    assert answer.headers.get("Retry-After"), answer.text


def test_the_classes_gunicorns_master_imports_import_no_http_client():
    """What the master imports before its workers monkey-patch (the Procfile's worker and logger
    classes, with their packages) must not import urllib3: see the test above."""
    code = ("import sys, bff.edges.http.gevent_worker, bff.edges.http.access_log; "
            "print(sorted(m for m in ('urllib3', 'requests') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
