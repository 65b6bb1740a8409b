"""How `python -m sentiment serve` starts and fails to start, under both servers: a port that another
server holds is refused with one line while that server keeps answering every request; a server whose
workers all fail to load the model stops with one line and no traceback."""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.environments import processes

pytestmark = pytest.mark.slow
SERVERS = ["granian", "gunicorn"]


def serve_env(model_dir: Path, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_", "GUNICORN_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {
        **env,
        "MODEL_DIR": str(model_dir),
        "SERVE_ACCESSLOG": "",
        "GUNICORN_ACCESSLOG": "",
        "TMPDIR": str(tmp_path),
    }


def predicted_label(port: int, text: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200
        return json.loads(resp.read())["label"]


@pytest.mark.parametrize("second", SERVERS)
def test_a_second_server_on_a_serving_port_exits_with_one_line_and_the_first_keeps_every_request(
    second, trained_dir, tmp_path
):
    port = processes.free_port()
    first = processes.start_until_ready(
        [*processes.serve_command(f"127.0.0.1:{port}", "granian"), "--workers", "2"], tmp_path / "first.log",
        lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"), timeout_s=90,
        env=serve_env(trained_dir, tmp_path),
    )  # fmt: skip
    try:
        expected = predicted_label(port, "what a wonderful day")
        second_server = subprocess.Popen(
            [*processes.serve_command(f"127.0.0.1:{port}", second), "--workers", "2"],
            env=serve_env(trained_dir, tmp_path), cwd=tmp_path, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        try:
            _, stderr = second_server.communicate(timeout=45)
        except subprocess.TimeoutExpired:
            processes.stop_group(second_server.pid)
            pytest.fail(f"a second {second} server started on port {port}, which another server serves")
        assert second_server.returncode != 0
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert lines == [f"sentiment: cannot start: 127.0.0.1:{port} is already in use (another server listens there)"]
        assert [predicted_label(port, "what a wonderful day") for _ in range(30)] == [expected] * 30
        assert first.poll() is None
    finally:
        processes.stop_group(first.pid)


def test_gunicorn_with_every_worker_failing_stops_with_one_line_and_no_traceback(tmp_path):
    """gunicorn's arbiter, halting for the first failed worker, reaped a second one and raised again:
    a 41-line traceback about half the time. Three starts with four workers each."""
    for attempt in range(3):
        port = processes.free_port()
        started = time.monotonic()
        out = subprocess.run(
            [*processes.serve_command(f"127.0.0.1:{port}", "gunicorn"), "--workers", "4"],
            env=serve_env(tmp_path / "missing", tmp_path), cwd=tmp_path,
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        own = [line for line in out.stderr.splitlines() if line.strip() and not line.startswith("[")]
        assert out.returncode == 3, out.stderr[-3000:]
        assert len(own) == 1 and own[0].startswith("sentiment: cannot start: no model artifact"), (attempt, out.stderr)
        assert time.monotonic() - started < 45
