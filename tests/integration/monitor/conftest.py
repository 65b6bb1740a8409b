import os

import pytest

from pipeline.environments import processes


def serving(trained_dir, tmp_path_factory, **extra: str):
    """Base URL of a live release serving the trained artifact (with `extra` in its environment)."""
    port = processes.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_", "GUNICORN_", "SENTIMENT_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {"MODEL_DIR": str(trained_dir), "SERVE_WORKERS": "2", "SERVE_ACCESSLOG": "off", **extra}
    log = tmp_path_factory.mktemp("release") / "serve.log"
    url = f"http://127.0.0.1:{port}"
    proc = processes.start_until_ready(
        processes.serve_command(f"127.0.0.1:{port}"), log, lambda: processes.http_ok(f"{url}/ready"), 60, env=env
    )
    try:
        yield url
    finally:
        processes.stop_group(proc.pid)


@pytest.fixture(scope="module")
def release(trained_dir, tmp_path_factory):
    yield from serving(trained_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def failing_release(trained_dir, tmp_path_factory):
    """A release that answers a fifth of /predict with 500 (the test fault of src/sentiment/faults.py)."""
    yield from serving(trained_dir, tmp_path_factory, SENTIMENT_TEST_FAULT="error_share:0.2")
