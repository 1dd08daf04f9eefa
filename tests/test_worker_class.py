"""The Procfile's worker class (``bff.edges.http.gevent_worker.FairGeventWorker``) freezes the
loaded app out of the cyclic garbage collector, so a full collection does not stall every
request of the worker, and accepts every connection waiting on its own listening socket at once
(bench/RESULTS.md, issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys

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
def test_the_worker_freezes_the_loaded_app_out_of_the_collector(tmp_path):
    url, proc = _serve(tmp_path, "freeze_probe", APP, "1")
    try:
        frozen = int(requests.get(url, timeout=10).text)
    finally:
        stop_processes([proc])
    assert frozen > 1000  # the app, gunicorn and gevent: all that was alive when it loaded
