import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pipeline.environments import processes


def service_env(trained_dir, **settings: str) -> dict[str, str]:
    """The caller's environment without MODEL_*/SERVE_*/GUNICORN_* (a Jenkins parameter once leaked
    MODEL_VERSION here and won over MODEL_DIR), serving trained_dir with these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_", "GUNICORN_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each server makes a fresh one
    return {**env, "MODEL_DIR": str(trained_dir), **settings}


@contextmanager
def running(command: list[str], env: dict[str, str], log, port: int) -> Iterator[tuple[int, int]]:
    """(master pid, port) of a server started with `command`, once it answers /ready; stopped after."""
    proc = processes.start_until_ready(
        command, log, lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"), timeout_s=60, env=env
    )
    try:
        yield proc.pid, port
    finally:
        processes.stop_group(proc.pid)


@pytest.fixture
def gunicorn_two_workers(trained_dir, tmp_path):
    """(master pid, port) of the service under gunicorn with the repo's config and 2 workers."""
    port = processes.free_port()
    env = service_env(trained_dir, GUNICORN_WORKERS="2", GUNICORN_ACCESSLOG="")
    with running(processes.gunicorn_command(f"127.0.0.1:{port}"), env, tmp_path / "gunicorn.log", port) as server:
        yield server


@pytest.fixture
def serve_two_workers(trained_dir, tmp_path):
    """(master pid, port) of the service as it ships: `python -m sentiment serve` (Granian), 2 workers."""
    port = processes.free_port()
    env = service_env(trained_dir, SERVE_WORKERS="2", SERVE_ACCESSLOG="off")
    with running(processes.serve_command(f"127.0.0.1:{port}"), env, tmp_path / "serve.log", port) as server:
        yield server
