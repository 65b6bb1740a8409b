import os

import pytest

from pipeline.environments import processes


@pytest.fixture
def gunicorn_two_workers(trained_dir, tmp_path):
    """(master pid, port) of the service under gunicorn with the repo's config and 2 workers."""
    port = processes.free_port()
    # No MODEL_* from the caller's shell (a Jenkins parameter once leaked MODEL_VERSION here and won over MODEL_DIR).
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_")}
    env |= {"MODEL_DIR": str(trained_dir), "GUNICORN_WORKERS": "2", "GUNICORN_ACCESSLOG": ""}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn_conf makes a fresh one
    proc = processes.start_until_ready(
        processes.gunicorn_command(f"127.0.0.1:{port}"), tmp_path / "gunicorn.log",
        lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"), timeout_s=60, env=env,
    )  # fmt: skip
    try:
        yield proc.pid, port
    finally:
        processes.stop_group(proc.pid)


@pytest.fixture
def serve_two_workers(trained_dir, tmp_path):
    """(master pid, port) of the service as it ships: `python -m sentiment serve` (Granian), 2 workers."""
    port = processes.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_", "GUNICORN_"))}
    env |= {"MODEL_DIR": str(trained_dir), "SERVE_WORKERS": "2", "SERVE_ACCESSLOG": "off"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the serve command makes a fresh one
    proc = processes.start_until_ready(
        processes.serve_command(f"127.0.0.1:{port}"), tmp_path / "serve.log",
        lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"), timeout_s=60, env=env,
    )  # fmt: skip
    try:
        yield proc.pid, port
    finally:
        processes.stop_group(proc.pid)
