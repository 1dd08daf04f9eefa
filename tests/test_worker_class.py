"""The Procfile's worker class (``bff.edges.http.gevent_worker.FairGeventWorker``) freezes the
loaded app out of the cyclic garbage collector, so a full collection does not stall every
request of the worker (bench/RESULTS.md, issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys

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


@pytest.mark.slow  # a real gunicorn from the Procfile line
def test_the_worker_freezes_the_loaded_app_out_of_the_collector(tmp_path):
    (tmp_path / "freeze_probe.py").write_text(APP)
    port = free_port()
    env = {**os.environ, "WEB_CONCURRENCY": "1",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT, *sys.path])}
    proc = subprocess.Popen(procfile_web(port, "freeze_probe:app", env), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        frozen = int(requests.get(f"http://127.0.0.1:{port}/", timeout=10).text)
    finally:
        stop_processes([proc])
    assert frozen > 1000  # the app, gunicorn and gevent: all that was alive when it loaded
