"""A release switch behind the local endpoint loses no request: steady load through A -> B.

Two releases of the service (`python -m sentiment serve`, the default server) and the local
load balancer; wrk keeps 16 connections of POST /predict on the endpoint while traffic moves
from A to B (B takes the weight, A drains) and A is then stopped, as `deploy` does.
"""

import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from pipeline.environments import processes
from pipeline.environments.load_balancer import LoadBalancer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("wrk") is None, reason="NOT TESTED: wrk is not installed (apt install wrk)"),
    pytest.mark.skipif(shutil.which("haproxy", path="/usr/sbin:/usr/bin") is None, reason="NOT TESTED: no haproxy"),
]
POST = """wrk.method = "POST"
wrk.body = '{"text": "a warm and funny film"}'
wrk.headers["Content-Type"] = "application/json"
"""


def start_release(trained_dir, tmp_path, name):
    port = processes.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_", "GUNICORN_"))}
    env |= {"MODEL_DIR": str(trained_dir), "SERVE_WORKERS": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = processes.start_until_ready(
        processes.serve_command(f"127.0.0.1:{port}"), tmp_path / f"{name}.log",
        lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"), timeout_s=60, env=env,
    )  # fmt: skip
    return proc, port


def test_a_release_switch_under_steady_load_loses_no_request(trained_dir, tmp_path):
    a, a_port = start_release(trained_dir, tmp_path, "a")
    b, b_port = start_release(trained_dir, tmp_path, "b")
    balancer = LoadBalancer(tmp_path / "endpoint", processes.free_port())
    balancer.state_dir.mkdir()
    try:
        balancer.up()
        balancer.switch_to(a_port)
        script = tmp_path / "post.lua"
        script.write_text(POST)
        command = ["wrk", "-t2", "-c16", "-d8s", "--timeout", "5s", "-s", str(script), f"{balancer.url}/predict"]
        load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)

        def release_b_then_retire_a() -> None:
            time.sleep(2.5)
            balancer.switch_to(b_port)  # B takes the weight; A drains
            processes.stop_group(a.pid)

        switch = threading.Thread(target=release_b_then_retire_a)
        switch.start()
        out, _ = load.communicate(timeout=60)
        switch.join(30)
        print("\n" + out)
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        assert requests > 1000, "the load was not steady"
        assert "Socket errors" not in out, "connections were refused, reset or timed out"
        assert "Non-2xx or 3xx responses" not in out
        assert balancer.serving().port == b_port and a.poll() is not None
    finally:
        balancer.down()
        for proc in (a, b):
            processes.stop_group(proc.pid)
