import pytest
from slow_clients import running, service_env

from pipeline.environments import processes


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
